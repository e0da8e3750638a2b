"""Activations, dropout, reshaping and resampling: no MACs, few or no parameters."""

from __future__ import annotations

from typing import Any

from cnn_cost.layers.registry import Cost, Shape, dot, elementwise, equation, n, prod, register, zero

for _name in ("ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Hardswish", "Hardsigmoid"):
    register(_name)(elementwise(1, "one per element"))

register("Softmax")(elementwise(3, "exp, sum, divide"))
register("Dropout", "Dropout2d")(zero("identity at inference"))
register("Identity")(zero("identity"))


@register("PReLU")
def prelu(m: Any, x: Shape, y: Shape) -> Cost:
    base = elementwise(1, "one per element")(m, x, y)
    params = m.num_parameters
    return Cost(params=params, extra=base.extra, extra_formula=base.extra_formula,
                params_formula=f"{n(params)} (one slope{' per channel' if params > 1 else ''})")


@register("Flatten")
def flatten(m: Any, x: Shape, y: Shape) -> Cost:
    start = m.start_dim % len(x)
    end = m.end_dim % len(x)
    merged = prod(x[start : end + 1])
    shape = (*x[:start], merged, *x[end + 1 :])
    return Cost(macs_formula="0 (a reshape)", shape=shape,
                shape_formula=equation(dot(*x[start : end + 1]), merged))


UPSAMPLE_FLOPS = {"nearest": 0, "nearest-exact": 0, "linear": 2, "bilinear": 4, "bicubic": 16, "trilinear": 8}


@register("Upsample")
def upsample(m: Any, x: Shape, y: Shape) -> Cost:
    per = UPSAMPLE_FLOPS.get(m.mode, 0)
    count = per * prod(y)
    return Cost(
        extra=count,
        macs_formula=f"0 ({m.mode} interpolation)",
        extra_formula=f"{equation(dot(per, *y), count)} ({m.mode})" if per else "",
    )
