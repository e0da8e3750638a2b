"""Output shapes by formula: `cost(module, x)` without PyTorch's output, against the real module.

The contract of every registry entry: with `y=None` it works out the output shape from the input
shape and the module's attributes (for wrapped layers, the shape of what the block's wrapper
returns), and the whole `Cost` equals the one computed with PyTorch's real output shape. An input
that PyTorch refuses, or on which it returns an empty tensor (which a block on the meta device
refuses), raises `ShapeMismatch` instead.

The real module is built on CPU and run on a real input with the block's wrapper semantics:
recurrent layers pass on their first output, MultiheadAttention is self-attention (x, x, x),
Bilinear takes (x, x). Inputs are drawn with every dimension at least 1 (the registry refuses
empty inputs, which blocks never produce).
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, currently_in_test_context, given, note, settings
from hypothesis import strategies as st
from torch import nn

import cnn_cost.layers
from cnn_cost.counters import family
from cnn_cost.layers import REGISTRY, Cost, ShapeMismatch

from .common import Shape, check_formula_arithmetic, check_formula_numbers, first_tensor, numel
from .test_registry import CASES

# PyTorch turns down (or warns about) much of what is drawn here: those are the point.
REJECTED = (RuntimeError, ValueError, IndexError, AssertionError, TypeError)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LEAVES = sorted(name for name, spec in REGISTRY.items() if spec.cost is not None)
Make = Callable[[], nn.Module]


# ------------------------------------------------------------------ the check ----


def wrapped_call(name: str, module: nn.Module, x: torch.Tensor, *rest: torch.Tensor) -> Any:
    """The module called as a block calls it, on its input and the block's other inputs (see LayerSpec.wrap);
    written out here, apart from cnn_cost.builder.wrapped_class."""
    wrap = REGISTRY[name].wrap
    if wrap is None:
        assert not rest
        return module(x)
    if wrap == "first-output":
        return module(x)[0]
    if wrap == "attention":
        key = rest[0] if rest else x
        return module(x, key, rest[1] if len(rest) > 1 else key, need_weights=False)[0]
    if wrap == "hidden-state":
        state = (rest[0] if len(rest) == 1 else tuple(rest)) if rest else None
        out = module(x, state)
        return out[0] if isinstance(out, tuple) else out
    assert wrap == "both-inputs", f"a new wrapper {wrap!r}: teach this test how blocks call it"
    return module(x, rest[0] if rest else x)


def say(text: str) -> None:
    """A note for Hypothesis's report of a failing example (outside Hypothesis: nothing)."""
    if currently_in_test_context():
        note(text)


# CircularPad with a negative padding on one side and more padding than the cropped size on the other wraps
# over its own output: on CPU the copy refuses when that region is contiguous in memory (a batch of 1) and
# not otherwise; on the meta device, where blocks run, never. Its shape is then the meta device's.
ALIASING = "refer to a single memory location"


def real_output(name: str, module: nn.Module, x: Shape, dtype: torch.dtype, rest: tuple[Shape, ...] = (),
                device: str = "cpu") -> Shape | None:
    """The real output shape on CPU, or None when PyTorch refuses the input or returns an empty tensor."""
    torch.manual_seed(0)
    if dtype == torch.long:
        tensor = torch.randint(0, getattr(module, "num_embeddings", 1), x)
    else:
        tensor = torch.randn(x)
    tensor, others = tensor.to(device), [torch.randn(shape).to(device) for shape in rest]
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyTorch's advice (deprecated ranks, oneDNN, ...) is not a verdict
            out = first_tensor(wrapped_call(name, module.eval(), tensor, *others))
    except REJECTED as exc:
        if ALIASING in str(exc) and device == "cpu" and not any(True for _ in module.parameters()):
            say(f"on CPU: {str(exc).splitlines()[0][:200]}; on meta:")
            return real_output(name, module, x, dtype, rest, "meta")
        say(f"PyTorch refuses: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        return None
    if out.numel() == 0:
        say(f"PyTorch returns an empty tensor {list(out.shape)}")
        return None
    return tuple(out.shape)


def check_formula_shape(name: str, module: nn.Module, x: Shape, dtype: torch.dtype = torch.float32,
                        rest: tuple[Shape, ...] = ()) -> Cost | None:
    """The formula's output shape (y=None) against PyTorch's; the whole Cost against the one with PyTorch's y.

    `rest`: the shapes of the other inputs a block gives (`inputs:`), in PyTorch's order.
    """
    assert type(module).__name__ == name
    spec = REGISTRY[name]
    assert spec.cost is not None
    say(f"{module!r} on inputs {[list(x), *map(list, rest)]}")
    y = real_output(name, module, x, dtype, rest)
    if y is None:
        with pytest.raises(ShapeMismatch) as info:
            spec.cost(module, x, None, rest)
        message = str(info.value)
        assert message and "\n" not in message and len(message) < 200, message
        return None
    try:
        cost = spec.cost(module, x, None, rest)
    except ShapeMismatch as exc:
        raise AssertionError(f"PyTorch gives {list(y)}, the formula refuses: {exc}") from None
    assert cost.shape == y, f"formula {cost.shape}, PyTorch {y}"
    assert cost == spec.cost(module, x, y, rest)
    assert cost.params == numel(module)
    assert cost.macs >= 0
    assert cost.extra >= 0
    check_formula_numbers(cost)
    check_formula_arithmetic(cost)
    return cost


def build(make: Make) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. dropout with one layer
        return make()


# ------------------------------------------------------------ the contract ----


def test_shape_mismatch_is_exported() -> None:
    assert issubclass(ShapeMismatch, ValueError)
    assert cnn_cost.layers.ShapeMismatch is ShapeMismatch
    assert "ShapeMismatch" in cnn_cost.layers.__all__


def test_layers_stay_torch_free() -> None:
    folder = Path(cnn_cost.layers.__file__).parent
    for path in folder.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import torch" not in text and "from torch" not in text, path
    code = "import sys, cnn_cost.layers; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", LEAVES)
def test_every_layer_gives_a_shape(name: str) -> None:
    """Every layer type has a case in the table that blocks can run, and its entry gives the shape there."""
    spec = REGISTRY[name]
    assert spec.cost is not None
    shapes_given = 0
    for param in CASES:
        if param.values[0] != name:
            continue
        _, make, shapes, _, _, dtype = param.values
        module = build(make)
        y = real_output(name, module, shapes[0], dtype)
        if y is not None:
            assert spec.cost(module, shapes[0]).shape == y
            shapes_given += 1
    assert shapes_given > 0, f"no case of {name} that a block can run"


@pytest.mark.parametrize(("name", "make", "shapes", "kind", "call", "dtype"), CASES)
def test_case_table(name: str, make: Make, shapes: tuple[Shape, ...], kind: str, call: Any,
                    dtype: torch.dtype) -> None:
    """test_registry's cases, with the first input only, as blocks call the layers."""
    check_formula_shape(name, build(make), shapes[0], dtype)


@pytest.mark.parametrize(("name", "make", "shapes", "kind", "call", "dtype"),
                         [p for p in CASES if len(p.values[2]) > 1])
def test_case_table_with_every_input(name: str, make: Make, shapes: tuple[Shape, ...], kind: str, call: Any,
                                     dtype: torch.dtype) -> None:
    """The cases with several inputs, as a block gives them (`inputs:`): key and value of other lengths and
    features, Bilinear's second input, a decoder's memory, a cell's state."""
    assert check_formula_shape(name, build(make), shapes[0], dtype, tuple(shapes[1:])) is not None


# Cases from the table that the wrapper semantics turn down: a block gives Bilinear its input twice,
# and self-attention gives key and value the query's features.
REFUSED_BY_WRAPPER = {
    ("Bilinear", (4, 5)): "in1_features 5 and in2_features 7 must be equal",
    ("Bilinear", (1, 20)): "in1_features 20 and in2_features 30 must be equal",
    ("Bilinear", (2, 4, 3)): "in1_features 3 and in2_features 5 must be equal",
    ("MultiheadAttention", (5, 3, 16)): "kdim 6 and vdim 7 must equal embed_dim",
    ("MultiheadAttention", (3, 5, 16)): "kdim 16 and vdim 5 must equal embed_dim",
    ("MultiheadAttention", (2, 4, 12)): "kdim 5 and vdim 7 must equal embed_dim",
}


@pytest.mark.parametrize(("name", "make", "x", "message"), [
    ("Conv2d", lambda: nn.Conv2d(3, 8, 3), (1, 4, 8, 8), "expects 3 input channels, got 4"),
    ("Conv2d", lambda: nn.Conv2d(3, 8, 3), (1, 3, 2, 2), "output size would be 0 (input 2, kernel 3, padding 0)"),
    ("Conv2d", lambda: nn.Conv2d(3, 8, 3), (3, 8), "expects a 3-D (unbatched) or 4-D (batched) input, got 2-D [3, 8]"),
    ("Conv1d", lambda: nn.Conv1d(1, 1, 5, padding=2, padding_mode="reflect"), (1, 1, 2),
     "padding_mode 'reflect' needs padding less than the input size (padding 2, input 2)"),
    ("ConvTranspose1d", lambda: nn.ConvTranspose1d(1, 1, 1, padding=1), (1, 1, 1),
     "output size would be -1 (input 1, kernel 1, stride 1, padding 1, output_padding 0)"),
    ("MaxPool2d", lambda: nn.MaxPool2d(5), (1, 1, 3, 3),
     "output size would be 0 (input 3, kernel 5, stride 5, padding 0)"),
    ("MaxPool1d", lambda: nn.MaxPool1d(2, padding=2), (1, 1, 9), "padding 2 must be at most half the kernel size 2"),
    ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d(0), (1, 1, 4, 4), "output size would be [0, 0] (output_size 0)"),
    ("Linear", lambda: nn.Linear(20, 30), (4, 19), "expects 20 input features (last dimension), got 19"),
    ("Bilinear", lambda: nn.Bilinear(5, 7, 3), (4, 5),
     "takes its input twice, so in1_features 5 and in2_features 7 must be equal"),
    ("BatchNorm2d", lambda: nn.BatchNorm2d(16), (2, 8, 5, 5), "expects 16 channels, got 8"),
    ("BatchNorm1d", lambda: nn.BatchNorm1d(3, track_running_stats=False), (1, 3),
     "expects more than 1 value per channel for batch statistics, got [1, 3]"),
    ("LayerNorm", lambda: nn.LayerNorm((5, 16)), (2, 4, 16), "expects an input ending in [5, 16], got [2, 4, 16]"),
    ("GroupNorm", lambda: nn.GroupNorm(4, 16), (2, 6, 5), "expects a channel count divisible by 4 groups, got 6"),
    ("Flatten", nn.Flatten, (3,), "start_dim 1 is out of range for a 1-D input"),
    ("Softmax", lambda: nn.Softmax(dim=2), (2, 3), "dim 2 is out of range for a 2-D input"),
    ("Upsample", lambda: nn.Upsample(scale_factor=2, mode="bilinear"), (1, 2, 5),
     "mode 'bilinear' expects a 4-D input, got 3-D [1, 2, 5]"),
    ("LSTM", lambda: nn.LSTM(10, 20), (5, 3, 9), "expects 10 input features (last dimension), got 9"),
    ("GRU", lambda: nn.GRU(10, 20), (1, 5, 3, 10),
     "expects a 2-D (unbatched) or 3-D (batched) input, got 4-D [1, 5, 3, 10]"),
    ("MultiheadAttention", lambda: nn.MultiheadAttention(16, 4), (5, 3, 8),
     "expects embed_dim 16 features (last dimension), got 8"),
    ("ReLU", nn.ReLU, (2, 0, 3), "the input [2, 0, 3] has an empty dimension"),
    ("ZeroPad2d", lambda: nn.ZeroPad2d((1, 1, -3, 0)), (1, 2, 3, 3),
     "output size would be 0 (input 3, padding (-3, 0))"),
    ("ReflectionPad1d", lambda: nn.ReflectionPad1d(3), (1, 2, 3),
     "padding_mode 'reflect' needs padding less than the input size (padding (3, 3), input 3)"),
    ("CircularPad2d", lambda: nn.CircularPad2d(4), (1, 2, 3, 3),
     "padding_mode 'circular' needs padding at most the input size (padding (4, 4), input 3)"),
    ("ReplicationPad3d", lambda: nn.ReplicationPad3d(1), (2, 3, 4),
     "expects a 4-D or 5-D input for padding [1, 1, 1, 1, 1, 1], got 3-D [2, 3, 4]"),
    ("PixelShuffle", lambda: nn.PixelShuffle(2), (1, 6, 3, 3),
     "expects channels divisible by upscale_factor² = 4, got 6"),
    ("PixelUnshuffle", lambda: nn.PixelUnshuffle(2), (1, 2, 5, 4),
     "expects height and width divisible by downscale_factor 2, got 5 and 4"),
    ("ChannelShuffle", lambda: nn.ChannelShuffle(4), (1, 6, 3, 3), "expects channels divisible by 4 groups, got 6"),
    ("Unflatten", lambda: nn.Unflatten(1, (2, 5)), (3, 8), "unflattened_size [2, 5] does not multiply up to 8 "
     "(dimension 1)"),
    ("GLU", nn.GLU, (2, 5), "expects an even size in dimension -1 to halve, got 5"),
    ("Softmax2d", nn.Softmax2d, (2, 5), "expects a 3-D or 4-D input, got 2-D [2, 5]"),
    ("Dropout1d", nn.Dropout1d, (1, 2, 3, 4), "expects a 2-D or 3-D input, got 4-D [1, 2, 3, 4]"),
    ("Unfold", lambda: nn.Unfold(3), (1, 2, 2, 5), "no sliding block fits: [0, 3] blocks (size [2, 5], kernel "
     "[3, 3], padding [0, 0], dilation [1, 1], stride [1, 1])"),
    ("Fold", lambda: nn.Fold((4, 5), 2), (1, 12, 11), "expects 3·4 = 12 blocks (last dimension) for output_size "
     "[4, 5], got 11"),
    ("LocalResponseNorm", lambda: nn.LocalResponseNorm(3), (2, 8),
     "expects an input of at least 3 dimensions (N, C, …), got 2-D [2, 8]"),
    ("RMSNorm", lambda: nn.RMSNorm(8), (2, 7), "expects an input ending in [8], got [2, 7]"),
    ("LPPool2d", lambda: nn.LPPool2d(2, 3), (1, 2, 2, 5), "output size would be 0 (input 2, kernel 3, stride 3, "
     "padding 0)"),
    ("FractionalMaxPool2d", lambda: nn.FractionalMaxPool2d(3, output_size=4), (1, 2, 5, 5),
     "kernel 3 is too large for output 4 from input 5"),
    ("EmbeddingBag", lambda: nn.EmbeddingBag(10, 3), (4,),
     "expects a 2-D input of bags (a 1-D input needs offsets), got 1-D [4]"),
    ("LSTMCell", lambda: nn.LSTMCell(4, 6), (2, 5), "expects 4 input features (last dimension), got 5"),
    ("TransformerEncoderLayer", lambda: nn.TransformerEncoderLayer(8, 2, 16), (3, 2, 6),
     "expects embed_dim 8 features (last dimension), got 6"),
    ("Transformer", lambda: nn.Transformer(8, 2, 1, 1, 16), (3, 2, 6),
     "expects d_model 8 features in source and target, got 6 and 6"),
])
def test_messages(name: str, make: Make, x: Shape, message: str) -> None:
    spec = REGISTRY[name]
    assert spec.cost is not None
    module = build(make)
    with pytest.raises(ShapeMismatch) as info:
        spec.cost(module, x)
    assert str(info.value) == message
    if 0 not in x:
        assert real_output(name, module, x, torch.float32) is None  # PyTorch refuses it too


@pytest.mark.parametrize(("name", "make", "shapes", "message"), [
    ("MultiheadAttention", lambda: nn.MultiheadAttention(16, 4, kdim=6, vdim=7), ((5, 3, 16), (9, 3, 5), (9, 3, 7)),
     "expects kdim 6 key features (last dimension), got 5"),
    ("MultiheadAttention", lambda: nn.MultiheadAttention(16, 4), ((5, 3, 16), (9, 3, 16), (8, 3, 16)),
     "key [9, 3, 16] and value [8, 3, 16] differ in length or batch"),
    ("MultiheadAttention", lambda: nn.MultiheadAttention(16, 4), ((5, 3, 16), (9, 2, 16)),
     "key [9, 2, 16] and query [5, 3, 16] differ in batch size"),
    ("MultiheadAttention", lambda: nn.MultiheadAttention(16, 4), ((5, 3, 16), (9, 16)),
     "for a 3-D query, key and value must be 3-D, got 2-D and 2-D"),
    ("Bilinear", lambda: nn.Bilinear(5, 7, 3), ((4, 5), (4, 6)), "expects 7 second input features (last dimension), "
     "got 6"),
    ("Bilinear", lambda: nn.Bilinear(5, 7, 3), ((4, 5), (3, 7)),
     "expects a second input with the first's leading dimensions [4], got [3, 7]"),
    ("TransformerDecoderLayer", lambda: nn.TransformerDecoderLayer(8, 2, 16), ((5, 3, 8), (7, 2, 8)),
     "key [7, 2, 8] and query [5, 3, 8] differ in batch size"),
    ("Transformer", lambda: nn.Transformer(8, 2, 1, 1, 16, batch_first=True), ((2, 5, 8), (3, 4, 8)),
     "source [2, 5, 8] and target [3, 4, 8] differ in batch size"),
    ("CosineSimilarity", nn.CosineSimilarity, ((4, 8), (3, 8)),
     "the inputs [4, 8] and [3, 8] do not broadcast (dimension -2: 4 and 3)"),
    ("RNNCell", lambda: nn.RNNCell(4, 6), ((2, 4), (3, 6)), "expects a state of shape [2, 6], got [3, 6]"),
    ("LSTMCell", lambda: nn.LSTMCell(4, 6), ((2, 4), (2, 6)), "takes its state as 2 inputs (h, c), got 1"),
    ("Linear", lambda: nn.Linear(4, 6), ((2, 4), (2, 4)), "takes one input, got 2"),
    ("TransformerEncoderLayer", lambda: nn.TransformerEncoderLayer(8, 2, 16), ((3, 2, 8), (3, 2, 8)),
     "takes one input, got 2"),
    ("Bilinear", lambda: nn.Bilinear(5, 5, 3), ((4, 5), (4, 5), (4, 5)), "takes up to 2 inputs, got 3"),
])
def test_messages_with_several_inputs(name: str, make: Make, shapes: tuple[Shape, ...], message: str) -> None:
    spec = REGISTRY[name]
    assert spec.cost is not None
    module = build(make)
    with pytest.raises(ShapeMismatch) as info:
        spec.cost(module, shapes[0], None, shapes[1:])
    assert str(info.value) == message
    if len(shapes) <= spec.inputs:
        assert real_output(name, module, shapes[0], torch.float32, shapes[1:]) is None  # PyTorch refuses it too


def test_wrapper_refusals_are_the_table_cases() -> None:
    refused = set()
    for param in CASES:
        name, make, shapes, _, _, dtype = param.values
        module = build(make)
        if real_output(name, module, shapes[0], dtype) is None:
            refused.add((name, shapes[0]))
            cost = REGISTRY[name].cost
            assert cost is not None
            with pytest.raises(ShapeMismatch, match=REFUSED_BY_WRAPPER.get((name, shapes[0]), "^$")):
                cost(module, shapes[0])
    assert refused == set(REFUSED_BY_WRAPPER)


def test_given_output_shape_still_wins_for_conv_transpose() -> None:
    """forward(x, output_size) may ask for one more row: given PyTorch's shape, the entry follows it."""
    module = nn.ConvTranspose2d(4, 4, 3, stride=2)
    spec = REGISTRY["ConvTranspose2d"]
    assert spec.cost is not None
    with torch.no_grad():
        y = tuple(module(torch.randn(1, 4, 5, 5), output_size=(12, 12)).shape)
    assert spec.cost(module, (1, 4, 5, 5)).shape == (1, 4, 11, 11)
    given_y = spec.cost(module, (1, 4, 5, 5), y)
    assert given_y.shape == y == (1, 4, 12, 12)
    assert given_y.extra == 4 * 12 * 12


def test_given_other_key_and_second_input_still_cost() -> None:
    """With PyTorch's output given, Bilinear's second input and attention's key/value may differ from x."""
    bil = REGISTRY["Bilinear"].cost
    mha = REGISTRY["MultiheadAttention"].cost
    assert bil is not None and mha is not None
    assert bil(nn.Bilinear(5, 7, 3), (4, 5), (4, 3)).shape == (4, 3)
    assert mha(nn.MultiheadAttention(16, 2, kdim=6, vdim=7), (5, 3, 16), (5, 3, 16)).shape == (5, 3, 16)


# ------------------------------------------------------- random hyper-parameters ----

MAX_SIZE = {1: 12, 2: 7, 3: 4}


def sizes(n: int, low: int, high: int) -> st.SearchStrategy[tuple[int, ...]]:
    return st.tuples(*[st.integers(low, high)] * n)


def knob(dims: int, low: int, high: int) -> st.SearchStrategy[Any]:
    """One int for every dimension, or one per dimension."""
    return st.one_of(st.integers(low, high), sizes(dims, low, high))


def as_tuple(value: Any, dims: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, tuple) else (value,) * dims


def channel_input(draw: st.DrawFn, dims: int, channels: int, max_size: int | None = None) -> Shape:
    """(N, C, *spatial) or (C, *spatial); now and then the wrong channel count or rank."""
    spatial = draw(sizes(dims, 1, max_size or MAX_SIZE[dims]))
    flaw = draw(st.sampled_from(["none"] * 6 + ["channels", "rank"]))
    if flaw == "channels":
        channels = draw(st.integers(1, channels + 2))
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    shape = (*batch, channels, *spatial)
    if flaw == "rank":
        shape = draw(st.sampled_from([shape[1:], (1, *shape), shape[:-1]])) or (1,)
    return shape


def any_input(draw: st.DrawFn, low: int = 0, high: int = 4) -> Shape:
    return draw(st.lists(st.integers(1, 4), min_size=low, max_size=high).map(tuple))


def last_dim_input(draw: st.DrawFn, features: int, ranks: tuple[int, int] = (1, 3)) -> Shape:
    """Features in the last dimension, of a rank in `ranks`; now and then the wrong count."""
    rank = draw(st.integers(*ranks))
    if rank == 0:
        return ()
    if draw(st.integers(0, 7)) == 0:
        features = draw(st.integers(1, features + 2))
    return (*draw(sizes(rank - 1, 1, 4)), features)


Case = tuple[Make, Shape]
MultiCase = tuple[Make, Shape, tuple[Shape, ...]]  # and the other inputs a block gives (`inputs:`)


@st.composite
def conv(draw: st.DrawFn, dims: int) -> Case:
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = draw(knob(dims, 1, 4))
    dilation = draw(knob(dims, 1, 3))
    padding_kind = draw(st.sampled_from(["int", "int", "same", "valid"]))
    stride = 1 if padding_kind == "same" else draw(knob(dims, 1, 3))
    padding = draw(knob(dims, 0, 3)) if padding_kind == "int" else padding_kind
    padding_mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    bias = draw(st.booleans())
    cls = getattr(nn, f"Conv{dims}d")
    x = channel_input(draw, dims, cin)
    return lambda: cls(cin, cout, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups,
                       bias=bias, padding_mode=padding_mode), x


@st.composite
def conv_transpose(draw: st.DrawFn, dims: int) -> Case:
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel, stride = draw(knob(dims, 1, 4)), draw(knob(dims, 1, 3))
    dilation, padding = draw(knob(dims, 1, 2)), draw(knob(dims, 0, 3))
    limit = max(*as_tuple(stride, dims), *as_tuple(dilation, dims))
    output_padding = draw(knob(dims, 0, limit))  # sometimes too large: PyTorch refuses in forward
    bias = draw(st.booleans())
    cls = getattr(nn, f"ConvTranspose{dims}d")
    x = channel_input(draw, dims, cin)
    return lambda: cls(cin, cout, kernel, stride=stride, padding=padding, output_padding=output_padding,
                       groups=groups, bias=bias, dilation=dilation), x


@st.composite
def pool(draw: st.DrawFn, kind: str, dims: int) -> Case:
    kernel = draw(knob(dims, 1, 4))
    stride = draw(st.one_of(st.none(), knob(dims, 1, 3)))
    half = min(as_tuple(kernel, dims)) // 2
    padding = draw(st.integers(0, half + 1 if draw(st.integers(0, 5)) == 0 else half))
    ceil_mode = draw(st.booleans())
    cls = getattr(nn, f"{kind}Pool{dims}d")
    x = channel_input(draw, dims, draw(st.integers(1, 3)))
    if kind == "Max":
        dilation = draw(knob(dims, 1, 3))
        return lambda: cls(kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode), x
    include = draw(st.booleans())
    return lambda: cls(kernel, stride=stride, padding=padding, ceil_mode=ceil_mode, count_include_pad=include), x


@st.composite
def adaptive(draw: st.DrawFn, kind: str, dims: int) -> Case:
    one = st.integers(0, 5) if dims == 1 else st.one_of(st.integers(0, 5), st.none())
    size = draw(st.one_of(st.integers(0, 5), st.tuples(*[one] * dims)))
    cls = getattr(nn, f"Adaptive{kind}Pool{dims}d")
    return lambda: cls(size), channel_input(draw, dims, draw(st.integers(1, 3)))


@st.composite
def linear(draw: st.DrawFn) -> Case:
    fin, fout, bias = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.booleans())
    return lambda: nn.Linear(fin, fout, bias=bias), last_dim_input(draw, fin, (0, 3))


@st.composite
def bilinear(draw: st.DrawFn) -> MultiCase:
    f1, fout, bias = draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.booleans())
    f2 = draw(st.sampled_from([f1, f1, f1, f1 + 1]))
    x = last_dim_input(draw, f1, (0, 3))
    return lambda: nn.Bilinear(f1, f2, fout, bias=bias), x, other_inputs(draw, x, (f2,), None)


@st.composite
def embedding(draw: st.DrawFn) -> Case:
    num, dim = draw(st.integers(1, 10)), draw(st.integers(1, 5))
    return lambda: nn.Embedding(num, dim), any_input(draw, 0, 3)


@st.composite
def batchnorm(draw: st.DrawFn, dims: int) -> Case:
    c, affine, stats = draw(st.integers(1, 4)), draw(st.booleans()), draw(st.booleans())
    cls = getattr(nn, f"BatchNorm{dims}d")
    # BatchNorm1d takes (N, C) or (N, C, L): draw 0 to `dims` spatial sizes, small for batch-statistics limits
    spatial = draw(sizes(draw(st.integers(0, dims)) if dims == 1 else dims, 1, 3))
    x = (draw(st.integers(1, 2)), c if draw(st.integers(0, 5)) else draw(st.integers(1, 5)), *spatial)
    if draw(st.integers(0, 7)) == 0:
        x = x[1:] or (1,)
    return lambda: cls(c, affine=affine, track_running_stats=stats), x


@st.composite
def sync_batchnorm(draw: st.DrawFn) -> Case:
    c, affine, stats = draw(st.integers(1, 4)), draw(st.booleans()), draw(st.booleans())
    x = (draw(st.integers(1, 2)), c if draw(st.integers(0, 5)) else draw(st.integers(1, 5)),
         *draw(st.lists(st.integers(1, 3), max_size=3)))
    if draw(st.integers(0, 7)) == 0:
        x = x[1:]
    return lambda: nn.SyncBatchNorm(c, affine=affine, track_running_stats=stats), x


@st.composite
def instancenorm(draw: st.DrawFn, dims: int) -> Case:
    c, affine, stats = draw(st.integers(1, 4)), draw(st.booleans()), draw(st.booleans())
    cls = getattr(nn, f"InstanceNorm{dims}d")
    return lambda: cls(c, affine=affine, track_running_stats=stats), channel_input(draw, dims, c, 3)


@st.composite
def layernorm(draw: st.DrawFn) -> Case:
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=2).map(tuple))
    arg = shape[0] if len(shape) == 1 and draw(st.booleans()) else shape
    affine, bias = draw(st.booleans()), draw(st.booleans())
    lead = draw(st.lists(st.integers(1, 3), max_size=2).map(tuple))
    x = (*lead, *shape) if draw(st.integers(0, 4)) else any_input(draw, 0, 4)
    return lambda: nn.LayerNorm(arg, elementwise_affine=affine, bias=bias), x


@st.composite
def groupnorm(draw: st.DrawFn) -> Case:
    groups = draw(st.integers(1, 3))
    c, affine = groups * draw(st.integers(1, 3)), draw(st.booleans())
    channels = c if draw(st.integers(0, 4)) else draw(st.integers(1, 7))
    x = (draw(st.integers(1, 2)), channels, *draw(st.lists(st.integers(1, 3), max_size=2)))
    if draw(st.integers(0, 7)) == 0:
        x = x[1:]
    return lambda: nn.GroupNorm(groups, c, affine=affine), x


@st.composite
def shape_keeping(draw: st.DrawFn, name: str) -> Case:
    cls = getattr(nn, name)
    return cls, any_input(draw)


@st.composite
def softmax(draw: st.DrawFn, name: str = "Softmax") -> Case:
    dim = draw(st.one_of(st.none(), st.integers(-4, 3)))
    cls = getattr(nn, name)
    return lambda: cls(dim=dim), any_input(draw)


@st.composite
def glu(draw: st.DrawFn) -> Case:
    dim = draw(st.integers(-4, 3))
    return lambda: nn.GLU(dim=dim), any_input(draw)


@st.composite
def threshold(draw: st.DrawFn) -> Case:
    return lambda: nn.Threshold(0.1, 2.0), any_input(draw)


@st.composite
def unflatten(draw: st.DrawFn) -> Case:
    x = any_input(draw, 0, 4)
    dim = draw(st.integers(-4, 3))
    size = x[dim] if -len(x) <= dim < len(x) else draw(st.integers(1, 6))
    first = draw(st.sampled_from([d for d in range(1, size + 1) if size % d == 0] + [draw(st.integers(1, 4))]))
    second = draw(st.sampled_from([size // first, -1, -1, draw(st.integers(1, 4))]))
    sizes = draw(st.sampled_from([(first, second), (second, first), (first, second, 1), (size,)]))
    return lambda: nn.Unflatten(dim, sizes), x


@st.composite
def pixel_shuffle(draw: st.DrawFn, name: str) -> Case:
    r = draw(st.integers(1, 3))
    rank = draw(st.integers(1, 5))
    x = list(draw(sizes(rank, 1, 4)))
    if rank >= 3 and draw(st.integers(0, 3)):
        if name == "PixelShuffle":
            x[-3] = r * r * draw(st.integers(1, 2))
        else:
            x[-1], x[-2] = r * x[-1], r * x[-2]
    cls = getattr(nn, name)
    return lambda: cls(r), tuple(x)


@st.composite
def channel_shuffle(draw: st.DrawFn) -> Case:
    groups = draw(st.integers(1, 3))
    x = list(draw(sizes(draw(st.integers(1, 5)), 1, 4)))
    if len(x) >= 2 and draw(st.integers(0, 3)):
        x[1] = groups * draw(st.integers(1, 2))
    return lambda: nn.ChannelShuffle(groups), tuple(x)


@st.composite
def upsampling2d(draw: st.DrawFn, name: str) -> Case:
    how = draw(st.sampled_from(["scale", "size", "size-int"]))
    size = draw(sizes(2, 1, 6)) if how == "size" else draw(st.integers(1, 6)) if how == "size-int" else None
    scale = draw(st.sampled_from([1, 2, 3, 0.5, 1.5])) if how == "scale" else None
    cls = getattr(nn, name)
    return lambda: cls(size=size, scale_factor=scale), draw(sizes(draw(st.sampled_from([3, 4, 4, 4, 5])), 1, 5))


@st.composite
def pad(draw: st.DrawFn, kind: str, dims: int) -> Case:
    padding = draw(st.one_of(st.integers(-1, 3), st.tuples(*[st.integers(-2, 3)] * (2 * dims))))
    rank = draw(st.sampled_from([dims + 1, dims + 2, dims + 2, draw(st.integers(max(dims - 1, 1), dims + 3))]))
    x = draw(sizes(rank, 1, 5))
    cls = getattr(nn, f"{kind}Pad{dims}d")
    if kind == "Constant":
        return lambda: cls(padding, 0.5), x
    return lambda: cls(padding), x


@st.composite
def unfold(draw: st.DrawFn) -> Case:
    kernel, dilation = draw(knob(2, 1, 3)), draw(knob(2, 1, 2))
    padding, stride = draw(knob(2, 0, 2)), draw(knob(2, 1, 3))
    x = draw(sizes(draw(st.sampled_from([2, 3, 4, 4, 5])), 1, 6))
    return lambda: nn.Unfold(kernel, dilation=dilation, padding=padding, stride=stride), x


@st.composite
def fold(draw: st.DrawFn) -> Case:
    kernel, dilation = draw(knob(2, 1, 3)), draw(knob(2, 1, 2))
    padding, stride = draw(knob(2, 0, 2)), draw(knob(2, 1, 3))
    size = draw(knob(2, 1, 7))
    k, d, p, s = (as_tuple(v, 2) for v in (kernel, dilation, padding, stride))
    blocks = [(as_tuple(size, 2)[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]
    channels = draw(st.integers(1, 2))
    values = channels * k[0] * k[1] if draw(st.integers(0, 5)) else draw(st.integers(1, 9))
    count = max(blocks[0], 0) * max(blocks[1], 0) if draw(st.integers(0, 5)) else draw(st.integers(1, 9))
    x = draw(st.sampled_from([(2, values, max(count, 1)), (values, max(count, 1)), (1, 1, values, max(count, 1))]))
    return lambda: nn.Fold(size, kernel, dilation=dilation, padding=padding, stride=stride), x


@st.composite
def embedding_bag(draw: st.DrawFn) -> Case:
    num, dim = draw(st.integers(1, 10)), draw(st.integers(1, 5))
    mode = draw(st.sampled_from(["sum", "mean", "max"]))
    x = draw(sizes(2, 1, 4)) if draw(st.integers(0, 3)) else any_input(draw, 0, 3)
    return lambda: nn.EmbeddingBag(num, dim, mode=mode), x


@st.composite
def rmsnorm(draw: st.DrawFn) -> Case:
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=2).map(tuple))
    arg = shape[0] if len(shape) == 1 and draw(st.booleans()) else shape
    affine = draw(st.booleans())
    lead = draw(st.lists(st.integers(1, 3), max_size=2).map(tuple))
    x = (*lead, *shape) if draw(st.integers(0, 4)) else any_input(draw, 0, 4)
    return lambda: nn.RMSNorm(arg, elementwise_affine=affine), x


@st.composite
def lrn(draw: st.DrawFn, name: str) -> Case:
    size = draw(st.integers(1, 5))
    cls = getattr(nn, name)
    x = draw(sizes(4, 1, 4)) if name == "CrossMapLRN2d" and draw(st.integers(0, 3)) else any_input(draw, 0, 5)
    return lambda: cls(size), x


@st.composite
def lp_pool(draw: st.DrawFn, dims: int) -> Case:
    kernel = draw(knob(dims, 1, 4))
    stride = draw(st.one_of(st.none(), knob(dims, 1, 3)))
    ceil_mode, norm = draw(st.booleans()), draw(st.sampled_from([1, 2, 3.0]))
    cls = getattr(nn, f"LPPool{dims}d")
    x = channel_input(draw, dims, draw(st.integers(1, 3)))
    return lambda: cls(norm, kernel, stride=stride, ceil_mode=ceil_mode), x


@st.composite
def fractional(draw: st.DrawFn, dims: int) -> Case:
    kernel = draw(knob(dims, 1, 3))
    cls = getattr(nn, f"FractionalMaxPool{dims}d")
    x = channel_input(draw, dims, draw(st.integers(1, 3)), 7)
    if draw(st.booleans()):
        size = draw(knob(dims, 1, 4))
        return lambda: cls(kernel, output_size=size), x
    ratio = draw(st.one_of(st.sampled_from([0.3, 0.5, 0.75]), st.tuples(*[st.sampled_from([0.4, 0.5, 0.9])] * dims)))
    return lambda: cls(kernel, output_ratio=ratio), x


@st.composite
def prelu(draw: st.DrawFn) -> Case:
    x = any_input(draw)
    guess = x[1] if len(x) >= 2 else 1
    params = draw(st.sampled_from([1, guess, guess, draw(st.integers(1, 4))]))
    return lambda: nn.PReLU(params), x


@st.composite
def flatten(draw: st.DrawFn) -> Case:
    start, end = draw(st.integers(-4, 3)), draw(st.integers(-4, 3))
    return lambda: nn.Flatten(start, end), any_input(draw)


@st.composite
def upsample(draw: st.DrawFn) -> Case:
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "area", "linear", "bilinear", "bicubic", "trilinear"]))
    rank = draw(st.sampled_from([3, 3, 4, 4, 5, 2, 6]))
    dims = max(rank - 2, 1)
    factor = st.floats(0.2, 3.0).map(lambda f: round(f, 2))
    how = draw(st.sampled_from(["scale", "scale", "size", "both", "none"]))
    size = draw(st.one_of(st.integers(0, 6), sizes(dims, 1, 6), sizes(dims + 1, 1, 6))) if how in ("size", "both") \
        else None
    scale = draw(st.one_of(factor, st.tuples(*[factor] * dims))) if how in ("scale", "both") else None
    align = draw(st.sampled_from([None, None, True, False]))
    recompute = draw(st.sampled_from([None, None, True, False]))
    x = draw(sizes(rank, 1, 5))
    return lambda: nn.Upsample(size=size, scale_factor=scale, mode=mode, align_corners=align,
                               recompute_scale_factor=recompute), x


@st.composite
def recurrent(draw: st.DrawFn, kind: str) -> Case:
    fin, hidden = draw(st.integers(1, 5)), draw(st.integers(2, 6))
    kwargs: dict[str, Any] = {
        "num_layers": draw(st.integers(1, 2)), "bidirectional": draw(st.booleans()),
        "batch_first": draw(st.booleans()), "bias": draw(st.booleans()),
    }
    if kind == "LSTM":
        kwargs["proj_size"] = draw(st.sampled_from([0, 0, 1, hidden - 1]))
    if kind == "RNN":
        kwargs["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    cls = getattr(nn, kind)
    return lambda: cls(fin, hidden, **kwargs), last_dim_input(draw, fin, (1, 4))


def other_inputs(draw: st.DrawFn, x: Shape, features: tuple[int, ...], length_at: int | None) -> tuple[Shape, ...]:
    """None, or one input per entry of `features`: x's shape with that many features (now and then another
    count), another length at `length_at` (sequence layers), now and then another batch or rank."""
    if not x or draw(st.integers(0, 3)) == 0:
        return ()
    length = x[length_at] + draw(st.integers(-1, 3)) if length_at is not None and len(x) > 1 else None
    out = []
    for f in features:
        shape = list(x)
        shape[-1] = f if draw(st.integers(0, 7)) else draw(st.integers(1, f + 2))
        if length is not None and length_at is not None:
            shape[length_at] = max(length, 1)
        if draw(st.integers(0, 9)) == 0:
            shape = shape[1:] or [1]
        if len(shape) > 1 and draw(st.integers(0, 9)) == 0:
            shape[0] += 1
        out.append(tuple(shape))
    return tuple(out)


@st.composite
def attention(draw: st.DrawFn) -> MultiCase:
    heads = draw(st.integers(1, 3))
    e = heads * draw(st.integers(1, 3))
    kwargs: dict[str, Any] = {
        "batch_first": draw(st.booleans()), "bias": draw(st.booleans()),
        "add_bias_kv": draw(st.booleans()), "add_zero_attn": draw(st.booleans()),
    }
    if draw(st.integers(0, 5)) == 0:
        kwargs["kdim"], kwargs["vdim"] = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    x = last_dim_input(draw, e, (1, 4))
    at = (1 if kwargs["batch_first"] else 0) if len(x) == 3 else 0
    rest = other_inputs(draw, x, (kwargs.get("kdim", e), kwargs.get("vdim", e)), at)
    if rest and draw(st.booleans()):
        rest = rest[:1]  # the value is the key
    return lambda: nn.MultiheadAttention(e, heads, **kwargs), x, rest


@st.composite
def transformer_layer(draw: st.DrawFn, kind: str) -> MultiCase:
    heads = draw(st.integers(1, 2))
    e = heads * draw(st.integers(1, 3))
    kwargs: dict[str, Any] = {
        "dim_feedforward": draw(st.integers(1, 6)), "batch_first": draw(st.booleans()),
        "norm_first": draw(st.booleans()), "bias": draw(st.booleans()),
        "activation": draw(st.sampled_from(["relu", "gelu"])), "dropout": 0.0,
    }
    x = last_dim_input(draw, e, (1, 4))
    at = (1 if kwargs["batch_first"] else 0) if len(x) == 3 else 0
    if kind == "Transformer":
        kwargs["num_encoder_layers"], kwargs["num_decoder_layers"] = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        return lambda: nn.Transformer(e, heads, **kwargs), x, other_inputs(draw, x, (e,), at)
    cls = getattr(nn, kind)
    rest = other_inputs(draw, x, (e,), at) if kind == "TransformerDecoderLayer" else ()
    return lambda: cls(e, heads, **kwargs), x, rest


@st.composite
def cell(draw: st.DrawFn, kind: str) -> MultiCase:
    fin, hidden, bias = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.booleans())
    x = last_dim_input(draw, fin, (0, 3))
    rest = other_inputs(draw, x, (hidden,) * (2 if kind == "LSTMCell" else 1), None)
    if kind == "LSTMCell" and rest and draw(st.integers(0, 5)) == 0:
        rest = rest[:1]
    cls = getattr(nn, kind)
    return lambda: cls(fin, hidden, bias=bias), x, rest


@st.composite
def two_inputs(draw: st.DrawFn, name: str) -> MultiCase:
    """CosineSimilarity and PairwiseDistance: a second input that broadcasts, now and then one that does not."""
    x = any_input(draw, 0, 3)
    rest: tuple[Shape, ...] = ()
    if draw(st.booleans()):
        other = tuple(draw(st.sampled_from([d, 1, d + 1])) if draw(st.integers(0, 3)) else d for d in x)
        rest = (other[draw(st.integers(0, len(other))):] if other and draw(st.integers(0, 3)) == 0 else other,)
    if name == "CosineSimilarity":
        dim = draw(st.integers(-4, 3))
        return lambda: nn.CosineSimilarity(dim=dim), x, rest
    keepdim = draw(st.booleans())
    return lambda: nn.PairwiseDistance(keepdim=keepdim), x, rest


STRATEGIES: dict[str, st.SearchStrategy[Case]] = {
    **{f"Conv{d}d": conv(d) for d in (1, 2, 3)},
    **{f"ConvTranspose{d}d": conv_transpose(d) for d in (1, 2, 3)},
    **{f"{k}Pool{d}d": pool(k, d) for k in ("Max", "Avg") for d in (1, 2, 3)},
    **{f"Adaptive{k}Pool{d}d": adaptive(k, d) for k in ("Max", "Avg") for d in (1, 2, 3)},
    "Linear": linear(), "Bilinear": bilinear(), "Embedding": embedding(),
    **{f"BatchNorm{d}d": batchnorm(d) for d in (1, 2, 3)},
    **{f"InstanceNorm{d}d": instancenorm(d) for d in (1, 2, 3)},
    "LayerNorm": layernorm(), "GroupNorm": groupnorm(),
    **{name: shape_keeping(name) for name in ("ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh",
                                               "Hardswish", "Hardsigmoid", "Dropout", "Dropout2d", "Identity")},
    **{name: softmax(name) for name in ("Softmax", "LogSoftmax", "Softmin")},
    "PReLU": prelu(), "Flatten": flatten(), "Upsample": upsample(), "GLU": glu(), "Threshold": threshold(),
    **{kind: recurrent(kind) for kind in ("RNN", "LSTM", "GRU")},
    **{kind: cell(kind) for kind in ("RNNCell", "LSTMCell", "GRUCell")},
    "MultiheadAttention": attention(),
    **{kind: transformer_layer(kind) for kind in ("TransformerEncoderLayer", "TransformerDecoderLayer", "Transformer")},
    **{name: two_inputs(name) for name in ("CosineSimilarity", "PairwiseDistance")},
    "EmbeddingBag": embedding_bag(), "RMSNorm": rmsnorm(), "SyncBatchNorm": sync_batchnorm(),
    **{name: lrn(name) for name in ("LocalResponseNorm", "CrossMapLRN2d")},
    **{f"LPPool{d}d": lp_pool(d) for d in (1, 2, 3)},
    **{f"FractionalMaxPool{d}d": fractional(d) for d in (2, 3)},
    "Unflatten": unflatten(), "ChannelShuffle": channel_shuffle(),
    **{name: pixel_shuffle(name) for name in ("PixelShuffle", "PixelUnshuffle")},
    **{name: upsampling2d(name) for name in ("UpsamplingNearest2d", "UpsamplingBilinear2d")},
    "Unfold": unfold(), "Fold": fold(),
    **{f"{kind}Pad{d}d": pad(kind, d) for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular")
       for d in (1, 2, 3)},
}


# a new activation (the registry's activation family) keeps its input's shape: it needs no strategy of its own
for _name in LEAVES:
    if _name not in STRATEGIES and family(_name) == "activation":
        STRATEGIES[_name] = shape_keeping(_name)


def test_every_layer_has_a_strategy() -> None:
    assert set(LEAVES) - set(STRATEGIES) == set()
    assert set(STRATEGIES) - set(LEAVES) == set()


@pytest.mark.parametrize("name", LEAVES)
@SETTINGS
@given(data=st.data())
def test_random_against_pytorch(name: str, data: st.DataObject) -> None:
    make, x, *more = data.draw(STRATEGIES[name], label="case")
    try:
        module = build(make)
    except REJECTED:  # the constructor's own checks are not a shape matter
        return
    rest: tuple[Shape, ...] = more[0] if more else ()
    check_formula_shape(name, module, x, torch.long if REGISTRY[name].index_input else torch.float32, rest)


def test_index_input_marks_the_layers_that_take_integers() -> None:
    """Shapes cannot say that an Embedding after a float layer is refused: the spec says it takes indices."""
    assert {name for name, spec in REGISTRY.items() if spec.index_input} == {"Embedding", "EmbeddingBag"}
    with pytest.raises(RuntimeError, match="indices"):
        nn.Embedding(10, 3)(torch.randn(2, 4))
    with pytest.raises(RuntimeError, match="indices"):
        nn.EmbeddingBag(10, 3)(torch.randn(2, 4))
