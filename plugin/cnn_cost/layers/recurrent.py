"""Recurrent layers: RNN, LSTM, GRU (num_layers, bidirectional, bias, batch_first, proj_size).

Per layer and direction, a step multiplies the input by W_ih (G·h × in) and the previous
state by W_hh (G·h × r), where G is the number of gates (RNN 1, GRU 3, LSTM 4), h the hidden
size and r = proj_size or h. PyTorch keeps two bias vectors, b_ih and b_hh, each G·h long.
"""

from __future__ import annotations

from typing import Any

from cnn_cost.layers.registry import Cost, ParamsFn, Shape, ShapeMismatch, equation, fmt, n, register, sequence_dims

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
# FLOPs per hidden unit and step outside the products (detailed): activations and state updates.
ELEMENTWISE = {"RNN": 1, "GRU": 8, "LSTM": 9}
KEYWORDS = {
    "RNN": ("input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first", "dropout",
            "bidirectional"),
    "GRU": ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional"),
    "LSTM": ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional",
             "proj_size"),
}


def _sizes(m: Any) -> tuple[int, int, int, int, list[int]]:
    """(h, proj, r, directions, each layer's input features) of a recurrent layer."""
    h = m.hidden_size
    proj = getattr(m, "proj_size", 0) or 0
    r = proj or h
    dirs = 2 if m.bidirectional else 1
    return h, proj, r, dirs, [m.input_size] + [r * dirs] * (m.num_layers - 1)


def _params(kind: str) -> ParamsFn:
    gates = GATES[kind]
    g = f"{gates}·" if gates > 1 else ""

    def params(m: Any) -> tuple[int, str]:
        """Per layer and direction: W_ih, W_hh, b_ih and b_hh (if bias), and W_hr (if proj_size)."""
        h, proj, r, dirs, inputs = _sizes(m)
        bias = bool(m.bias)
        count, terms = 0, []
        for fin in inputs:
            count += dirs * (gates * h * (fin + r) + (2 * gates * h if bias else 0) + proj * h)
            inner = f"{h}·({fin} + {r})" + (f" + 2·{h}" if bias else "")
            term = f"{g}({inner})" if bias and g else f"{g}{inner}"
            if proj:
                term += f" + {proj}·{h}"
            terms.append(f"{dirs}·({term})" if dirs > 1 else term)
        return count, equation(" + ".join(terms), count)

    return params


def _recurrent(kind: str) -> Any:
    gates = GATES[kind]
    g = f"{gates}·" if gates > 1 else ""

    def cost(m: Any, x: Shape, y: Shape | None) -> Cost:
        """The block's wrapper returns the first output only: the last layer's outputs at every step."""
        if len(x) not in (2, 3):
            raise ShapeMismatch(f"expects a 2-D (unbatched) or 3-D (batched) input, got {len(x)}-D {fmt(x)}")
        if x[-1] != m.input_size:
            raise ShapeMismatch(f"expects {m.input_size} input features (last dimension), got {x[-1]}")
        h, proj, r, dirs, inputs = _sizes(m)
        bias = bool(m.bias)
        steps, batch = sequence_dims(x, m.batch_first)
        macs_per_step = sum(dirs * (gates * h * (fin + r) + proj * h) for fin in inputs)
        m_terms = []
        for fin in inputs:
            m_term = f"{g}{h}·({fin} + {r})" + (f" + {proj}·{h}" if proj else "")
            m_terms.append(f"{dirs}·({m_term})" if dirs > 1 else m_term)
        macs = steps * batch * macs_per_step
        units = steps * batch * dirs * m.num_layers * h
        per_unit = ELEMENTWISE[kind] + (2 * gates if bias else 0)
        extra = units * per_unit
        lead = f"{steps}·{batch}" if batch != 1 else f"{steps}"
        m_sum = " + ".join(m_terms)
        return Cost(
            macs=macs,
            extra=extra,
            macs_formula=equation(f"{lead}·({m_sum})" if " + " in m_sum or dirs > 1 else f"{lead}·{m_sum}", macs),
            extra_formula=equation(f"{n(units)}·{per_unit}", extra)
            + " (biases, gates, state update per unit and step)",
            shape=(*x[:-1], dirs * r),
        )

    return cost


for _kind in GATES:
    register(_kind, input_rank=3, keywords=KEYWORDS[_kind], wrap="first-output",
             params=_params(_kind))(_recurrent(_kind))


# ------------------------------------------------------------------ cells: one step ----

CELLS = {"RNNCell": "RNN", "GRUCell": "GRU", "LSTMCell": "LSTM"}


def _cell_params(kind: str) -> ParamsFn:
    gates = GATES[kind]
    g = f"{gates}·" if gates > 1 else ""

    def params(m: Any) -> tuple[int, str]:
        """W_ih (G·h × in), W_hh (G·h × h), and b_ih and b_hh (if bias)."""
        h, fin, bias = m.hidden_size, m.input_size, bool(m.bias)
        count = gates * h * (fin + h) + (2 * gates * h if bias else 0)
        inner = f"{h}·({fin} + {h})" + (f" + 2·{h}" if bias else "")
        return count, equation(f"{g}({inner})" if bias and g else f"{g}{inner}", count)

    return params


def _cell(kind: str) -> Any:
    gates = GATES[kind]
    g = f"{gates}·" if gates > 1 else ""
    states = 2 if kind == "LSTM" else 1

    def cost(m: Any, x: Shape, y: Shape | None, rest: tuple[Shape, ...]) -> Cost:
        """One step on the input `x` and the state `rest` (h, and c for LSTMCell; zeros when not given)."""
        h, fin = m.hidden_size, m.input_size
        if len(x) not in (1, 2):
            raise ShapeMismatch(f"expects a 1-D (unbatched) or 2-D (batched) input, got {len(x)}-D {fmt(x)}")
        if x[-1] != fin:
            raise ShapeMismatch(f"expects {fin} input features (last dimension), got {x[-1]}")
        if rest and len(rest) != states:
            raise ShapeMismatch(f"takes its state as {states} inputs (h, c), got {len(rest)}")
        for state in rest:
            if len(state) != len(x) or state[:-1] != x[:-1] or state[-1] != h:
                raise ShapeMismatch(f"expects a state of shape {fmt((*x[:-1], h))}, got {fmt(state)}")
        batch = x[0] if len(x) == 2 else 1
        macs = batch * gates * h * (fin + h)
        per_unit = ELEMENTWISE[kind] + (2 * gates if m.bias else 0)
        extra = batch * h * per_unit
        lead = f"{batch}·" if batch != 1 else ""
        return Cost(
            macs=macs,
            extra=extra,
            macs_formula=equation(f"{lead}{g}{h}·({fin} + {h})", macs),
            extra_formula=equation(f"{lead}{h}·{per_unit}", extra) + " (biases, gates, state update per unit)",
            shape=(*x[:-1], h),
        )

    return cost


for _cell_name, _kind in CELLS.items():
    register(_cell_name, input_rank=2, wrap="hidden-state", inputs=1 + (2 if _kind == "LSTM" else 1),
             params=_cell_params(_kind))(_cell(_kind))
