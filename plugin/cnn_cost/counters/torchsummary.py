"""torchsummary 1.5.1: `summary(model, input_size, batch_size=N, device="cpu")`, its printout.

torchsummary (torchsummary/torchsummary.py, one function) hooks every module but `nn.Sequential`,
`nn.ModuleList` and the model itself, runs the model once on `torch.rand(2, *input_size)`, and prints
one line per call of a hooked module: the output shape (dimension 0 shown as `batch_size`) and
"Param #", the element counts of the module's `weight` and `bias` attributes (none for a recurrent
layer's `weight_ih_l0`, MultiheadAttention's `in_proj_weight`, or a module without them). Then the
totals, all from those lines, at 4 bytes a number whatever the model's dtype:

===============================  ========================================  =========================
printed                          computed                                  claim (`as: [torchsummary]`)
===============================  ========================================  =========================
Param # / Total params           Σ numel(weight) + numel(bias)             `torchsummary`, `N.torchsummary`
Forward/backward pass size (MB)  2 · 4 B · Σ numel(output)   (x2: "for     `torchsummary-pass`,
                                 gradients")                               `N.torchsummary-pass`
Input size (MB)                  4 B · batch · numel(input_size)           `torchsummary-input`
Params size (MB)                 4 B · Total params                        `torchsummary-params-size`
Estimated Total Size (MB)        the three sizes above added               `torchsummary-total`
===============================  ========================================  =========================

Its "MB" is 1024² bytes (a MiB): the sizes are claims of kind memory, in bytes, so the number it
prints holds when written with the unit it means, `Forward/backward pass size (MB): 9.96` as
`torchsummary-pass: 9.96 MiB` (`9.96 MB` would claim 9,960,000 bytes, and fail).

The rules assume `batch_size` is the block's batch (the printed shapes and sizes then follow it; with
torchsummary's default -1 they are those of batch 1). The column shows Param # per row; the row's
pass-size share is its own column. Where the printout differs from what the rows can show:

* the output of a module other than a leaf is hooked too (a project's own container, the package's
  `cnn.Residual`, `cnn.Add`, `cnn.Mul`, `cnn.Concat`: their merge rows count its output's bytes; not
  `cnn.Repeat`, an `nn.Sequential`); a project module with children but no row of its own adds its
  output's bytes to torchsummary's pass size and to nothing here;
* a module that returns a tuple: torchsummary shows its outputs' shapes, as its own run at batch 2
  gave them, with -1 in front and takes the product of all of them as one "output" (RNN, GRU: output
  and final hidden state); an LSTM
  (a tuple in the tuple) and a MultiheadAttention with `need_weights=False` (a None in the tuple)
  make torchsummary raise: their rows count 0;
* torchsummary takes dimension 0 of the input for the batch (it runs the model with 2 there): a
  model whose input is sequence-first (a recurrent layer or MultiheadAttention without
  `batch_first`) runs on a sequence of 2, which the rules, given the block's shapes, do not follow;
* a model without any `weight` or `bias` makes torchsummary raise after its table
  (`total_params.numpy()` on the int 0): the rules still give the sizes it would print;
* a module called twice prints twice, its parameters included; a block whose model is a single
  layer prints nothing (the model itself is not hooked): the rules count it as if wrapped in
  `nn.Sequential`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cnn_cost.counters.base import CounterSpec, by_family, numel, zero
from cnn_cost.layers.registry import Cost, Shape

VERSION = "1.5.1"  # the release these rules follow
FLOAT = 4  # bytes a number, as torchsummary assumes ("float on cuda")
MIB = 1024**2  # torchsummary's "MB"
RUN_BATCH = 2  # torchsummary runs the model on torch.rand(2, *input_size)


def _size(m: Any, attribute: str) -> int:
    """numel of `m.<attribute>` when it has a `size` (torchsummary's `hasattr(module.weight, "size")`)."""
    value = getattr(m, attribute, None) if m is not None else None
    if value is None or not hasattr(value, "size"):
        return 0
    return int(value.numel())


def params(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    """Param #: the `weight` and the `bias` attribute, whatever else the module holds."""
    return _size(m, "weight") + _size(m, "bias")


def passed(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    """The row's part of "Forward/backward pass size": 2 · 4 bytes per output element."""
    return 2 * FLOAT * numel(y)


def passed_recurrent(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # (output, h_n): shapes [-1, *output[1:]] and [-1, *h_n[1:]] of torchsummary's own run (batch 2), one
    # np.prod over both (the two -1 cancel); h_n is (layers · directions, batch, hidden)
    if m.batch_first:
        return 2 * FLOAT * numel(y[1:]) * RUN_BATCH * m.hidden_size
    return 2 * FLOAT * y[1] * y[-1] * y[1] * m.hidden_size  # seq-first: torchsummary's 2 is the sequence


def passed_lstm_cell(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return 2 * FLOAT * m.hidden_size * m.hidden_size  # (h, c): [-1, hidden] twice, one np.prod


def totals(sums: Mapping[str, int], inputs: Sequence[Shape]) -> dict[str, int]:
    """Input size, Params size and Estimated Total Size, in bytes, from the rows' sums and the input."""
    batch = inputs[0][0] if inputs and inputs[0] else 1
    per_sample = 1
    for shape in inputs:  # np.prod over the list of input sizes: every dimension of every input
        per_sample *= numel(shape[1:])
    size_in = FLOAT * batch * per_sample
    size_params = FLOAT * sums["torchsummary"]
    return {
        "torchsummary-input": size_in,
        "torchsummary-params-size": size_params,
        "torchsummary-total": size_in + sums["torchsummary-pass"] + size_params,
    }


def printed(values: Mapping[str, int]) -> str:
    """torchsummary's totals, as it prints them."""
    def mb(metric: str) -> str:
        return f"{values[metric] / MIB:0.2f}"

    return (f"Total params: {values['torchsummary']:,} · Input size (MB): {mb('torchsummary-input')} · "
            f"Forward/backward pass size (MB): {mb('torchsummary-pass')} · Params size (MB): "
            f"{mb('torchsummary-params-size')} · Estimated Total Size (MB): {mb('torchsummary-total')}")


PASS = CounterSpec(
    "torchsummary-pass", unit="pass size, B", per_mac=0, version=f"torchsummary {VERSION}",
    call="Forward/backward pass size (MB) × 1024²", tool="torchsummary", release=VERSION,
    names={"RNN": passed_recurrent, "GRU": passed_recurrent, "LSTM": zero,  # LSTM: torchsummary raises
           "LSTMCell": passed_lstm_cell},
    families=by_family(passed, attention=zero),  # MultiheadAttention (need_weights=False): it raises
    default=passed,
    merge=passed,  # the container is hooked: its output
)

TORCHSUMMARY = CounterSpec(
    "torchsummary", unit="Param #", per_mac=0, version=f"torchsummary {VERSION}",
    call='summary(model, input_size, batch_size=N, device="cpu")', package="torchsummary", release=VERSION,
    names={"LSTM": zero},  # torchsummary raises (a tuple in its output tuple)
    families=by_family(params, attention=zero),
    default=params,
    merge=zero,  # no weight, no bias
    details=(PASS,),
    totals=totals,
    printed=printed,
)
