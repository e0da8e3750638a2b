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


def wrapped_call(name: str, module: nn.Module, x: torch.Tensor) -> Any:
    """The module called as a block calls it (see LayerSpec.wrap)."""
    wrap = REGISTRY[name].wrap
    if wrap is None:
        return module(x)
    if wrap == "first-output":
        return module(x)[0]
    if wrap == "self-attention":
        return module(x, x, x, need_weights=False)[0]
    assert wrap == "both-inputs", f"a new wrapper {wrap!r}: teach this test how blocks call it"
    return module(x, x)


def say(text: str) -> None:
    """A note for Hypothesis's report of a failing example (outside Hypothesis: nothing)."""
    if currently_in_test_context():
        note(text)


def real_output(name: str, module: nn.Module, x: Shape, dtype: torch.dtype) -> Shape | None:
    """The real output shape on CPU, or None when PyTorch refuses the input or returns an empty tensor."""
    torch.manual_seed(0)
    if dtype == torch.long:
        tensor = torch.randint(0, getattr(module, "num_embeddings", 1), x)
    else:
        tensor = torch.randn(x)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyTorch's advice (deprecated ranks, oneDNN, ...) is not a verdict
            out = first_tensor(wrapped_call(name, module.eval(), tensor))
    except REJECTED as exc:
        say(f"PyTorch refuses: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        return None
    if out.numel() == 0:
        say(f"PyTorch returns an empty tensor {list(out.shape)}")
        return None
    return tuple(out.shape)


def check_formula_shape(name: str, module: nn.Module, x: Shape, dtype: torch.dtype = torch.float32) -> Cost | None:
    """The formula's output shape (y=None) against PyTorch's; the whole Cost against the one with PyTorch's y."""
    assert type(module).__name__ == name
    spec = REGISTRY[name]
    assert spec.cost is not None
    say(f"{module!r} on input {list(x)}")
    y = real_output(name, module, x, dtype)
    if y is None:
        with pytest.raises(ShapeMismatch) as info:
            spec.cost(module, x)
        message = str(info.value)
        assert message and "\n" not in message and len(message) < 200, message
        return None
    try:
        cost = spec.cost(module, x, None)
    except ShapeMismatch as exc:
        raise AssertionError(f"PyTorch gives {list(y)}, the formula refuses: {exc}") from None
    assert cost.shape == y, f"formula {cost.shape}, PyTorch {y}"
    assert cost == spec.cost(module, x, y)
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


# Cases from the table that the wrapper semantics turn down: a block gives Bilinear its input twice,
# and self-attention gives key and value the query's features.
REFUSED_BY_WRAPPER = {
    ("Bilinear", (4, 5)): "in1_features 5 and in2_features 7 must be equal",
    ("Bilinear", (1, 20)): "in1_features 20 and in2_features 30 must be equal",
    ("MultiheadAttention", (5, 3, 16)): "kdim 6 and vdim 7 must equal embed_dim",
    ("MultiheadAttention", (3, 5, 16)): "kdim 16 and vdim 5 must equal embed_dim",
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
def bilinear(draw: st.DrawFn) -> Case:
    f1, fout, bias = draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.booleans())
    f2 = draw(st.sampled_from([f1, f1, f1, f1 + 1]))
    return lambda: nn.Bilinear(f1, f2, fout, bias=bias), last_dim_input(draw, f1, (0, 3))


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
def softmax(draw: st.DrawFn) -> Case:
    dim = draw(st.one_of(st.none(), st.integers(-4, 3)))
    return lambda: nn.Softmax(dim=dim), any_input(draw)


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


@st.composite
def attention(draw: st.DrawFn) -> Case:
    heads = draw(st.integers(1, 3))
    e = heads * draw(st.integers(1, 3))
    kwargs: dict[str, Any] = {
        "batch_first": draw(st.booleans()), "bias": draw(st.booleans()),
        "add_bias_kv": draw(st.booleans()), "add_zero_attn": draw(st.booleans()),
    }
    if draw(st.integers(0, 5)) == 0:
        kwargs["kdim"], kwargs["vdim"] = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    return lambda: nn.MultiheadAttention(e, heads, **kwargs), last_dim_input(draw, e, (1, 4))


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
    "Softmax": softmax(), "PReLU": prelu(), "Flatten": flatten(), "Upsample": upsample(),
    **{kind: recurrent(kind) for kind in ("RNN", "LSTM", "GRU")},
    "MultiheadAttention": attention(),
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
    make, x = data.draw(STRATEGIES[name], label="case")
    try:
        module = build(make)
    except REJECTED:  # the constructor's own checks are not a shape matter
        return
    check_formula_shape(name, module, x, torch.long if name == "Embedding" else torch.float32)


def test_index_input_marks_the_layers_that_take_integers() -> None:
    """Shapes cannot say that an Embedding after a float layer is refused: the spec says it takes indices."""
    assert {name for name, spec in REGISTRY.items() if spec.index_input} == {"Embedding"}
    with pytest.raises(RuntimeError, match="indices"):
        nn.Embedding(10, 3)(torch.randn(2, 4))
