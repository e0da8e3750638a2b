"""Normalisation: BatchNorm, LayerNorm, GroupNorm, InstanceNorm.

The `detailed` convention counts 4 FLOPs per element (subtract mean, divide by the standard
deviation, scale, shift), in inference, with the statistics known.
"""

from __future__ import annotations

from typing import Any

from cnn_cost.layers.registry import Cost, Shape, ShapeMismatch, dot, equation, fmt, prod, rank_text, register

PER_ELEMENT = 4


def _extra(y: Shape) -> tuple[int, str]:
    count = PER_ELEMENT * prod(y)
    return count, f"{equation(dot(PER_ELEMENT, *y), count)} (normalise, scale, shift)"


def _channels(m: Any) -> Cost:
    c = m.num_features
    params = 2 * c if m.affine else 0
    text = equation(f"2·{c}", params) + " (γ, β)" if m.affine else "0 (affine=False)"
    return Cost(params=params, params_formula=text)


def _norm_cost(m: Any, x: Shape) -> Cost:
    base = _channels(m)
    extra, text = _extra(x)
    buffers = " + running mean and variance as buffers" if m.track_running_stats else ""
    return Cost(params=base.params, extra=extra, params_formula=base.params_formula + buffers,
                extra_formula=text, shape=x)


def _batchnorm(ranks: tuple[int, ...]) -> Any:
    def cost(m: Any, x: Shape, y: Shape | None) -> Cost:
        if len(x) not in ranks:
            raise ShapeMismatch(f"expects {rank_text(*ranks)}, got {len(x)}-D {fmt(x)}")
        # the channel count is checked against γ, β or the running statistics, when there are any
        if (m.affine or m.track_running_stats) and x[1] != m.num_features:
            raise ShapeMismatch(f"expects {m.num_features} channels, got {x[1]}")
        if not m.track_running_stats and x[0] * prod(x[2:]) == 1:  # statistics of the batch itself
            raise ShapeMismatch(f"expects more than 1 value per channel for batch statistics, got {fmt(x)}")
        return _norm_cost(m, x)

    return cost


def _instancenorm(dims: int) -> Any:
    def cost(m: Any, x: Shape, y: Shape | None) -> Cost:
        if len(x) not in (dims + 1, dims + 2):
            raise ShapeMismatch(
                f"expects a {dims + 1}-D (unbatched) or {dims + 2}-D (batched) input, got {len(x)}-D {fmt(x)}"
            )
        channels = x[len(x) - dims - 1]
        # a mismatch is only a warning in PyTorch when there is neither γ, β nor running statistics
        if (m.affine or m.track_running_stats) and channels != m.num_features:
            raise ShapeMismatch(f"expects {m.num_features} channels, got {channels}")
        if not m.track_running_stats and prod(x[-dims:]) == 1:  # statistics of each instance
            raise ShapeMismatch(f"expects more than 1 spatial element per channel, got {fmt(x)}")
        return _norm_cost(m, x)

    return cost


register("BatchNorm1d")(_batchnorm((2, 3)))
register("BatchNorm2d", input_rank=4)(_batchnorm((4,)))
register("BatchNorm3d", input_rank=5)(_batchnorm((5,)))
for _d in (1, 2, 3):
    register(f"InstanceNorm{_d}d", input_rank=_d + 2)(_instancenorm(_d))


@register("LayerNorm")
def layernorm(m: Any, x: Shape, y: Shape | None) -> Cost:
    shape = tuple(m.normalized_shape)
    if not shape:
        raise ShapeMismatch("normalized_shape is empty")
    if len(x) < len(shape) or x[-len(shape) :] != shape:
        raise ShapeMismatch(f"expects an input ending in {fmt(shape)}, got {fmt(x)}")
    size = prod(shape)
    affine = m.elementwise_affine
    has_bias = affine and getattr(m, "bias", None) is not None
    params = (size if affine else 0) + (size if has_bias else 0)
    if not affine:
        p_text = "0 (elementwise_affine=False)"
    else:
        p_text = equation(f"{'2·' if has_bias else ''}{dot(*shape)}", params)
    extra, text = _extra(x)
    return Cost(params=params, extra=extra, params_formula=p_text, extra_formula=text, shape=x)


@register("GroupNorm")
def groupnorm(m: Any, x: Shape, y: Shape | None) -> Cost:
    c = m.num_channels
    groups = m.num_groups
    if len(x) < 2:
        raise ShapeMismatch(f"expects an input of at least 2 dimensions (N, C, ...), got {len(x)}-D {fmt(x)}")
    if x[1] % groups:
        raise ShapeMismatch(f"expects a channel count divisible by {groups} groups, got {x[1]}")
    if m.affine and x[1] != c:  # without γ and β, PyTorch takes any channel count the groups divide
        raise ShapeMismatch(f"expects {c} channels, got {x[1]}")
    if x[0] * x[1] // groups * prod(x[2:]) == 1:
        raise ShapeMismatch(f"expects more than 1 value per group, got {fmt(x)}")
    params = 2 * c if m.affine else 0
    extra, text = _extra(x)
    return Cost(params=params, extra=extra, extra_formula=text, shape=x,
                params_formula=equation(f"2·{c}", params) + f" ({m.num_groups} groups)" if m.affine else "0")
