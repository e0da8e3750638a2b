"""The torch-free formula count: the baseline of the VGG-16 target.

Given the layer list of a parsed block (`cnn_cost.block.parse_block(text).model`, a `Call` tree),
compute every layer's parameters, MACs and output shape by formula, in plain Python, without torch.
Only the layer types of VGG-16 are known (Conv2d, ReLU, MaxPool2d, Flatten, Linear, Dropout, in a
Sequential): it is the smallest piece of code that gives the same numbers, not a second registry.

MACs are counted as the plugin counts them: one per multiply-accumulate of a convolution or a
linear layer (bias additions, activations, pooling and dropout count 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Shape = tuple[int, ...]

# positional parameters of each constructor, in PyTorch's order, and their defaults
SIGNATURES: dict[str, tuple[tuple[str, Any], ...]] = {
    "Conv2d": (("in_channels", None), ("out_channels", None), ("kernel_size", None), ("stride", 1),
               ("padding", 0), ("dilation", 1), ("groups", 1), ("bias", True), ("padding_mode", "zeros")),
    "Linear": (("in_features", None), ("out_features", None), ("bias", True)),
    "MaxPool2d": (("kernel_size", None), ("stride", None), ("padding", 0), ("dilation", 1),
                  ("return_indices", False), ("ceil_mode", False)),
    "ReLU": (("inplace", False),),
    "Dropout": (("p", 0.5), ("inplace", False)),
    "Flatten": (("start_dim", 1), ("end_dim", -1)),
}


@dataclass(frozen=True)
class Row:
    name: str
    type: str
    output: Shape
    params: int
    macs: int


@dataclass(frozen=True)
class Count:
    rows: tuple[Row, ...]
    params: int
    macs: int
    output: Shape


def _arguments(call: Any) -> dict[str, Any]:
    signature = SIGNATURES.get(call.name)
    if signature is None:
        raise ValueError(f"the formula count knows VGG-16's layers only, not {call.name}")
    values = {name: default for name, default in signature}
    for (name, _), value in zip(signature, call.args, strict=False):
        values[name] = value
    values.update(dict(call.kwargs))
    return values


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _window(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil: bool = False) -> int:
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (math.ceil(span / stride) if ceil else span // stride) + 1
    if ceil and (out - 1) * stride >= size + padding:  # PyTorch: the last window must start inside
        out -= 1
    return out


def layer(call: Any, shape: Shape) -> tuple[Shape, int, int]:
    """(output shape, parameters, MACs) of one layer on an input of `shape` (batch first)."""
    a = _arguments(call)
    if call.name == "Conv2d":
        n, c, h, w = shape
        if c != a["in_channels"]:
            raise ValueError(f"Conv2d expects {a['in_channels']} channels, got {c}")
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = (_pair(a[k]) for k in ("kernel_size", "stride", "padding",
                                                                         "dilation"))
        out = (n, a["out_channels"], _window(h, kh, sh, ph, dh), _window(w, kw, sw, pw, dw))
        per_output = a["in_channels"] // a["groups"] * kh * kw
        params = a["out_channels"] * per_output + (a["out_channels"] if a["bias"] else 0)
        return out, params, math.prod(out) * per_output
    if call.name == "Linear":
        if shape[-1] != a["in_features"]:
            raise ValueError(f"Linear expects {a['in_features']} features, got {shape[-1]}")
        out = (*shape[:-1], a["out_features"])
        params = a["in_features"] * a["out_features"] + (a["out_features"] if a["bias"] else 0)
        return out, params, math.prod(shape[:-1]) * a["in_features"] * a["out_features"]
    if call.name == "MaxPool2d":
        n, c, h, w = shape
        kh, kw = _pair(a["kernel_size"])
        sh, sw = _pair(a["stride"] if a["stride"] is not None else a["kernel_size"])
        (ph, pw), (dh, dw) = _pair(a["padding"]), _pair(a["dilation"])
        ceil = bool(a["ceil_mode"])
        return (n, c, _window(h, kh, sh, ph, dh, ceil), _window(w, kw, sw, pw, dw, ceil)), 0, 0
    if call.name == "Flatten":
        start, end = a["start_dim"] % len(shape), a["end_dim"] % len(shape)
        return (*shape[:start], math.prod(shape[start:end + 1]), *shape[end + 1:]), 0, 0
    return shape, 0, 0  # ReLU, Dropout


def count(model: Any, input_shape: Shape) -> Count:
    """Count a Sequential of VGG-16's layer types (a parsed `Call` tree) on `input_shape` (no batch)."""
    calls = list(model.args) if model.name == "Sequential" else [model]
    shape: Shape = (1, *input_shape)
    rows = []
    for index, call in enumerate(calls):
        shape, params, macs = layer(call, shape)
        rows.append(Row(str(index), call.name, shape, params, macs))
    return Count(tuple(rows), sum(r.params for r in rows), sum(r.macs for r in rows), shape)


def parse_and_count(text: str) -> Count:
    """The baseline as the bench times it: our parser, then the formulas."""
    from cnn_cost.block import parse_block

    block = parse_block(text)
    if block.model is None or block.input is None:
        raise ValueError("the formula count needs `model:` and `input:`")
    return count(block.model, block.input)
