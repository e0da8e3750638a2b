"""MultiheadAttention and the Transformer layers.

MultiheadAttention takes the query `x`, the key `rest[0]` and the value `rest[1]`; a block that gives
one input calls it as self-attention, (x, x, x). A TransformerDecoderLayer takes the target `x` and
the memory `rest[0]`; a Transformer the source `x` and the target `rest[0]` (PyTorch's order); a
missing input is `x` itself.

The Transformer layers are one row each, costed as the sum of their parts by the parts' own entries:
attention as MultiheadAttention, the feed-forward as two Linear layers, the norms as LayerNorm. Their
`detailed` FLOPs add one per element for the activation of the feed-forward's hidden layer and one
per element for each residual addition (2 in an encoder layer, 3 in a decoder layer).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cnn_cost.layers.registry import (
    REGISTRY,
    Cost,
    Part,
    Shape,
    ShapeMismatch,
    equation,
    fmt,
    n,
    prod,
    register,
    sequence_dims,
)


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


def _key_value(m: Any, x: Shape, y: Shape | None, rest: tuple[Shape, ...]) -> tuple[Shape, Shape]:
    """The key and value shapes of a call: given, or the query itself (self-attention)."""
    e, kdim, vdim = m.embed_dim, m.kdim, m.vdim
    if rest:
        key = rest[0]
        return key, rest[1] if len(rest) > 1 else key
    if y is None and (kdim != e or vdim != e):
        raise ShapeMismatch(f"as self-attention, key and value have {e} features: kdim {kdim} and vdim {vdim} "
                            "must equal embed_dim")
    # given PyTorch's output but not the other inputs (an imported model's call): of the query's length
    return (*x[:-1], kdim), (*x[:-1], vdim)


def _check_key_value(m: Any, x: Shape, key: Shape, value: Shape) -> None:
    """What F.multi_head_attention_forward refuses in the key and value, given the query `x`."""
    kdim, vdim = m.kdim, m.vdim
    if len(key) != len(x) or len(value) != len(x):
        raise ShapeMismatch(f"for a {len(x)}-D query, key and value must be {len(x)}-D, got {len(key)}-D and "
                            f"{len(value)}-D")
    if key[-1] != kdim:
        raise ShapeMismatch(f"expects kdim {kdim} key features (last dimension), got {key[-1]}")
    if value[-1] != vdim:
        raise ShapeMismatch(f"expects vdim {vdim} value features (last dimension), got {value[-1]}")
    if key[:-1] != value[:-1]:
        raise ShapeMismatch(f"key {fmt(key)} and value {fmt(value)} differ in length or batch")
    if len(x) == 3 and sequence_dims(key, m.batch_first)[1] != sequence_dims(x, m.batch_first)[1]:
        raise ShapeMismatch(f"key {fmt(key)} and query {fmt(x)} differ in batch size")


@register("MultiheadAttention", input_rank=3, atomic=True, wrap="attention", params=_params, inputs=3, work=5)
def multihead_attention(m: Any, x: Shape, y: Shape | None, rest: tuple[Shape, ...]) -> Cost:
    """Query `x`, key `rest[0]` (else x), value `rest[1]` (else the key); see `_key_value` for a call whose
    other inputs are unknown. Detailed: the projections' biases, the query scaling (one per element) and
    3 per attention score (softmax)."""
    e = m.embed_dim
    heads = m.num_heads
    if len(x) not in (2, 3):
        raise ShapeMismatch(f"expects a 2-D (unbatched) or 3-D (batched) input, got {len(x)}-D {fmt(x)}")
    if x[-1] != e:
        raise ShapeMismatch(f"expects embed_dim {e} features (last dimension), got {x[-1]}")
    key, value = _key_value(m, x, y, rest)
    _check_key_value(m, x, key, value)
    kdim, vdim = m.kdim, m.vdim
    bias = m.in_proj_bias is not None
    length, batch = sequence_dims(x, m.batch_first)
    source = sequence_dims(key, m.batch_first)[0]
    out_bias = m.out_proj.bias is not None
    # add_bias_kv appends one key/value position, add_zero_attn one more: the scores are L x S
    keys = source + (1 if m.bias_k is not None else 0) + (1 if m.add_zero_attn else 0)
    queries, sources = batch * length, batch * source
    macs_proj = queries * 2 * e * e + sources * e * (kdim + vdim)
    macs_attn = 2 * batch * length * keys * e
    macs = macs_proj + macs_attn
    extra = queries * ((e if bias else 0) + (e if out_bias else 0) + e) + (sources * 2 * e if bias else 0)
    extra += 3 * batch * heads * length * keys
    lead = f"{batch}·{length}" if batch != 1 else f"{length}"
    if kdim == vdim == e and source == length:
        proj_text = f"{lead}·4·{e}·{e}"
    elif kdim == vdim == e:
        proj_text = f"{lead}·2·{e}·{e} + {batch}·{source}·2·{e}·{e}" if batch != 1 else \
            f"{length}·2·{e}·{e} + {source}·2·{e}·{e}"
    else:
        proj_text = n(macs_proj)
    return Cost(
        macs=macs,
        extra=extra,
        macs_formula=equation(f"{proj_text} + 2·{lead}·{keys}·{e}", macs),
        extra_formula=f"{n(extra)} (biases, scaling, softmax 3 per score)",
        shape=(*x[:-1], e),
    )


# ------------------------------------------------------------------ Transformer layers ----


def _call(name: str, module: Any, x: Shape, *rest: Shape) -> Part:
    """One call of a part of a Transformer layer, costed by the part's own registry entry."""
    entry = REGISTRY[name].cost
    assert entry is not None
    cost = entry(module, x, None, rest)
    assert cost.shape is not None
    return Part(name, module, x, cost.shape, cost, rest)


def _sum_text(parts: list[tuple[str, int]], total: int) -> str:
    """'17,760 + 15,360 = 33,120 (self_attn, feed-forward)', the parts that are not 0."""
    kept = [(label, value) for label, value in parts if value]
    if not kept:
        return ""
    labels = ", ".join(label for label, _ in kept)
    return f"{equation(' + '.join(n(value) for _, value in kept), total)} ({labels})"


def _layer_params(m: Any, attentions: tuple[str, ...], norms: int) -> tuple[int, str]:
    """A Transformer layer's parameters: its attentions, linear1, linear2 and norms, by their entries."""
    parts = [(name, REGISTRY["MultiheadAttention"].params(getattr(m, name))[0]) for name in attentions]
    linears = REGISTRY["Linear"].params(m.linear1)[0] + REGISTRY["Linear"].params(m.linear2)[0]
    parts.append(("linear1, linear2", linears))
    label = "norm1" if norms == 1 else f"norm1–{norms}"
    parts.append((label, sum(REGISTRY["LayerNorm"].params(getattr(m, f"norm{i}"))[0] for i in range(1, norms + 1))))
    total = sum(value for _, value in parts)
    return total, _sum_text(parts, total) or "0"


def _layer_parts(m: Any, x: Shape, memory: Shape | None) -> list[Part]:
    """The child-module calls of an encoder layer (memory None) or a decoder layer, in their order after
    norm_first=False: self-attention, [cross-attention,] linear1, [an activation module,] linear2, the
    norms and the dropouts."""
    parts = [_call("MultiheadAttention", m.self_attn, x)]
    norms = 2 if memory is None else 3
    if memory is not None:
        parts.append(_call("MultiheadAttention", m.multihead_attn, x, memory, memory))
    hidden = _call("Linear", m.linear1, x)
    parts.append(hidden)
    if type(m.activation).__name__ in REGISTRY:  # an activation module (a string gives a function)
        parts.append(_call(type(m.activation).__name__, m.activation, hidden.y))
    parts += [_call("Dropout", m.dropout, hidden.y), _call("Linear", m.linear2, hidden.y)]
    parts += [_call("LayerNorm", getattr(m, f"norm{i}"), x) for i in range(1, norms + 1)]
    parts += [_call("Dropout", getattr(m, f"dropout{i}"), x) for i in range(1, norms + 1)]
    return parts


def _layer_cost(m: Any, x: Shape, memory: Shape | None) -> Cost:
    """The sum of the parts, with one FLOP per element for the activation (unless a module of its own
    counts it) and for each residual addition (detailed)."""
    parts = _layer_parts(m, x, memory)
    call = {id(p.module): p for p in parts}
    named = [(name, call[id(getattr(m, name))]) for name in ("self_attn", "multihead_attn", "linear1", "linear2")
             if hasattr(m, name)]
    activation = call.get(id(m.activation))
    hidden = call[id(m.linear1)].y
    norms = [p for p in parts if p.name == "LayerNorm"]
    macs = sum(p.cost.macs for p in parts)
    extras = [(name, p.cost.extra) for name, p in named]
    extras += [("activation", activation.cost.extra if activation else prod(hidden)),
               ("norms", sum(p.cost.extra for p in norms)), ("residual additions", len(norms) * prod(x))]
    extra = sum(value for _, value in extras)
    return Cost(macs=macs, extra=extra, macs_formula=_sum_text([(name, p.cost.macs) for name, p in named], macs),
                extra_formula=_sum_text(extras, extra), shape=parts[0].y)


def _encoder_parts(m: Any, x: Shape, rest: tuple[Shape, ...]) -> list[Part]:
    return _layer_parts(m, x, None)


def _decoder_parts(m: Any, x: Shape, rest: tuple[Shape, ...]) -> list[Part]:
    return _layer_parts(m, x, rest[0] if rest else x)


@register("TransformerEncoderLayer", input_rank=3, atomic=True, work=10, parts=_encoder_parts,
          params=lambda m: _layer_params(m, ("self_attn",), 2))
def transformer_encoder_layer(m: Any, x: Shape, y: Shape | None) -> Cost:
    return _layer_cost(m, x, None)


@register("TransformerDecoderLayer", input_rank=3, atomic=True, wrap="both-inputs", inputs=2, work=14,
          parts=_decoder_parts, params=lambda m: _layer_params(m, ("self_attn", "multihead_attn"), 3))
def transformer_decoder_layer(m: Any, x: Shape, y: Shape | None, rest: tuple[Shape, ...]) -> Cost:
    """The target `x` and the memory `rest[0]`; without it, the memory is the target itself."""
    return _layer_cost(m, x, rest[0] if rest else x)


def _stack(m: Any) -> tuple[list[Any], list[Any]]:
    """A Transformer's encoder and decoder layers."""
    return list(getattr(m.encoder, "layers", ())), list(getattr(m.decoder, "layers", ()))


def _checked_stack(m: Any) -> tuple[list[Any], list[Any]]:
    """The layers, refused unless they are the registry's (a custom_encoder of an imported model)."""
    encoders, decoders = _stack(m)
    for layer, kind in [*((e, "TransformerEncoderLayer") for e in encoders),
                        *((d, "TransformerDecoderLayer") for d in decoders)]:
        if type(layer).__name__ != kind:
            raise ShapeMismatch(f"a custom encoder or decoder ({type(layer).__name__}) has no formula")
    return encoders, decoders


def _own_params(layer: Any) -> int:
    """A layer's parameters: by its entry, or counted for a custom layer (which has no formula)."""
    spec = REGISTRY.get(type(layer).__name__)
    return spec.params(layer)[0] if spec is not None else sum(p.numel() for p in layer.parameters())


def _transformer_params(m: Any) -> tuple[int, str]:
    encoders, decoders = _stack(m)
    parts = [
        ("encoder layers", sum(_own_params(layer) for layer in encoders)),
        ("decoder layers", sum(_own_params(layer) for layer in decoders)),
        ("final norms", sum(REGISTRY["LayerNorm"].params(part.norm)[0] for part in (m.encoder, m.decoder)
                            if getattr(part, "norm", None) is not None)),
    ]
    total = sum(value for _, value in parts)
    counts = f"{len(encoders)} + {len(decoders)} layers"
    return total, f"{_sum_text(parts, total) or '0'}; {counts}"


def _transformer_work(arguments: Mapping[str, Any]) -> int:
    """Modules a Transformer builds: about 10 per encoder layer and 14 per decoder layer."""
    counts = []
    for key in ("num_encoder_layers", "num_decoder_layers"):
        value = arguments.get(key, 6)
        counts.append(value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0)
    return 5 + 10 * counts[0] + 14 * counts[1]


def _transformer_calls(m: Any, x: Shape, rest: tuple[Shape, ...]) -> tuple[list[Part], list[Part], list[Part]]:
    """The encoder layers' calls, the decoder layers' calls and the final norms' calls of a Transformer on the
    source `x` and the target `rest[0]` (else x)."""
    encoders, decoders = _checked_stack(m)
    tgt = rest[0] if rest else x
    if len(x) != len(tgt):
        raise ShapeMismatch(f"source {fmt(x)} and target {fmt(tgt)} differ in rank")
    if x[-1] != m.d_model or tgt[-1] != m.d_model:
        raise ShapeMismatch(f"expects d_model {m.d_model} features in source and target, got {x[-1]} and {tgt[-1]}")
    if len(x) == 3 and sequence_dims(x, m.batch_first)[1] != sequence_dims(tgt, m.batch_first)[1]:
        raise ShapeMismatch(f"source {fmt(x)} and target {fmt(tgt)} differ in batch size")
    enc, dec, norms = [], [], []
    memory = x
    for layer in encoders:
        enc.append(_call("TransformerEncoderLayer", layer, memory))
        memory = enc[-1].y
    if getattr(m.encoder, "norm", None) is not None:
        norms.append(_call("LayerNorm", m.encoder.norm, memory))
    out = tgt
    for layer in decoders:
        dec.append(_call("TransformerDecoderLayer", layer, out, memory))
        out = dec[-1].y
    if getattr(m.decoder, "norm", None) is not None:
        norms.append(_call("LayerNorm", m.decoder.norm, out))
    return enc, dec, norms


def _transformer_parts(m: Any, x: Shape, rest: tuple[Shape, ...]) -> list[Part]:
    """Every child-module call down to the layers' parts (the libraries see those, not the layers)."""
    enc, dec, norms = _transformer_calls(m, x, rest)
    parts = [part for call in enc for part in _layer_parts(call.module, call.x, None)]
    parts += [part for call in dec for part in _layer_parts(call.module, call.x, call.rest[0])]
    return parts + norms


@register("Transformer", input_rank=3, atomic=True, wrap="both-inputs", inputs=2, work=_transformer_work,
          parts=_transformer_parts, params=_transformer_params)
def transformer(m: Any, x: Shape, y: Shape | None, rest: tuple[Shape, ...]) -> Cost:
    """The source `x` and the target `rest[0]` (else x): the encoder layers and the encoder's norm on the
    source, then the decoder layers on the target with the encoded source as memory, and the decoder's norm."""
    enc, dec, norms = _transformer_calls(m, x, rest)
    out = dec[-1].y if dec else rest[0] if rest else x
    macs = sum(p.cost.macs for p in (*enc, *dec))
    extra = sum(p.cost.extra for p in (*enc, *dec, *norms))
    macs_parts = [(f"{len(enc)} encoder layers", sum(p.cost.macs for p in enc)),
                  (f"{len(dec)} decoder layers", sum(p.cost.macs for p in dec))]
    extra_parts = [(f"{len(enc)} encoder layers", sum(p.cost.extra for p in enc)),
                   (f"{len(dec)} decoder layers", sum(p.cost.extra for p in dec)),
                   ("final norms", sum(p.cost.extra for p in norms))]
    return Cost(macs=macs, extra=extra, macs_formula=_sum_text(macs_parts, macs),
                extra_formula=_sum_text(extra_parts, extra), shape=out)
