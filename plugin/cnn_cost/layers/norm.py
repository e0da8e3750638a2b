"""Normalisation: BatchNorm (and SyncBatchNorm), LayerNorm, RMSNorm, GroupNorm, InstanceNorm, LocalResponseNorm.

The `detailed` convention counts 4 FLOPs per element (subtract mean, divide by the standard
deviation, scale, shift), in inference, with the statistics known; RMSNorm and LocalResponseNorm
(square, sum over the window, scale, divide) count the same 4.
"""

from __future__ import annotations

from typing import Any

from cnn_cost.layers.registry import Cost, Shape, ShapeMismatch, dot, equation, fmt, prod, rank_text, register

PER_ELEMENT = 4


def _normalise(x: Shape) -> Cost:
    """The cost of every norm: the input's shape out, `PER_ELEMENT` FLOPs per element (detailed)."""
    count = PER_ELEMENT * prod(x)
    return Cost(extra=count, extra_formula=f"{equation(dot(PER_ELEMENT, *x), count)} (normalise, scale, shift)",
                shape=x)


def _channels(m: Any) -> tuple[int, str]:
    """BatchNorm and InstanceNorm: γ and β, one per channel, if affine."""
    c = m.num_features
    params = 2 * c if m.affine else 0
    text = equation(f"2·{c}", params) + " (γ, β)" if m.affine else "0 (affine=False)"
    buffers = " + running mean and variance as buffers" if m.track_running_stats else ""
    return params, text + buffers


def _layernorm_params(m: Any) -> tuple[int, str]:
    """γ (and β unless bias=False) over normalized_shape, if elementwise_affine."""
    if not m.elementwise_affine:
        return 0, "0 (elementwise_affine=False)"
    shape = tuple(m.normalized_shape)
    has_bias = getattr(m, "bias", None) is not None
    params = prod(shape) * (2 if has_bias else 1)
    return params, equation(f"{'2·' if has_bias else ''}{dot(*shape) or 1}", params)


def _groupnorm_params(m: Any) -> tuple[int, str]:
    if not m.affine:
        return 0, "0"
    params = 2 * m.num_channels
    return params, equation(f"2·{m.num_channels}", params) + f" ({m.num_groups} groups)"


def _batchnorm(ranks: tuple[int, ...]) -> Any:
    def cost(m: Any, x: Shape, y: Shape | None) -> Cost:
        if len(x) not in ranks:
            raise ShapeMismatch(f"expects {rank_text(*ranks)}, got {len(x)}-D {fmt(x)}")
        # the channel count is checked against γ, β or the running statistics, when there are any
        if (m.affine or m.track_running_stats) and x[1] != m.num_features:
            raise ShapeMismatch(f"expects {m.num_features} channels, got {x[1]}")
        if not m.track_running_stats and x[0] * prod(x[2:]) == 1:  # statistics of the batch itself
            raise ShapeMismatch(f"expects more than 1 value per channel for batch statistics, got {fmt(x)}")
        return _normalise(x)

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
        return _normalise(x)

    return cost


@register("SyncBatchNorm", params=_channels)
def sync_batchnorm(m: Any, x: Shape, y: Shape | None) -> Cost:
    """BatchNorm over any input of 2 or more dimensions; in inference (and outside a distributed job) it
    shares no statistics, and costs what BatchNorm does."""
    if len(x) < 2:
        raise ShapeMismatch(f"expects an input of at least 2 dimensions (N, C, …), got {len(x)}-D {fmt(x)}")
    return _batchnorm((len(x),))(m, x, y)


register("BatchNorm1d", params=_channels)(_batchnorm((2, 3)))
register("BatchNorm2d", input_rank=4, params=_channels)(_batchnorm((4,)))
register("BatchNorm3d", input_rank=5, params=_channels)(_batchnorm((5,)))
for _d in (1, 2, 3):
    register(f"InstanceNorm{_d}d", input_rank=_d + 2, params=_channels)(_instancenorm(_d))


@register("LayerNorm", params=_layernorm_params)
def layernorm(m: Any, x: Shape, y: Shape | None) -> Cost:
    shape = tuple(m.normalized_shape)
    if not shape:
        raise ShapeMismatch("normalized_shape is empty")
    if len(x) < len(shape) or x[-len(shape) :] != shape:
        raise ShapeMismatch(f"expects an input ending in {fmt(shape)}, got {fmt(x)}")
    return _normalise(x)


@register("GroupNorm", params=_groupnorm_params)
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
    return _normalise(x)


@register("RMSNorm", params=_layernorm_params)
def rmsnorm(m: Any, x: Shape, y: Shape | None) -> Cost:
    """As LayerNorm: over the last dimensions, `normalized_shape`; γ only (no β)."""
    return layernorm(m, x, y)


@register("LocalResponseNorm")
def local_response_norm(m: Any, x: Shape, y: Shape | None) -> Cost:
    """Across channels (dimension 1) of an input of 3 or more dimensions."""
    if len(x) < 3:
        raise ShapeMismatch(f"expects an input of at least 3 dimensions (N, C, …), got {len(x)}-D {fmt(x)}")
    return _normalise(x)


@register("CrossMapLRN2d", input_rank=4)
def cross_map_lrn2d(m: Any, x: Shape, y: Shape | None) -> Cost:
    """LocalResponseNorm as Lua Torch computed it, for a 4-D input only."""
    if len(x) != 4:
        raise ShapeMismatch(f"expects a 4-D input, got {len(x)}-D {fmt(x)}")
    return _normalise(x)
