"""Convolutions: Conv1d/2d/3d and ConvTranspose1d/2d/3d."""

from __future__ import annotations

from typing import Any

from cnn_cost.layers.registry import Cost, Shape, dot, equation, n, prod, register, tup


def split(x: Shape, dims: int) -> tuple[int, int, Shape]:
    """(batch, channels, spatial) of an input, batched or not."""
    if len(x) == dims + 1:
        return 1, x[0], x[1:]
    return x[0], x[1], x[2:]


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


def _conv(dims: int) -> Any:
    def cost(m: Any, x: Shape, y: Shape) -> Cost:
        batch, cin, spatial = split(x, dims)
        k = tup(m.kernel_size, dims)
        g = m.groups
        cout = m.out_channels
        bias = m.bias is not None
        per_out = prod(k) * (cin // g)
        weight = per_out * cout
        params = weight + (cout if bias else 0)
        p_expr = f"({dot(*k, cin)}/{g})·{cout}" + (f" + {cout}" if bias else "")
        if isinstance(m.padding, str):
            pads = None
        else:
            pads = tup(m.padding, dims)
        outs, texts = [], []
        for i in range(dims):
            if pads is None:
                if m.padding == "same":
                    outs.append(spatial[i])
                    texts.append(f"padding='same' keeps {spatial[i]}")
                    continue
                pad = 0
            else:
                pad = pads[i]
            o, t = out_size(spatial[i], k[i], tup(m.stride, dims)[i], pad, tup(m.dilation, dims)[i])
            outs.append(o)
            texts.append(t)
        positions = batch * prod(outs)
        macs = per_out * cout * positions
        lead = f"{batch}·" if batch != 1 else ""
        m_expr = f"{lead}({dot(*k, cin)}/{g})·{cout}·{dot(*outs)}"
        extra = cout * positions if bias else 0
        shape = ((batch,) if len(x) == dims + 2 else ()) + (cout, *outs)
        return Cost(
            params=params,
            macs=macs,
            extra=extra,
            params_formula=equation(p_expr, params),
            macs_formula=equation(m_expr, macs),
            extra_formula=f"{equation(lead + dot(cout, *outs), extra)} (bias)" if bias else "",
            shape=shape,
            shape_formula=spatial_text(texts, dims),
        )

    return cost


def _conv_transpose(dims: int) -> Any:
    def cost(m: Any, x: Shape, y: Shape) -> Cost:
        batch, cin, spatial = split(x, dims)
        k = tup(m.kernel_size, dims)
        g = m.groups
        cout = m.out_channels
        bias = m.bias is not None
        per_in = prod(k) * (cout // g)
        params = per_in * cin + (cout if bias else 0)
        p_expr = f"({dot(*k, cout)}/{g})·{cin}" + (f" + {cout}" if bias else "")
        s, p, d = tup(m.stride, dims), tup(m.padding, dims), tup(m.dilation, dims)
        op = tup(m.output_padding, dims)
        outs, texts = [], []
        for i in range(dims):
            o = (spatial[i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1
            outs.append(o)
            texts.append(f"({spatial[i]}−1)·{s[i]} − 2·{p[i]} + {d[i]}·({k[i]}−1) + {op[i]} + 1 = {o}")
        if tuple(y[-dims:]) != tuple(outs):  # an explicit output_size in forward() is not used in blocks
            outs = list(y[-dims:])
        lead = f"{batch}·" if batch != 1 else ""
        macs = per_in * cin * batch * prod(spatial)
        m_expr = f"{lead}({dot(*k, cout)}/{g})·{cin}·{dot(*spatial)}"
        extra = cout * batch * prod(outs) if bias else 0
        shape = ((batch,) if len(x) == dims + 2 else ()) + (cout, *outs)
        return Cost(
            params=params,
            macs=macs,
            extra=extra,
            params_formula=equation(p_expr, params),
            macs_formula=equation(m_expr, macs) + " (one product per input position)",
            extra_formula=f"{equation(lead + dot(cout, *outs), extra)} (bias)" if bias else "",
            shape=shape,
            shape_formula=spatial_text(texts, dims),
        )

    return cost


for _d in (1, 2, 3):
    register(f"Conv{_d}d", input_rank=_d + 2)(_conv(_d))
    register(f"ConvTranspose{_d}d", input_rank=_d + 2)(_conv_transpose(_d))

__all__ = ["out_size", "spatial_text", "split"]
