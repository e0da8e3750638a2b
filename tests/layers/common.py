"""Shared helpers for the layer-registry tests: real modules on CPU, FLOP counts on meta."""

from __future__ import annotations

import ast
import operator
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

MAC = "mac"  # products: 2 x MACs must equal the flop counter
ZERO = "zero"  # no products: MACs 0, and the flop counter agrees
BILINEAR = "bilinear"  # products the flop counter does not see: counted through an equivalent pair of matmuls

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


def registry_cost(name: str, module: nn.Module, x: Shape, y: Shape, rest: Sequence[Shape] = ()) -> Cost:
    """The registry's cost of one call: input `x`, PyTorch's output `y`, the other inputs `rest`."""
    spec = REGISTRY[name]
    assert spec.cost is not None
    return spec.cost(module, tuple(x), tuple(y), tuple(tuple(r) for r in rest))


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


def bilinear_flops(module: nn.Bilinear, x1: Shape, x2: Shape) -> int:
    """Count a Bilinear the way its MAC formula describes it (W·x2, then ·x1), checked to equal the layer.

    The flop counter does not see aten._trilinear; this decomposition into two matmuls does.
    """
    torch.manual_seed(1)
    a, b = torch.randn(x1, dtype=torch.float64), torch.randn(x2, dtype=torch.float64)
    weight = module.weight.detach().double()  # (out, in1, in2)
    out, in1, in2 = weight.shape
    with FlopCounterMode(display=False) as counter:
        wx2 = (b.reshape(-1, in2) @ weight.reshape(out * in1, in2).T).reshape(-1, out, in1, 1)
        y = (a.reshape(-1, 1, 1, in1) @ wx2).reshape(*x1[:-1], out)
    if module.bias is not None:
        y = y + module.bias.detach().double()
    bias = None if module.bias is None else module.bias.detach().double()
    torch.testing.assert_close(y, nn.functional.bilinear(a, b, weight, bias))
    return int(counter.get_total_flops())


def check_layer(name: str, make: Make, shapes: Sequence[Shape], kind: str, call: Call | None = None,
                dtype: torch.dtype = torch.float32, real: tuple[nn.Module, torch.Tensor] | None = None) -> Cost:
    """The registry entry for one configuration against PyTorch: parameters, shape, MACs, formula text."""
    module, out = real if real is not None else run_real(make, shapes, dtype, call)
    assert type(module).__name__ == name
    x, y = tuple(shapes[0]), tuple(out.shape)
    cost = registry_cost(name, module, x, y, shapes[1:])

    assert cost.params == numel(module)
    if cost.shape is not None:
        assert tuple(cost.shape) == y
    assert cost.macs >= 0
    assert cost.extra >= 0
    if kind == MAC:
        assert cost.macs > 0
        assert 2 * cost.macs == meta_flops(make, shapes, dtype, call)
    elif kind == BILINEAR:
        assert isinstance(module, nn.Bilinear)
        assert 2 * cost.macs == bilinear_flops(module, shapes[0], shapes[1])
    else:
        assert kind == ZERO
        assert cost.macs == 0
        assert meta_flops(make, shapes, dtype, call) == 0
    check_formula_numbers(cost)
    check_formula_arithmetic(cost)
    check_conventions(cost)
    return cost


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv}


def _arith(node: ast.AST) -> int:
    if isinstance(node, ast.Expression):
        return _arith(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return int(_OPS[type(node.op)](_arith(node.left), _arith(node.right)))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_arith(node.operand)
    raise AssertionError(f"not plain arithmetic: {ast.dump(node)}")


def arithmetic(expr: str) -> int:
    """Evaluate a formula's left side as written: '·' times, '/' exact or floored division, ⌊ ⌋."""
    text = re.sub(r"(?<=\d),(?=\d{3})", "", expr)
    text = text.replace("·", "*").replace("−", "-").replace("/", "//").replace("⌊", "(").replace("⌋", ")")
    text = re.sub(r"⌈([^⌈⌉]*)//(\d+)⌉", r"(-(-\1//\2))", text)  # ⌈x/s⌉ = -(-x // s)
    return _arith(ast.parse(text, mode="eval"))


def check_formula_arithmetic(cost: Cost) -> None:
    """Every 'expression = result' in the formula text adds up, as a reader would work it out."""
    texts = [cost.params_formula, cost.macs_formula, cost.extra_formula]
    texts += cost.shape_formula.split("; ")
    for text in texts:
        if " = " not in text:
            continue
        expr, _, rest = text.rpartition(" = ")
        expr = expr.rsplit(": ", 1)[-1]  # 'H,W: ⌊...⌋ + 1'
        result = int(re.match(r"[0-9,]+", rest).group(0).replace(",", ""))  # type: ignore[union-attr]
        assert arithmetic(expr) == result, text
