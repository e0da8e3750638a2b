"""Pooling: max, average and adaptive pools in 1, 2 and 3 dimensions."""

from __future__ import annotations

from typing import Any

from cnn_cost.layers.conv import out_size, spatial_text, split
from cnn_cost.layers.registry import Cost, Shape, dot, equation, prod, register, tup


def _pool(dims: int, kind: str) -> Any:
    def cost(m: Any, x: Shape, y: Shape) -> Cost:
        batch, channels, spatial = split(x, dims)
        k = tup(m.kernel_size, dims)
        s = tup(m.stride if m.stride else m.kernel_size, dims)
        p = tup(m.padding, dims)
        d = tup(getattr(m, "dilation", 1), dims)
        outs, texts = [], []
        for i in range(dims):
            o, t = out_size(spatial[i], k[i], s[i], p[i], d[i], bool(m.ceil_mode))
            outs.append(o)
            texts.append(t)
        out_numel = batch * channels * prod(outs)
        extra = out_numel * prod(k)
        lead = f"{batch}·" if batch != 1 else ""
        shape = ((batch,) if len(x) == dims + 2 else ()) + (channels, *outs)
        return Cost(
            extra=extra,
            extra_formula=f"{equation(lead + dot(channels, *outs, *k), extra)} (one per window element)",
            shape=shape,
            shape_formula=spatial_text(texts, dims),
        )

    return cost


def _adaptive(dims: int) -> Any:
    def cost(m: Any, x: Shape, y: Shape) -> Cost:
        batch, channels, spatial = split(x, dims)
        size = tup(m.output_size, dims)
        outs = [spatial[i] if size[i] is None else size[i] for i in range(dims)]
        extra = prod(x)
        shape = ((batch,) if len(x) == dims + 2 else ()) + (channels, *outs)
        return Cost(
            extra=extra,
            extra_formula=f"{equation(dot(*x), extra)} (one per input element)",
            shape=shape,
            shape_formula=f"output_size {tuple(outs)}",
        )

    return cost


for _d in (1, 2, 3):
    register(f"MaxPool{_d}d", input_rank=_d + 2)(_pool(_d, "max"))
    register(f"AvgPool{_d}d", input_rank=_d + 2)(_pool(_d, "avg"))
    register(f"AdaptiveAvgPool{_d}d", f"AdaptiveMaxPool{_d}d", input_rank=_d + 2)(_adaptive(_d))
