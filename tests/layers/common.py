"""Shared helpers for the layer-registry tests: real modules on CPU, FLOP counts on meta."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnn_cost.layers import REGISTRY, Cost

Shape = tuple[int, ...]
Make = Callable[[], nn.Module]
Call = Callable[..., Any]

# A result after '=' in a formula: digits with optional thousands separators.
_RESULT_RE = re.compile(r"=\s*([0-9][0-9,]*)")


def first_tensor(value: Any) -> torch.Tensor:
    """The first tensor of a module's output (recurrent layers and attention return tuples)."""
    while isinstance(value, (tuple, list)):
        value = value[0]
    assert isinstance(value, torch.Tensor)
    return value


def real_inputs(shapes: Sequence[Shape], dtype: torch.dtype, high: int = 1) -> list[torch.Tensor]:
    if dtype == torch.long:
        return [torch.randint(0, high, s) for s in shapes]
    return [torch.randn(s) for s in shapes]


def meta_inputs(shapes: Sequence[Shape], dtype: torch.dtype) -> list[torch.Tensor]:
    return [torch.empty(s, device="meta", dtype=dtype) for s in shapes]


def run_real(make: Make, shapes: Sequence[Shape], dtype: torch.dtype = torch.float32,
             call: Call | None = None) -> tuple[nn.Module, torch.Tensor]:
    """Build the module on CPU with real weights, run a real input through it."""
    torch.manual_seed(0)
    module = make().eval()
    high = getattr(module, "num_embeddings", 1)
    inputs = real_inputs(shapes, dtype, high)
    with torch.no_grad():
        out = call(module, *inputs) if call else module(*inputs)
    return module, first_tensor(out)


def meta_flops(make: Make, shapes: Sequence[Shape], dtype: torch.dtype = torch.float32,
               call: Call | None = None) -> int:
    """torch.utils.flop_counter's total for one call, module and inputs on the meta device.

    (On CPU, LSTM runs through mkldnn, which the counter does not see; on meta it decomposes.)
    """
    with torch.device("meta"):
        module = make()
    module.eval()
    inputs = meta_inputs(shapes, dtype)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        if call:
            call(module, *inputs)
        else:
            module(*inputs)
    return int(counter.get_total_flops())


def numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def registry_cost(name: str, module: nn.Module, x: Shape, y: Shape) -> Cost:
    spec = REGISTRY[name]
    assert spec.cost is not None
    return spec.cost(module, tuple(x), tuple(y))


def check_formula_numbers(cost: Cost) -> None:
    """Each formula shows its computed number, with thousands separators where > 999."""
    if cost.params:
        assert f"{cost.params:,}" in cost.params_formula, cost.params_formula
    if cost.macs:
        assert f"{cost.macs:,}" in cost.macs_formula, cost.macs_formula
    if cost.extra:
        assert f"{cost.extra:,}" in cost.extra_formula, cost.extra_formula
    else:
        assert cost.extra_formula == "", cost.extra_formula
    for text in (cost.params_formula, cost.macs_formula, cost.extra_formula, cost.shape_formula):
        for match in _RESULT_RE.finditer(text):
            written = match.group(1).rstrip(",")
            value = int(written.replace(",", ""))
            assert written == f"{value:,}", f"{written!r} in {text!r} is not written as {value:,}"


def check_conventions(cost: Cost) -> None:
    assert cost.flops("mac") == cost.macs
    assert cost.flops("2mac") == 2 * cost.macs
    assert cost.flops("detailed") == 2 * cost.macs + cost.extra
    lines = cost.formula_lines("detailed")
    assert len(lines) >= len(cost.formula_lines("2mac"))
    if cost.extra_formula:
        assert any(line.startswith("+FLOPs: ") for line in lines)
