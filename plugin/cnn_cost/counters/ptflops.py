"""ptflops 0.7.5, backend pytorch: `get_model_complexity_info(model, res, as_strings=False, backend="pytorch")[0]`.

Two mechanisms, both by name. Module hooks (`MODULES_MAPPING` in ptflops/pytorch_ops.py), by exact
type, whose counts are divided by the batch counter; and the functionals that
ptflops/pytorch_engine.py patches (`FUNCTIONAL_MAPPING`: F.relu, F.prelu, F.elu, F.relu6, F.gelu,
F.silu, F.*pool*, F.softmax, F.interpolate), counted once per call and not divided. So ReLU, ELU,
GELU, PReLU and every pool count twice (hook and functional), ReLU6 and LeakyReLU once (hook only),
SiLU and Softmax once (functional only). Products add the bias once per output element. A type that
is neither hooked nor calls a patched functional counts 0 (Sigmoid, Tanh, Mish, ...): every family
falls back to 0.

ptflops divides its module-hook counts by its batch counter, ``len(model input)``, but not the counts
of its patched functionals. The rules divide by the first dimension of the layer's own input, which
is the model's as long as the layers keep dimension 0 (all registry layers do, and a seq-first LSTM
that starts the model: 13,800 / 5 = 2,760, as ptflops prints). ptflops truncates only its total; a
row is an integer. So an `Upsample` with a fractional `scale_factor` (whose functional count, and at
batch > 1 whose hook count, is fractional) makes the rows' sum fall short of ptflops' total by less
than the number of such rows (checked: 410 against 411 at batch 2). Everything else is exact.
"""

from __future__ import annotations

from typing import Any

from cnn_cost.counters.base import CounterSpec, Rule, by_family, dims, kernel, named, numel, zero
from cnn_cost.layers.registry import Cost, Shape


def _hook(value: int, x: Shape) -> int:
    """A module-hook count as it ends up in ptflops' total: divided by the batch counter."""
    return value // (x[0] if x and x[0] else 1)


def _conv(m: Any, x: Shape, y: Shape, positions: Shape) -> int:
    # conv_flops_counter_hook: kernel · in_channels · filters per group at each position, bias per output
    batch = x[0]
    products = kernel(m, x) * m.in_channels * (m.out_channels // m.groups) * batch * numel(positions)
    bias = batch * numel(y[1:]) if m.bias is not None else 0
    return _hook(products + bias, x)


def conv(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return _conv(m, x, y, y[2:])  # output positions


def conv_transpose(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return _conv(m, x, y, x[2:])  # input positions


def linear(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    bias = y[-1] if m.bias is not None else 0
    return _hook((x[-1] * y[-1] + bias) * numel(x[:-1]), x)


def norm(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # bn_flops_counter_hook: numel(in), doubled if the module has a true `affine` (LayerNorm has none)
    return _hook(numel(x) * (2 if getattr(m, "affine", False) else 1), x)


def hook_only(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return _hook(numel(y), x)  # relu_flops_counter_hook; functional not patched (ReLU6, LeakyReLU)


def hook_and_functional(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return _hook(numel(y), x) + numel(x)  # hook, and the patched F.relu/F.elu/F.gelu/F.prelu again


def functional(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return numel(x)  # no module hook; the patched F.silu / F.softmax


def pool(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return _hook(numel(x), x) + numel(x)  # pool_flops_counter_hook and the patched F.*pool*


def _interpolate(m: Any, x: Shape) -> float:
    """_interpolate_functional_flops_hook for F.interpolate(x, size, scale_factor)."""
    spatial = len(x) - 2
    size, scale = m.size, m.scale_factor
    if size is not None:
        if isinstance(size, (tuple, list)):
            return numel(size) * numel(x[:2])
        return int(size) ** spatial * numel(x[:2])
    if isinstance(scale, (tuple, list)) and len(scale) == spatial:
        return numel(x) * numel(int(s) for s in scale)  # np.prod(..., dtype=int64) truncates
    return numel(x) * scale**spatial  # a float for a fractional scale


def upsample(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # upsample_flops_counter_hook counts output[0], the first sample: numel(out) / batch
    return _hook(numel(y[1:]), x) + int(_interpolate(m, x))


GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
GATE_EXTRA = {"RNN": 1, "GRU": 7, "LSTM": 10}  # per hidden unit: state additions, Hadamard products


def recurrent(kind: str) -> Rule:
    def rule(m: Any, x: Shape, y: Shape, c: Cost) -> int:
        # rnn_flops_counter_hook: W_ih and W_hh numel of the forward direction, gate extras and both
        # biases per layer, times input.shape[0] · input.shape[1] (whatever batch_first says), x2 if
        # bidirectional
        gates, h = GATES[kind], m.hidden_size
        r = getattr(m, "proj_size", 0) or h
        directions = 2 if m.bidirectional else 1
        flops = 0
        for layer in range(m.num_layers):
            fin = m.input_size if layer == 0 else r * directions
            flops += gates * h * fin + gates * h * r + GATE_EXTRA[kind] * h
            if m.bias:
                flops += 2 * gates * h
        return _hook(flops * x[0] * x[1] * directions, x)

    return rule


def _steps_batch(m: Any, x: Shape) -> tuple[int, int]:
    """(steps, batch) of attention's input, as PyTorch reads it."""
    if len(x) == 2:
        return x[0], 1
    if m.batch_first:
        return x[1], x[0]
    return x[0], x[1]


def attention(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # multihead_attention_counter_hook with query = key = value = x (need_weights=False: no patched
    # softmax or bmm runs inside)
    length, batch = _steps_batch(m, x)
    e = x[-1]
    flops = length * e  # Q scaling
    flops += 3 * length * e * e  # projections
    if m.in_proj_bias is not None:
        flops += 3 * length * e
    head = e // m.num_heads
    flops += m.num_heads * (length * length * head + length * length + length * length * head)  # QK, softmax, AV
    flops += length * e * (e + 1)  # out projection, bias always counted
    return _hook(flops * batch, x)


PTFLOPS = CounterSpec(
    "ptflops", unit="MACs", per_mac=1, version="ptflops 0.7.5 (backend pytorch)",
    call='get_model_complexity_info(model, res, as_strings=False, backend="pytorch")[0]',
    names=named(
        (dims("Conv{}d"), conv),
        (dims("ConvTranspose{}d"), conv_transpose),
        (["Linear"], linear),
        ([*dims("BatchNorm{}d", "InstanceNorm{}d"), "GroupNorm", "LayerNorm"], norm),
        (["ReLU", "ELU", "GELU", "PReLU"], hook_and_functional),
        (["ReLU6", "LeakyReLU"], hook_only),
        (["SiLU", "Softmax"], functional),
        (dims("MaxPool{}d", "AvgPool{}d", "AdaptiveAvgPool{}d", "AdaptiveMaxPool{}d"), pool),
        (["Upsample"], upsample),
        *(([kind], recurrent(kind)) for kind in GATES),
        (["MultiheadAttention"], attention),
    ),
    families=by_family(zero),  # neither hooked nor calling a patched functional
    default=zero,
)
