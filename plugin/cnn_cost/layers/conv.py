"""Convolutions: Conv1d/2d/3d and ConvTranspose1d/2d/3d."""

from __future__ import annotations

from typing import Any

from cnn_cost.layers.registry import (
    Cost,
    ParamsFn,
    Shape,
    ShapeMismatch,
    dot,
    equation,
    expect_rank,
    fmt,
    knobs,
    n,
    prod,
    register,
    tup,
)


def split(x: Shape, dims: int) -> tuple[int, int, Shape]:
    """(batch, channels, spatial) of an input, batched or not."""
    if len(x) == dims + 1:
        return 1, x[0], x[1:]
    return x[0], x[1], x[2:]


def positive(values: tuple[int, ...], what: str) -> None:
    if min(values) < 1:
        raise ShapeMismatch(f"{what} must be positive, got {fmt(values)}")


def non_negative(values: tuple[int, ...], what: str) -> None:
    if min(values) < 0:
        raise ShapeMismatch(f"{what} must not be negative, got {fmt(values)}")


def too_small(size: int, k: int, s: int, p: int, d: int, out: int) -> ShapeMismatch:
    """'output size would be 0 (input 2, kernel 3, padding 0)'."""
    parts = [f"input {size}", f"kernel {k}"] + ([f"stride {s}"] if s != 1 else []) + [f"padding {p}"]
    parts += [f"dilation {d}"] if d != 1 else []
    return ShapeMismatch(f"output size would be {out} ({', '.join(parts)})")


def kernel(m: Any, dims: int) -> tuple[int, ...]:
    """A convolution's kernel size: the constructor keeps a tuple as given, so it must have `dims` entries."""
    if isinstance(m.kernel_size, (tuple, list)) and len(m.kernel_size) != dims:
        raise ShapeMismatch(f"kernel_size {tuple(m.kernel_size)} does not have {dims} entries")
    return knobs(m.kernel_size, dims, "kernel_size")


def check_channels(expected: int, got: int) -> None:
    if got != expected:
        raise ShapeMismatch(f"expects {n(expected)} input channels, got {n(got)}")


def out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool = False) -> tuple[int, str]:
    """Output length of a convolution or pooling window along one dimension, with the formula."""
    span = size + 2 * p - d * (k - 1) - 1
    dropped = False
    if ceil_mode:
        out = -(-span // s) + 1
        if (out - 1) * s >= size + p:  # PyTorch drops a last window that would start in the right padding
            out -= 1
            dropped = True
        bracket = ("⌈", "⌉")
    else:
        out = span // s + 1
        bracket = ("⌊", "⌋")
    dil = f"{d}·({k}−1)" if d != 1 else f"({k}−1)"
    text = f"{bracket[0]}({size} + 2·{p} − {dil} − 1)/{s}{bracket[1]} + 1"
    if dropped:
        return out, f"{text} − 1 = {n(out)} (the last window would start in the padding)"
    return out, f"{text} = {n(out)}"


def spatial_text(texts: list[str], dims: int) -> str:
    names = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}[dims]
    if len(set(texts)) == 1:
        return f"{','.join(names)}: {texts[0]}"
    return "; ".join(f"{name}: {t}" for name, t in zip(names, texts, strict=True))


PAD_LIMITS = {"reflect": "less than", "circular": "at most"}  # padding_mode: how the pad compares to the input


def _start(m: Any, x: Shape, dims: int) -> tuple[int, int, Shape, tuple[int, ...]]:
    """(batch, input channels, spatial sizes, kernel) of a convolution's input, checked against the layer."""
    expect_rank(x, dims)
    batch, cin, spatial = split(x, dims)
    check_channels(m.in_channels, cin)
    return batch, cin, spatial, kernel(m, dims)


def _conv_outputs(m: Any, dims: int, spatial: Shape, k: tuple[int, ...], stride: tuple[int, ...],
                  dilation: tuple[int, ...]) -> tuple[list[int], list[str]]:
    """Output sizes of a convolution along each spatial dimension, with their formulas."""
    if isinstance(m.padding, str):
        if m.padding not in ("same", "valid"):
            raise ShapeMismatch(f"padding {m.padding!r} is not 'same' or 'valid'")
        pads = None
    else:
        pads = knobs(m.padding, dims, "padding")
        non_negative(pads, "padding")
    outs, texts = [], []
    for i in range(dims):
        if pads is None and m.padding == "same":  # left and right as PyTorch splits them
            total = dilation[i] * (k[i] - 1)
            sides = (total // 2, total - total // 2)
        else:
            pad = 0 if pads is None else pads[i]
            sides = (pad, pad)
        limit = PAD_LIMITS.get(m.padding_mode)
        if limit and any(p > spatial[i] or (p == spatial[i] and limit == "less than") for p in sides):
            raise ShapeMismatch(f"padding_mode {m.padding_mode!r} needs padding {limit} the input size "
                                f"(padding {max(sides)}, input {spatial[i]})")
        if pads is None and m.padding == "same":
            outs.append(spatial[i])
            texts.append(f"padding='same' keeps {spatial[i]}")
            continue
        o, t = out_size(spatial[i], k[i], stride[i], sides[0], dilation[i])
        if o < 1:
            raise too_small(spatial[i], k[i], stride[i], sides[0], dilation[i], o)
        outs.append(o)
        texts.append(t)
    return outs, texts


def _params(dims: int, transposed: bool) -> ParamsFn:
    """Parameters of a convolution: the weight is out x in/groups x kernel (transposed: in x out/groups x kernel)."""

    def params(m: Any) -> tuple[int, str]:
        k, g, cout = tup(m.kernel_size, dims), m.groups, m.out_channels  # the kernel as the weight has it
        per, times = (cout, m.in_channels) if transposed else (m.in_channels, cout)
        bias = m.bias is not None
        count = prod(k) * (per // g) * times + (cout if bias else 0)
        return count, equation(f"({dot(*k, per)}/{g})·{times}" + (f" + {cout}" if bias else ""), count)

    return params


def _conv(dims: int) -> Any:
    def cost(m: Any, x: Shape, y: Shape | None) -> Cost:
        batch, cin, spatial, k = _start(m, x, dims)
        stride, dilation = knobs(m.stride, dims, "stride"), knobs(m.dilation, dims, "dilation")
        positive(k, "kernel_size")
        positive(stride, "stride")
        positive(dilation, "dilation")
        g = m.groups
        cout = m.out_channels
        bias = m.bias is not None
        per_out = prod(k) * (cin // g)
        outs, texts = _conv_outputs(m, dims, spatial, k, stride, dilation)
        positions = batch * prod(outs)
        macs = per_out * cout * positions
        lead = f"{batch}·" if batch != 1 else ""
        m_expr = f"{lead}({dot(*k, cin)}/{g})·{cout}·{dot(*outs)}"
        extra = cout * positions if bias else 0
        shape = ((batch,) if len(x) == dims + 2 else ()) + (cout, *outs)
        return Cost(
            macs=macs,
            extra=extra,
            macs_formula=equation(m_expr, macs),
            extra_formula=f"{equation(lead + dot(cout, *outs), extra)} (bias)" if bias else "",
            shape=shape,
            shape_formula=spatial_text(texts, dims),
        )

    return cost


def _conv_transpose(dims: int) -> Any:
    def cost(m: Any, x: Shape, y: Shape | None) -> Cost:
        batch, cin, spatial, k = _start(m, x, dims)
        g = m.groups
        cout = m.out_channels
        bias = m.bias is not None
        per_in = prod(k) * (cout // g)
        s, p = knobs(m.stride, dims, "stride"), knobs(m.padding, dims, "padding")
        d = knobs(m.dilation, dims, "dilation")
        op = knobs(m.output_padding, dims, "output_padding")
        positive(k, "kernel_size")
        positive(s, "stride")
        positive(d, "dilation")
        non_negative(p, "padding")
        non_negative(op, "output_padding")
        outs, texts = [], []
        for i in range(dims):
            if op[i] >= s[i] and op[i] >= d[i]:
                raise ShapeMismatch(f"output_padding {op[i]} must be smaller than stride {s[i]} or dilation {d[i]}")
            o = (spatial[i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1
            if o < 1:
                raise ShapeMismatch(f"output size would be {o} (input {spatial[i]}, kernel {k[i]}, stride {s[i]}, "
                                    f"padding {p[i]}, output_padding {op[i]})")
            outs.append(o)
            texts.append(f"({spatial[i]}−1)·{s[i]} − 2·{p[i]} + {d[i]}·({k[i]}−1) + {op[i]} + 1 = {o}")
        # forward(x, output_size) may ask for a larger output (blocks never do): PyTorch's shape wins if given
        if y is not None and len(y) == len(x) and tuple(y[-dims:]) != tuple(outs):
            outs = list(y[-dims:])
        lead = f"{batch}·" if batch != 1 else ""
        macs = per_in * cin * batch * prod(spatial)
        m_expr = f"{lead}({dot(*k, cout)}/{g})·{cin}·{dot(*spatial)}"
        extra = cout * batch * prod(outs) if bias else 0
        shape = ((batch,) if len(x) == dims + 2 else ()) + (cout, *outs)
        return Cost(
            macs=macs,
            extra=extra,
            macs_formula=equation(m_expr, macs) + " (one product per input position)",
            extra_formula=f"{equation(lead + dot(cout, *outs), extra)} (bias)" if bias else "",
            shape=shape,
            shape_formula=spatial_text(texts, dims),
        )

    return cost


for _d in (1, 2, 3):
    register(f"Conv{_d}d", input_rank=_d + 2, params=_params(_d, False))(_conv(_d))
    register(f"ConvTranspose{_d}d", input_rank=_d + 2, params=_params(_d, True))(_conv_transpose(_d))

__all__ = ["check_channels", "kernel", "non_negative", "out_size", "positive", "spatial_text", "split", "too_small"]
