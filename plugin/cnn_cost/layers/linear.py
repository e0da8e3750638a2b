"""Linear, Bilinear, Embedding, EmbeddingBag, and the similarities of two inputs.

Detailed FLOPs: the bias, one per output element; EmbeddingBag one per looked-up value (the bag's
sum, mean or max); CosineSimilarity 6 per element of the broadcast inputs (x1·x2, x1·x1, x2·x2, each
a product and a sum); PairwiseDistance 4 per element (difference, + eps, power, sum).
"""

from __future__ import annotations

from typing import Any

from cnn_cost.layers.registry import Cost, Shape, ShapeMismatch, dim_index, dot, equation, fmt, n, prod, register


def _weights(m: Any, *factors: int) -> tuple[int, str]:
    """Parameters of a weight of `factors` and the layer's optional bias (out_features long)."""
    bias = getattr(m, "bias", None) is not None
    count = prod(factors) + (m.out_features if bias else 0)
    return count, equation(dot(*factors) + (f" + {m.out_features}" if bias else ""), count)


def check_features(expected: int, x: Shape, what: str = "input features") -> None:
    if not x:
        raise ShapeMismatch(f"expects {n(expected)} {what} in the last dimension, got a 0-D input")
    if x[-1] != expected:
        raise ShapeMismatch(f"expects {n(expected)} {what} (last dimension), got {n(x[-1])}")


@register("Linear", params=lambda m: _weights(m, m.in_features, m.out_features))
def linear(m: Any, x: Shape, y: Shape | None) -> Cost:
    fin, fout = m.in_features, m.out_features
    check_features(fin, x)
    bias = m.bias is not None
    rows = prod(x[:-1])
    macs = rows * fin * fout
    lead = f"{dot(*x[:-1])}·" if rows != 1 else ""
    return Cost(
        macs=macs,
        extra=rows * fout if bias else 0,
        macs_formula=equation(f"{lead}{fin}·{fout}", macs),
        extra_formula=f"{equation(lead + str(fout), rows * fout)} (bias)" if bias else "",
        shape=(*x[:-1], fout),
    )


@register("Bilinear", wrap="both-inputs", inputs=2,
          params=lambda m: _weights(m, m.out_features, m.in1_features, m.in2_features))
def bilinear(m: Any, x: Shape, y: Shape | None, rest: tuple[Shape, ...]) -> Cost:
    """Bilinear(x1, x2): x1 = x, x2 = rest[0]; a block without a second input gives x twice. Given PyTorch's
    output `y` but not x2 (an imported model's call), x2 is taken to have x's leading dimensions."""
    f1, f2, fout = m.in1_features, m.in2_features, m.out_features
    check_features(f1, x)
    if rest:
        x2 = rest[0]
        if len(x2) != len(x) or x2[:-1] != x[:-1]:
            raise ShapeMismatch(f"expects a second input with the first's leading dimensions {fmt(x[:-1])}, "
                                f"got {fmt(x2)}")
        check_features(f2, x2, "second input features")
    elif y is None and f2 != f1:
        raise ShapeMismatch(f"takes its input twice, so in1_features {f1} and in2_features {f2} must be equal")
    bias = m.bias is not None
    rows = prod(x[:-1])
    macs = rows * fout * (f1 * f2 + f1)
    lead = f"{dot(*x[:-1])}·" if rows != 1 else ""
    return Cost(
        macs=macs,
        extra=rows * fout if bias else 0,
        macs_formula=equation(f"{lead}{fout}·({f1}·{f2} + {f1})", macs) + " (W·x2, then ·x1)",
        extra_formula=f"{equation(lead + str(fout), rows * fout)} (bias)" if bias else "",
        shape=(*x[:-1], fout),
    )


@register("Embedding", index_input=True, params=lambda m: _weights(m, m.num_embeddings, m.embedding_dim))
def embedding(m: Any, x: Shape, y: Shape | None) -> Cost:
    """Any shape of indices; that they are integers in range is not a shape matter."""
    return Cost(macs_formula="0 (a table look-up)", shape=(*x, m.embedding_dim))


@register("EmbeddingBag", input_rank=2, index_input=True,
          params=lambda m: _weights(m, m.num_embeddings, m.embedding_dim))
def embedding_bag(m: Any, x: Shape, y: Shape | None) -> Cost:
    """A 2-D input: one bag per row (a 1-D input needs offsets, a second input of indices blocks do not give)."""
    if len(x) != 2:
        raise ShapeMismatch(f"expects a 2-D input of bags (a 1-D input needs offsets), got {len(x)}-D {fmt(x)}")
    d = m.embedding_dim
    extra = prod(x) * d
    return Cost(macs_formula=f"0 (a table look-up, then the bag's {m.mode})", extra=extra,
                extra_formula=f"{equation(dot(*x, d), extra)} ({m.mode} over each bag)", shape=(x[0], d))


def broadcast(a: Shape, b: Shape) -> Shape:
    """The shape two inputs broadcast to, as PyTorch aligns them (from the last dimension)."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        da, db = a[-i] if i <= len(a) else 1, b[-i] if i <= len(b) else 1
        if da != db and 1 not in (da, db):
            raise ShapeMismatch(f"the inputs {fmt(a)} and {fmt(b)} do not broadcast (dimension -{i}: {da} and {db})")
        out.append(max(da, db))
    return tuple(reversed(out))


def _pair(x: Shape, rest: tuple[Shape, ...]) -> Shape:
    return broadcast(x, rest[0]) if rest else x


@register("CosineSimilarity", wrap="both-inputs", inputs=2)
def cosine_similarity(m: Any, x: Shape, y: Shape | None, rest: tuple[Shape, ...]) -> Cost:
    """x1 = x, x2 = rest[0] (else x), broadcast; the output drops `dim`."""
    both = _pair(x, rest)
    d = dim_index(m.dim, len(both), "dim")
    extra = 6 * prod(both)
    return Cost(macs_formula="0 (three dot products, no weights)", extra=extra,
                extra_formula=f"{equation(dot(6, *both), extra)} (x1·x2, x1·x1, x2·x2)",
                shape=(*both[:d], *both[d + 1 :]))


@register("PairwiseDistance", wrap="both-inputs", inputs=2)
def pairwise_distance(m: Any, x: Shape, y: Shape | None, rest: tuple[Shape, ...]) -> Cost:
    """The p-norm of x1 − x2 + eps over the last dimension of the broadcast inputs (kept as 1 with keepdim)."""
    both = _pair(x, rest)
    extra = 4 * prod(both)
    shape = (*both[:-1], 1) if m.keepdim and both else both[:-1]
    return Cost(macs_formula="0 (a norm of the difference)", extra=extra,
                extra_formula=f"{equation(dot(4, *both), extra)} (difference, eps, power, sum)", shape=shape)
