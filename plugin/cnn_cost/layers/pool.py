"""Pooling: max, average, power-average (LPPool) and adaptive pools in 1, 2 and 3 dimensions.

Detailed FLOPs: one per window element per output element for max and average pools; LPPool one
more per output element (the root); adaptive pools one per input element.
"""

from __future__ import annotations

from typing import Any

from cnn_cost.layers.conv import non_negative, out_size, positive, spatial_text, split, too_small
from cnn_cost.layers.registry import (
    Cost,
    Shape,
    ShapeMismatch,
    dot,
    equation,
    expect_rank,
    fmt,
    knobs,
    prod,
    register,
)


def _pool(dims: int, kind: str) -> Any:
    def cost(m: Any, x: Shape, y: Shape | None) -> Cost:
        expect_rank(x, dims)
        batch, channels, spatial = split(x, dims)
        k = knobs(m.kernel_size, dims, "kernel_size")
        stride = m.stride if m.stride not in (None, (), []) else m.kernel_size
        s = knobs(stride, dims, "stride")
        p = knobs(m.padding, dims, "padding")
        d = knobs(getattr(m, "dilation", 1), dims, "dilation")
        positive(k, "kernel_size")
        positive(s, "stride")
        positive(d, "dilation")
        non_negative(p, "padding")
        outs, texts = [], []
        for i in range(dims):
            if 2 * p[i] > k[i]:
                raise ShapeMismatch(f"padding {p[i]} must be at most half the kernel size {k[i]}")
            if kind == "avg" and dims == 3 and spatial[i] < k[i]:  # avg_pool3d checks this before padding
                raise ShapeMismatch(f"input {fmt(spatial)} is smaller than the kernel {fmt(k)}")
            o, t = out_size(spatial[i], k[i], s[i], p[i], d[i], bool(m.ceil_mode))
            if o < 1:
                raise too_small(spatial[i], k[i], s[i], p[i], d[i], o)
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


def adaptive_sizes(output_size: Any, spatial: Shape) -> list[int]:
    """The output size of an adaptive pool: one int for all, or one per dimension (None keeps the input's)."""
    dims = len(spatial)
    if isinstance(output_size, (tuple, list)):
        sizes = tuple(output_size)
        if len(sizes) != dims:
            raise ShapeMismatch(f"output_size {sizes} does not have {dims} entries")
        if dims == 1 and None in sizes:
            raise ShapeMismatch("output_size None needs a 2-D or 3-D adaptive pool")
    elif output_size is None:
        raise ShapeMismatch("output_size None is not a size")
    else:
        sizes = (output_size,) * dims
    outs = [spatial[i] if sizes[i] is None else sizes[i] for i in range(dims)]
    if not all(isinstance(o, int) and not isinstance(o, bool) for o in outs):
        raise ShapeMismatch(f"output_size {output_size!r} is not made of ints")
    if min(outs) < 1:
        raise ShapeMismatch(f"output size would be {fmt(outs)} (output_size {output_size!r})")
    return outs


def _global_mean(m: Any, x: Shape, dims: int) -> bool:
    """AdaptiveAvgPool2d/3d to size 1 everywhere is PyTorch's mean over the last `dims` dimensions, for any rank.

    (A tuple output_size must leave at least one leading dimension; None keeps the input's size.)
    """
    size = m.output_size
    if dims == 1 or len(x) < dims or (isinstance(size, (tuple, list)) and len(x) <= dims):
        return False
    sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * dims
    return len(sizes) == dims and all((x[-dims + i] if s is None else s) == 1 for i, s in enumerate(sizes))


def _adaptive(dims: int, kind: str) -> Any:
    def cost(m: Any, x: Shape, y: Shape | None) -> Cost:
        if kind == "avg" and len(x) not in (dims + 1, dims + 2) and _global_mean(m, x, dims):
            outs = [1] * dims
            shape = (*x[:-dims], *outs)
        else:
            expect_rank(x, dims)
            batch, channels, spatial = split(x, dims)
            outs = adaptive_sizes(m.output_size, spatial)
            shape = ((batch,) if len(x) == dims + 2 else ()) + (channels, *outs)
        extra = prod(x)
        return Cost(
            extra=extra,
            extra_formula=f"{equation(dot(*x), extra)} (one per input element)",
            shape=shape,
            shape_formula=f"output_size {tuple(outs)}",
        )

    return cost


def _lp_pool(dims: int) -> Any:
    def cost(m: Any, x: Shape, y: Shape | None) -> Cost:
        """An average pool (no padding) of x^p, times the window size, to the power 1/p."""
        expect_rank(x, dims)
        batch, channels, spatial = split(x, dims)
        if dims == 1 and isinstance(m.kernel_size, (tuple, list)):  # lp_pool1d multiplies by kernel_size
            raise ShapeMismatch(f"kernel_size {tuple(m.kernel_size)} must be one int")
        k = knobs(m.kernel_size, dims, "kernel_size")
        s = knobs(m.stride if m.stride not in (None, (), []) else m.kernel_size, dims, "stride")
        positive(k, "kernel_size")
        positive(s, "stride")
        outs, texts = [], []
        for i in range(dims):
            if dims == 3 and spatial[i] < k[i]:  # avg_pool3d checks this first
                raise ShapeMismatch(f"input {fmt(spatial)} is smaller than the kernel {fmt(k)}")
            o, t = out_size(spatial[i], k[i], s[i], 0, 1, bool(m.ceil_mode))
            if o < 1:
                raise too_small(spatial[i], k[i], s[i], 0, 1, o)
            outs.append(o)
            texts.append(t)
        extra = batch * channels * prod(outs) * (prod(k) + 1)
        lead = f"{batch}·" if batch != 1 else ""
        shape = ((batch,) if len(x) == dims + 2 else ()) + (channels, *outs)
        return Cost(
            extra=extra,
            extra_formula=f"{equation(lead + dot(channels, *outs) + f'·({dot(*k)} + 1)', extra)} "
                          "(one per window element, one root per output)",
            shape=shape,
            shape_formula=spatial_text(texts, dims),
        )

    return cost


def _fractional(dims: int) -> Any:
    def cost(m: Any, x: Shape, y: Shape | None) -> Cost:
        """Max over windows of `kernel_size` at pseudo-random positions: the output size is output_size, or
        the input size times output_ratio (truncated); each window must fit in the input."""
        expect_rank(x, dims)
        batch, channels, spatial = split(x, dims)
        k = knobs(m.kernel_size, dims, "kernel_size")
        positive(k, "kernel_size")
        if m.output_size is not None:
            outs = list(knobs(m.output_size, dims, "output_size"))
            texts = [f"output_size {fmt(outs)}"]
        else:
            ratios = tuple(m.output_ratio) if isinstance(m.output_ratio, (tuple, list)) else (m.output_ratio,) * dims
            outs = [int(size * float(r)) for size, r in zip(spatial, ratios, strict=True)]
            texts = [f"⌊{size}·{r}⌋ → {o}" for size, r, o in zip(spatial, ratios, outs, strict=True)]
        if min(outs) < 1:
            raise ShapeMismatch(f"output size would be {fmt(outs)} (input {fmt(spatial)})")
        for i in range(dims):
            # the 2-D kernel lets the last window end at the input's end, the 3-D one does not
            if outs[i] + k[i] - 1 > spatial[i] - (1 if dims == 3 else 0):
                raise ShapeMismatch(f"kernel {k[i]} is too large for output {outs[i]} from input {spatial[i]}")
        extra = batch * channels * prod(outs) * prod(k)
        lead = f"{batch}·" if batch != 1 else ""
        return Cost(
            extra=extra,
            extra_formula=f"{equation(lead + dot(channels, *outs, *k), extra)} (one per window element)",
            shape=((batch,) if len(x) == dims + 2 else ()) + (channels, *outs),
            shape_formula="; ".join(texts),
        )

    return cost


register("FractionalMaxPool2d", input_rank=4)(_fractional(2))
register("FractionalMaxPool3d", input_rank=5)(_fractional(3))
for _d in (1, 2, 3):
    register(f"LPPool{_d}d", input_rank=_d + 2)(_lp_pool(_d))
    register(f"MaxPool{_d}d", input_rank=_d + 2)(_pool(_d, "max"))
    register(f"AvgPool{_d}d", input_rank=_d + 2)(_pool(_d, "avg"))
    register(f"AdaptiveAvgPool{_d}d", input_rank=_d + 2)(_adaptive(_d, "avg"))
    register(f"AdaptiveMaxPool{_d}d", input_rank=_d + 2)(_adaptive(_d, "max"))
