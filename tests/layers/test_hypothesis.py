"""Random hyper-parameters for convolutions and pools, checked against PyTorch.

Each example builds the real module on CPU and runs a real input through it; combinations
PyTorch rejects (an empty output, padding larger than half the window, output_padding too
large) are skipped with `reject()`. Parameters, output shape, 2 x MACs (against
torch.utils.flop_counter on meta) and the formula text are then checked as in test_registry.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, note, reject, settings
from hypothesis import strategies as st
from torch import nn

from .common import MAC, ZERO, check_layer, run_real

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
MAX_SIZE = {1: 24, 2: 12, 3: 6}
REJECTED = (RuntimeError, ValueError)  # how PyTorch says no, at construction or in forward


def sizes(dims: int, low: int, high: int) -> st.SearchStrategy[tuple[int, ...]]:
    return st.tuples(*[st.integers(low, high)] * dims)


def knob(dims: int, low: int, high: int) -> st.SearchStrategy[Any]:
    """One int for every dimension, or one per dimension (as a reader may write either)."""
    return st.one_of(st.integers(low, high), sizes(dims, low, high))


def as_tuple(value: Any, dims: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, tuple) else (value,) * dims


def input_shape(draw: st.DrawFn, dims: int, channels: int) -> tuple[int, ...]:
    spatial = draw(sizes(dims, 1, MAX_SIZE[dims]))
    batch = draw(st.sampled_from([None, 1, 2]))  # None: an unbatched input
    return (channels, *spatial) if batch is None else (batch, channels, *spatial)


def run_or_reject(make: Any, shape: tuple[int, ...]) -> tuple[nn.Module, torch.Tensor]:
    """The real module and output, or reject() when PyTorch refuses (on CPU, or on meta as blocks run)."""
    try:
        module, out = run_real(make, [shape])
    except REJECTED:
        reject()
    note(f"{module!r} on input {list(shape)} -> {list(out.shape)}")
    if out.numel() == 0:  # CPU returns an empty ConvTranspose output that meta (and so a block) rejects
        reject()
    return module, out


@st.composite
def conv_case(draw: st.DrawFn, dims: int) -> tuple[Any, tuple[int, ...]]:
    groups = draw(st.integers(1, 4))
    cin = groups * draw(st.integers(1, 3))
    cout = groups * draw(st.integers(1, 3))
    kernel = draw(knob(dims, 1, 5))
    dilation = draw(knob(dims, 1, 3))
    padding_kind = draw(st.sampled_from(["int", "same", "valid"]))
    stride = 1 if padding_kind == "same" else draw(knob(dims, 1, 3))
    padding = draw(knob(dims, 0, 3)) if padding_kind == "int" else padding_kind
    bias = draw(st.booleans())
    padding_mode = draw(st.sampled_from(["zeros", "zeros", "circular"])) if padding_kind == "int" else "zeros"
    cls = getattr(nn, f"Conv{dims}d")

    def make() -> nn.Module:
        return cls(cin, cout, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias,
                   padding_mode=padding_mode)

    return make, input_shape(draw, dims, cin)


@pytest.mark.parametrize("dims", [1, 2, 3])
@SETTINGS
@given(data=st.data())
def test_conv_random(dims: int, data: st.DataObject) -> None:
    make, shape = data.draw(conv_case(dims))
    real = run_or_reject(make, shape)
    cost = check_layer(f"Conv{dims}d", make, [shape], MAC, real=real)
    module, out = real
    assert cost.extra == (out.numel() if module.bias is not None else 0)


@st.composite
def conv_transpose_case(draw: st.DrawFn) -> tuple[Any, tuple[int, ...]]:
    groups = draw(st.integers(1, 3))
    cin = groups * draw(st.integers(1, 3))
    cout = groups * draw(st.integers(1, 3))
    kernel = draw(knob(2, 1, 4))
    stride = draw(knob(2, 1, 3))
    dilation = draw(knob(2, 1, 3))
    padding = draw(knob(2, 0, 3))
    # output_padding must be smaller than stride or dilation, per dimension
    (s_h, s_w), (d_h, d_w) = as_tuple(stride, 2), as_tuple(dilation, 2)
    output_padding = (draw(st.integers(0, max(s_h, d_h) - 1)), draw(st.integers(0, max(s_w, d_w) - 1)))
    bias = draw(st.booleans())

    def make() -> nn.Module:
        return nn.ConvTranspose2d(cin, cout, kernel, stride=stride, padding=padding, output_padding=output_padding,
                                  groups=groups, bias=bias, dilation=dilation)

    return make, input_shape(draw, 2, cin)


@SETTINGS
@given(case=conv_transpose_case())
def test_conv_transpose2d_random(case: tuple[Any, tuple[int, ...]]) -> None:
    make, shape = case
    real = run_or_reject(make, shape)
    cost = check_layer("ConvTranspose2d", make, [shape], MAC, real=real)
    module, out = real
    assert cost.extra == (out.numel() if module.bias is not None else 0)


@st.composite
def pool_case(draw: st.DrawFn, kind: str, dims: int) -> tuple[Any, tuple[int, ...]]:
    kernel = draw(knob(dims, 1, 5))
    stride = draw(st.one_of(st.none(), knob(dims, 1, 4)))
    # PyTorch wants padding at most half the (dilated) window: draw within it, sometimes beyond
    half = min(as_tuple(kernel, dims)) // 2
    padding = draw(st.integers(0, half + 1 if draw(st.integers(0, 9)) == 0 else half))
    ceil_mode = draw(st.booleans())
    channels = draw(st.integers(1, 3))
    cls = getattr(nn, f"{kind}Pool{dims}d")
    if kind == "Max":
        dilation = draw(knob(dims, 1, 3))

        def make() -> nn.Module:
            return cls(kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    else:
        count_include_pad = draw(st.booleans())

        def make() -> nn.Module:
            return cls(kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
                       count_include_pad=count_include_pad)

    return make, input_shape(draw, dims, channels)


@pytest.mark.parametrize(("kind", "dims"), [("Max", 1), ("Max", 2), ("Avg", 1), ("Avg", 2)])
@SETTINGS
@given(data=st.data())
def test_pool_random(kind: str, dims: int, data: st.DataObject) -> None:
    make, shape = data.draw(pool_case(kind, dims))
    real = run_or_reject(make, shape)
    cost = check_layer(f"{kind}Pool{dims}d", make, [shape], ZERO, real=real)
    module, out = real
    kernel = as_tuple(module.kernel_size, dims)  # type: ignore[arg-type]
    assert cost.shape == tuple(out.shape)
    assert cost.extra == out.numel() * math.prod(kernel)
