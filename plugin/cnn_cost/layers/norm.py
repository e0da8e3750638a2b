"""Normalisation: BatchNorm, LayerNorm, GroupNorm, InstanceNorm.

The `detailed` convention counts 4 FLOPs per element (subtract mean, divide by the standard
deviation, scale, shift), in inference, with the statistics known.
"""

from __future__ import annotations

from typing import Any

from cnn_cost.layers.registry import Cost, Shape, dot, equation, prod, register

PER_ELEMENT = 4


def _extra(y: Shape) -> tuple[int, str]:
    count = PER_ELEMENT * prod(y)
    return count, f"{equation(dot(PER_ELEMENT, *y), count)} (normalise, scale, shift)"


def _channels(m: Any) -> Cost:
    c = m.num_features
    params = 2 * c if m.affine else 0
    text = equation(f"2·{c}", params) + " (γ, β)" if m.affine else "0 (affine=False)"
    return Cost(params=params, params_formula=text)


def _batchnorm(m: Any, x: Shape, y: Shape) -> Cost:
    base = _channels(m)
    extra, text = _extra(y)
    buffers = " + running mean and variance as buffers" if m.track_running_stats else ""
    return Cost(params=base.params, extra=extra, params_formula=base.params_formula + buffers,
                extra_formula=text, shape=x)


register("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", input_rank=(None, 4, 5))(_batchnorm)
register("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", input_rank=(3, 4, 5))(_batchnorm)


@register("LayerNorm")
def layernorm(m: Any, x: Shape, y: Shape) -> Cost:
    shape = tuple(m.normalized_shape)
    size = prod(shape)
    affine = m.elementwise_affine
    has_bias = affine and getattr(m, "bias", None) is not None
    params = (size if affine else 0) + (size if has_bias else 0)
    if not affine:
        p_text = "0 (elementwise_affine=False)"
    else:
        p_text = equation(f"{'2·' if has_bias else ''}{dot(*shape)}", params)
    extra, text = _extra(y)
    return Cost(params=params, extra=extra, params_formula=p_text, extra_formula=text, shape=x)


@register("GroupNorm")
def groupnorm(m: Any, x: Shape, y: Shape) -> Cost:
    c = m.num_channels
    params = 2 * c if m.affine else 0
    extra, text = _extra(y)
    return Cost(params=params, extra=extra, extra_formula=text, shape=x,
                params_formula=equation(f"2·{c}", params) + f" ({m.num_groups} groups)" if m.affine else "0")
