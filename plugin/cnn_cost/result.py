"""What a block's evaluation computes: one `Row` per call of a leaf layer, and the block's `Result`.

Plain data, torch-free: the renderer, the cache and the claims read it without importing PyTorch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cnn_cost.claims import COUNTER_METRICS, split_path
from cnn_cost.errors import CnnCostError
from cnn_cost.vocabulary import DTYPE_BYTES, counter_of

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
class LedgerLine:
    """One aten operation of an imported model's forward pass: how often it ran and how it was counted
    (see `cnn_cost.ledger` for the statuses and the lists behind them)."""

    op: str  # "aten.bmm"
    calls: int
    flops: int  # FLOPs by torch's flop_registry (counted) or by `flops: detailed`'s rule (rule); else 0
    status: str  # "counted", "rule", "zero", "uncounted", or "formula" (uncounted, inside a registry layer)
    words: str  # the status in words
    where: tuple[str, ...] = ()  # the rows an uncounted operation ran in


@dataclass(frozen=True)
class Ledger:
    """Every operation of the forward pass that counted an imported model, and what it left out."""

    lines: tuple[LedgerLine, ...]
    torch_flops: int  # what torch.utils.flop_counter.FlopCounterMode counts for the same pass
    never_called: tuple[tuple[str, int], ...] = ()  # (module, its parameters) never called by the forward pass
    uncounted_ok: bool = False  # the block says `uncounted: ok`


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
    ledger: Ledger | None = None  # an imported model's operations (a forward pass counted them)

    def activations(self, layer: str | None, path: str) -> int:
        """The bytes of the outputs of every row (of `layer`'s rows), at the block's dtype: what a forward
        pass keeps for the backward pass, torchsummary's "Forward/backward pass size" without its ×2."""
        rows = [r for r in self.rows if layer is None or r.name == layer or r.name.startswith(layer + ".")]
        if layer is not None and not rows:
            raise CnnCostError(f"{path}: no layer named {layer!r}")
        if self.output is None or any(r.output is None for r in rows):
            raise CnnCostError(f"{path}: needs `input:` (only parameters are computed without it)")
        return sum(math.prod(r.output or ()) for r in rows) * DTYPE_BYTES[self.dtype]

    def value(self, path: str) -> int | Shape:
        """The computed value of a claim path (`params`, `conv1.macs`, `output`, ...)."""
        layer, metric = split_path(path)
        if metric in COUNTER_METRICS and metric not in dict(self.counters):
            tool = counter_of(metric)
            raise CnnCostError(f"{path}: the block needs `as: [{tool}]` to count as {tool} does")
        if layer is None and metric in COUNTER_METRICS:
            return dict(self.counters)[metric]
        if metric == "activations":  # bytes of each call's output at the block's dtype
            return self.activations(layer, path)
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
            if any(metric not in dict(r.counters) for r in rows):  # torchsummary-input, -total: whole model only
                raise CnnCostError(f"{path}: {metric} is a number of the whole model only; claim it as `{metric}`")
            return sum(dict(r.counters)[metric] for r in rows)
        values = [getattr(r, metric) for r in rows]
        if any(v is None for v in values):
            raise CnnCostError(f"{path}: needs `input:` (only parameters are computed without it)")
        return sum(values)
