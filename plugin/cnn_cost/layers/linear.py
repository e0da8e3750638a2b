"""Linear, Bilinear and Embedding."""

from __future__ import annotations

from typing import Any

from cnn_cost.layers.registry import Cost, Shape, ShapeMismatch, dot, equation, prod, register


def check_features(expected: int, x: Shape, what: str = "input features") -> None:
    if not x:
        raise ShapeMismatch(f"expects {expected} {what} in the last dimension, got a 0-D input")
    if x[-1] != expected:
        raise ShapeMismatch(f"expects {expected} {what} (last dimension), got {x[-1]}")


@register("Linear")
def linear(m: Any, x: Shape, y: Shape | None) -> Cost:
    fin, fout = m.in_features, m.out_features
    check_features(fin, x)
    bias = m.bias is not None
    rows = prod(x[:-1])
    params = fin * fout + (fout if bias else 0)
    macs = rows * fin * fout
    lead = f"{dot(*x[:-1])}·" if rows != 1 else ""
    return Cost(
        params=params,
        macs=macs,
        extra=rows * fout if bias else 0,
        params_formula=equation(f"{fin}·{fout}" + (f" + {fout}" if bias else ""), params),
        macs_formula=equation(f"{lead}{fin}·{fout}", macs),
        extra_formula=f"{equation(lead + str(fout), rows * fout)} (bias)" if bias else "",
        shape=(*x[:-1], fout),
    )


@register("Bilinear", wrap="both-inputs")
def bilinear(m: Any, x: Shape, y: Shape | None) -> Cost:
    """A block calls Bilinear(x, x). Given PyTorch's output `y`, the second input may have been another tensor."""
    f1, f2, fout = m.in1_features, m.in2_features, m.out_features
    check_features(f1, x)
    if y is None and f2 != f1:
        raise ShapeMismatch(f"takes its input twice, so in1_features {f1} and in2_features {f2} must be equal")
    bias = m.bias is not None
    rows = prod(x[:-1])
    params = fout * f1 * f2 + (fout if bias else 0)
    macs = rows * fout * (f1 * f2 + f1)
    lead = f"{dot(*x[:-1])}·" if rows != 1 else ""
    return Cost(
        params=params,
        macs=macs,
        extra=rows * fout if bias else 0,
        params_formula=equation(f"{fout}·{f1}·{f2}" + (f" + {fout}" if bias else ""), params),
        macs_formula=equation(f"{lead}{fout}·({f1}·{f2} + {f1})", macs) + " (W·x2, then ·x1)",
        extra_formula=f"{equation(lead + str(fout), rows * fout)} (bias)" if bias else "",
        shape=(*x[:-1], fout),
    )


@register("Embedding", index_input=True)
def embedding(m: Any, x: Shape, y: Shape | None) -> Cost:
    """Any shape of indices; that they are integers in range is not a shape matter."""
    params = m.num_embeddings * m.embedding_dim
    return Cost(
        params=params,
        params_formula=equation(f"{m.num_embeddings}·{m.embedding_dim}", params),
        macs_formula="0 (a table look-up)",
        shape=(*x, m.embedding_dim),
    )
