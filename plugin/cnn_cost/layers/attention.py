"""MultiheadAttention, used as self-attention: the block's input is query, key and value."""

from __future__ import annotations

from typing import Any

from cnn_cost.layers.registry import Cost, Shape, ShapeMismatch, equation, fmt, n, register, sequence_dims


def _params(m: Any) -> tuple[int, str]:
    """in_proj (query, key and value weights e x e, e x kdim, e x vdim; a 3·e bias), out_proj (e x e,
    an e bias) and add_bias_kv's bias_k and bias_v (e each)."""
    e, kdim, vdim = m.embed_dim, m.kdim, m.vdim
    bias = m.in_proj_bias is not None
    out_bias = m.out_proj.bias is not None
    params = e * e + e * kdim + e * vdim + (3 * e if bias else 0) + e * e + (e if out_bias else 0)
    params += 2 * e if m.bias_k is not None else 0
    w_text = f"3·{e}·{e}" if kdim == vdim == e else f"{e}·({e} + {kdim} + {vdim})"
    p_text = f"{w_text}" + (f" + 3·{e}" if bias else "") + f" + {e}·{e}" + (f" + {e}" if out_bias else "")
    if m.bias_k is not None:
        p_text += f" + 2·{e}"
    return params, equation(p_text, params) + " (in_proj, out_proj)"


@register("MultiheadAttention", input_rank=3, atomic=True, wrap="self-attention", params=_params)
def multihead_attention(m: Any, x: Shape, y: Shape | None) -> Cost:
    """A block calls it as self-attention, (x, x, x). Given PyTorch's output `y`, key and value may
    have been other tensors (of the same length)."""
    e = m.embed_dim
    heads = m.num_heads
    kdim, vdim = m.kdim, m.vdim
    if len(x) not in (2, 3):
        raise ShapeMismatch(f"expects a 2-D (unbatched) or 3-D (batched) input, got {len(x)}-D {fmt(x)}")
    if x[-1] != e:
        raise ShapeMismatch(f"expects embed_dim {e} features (last dimension), got {x[-1]}")
    if y is None and (kdim != e or vdim != e):
        raise ShapeMismatch(f"as self-attention, key and value have {e} features: kdim {kdim} and vdim {vdim} "
                            "must equal embed_dim")
    bias = m.in_proj_bias is not None
    length, batch = sequence_dims(x, m.batch_first)
    out_bias = m.out_proj.bias is not None
    proj_weights = e * e + e * kdim + e * vdim
    # add_bias_kv appends one key/value position, add_zero_attn one more: the scores are L x S
    keys = length + (1 if m.bias_k is not None else 0) + (1 if m.add_zero_attn else 0)
    tokens = batch * length
    macs_proj = tokens * (proj_weights + e * e)
    macs_attn = 2 * batch * length * keys * e
    macs = macs_proj + macs_attn
    extra = tokens * ((3 * e if bias else 0) + (e if out_bias else 0) + e) + 3 * batch * heads * length * keys
    lead = f"{batch}·{length}" if batch != 1 else f"{length}"
    return Cost(
        macs=macs,
        extra=extra,
        macs_formula=equation(f"{lead}·4·{e}·{e} + 2·{lead}·{keys}·{e}", macs)
        if kdim == vdim == e else equation(f"{n(macs_proj)} + 2·{lead}·{keys}·{e}", macs),
        extra_formula=f"{n(extra)} (biases, scaling, softmax 3 per score)",
        shape=(*x[:-1], e),
    )
