"""Linear, Bilinear and Embedding."""

from __future__ import annotations

from typing import Any

from cnn_cost.layers.registry import Cost, Shape, ShapeMismatch, dot, equation, prod, register


def _weights(m: Any, *factors: int) -> tuple[int, str]:
    """Parameters of a weight of `factors` and the layer's optional bias (out_features long)."""
    bias = getattr(m, "bias", None) is not None
    count = prod(factors) + (m.out_features if bias else 0)
    return count, equation(dot(*factors) + (f" + {m.out_features}" if bias else ""), count)


def check_features(expected: int, x: Shape, what: str = "input features") -> None:
    if not x:
        raise ShapeMismatch(f"expects {expected} {what} in the last dimension, got a 0-D input")
    if x[-1] != expected:
        raise ShapeMismatch(f"expects {expected} {what} (last dimension), got {x[-1]}")


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


@register("Bilinear", wrap="both-inputs", params=lambda m: _weights(m, m.out_features, m.in1_features, m.in2_features))
def bilinear(m: Any, x: Shape, y: Shape | None) -> Cost:
    """A block calls Bilinear(x, x). Given PyTorch's output `y`, the second input may have been another tensor."""
    f1, f2, fout = m.in1_features, m.in2_features, m.out_features
    check_features(f1, x)
    if y is None and f2 != f1:
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
