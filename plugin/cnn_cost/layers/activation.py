"""Activations, dropout, reshaping and resampling: no MACs, few or no parameters."""

from __future__ import annotations

from typing import Any

from cnn_cost.layers.registry import (
    Cost,
    Shape,
    ShapeMismatch,
    dim_index,
    dot,
    elementwise,
    equation,
    fmt,
    n,
    prod,
    register,
    zero,
)

for _name in ("ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Hardswish", "Hardsigmoid",
              "Mish"):
    register(_name)(elementwise(1, "one per element"))

register("Dropout", "Dropout2d")(zero("identity at inference"))
register("Identity")(zero("identity"))

_softmax = elementwise(3, "exp, sum, divide")


@register("Softmax")
def softmax(m: Any, x: Shape, y: Shape | None) -> Cost:
    if m.dim is not None:  # dim=None: PyTorch's legacy choice (0 or 1) is always in range
        dim_index(m.dim, len(x), "dim")
    return _softmax(m, x, y)


def _slopes(m: Any) -> tuple[int, str]:
    slopes = m.num_parameters
    return slopes, f"{n(slopes)} (one slope{' per channel' if slopes > 1 else ''})"


_per_element = elementwise(1, "one per element")


@register("PReLU", params=_slopes)
def prelu(m: Any, x: Shape, y: Shape | None) -> Cost:
    slopes = m.num_parameters
    if slopes > 1:  # one slope per channel: dimension 1 (a 1-D input has one channel)
        if not x:
            raise ShapeMismatch(f"expects an input with a channel dimension for {slopes} slopes, got a 0-D input")
        channels = x[1] if len(x) >= 2 else 1
        if channels != slopes:
            raise ShapeMismatch(f"expects {slopes} channels (one per slope), got {channels}")
    return _per_element(m, x, y)


@register("Flatten")
def flatten(m: Any, x: Shape, y: Shape | None) -> Cost:
    start = dim_index(m.start_dim, len(x), "start_dim")
    end = dim_index(m.end_dim, len(x), "end_dim")
    if start > end:
        raise ShapeMismatch(f"start_dim {m.start_dim} comes after end_dim {m.end_dim} for a {len(x)}-D input")
    if not x:  # a 0-D tensor flattens to one element
        return Cost(macs_formula="0 (a reshape)", shape=(1,), shape_formula="a scalar becomes [1]")
    merged = prod(x[start : end + 1])
    shape = (*x[:start], merged, *x[end + 1 :])
    return Cost(macs_formula="0 (a reshape)", shape=shape,
                shape_formula=equation(dot(*x[start : end + 1]), merged))


UPSAMPLE_FLOPS = {"nearest": 0, "nearest-exact": 0, "linear": 2, "bilinear": 4, "bicubic": 16, "trilinear": 8}
UPSAMPLE_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}  # other modes take 3-D to 5-D
UNALIGNED = ("nearest", "nearest-exact", "area")  # modes without align_corners


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def upsample_shape(m: Any, x: Shape) -> Shape:
    """Output shape of nn.Upsample (F.interpolate); ShapeMismatch where PyTorch refuses."""
    mode = m.mode
    if mode not in UPSAMPLE_FLOPS and mode != "area":
        raise ShapeMismatch(f"mode {mode!r} is not one nn.Upsample can run")
    if len(x) not in (3, 4, 5):
        raise ShapeMismatch(f"expects a batched 3-D, 4-D or 5-D input, got {len(x)}-D {fmt(x)}")
    if mode in UPSAMPLE_RANK and len(x) != UPSAMPLE_RANK[mode]:
        raise ShapeMismatch(f"mode {mode!r} expects a {UPSAMPLE_RANK[mode]}-D input, got {len(x)}-D {fmt(x)}")
    if mode in UNALIGNED and m.align_corners is not None:
        raise ShapeMismatch(f"align_corners does not apply to mode {mode!r}")
    dims = len(x) - 2
    spatial = x[2:]
    size, scale = m.size, m.scale_factor
    if size is not None and scale is not None:
        raise ShapeMismatch("give size or scale_factor, not both")
    if size is not None:
        if getattr(m, "recompute_scale_factor", None):
            raise ShapeMismatch("recompute_scale_factor does not apply with an explicit size")
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * dims
        if len(sizes) != dims or not all(_int(s) for s in sizes):
            raise ShapeMismatch(f"size {size!r} does not give one int per spatial dimension of {fmt(x)}")
        outs = sizes
    elif scale is not None:
        scales = tuple(scale) if isinstance(scale, (tuple, list)) else (scale,) * dims
        if len(scales) != dims:
            raise ShapeMismatch(f"scale_factor {scale!r} does not give one factor per spatial dimension of {fmt(x)}")
        # PyTorch: the integer part of size·scale, in double precision
        outs = tuple(int(float(s) * float(f)) for s, f in zip(spatial, scales, strict=True))
    else:
        raise ShapeMismatch("needs size or scale_factor")
    if min(outs) < 1:
        raise ShapeMismatch(f"output size would be {fmt(outs)} (input {fmt(spatial)})")
    return (*x[:2], *outs)


@register("Upsample")
def upsample(m: Any, x: Shape, y: Shape | None) -> Cost:
    shape = upsample_shape(m, x)
    per = UPSAMPLE_FLOPS.get(m.mode, 0)
    count = per * prod(shape)
    return Cost(
        extra=count,
        macs_formula=f"0 ({m.mode} interpolation)",
        extra_formula=f"{equation(dot(per, *shape), count)} ({m.mode})" if per else "",
        shape=shape,
    )
