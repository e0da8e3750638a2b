"""Activations, dropout, reshaping, padding and resampling: no MACs, few or no parameters.

Detailed FLOPs: one per element for an elementwise activation; 3 per element for the softmax family
(exp, sum, divide; LogSoftmax and Softmin alike); 2 per output element for GLU (sigmoid, product);
one per interpolated value per neighbour for Upsample (`UPSAMPLE_FLOPS`); one addition per input
element for Fold (overlapping blocks summed); nothing for dropout, reshapes, Unfold and padding (copies).
"""

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
    knobs,
    n,
    prod,
    rank_text,
    register,
    zero,
)

ELEMENTWISE = ("ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Hardswish", "Hardsigmoid",
               "Mish", "Hardtanh", "SELU", "CELU", "Softplus", "Softsign", "Softshrink", "Hardshrink", "Tanhshrink",
               "LogSigmoid", "RReLU", "Threshold")  # RReLU at inference: one fixed slope
for _name in ELEMENTWISE:
    register(_name)(elementwise(1, "one per element"))

register("Dropout", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")(zero("identity at inference"))
register("Identity")(zero("identity"))

_softmax = elementwise(3, "exp, sum, divide")


@register("Softmax", "LogSoftmax", "Softmin")
def softmax(m: Any, x: Shape, y: Shape | None) -> Cost:
    if m.dim is not None:  # dim=None: PyTorch's legacy choice (0 or 1) is always in range
        dim_index(m.dim, len(x), "dim")
    return _softmax(m, x, y)


@register("Softmax2d")
def softmax2d(m: Any, x: Shape, y: Shape | None) -> Cost:
    """Softmax over the channels (dimension -3) of a 3-D or 4-D input."""
    if len(x) not in (3, 4):
        raise ShapeMismatch(f"expects {rank_text(3, 4)}, got {len(x)}-D {fmt(x)}")
    return _softmax(m, x, y)


@register("Dropout1d")
def dropout1d(m: Any, x: Shape, y: Shape | None) -> Cost:
    if len(x) not in (2, 3):  # checked even at inference
        raise ShapeMismatch(f"expects {rank_text(2, 3)}, got {len(x)}-D {fmt(x)}")
    return Cost(macs_formula="0 (identity at inference)", shape=x)


@register("GLU")
def glu(m: Any, x: Shape, y: Shape | None) -> Cost:
    """The first half of `dim` times the sigmoid of the second: 2 FLOPs per output element (detailed)."""
    if not x:
        raise ShapeMismatch("expects a dimension to halve, got a 0-D input")
    d = dim_index(m.dim, len(x), "dim")
    if x[d] % 2:
        raise ShapeMismatch(f"expects an even size in dimension {m.dim} to halve, got {x[d]}")
    shape = (*x[:d], x[d] // 2, *x[d + 1 :])
    count = 2 * prod(shape)
    return Cost(extra=count, extra_formula=f"{equation(dot(2, *shape), count)} (sigmoid, product)", shape=shape,
                shape_formula=f"{x[d]}/2 = {x[d] // 2}")


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


register("UpsamplingNearest2d", "UpsamplingBilinear2d", input_rank=4)(upsample)  # nn.Upsample with a fixed mode


# ------------------------------------------------------------------ reshapes ----


def _reshape(shape: Shape, text: str = "") -> Cost:
    return Cost(macs_formula="0 (a reshape)", shape=shape, shape_formula=text)


@register("Unflatten")
def unflatten(m: Any, x: Shape, y: Shape | None) -> Cost:
    if isinstance(m.dim, str):
        raise ShapeMismatch(f"dim {m.dim!r} names a dimension, which needs a named tensor")
    if not x:
        raise ShapeMismatch("expects a dimension to unflatten, got a 0-D input")
    d = dim_index(m.dim, len(x), "dim")
    sizes = tuple(m.unflattened_size)
    if not sizes or not all(_int(s) for s in sizes):
        raise ShapeMismatch(f"unflattened_size {m.unflattened_size!r} is not a tuple of ints")
    known = prod(s for s in sizes if s != -1)
    free = sizes.count(-1)
    if free > 1 or any(s < -1 for s in sizes) or (free and (known == 0 or x[d] % known)) or \
            (not free and known != x[d]):
        raise ShapeMismatch(f"unflattened_size {fmt(sizes)} does not multiply up to {x[d]} (dimension {m.dim})")
    outs = tuple(x[d] // known if s == -1 else s for s in sizes)
    if min(outs) < 1:
        raise ShapeMismatch(f"output size would be {fmt(outs)} (unflattened_size {fmt(sizes)})")
    return _reshape((*x[:d], *outs, *x[d + 1 :]), equation(dot(*outs), x[d]))


def _at_least_3d(x: Shape) -> None:
    if len(x) < 3:
        raise ShapeMismatch(f"expects an input of at least 3 dimensions (…, C, H, W), got {len(x)}-D {fmt(x)}")


@register("PixelShuffle")
def pixel_shuffle(m: Any, x: Shape, y: Shape | None) -> Cost:
    r = m.upscale_factor
    _at_least_3d(x)
    if r < 1:
        raise ShapeMismatch(f"upscale_factor must be positive, got {r}")
    c, h, w = x[-3:]
    if c % (r * r):
        raise ShapeMismatch(f"expects channels divisible by upscale_factor² = {r * r}, got {c}")
    return _reshape((*x[:-3], c // (r * r), h * r, w * r), f"C: {c}/({r}·{r}) = {c // (r * r)}; H,W ·{r}")


@register("PixelUnshuffle")
def pixel_unshuffle(m: Any, x: Shape, y: Shape | None) -> Cost:
    r = m.downscale_factor
    _at_least_3d(x)
    if r < 1:
        raise ShapeMismatch(f"downscale_factor must be positive, got {r}")
    c, h, w = x[-3:]
    if h % r or w % r:
        raise ShapeMismatch(f"expects height and width divisible by downscale_factor {r}, got {h} and {w}")
    return _reshape((*x[:-3], c * r * r, h // r, w // r), f"C: {c}·{r}·{r} = {c * r * r}; H,W /{r}")


@register("ChannelShuffle")
def channel_shuffle(m: Any, x: Shape, y: Shape | None) -> Cost:
    g = m.groups
    if len(x) < 3:
        raise ShapeMismatch(f"expects an input of more than 2 dimensions (N, C, …), got {len(x)}-D {fmt(x)}")
    if g < 1:
        raise ShapeMismatch(f"groups must be positive, got {g}")
    if x[1] % g:
        raise ShapeMismatch(f"expects channels divisible by {g} groups, got {x[1]}")
    return _reshape(x)


# ------------------------------------------------------------------ padding ----

PAD_MODES = {"Zero": "constant", "Constant": "constant", "Reflection": "reflect", "Replication": "replicate",
             "Circular": "circular"}


def _pad_text(size: int, left: int, right: int, out: int) -> str:
    def term(value: int) -> str:
        return f" − {-value}" if value < 0 else f" + {value}"

    return f"{size}{term(left)}{term(right)} = {out}"


def _slice(size: int, start: int, end: int) -> int:
    """The length of PyTorch's `tensor.slice(start, end)` along a dimension of `size` (negative ends wrap)."""
    start, end = start + size if start < 0 else start, end + size if end < 0 else end
    start = min(max(start, 0), size)
    return min(max(end, start), size) - start


def _wraps(size: int, left: int, right: int) -> bool:
    """Whether PyTorch's circular padding (`_pad_circular`) can fill one dimension: its copies of the kept
    input and of the wrapped ends must have lengths that broadcast (cropping more than the input breaks them)."""
    out, lo, hi = size + left + right, max(left, 0), max(right, 0)
    copies = [(_slice(out, lo, out - hi), _slice(size, max(-left, 0), size - max(-right, 0)))]
    if left > 0:
        copies.append((_slice(out, 0, left), _slice(out, out - left - hi, out - hi)))
    if right > 0:
        copies.append((_slice(out, out - right, out), _slice(out, lo, lo + right)))
    return all(source in (target, 1) for target, source in copies)


def pad_shape(m: Any, x: Shape, mode: str, dims: int) -> tuple[Shape, str]:
    """Output shape of a padding layer (F.pad): `m.padding` pads the last len/2 dimensions, the last first."""
    pads = tuple(m.padding)
    if not all(_int(p) for p in pads):
        raise ShapeMismatch(f"padding {m.padding!r} is not made of ints")
    if len(pads) % 2:
        raise ShapeMismatch(f"padding {fmt(pads)} has an odd length")
    padded = len(pads) // 2
    if mode == "constant":
        if len(x) < padded:
            raise ShapeMismatch(f"padding {fmt(pads)} needs an input of at least {padded} dimensions, "
                                f"got {len(x)}-D {fmt(x)}")
    else:
        allowed = (dims + 1, dims + 2) if mode == "circular" else (padded + 1, padded + 2)
        if len(x) not in allowed or (mode == "circular" and len(x) not in (padded + 1, padded + 2)):
            raise ShapeMismatch(f"expects {rank_text(*allowed)} for padding {fmt(pads)}, got {len(x)}-D {fmt(x)}")
    out = list(x)
    texts = []
    for k in range(padded):
        i = len(x) - 1 - k
        left, right, size = pads[2 * k], pads[2 * k + 1], x[i]
        if mode == "reflect" and (left >= size or right >= size):
            raise ShapeMismatch(f"padding_mode 'reflect' needs padding less than the input size "
                                f"(padding ({left}, {right}), input {size})")
        if mode == "circular" and (left > size or right > size):
            raise ShapeMismatch(f"padding_mode 'circular' needs padding at most the input size "
                                f"(padding ({left}, {right}), input {size})")
        if mode == "constant" and size + min(left, 0) + min(right, 0) < 0:
            raise ShapeMismatch(f"negative padding ({left}, {right}) crops more than the input size {size}")
        out[i] = size + left + right
        if out[i] < 1:
            raise ShapeMismatch(f"output size would be {out[i]} (input {size}, padding ({left}, {right}))")
        if mode == "circular" and not _wraps(size, left, right):
            raise ShapeMismatch(f"padding_mode 'circular' cannot wrap padding ({left}, {right}) around what is left "
                                f"of the input size {size}")
        texts.append(_pad_text(size, left, right, out[i]))
    return tuple(out), "; ".join(reversed(texts))


def _pad(mode: str, dims: int) -> Any:
    def cost(m: Any, x: Shape, y: Shape | None) -> Cost:
        shape, text = pad_shape(m, x, mode, dims)
        return Cost(macs_formula=f"0 ({'zero' if mode == 'constant' and not m.value else mode} padding, a copy)",
                    shape=shape, shape_formula=text)

    return cost


for _kind, _mode in PAD_MODES.items():
    for _d in (1, 2, 3):
        register(f"{_kind}Pad{_d}d", input_rank=_d + 2)(_pad(_mode, _d))


# ------------------------------------------------------------------ Fold and Unfold ----


def _window_knobs(m: Any) -> tuple[tuple[int, ...], ...]:
    """(kernel, dilation, padding, stride) of Fold or Unfold, two ints each."""
    k = knobs(m.kernel_size, 2, "kernel_size")
    d, p, s = knobs(m.dilation, 2, "dilation"), knobs(m.padding, 2, "padding"), knobs(m.stride, 2, "stride")
    for values, what in ((k, "kernel_size"), (d, "dilation"), (s, "stride")):
        if min(values) < 1:
            raise ShapeMismatch(f"{what} must be positive, got {fmt(values)}")
    if min(p) < 0:
        raise ShapeMismatch(f"padding must not be negative, got {fmt(p)}")
    return k, d, p, s


def _blocks(spatial: Shape, k: Shape, d: Shape, p: Shape, s: Shape) -> tuple[int, int]:
    """The number of sliding blocks along height and width."""
    counts = tuple((spatial[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2))
    if min(counts) < 1:
        raise ShapeMismatch(f"no sliding block fits: {fmt(counts)} blocks (size {fmt(spatial)}, kernel {fmt(k)}, "
                            f"padding {fmt(p)}, dilation {fmt(d)}, stride {fmt(s)})")
    return counts[0], counts[1]


@register("Unfold", input_rank=4)
def unfold(m: Any, x: Shape, y: Shape | None) -> Cost:
    """im2col: (N, C, H, W) -> (N, C·kh·kw, blocks), a copy."""
    if len(x) not in (3, 4):
        raise ShapeMismatch(f"expects {rank_text(3, 4)}, got {len(x)}-D {fmt(x)}")
    k, d, p, s = _window_knobs(m)
    blocks = _blocks(x[-2:], k, d, p, s)
    c = x[-3]
    shape = (*x[:-3], c * prod(k), prod(blocks))
    return _reshape(shape, f"C·kernel: {equation(dot(c, *k), c * prod(k))}; blocks: "
                           f"{equation(dot(*blocks), prod(blocks))}")


@register("Fold", input_rank=3)
def fold(m: Any, x: Shape, y: Shape | None) -> Cost:
    """col2im: (N, C·kh·kw, blocks) -> (N, C, H, W), overlapping values summed: one addition per input element."""
    if len(x) not in (2, 3):
        raise ShapeMismatch(f"expects {rank_text(2, 3)}, got {len(x)}-D {fmt(x)}")
    k, d, p, s = _window_knobs(m)
    size = knobs(m.output_size, 2, "output_size")
    if min(size) < 1:
        raise ShapeMismatch(f"output_size must be positive, got {fmt(size)}")
    values, count = x[-2], x[-1]
    if values % prod(k):
        raise ShapeMismatch(f"expects a dimension {len(x) - 2} divisible by the kernel's {dot(*k)} values, "
                            f"got {values}")
    blocks = _blocks(size, k, d, p, s)
    if count != prod(blocks):
        raise ShapeMismatch(f"expects {dot(*blocks)} = {prod(blocks)} blocks (last dimension) for output_size "
                            f"{fmt(size)}, got {count}")
    c = values // prod(k)
    extra = prod(x)
    return Cost(macs_formula="0 (a scatter)", extra=extra,
                extra_formula=f"{equation(dot(*x), extra)} (one addition per input element)",
                shape=(*x[:-2], c, *size), shape_formula=f"C: {values}/({dot(*k)}) = {c}")
