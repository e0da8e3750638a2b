"""What a block's evaluation computes: one `Row` per call of a leaf layer, and the block's `Result`.

Plain data, torch-free: the renderer, the cache and the claims read it without importing PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnn_cost.claims import COUNTER_METRICS, split_path
from cnn_cost.errors import CnnCostError

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Row:
    """One call of one leaf layer."""

    name: str
    type: str
    output: Shape | None
    params: int
    macs: int | None
    flops: int | None
    formula: tuple[str, ...]
    note: str = ""  # "measured": FLOPs from torch.utils.flop_counter; "shared": parameters counted once
    counters: tuple[tuple[str, int], ...] = ()  # `as:` what each counting library reports for this row


@dataclass(frozen=True)
class Result:
    """Everything computed for one block."""

    rows: tuple[Row, ...]
    params: int
    trainable: int
    buffers: int
    memory: int
    macs: int | None
    flops: int | None
    output: Shape | None
    convention: str
    dtype: str
    outputs: tuple[tuple[str, Shape], ...] = ()  # output shape of every named module, containers too
    counters: tuple[tuple[str, int], ...] = ()  # `as:` each counting library's total

    def value(self, path: str) -> int | Shape:
        """The computed value of a claim path (`params`, `conv1.macs`, `output`, ...)."""
        layer, metric = split_path(path)
        if metric in COUNTER_METRICS and metric not in dict(self.counters):
            raise CnnCostError(f"{path}: the block needs `as: [{metric}]` to count as {metric} does")
        if layer is None and metric in COUNTER_METRICS:
            return dict(self.counters)[metric]
        if layer is None:
            value = getattr(self, metric)
            if value is None:
                raise CnnCostError(f"{path}: needs `input:` (only parameters are computed without it)")
            return value  # type: ignore[no-any-return]
        rows = [r for r in self.rows if r.name == layer or r.name.startswith(layer + ".")]
        if not rows:
            names = ", ".join(dict.fromkeys(r.name for r in self.rows))
            raise CnnCostError(f"{path}: no layer named {layer!r}; rows are: {names[:300]}")
        if metric == "params":
            return sum(r.params for r in rows)
        if metric == "output":
            outputs = dict(self.outputs)
            if layer in outputs:
                return outputs[layer]
            if rows[-1].output is None:
                raise CnnCostError(f"{path}: needs `input:` (only parameters are computed without it)")
            return rows[-1].output
        if metric in COUNTER_METRICS:
            return sum(dict(r.counters)[metric] for r in rows)
        values = [getattr(r, metric) for r in rows]
        if any(v is None for v in values):
            raise CnnCostError(f"{path}: needs `input:` (only parameters are computed without it)")
        return sum(values)
