"""Every registry entry against the real PyTorch module.

For each layer type and several configurations: the module is built on CPU with real weights
and run on a real input; the registry's parameters must equal `numel()`, its output shape the
real output's, and (for layers with products) 2 x MACs the total of torch.utils.flop_counter,
which runs on the meta device.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from cnn_cost.counters import family
from cnn_cost.layers import REGISTRY, Cost, register
from cnn_cost.layers.registry import elementwise, no_params

from .common import BILINEAR, MAC, ZERO, Shape, check_layer, numel, registry_cost, run_real

# PyTorch's notes on its own kernels (a zero-padded copy, no oneDNN for projections) are expected.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning"),
    pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN:UserWarning"),
]



def attend(module: nn.MultiheadAttention, q: Any, k: Any, v: Any) -> Any:
    return module(q, k, v, need_weights=False)


def both(module: nn.Module, a: Any, b: Any) -> Any:
    return module(a, b)


def case(cid: str, name: str, make: Callable[[], nn.Module], *shapes: Shape, kind: str = ZERO,
         call: Callable[..., Any] | None = None, dtype: torch.dtype = torch.float32) -> Any:
    return pytest.param(name, make, shapes, kind, call, dtype, id=f"{name}-{cid}")


def self_attention(cid: str, make: Callable[[], nn.Module], x: Shape) -> Any:
    return case(cid, "MultiheadAttention", make, x, x, x, kind=MAC, call=attend)


CASES = [
    # ---------------------------------------------------------------- convolutions
    case("basic", "Conv1d", lambda: nn.Conv1d(4, 8, 3), (2, 4, 20), kind=MAC),
    case("all-hyper", "Conv1d", lambda: nn.Conv1d(6, 9, 5, stride=2, padding=2, dilation=2, groups=3, bias=False),
         (2, 6, 31), kind=MAC),
    case("same-even-dilated", "Conv1d", lambda: nn.Conv1d(4, 8, 4, padding="same", dilation=3), (1, 4, 17), kind=MAC),
    case("valid-unbatched", "Conv1d", lambda: nn.Conv1d(4, 8, 3, padding="valid", stride=3), (4, 19), kind=MAC),
    case("depthwise-circular", "Conv1d", lambda: nn.Conv1d(4, 4, 3, groups=4, padding=1, padding_mode="circular"),
         (2, 4, 10), kind=MAC),
    case("cifar-first", "Conv2d", lambda: nn.Conv2d(3, 32, 3, padding=1), (1, 3, 32, 32), kind=MAC),
    case("tuples-groups", "Conv2d",
         lambda: nn.Conv2d(8, 16, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=4, bias=False),
         (2, 8, 17, 23), kind=MAC),
    case("depthwise", "Conv2d", lambda: nn.Conv2d(8, 8, 3, groups=8), (1, 8, 15, 15), kind=MAC),
    case("same-dilated", "Conv2d", lambda: nn.Conv2d(6, 12, 4, padding="same", dilation=(2, 1)), (1, 6, 11, 13),
         kind=MAC),
    case("same-reflect", "Conv2d", lambda: nn.Conv2d(6, 12, (2, 3), padding="same", padding_mode="reflect"),
         (2, 6, 9, 8), kind=MAC),
    case("valid-stride-unbatched", "Conv2d", lambda: nn.Conv2d(3, 5, 3, stride=2, padding="valid"), (3, 20, 21),
         kind=MAC),
    case("pointwise-nobias", "Conv2d", lambda: nn.Conv2d(4, 6, 1, bias=False), (2, 4, 7, 7), kind=MAC),
    case("alexnet-conv1", "Conv2d", lambda: nn.Conv2d(3, 96, 11, stride=4, padding=2), (1, 3, 224, 224), kind=MAC),
    case("wide", "Conv2d", lambda: nn.Conv2d(3, 1200, 3, stride=2, padding=1, padding_mode="zeros"),
         (1, 3, 16, 16), kind=MAC),
    case("basic", "Conv3d", lambda: nn.Conv3d(2, 4, 3), (1, 2, 6, 7, 8), kind=MAC),
    case("tuples-groups", "Conv3d",
         lambda: nn.Conv3d(4, 6, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), groups=2, bias=False),
         (2, 4, 5, 9, 9), kind=MAC),
    case("same-dilated", "Conv3d", lambda: nn.Conv3d(2, 4, 3, padding="same", dilation=2), (1, 2, 7, 8, 9), kind=MAC),
    case("stride-unbatched", "Conv3d", lambda: nn.Conv3d(2, 2, 2, stride=2, padding=(1, 0, 0)), (2, 4, 6, 8),
         kind=MAC),
    # ----------------------------------------------------------- transposed convolutions
    case("basic", "ConvTranspose1d", lambda: nn.ConvTranspose1d(4, 6, 3), (2, 4, 10), kind=MAC),
    case("all-hyper", "ConvTranspose1d",
         lambda: nn.ConvTranspose1d(4, 6, 4, stride=3, padding=1, output_padding=2, groups=2, bias=False),
         (1, 4, 9), kind=MAC),
    case("dilated-unbatched", "ConvTranspose1d",
         lambda: nn.ConvTranspose1d(3, 5, 3, stride=2, dilation=2, output_padding=1), (3, 7), kind=MAC),
    case("upsample-x2", "ConvTranspose2d", lambda: nn.ConvTranspose2d(16, 8, 2, stride=2), (1, 16, 8, 8), kind=MAC),
    case("all-hyper", "ConvTranspose2d",
         lambda: nn.ConvTranspose2d(6, 9, (3, 4), stride=(2, 3), padding=(1, 2), output_padding=(1, 2), groups=3,
                                    dilation=(2, 1)),
         (2, 6, 5, 7), kind=MAC),
    case("depthwise-nobias", "ConvTranspose2d", lambda: nn.ConvTranspose2d(4, 4, 3, groups=4, bias=False, padding=1),
         (2, 4, 6, 6), kind=MAC),
    case("basic", "ConvTranspose3d", lambda: nn.ConvTranspose3d(4, 2, 2, stride=2), (1, 4, 3, 4, 5), kind=MAC),
    case("all-hyper", "ConvTranspose3d",
         lambda: nn.ConvTranspose3d(4, 6, 3, stride=(1, 2, 2), padding=1, output_padding=(0, 1, 1), groups=2,
                                    bias=False),
         (1, 4, 3, 4, 4), kind=MAC),
    # ------------------------------------------------------------------- linear
    case("basic", "Linear", lambda: nn.Linear(20, 30), (4, 20), kind=MAC),
    case("nobias-3d", "Linear", lambda: nn.Linear(20, 30, bias=False), (2, 5, 20), kind=MAC),
    case("cifar-fc", "Linear", lambda: nn.Linear(64 * 8 * 8, 128), (1, 4096), kind=MAC),
    case("unbatched", "Linear", lambda: nn.Linear(7, 3), (7,), kind=MAC),
    case("basic", "Bilinear", lambda: nn.Bilinear(5, 7, 3), (4, 5), (4, 7), kind=BILINEAR, call=both),
    case("nobias-3d", "Bilinear", lambda: nn.Bilinear(6, 6, 4, bias=False), (2, 3, 6), (2, 3, 6), kind=BILINEAR,
         call=both),
    case("guide", "Bilinear", lambda: nn.Bilinear(20, 30, 40), (1, 20), (1, 30), kind=BILINEAR, call=both),
    case("basic", "Embedding", lambda: nn.Embedding(100, 16), (2, 7), dtype=torch.long),
    case("padding-idx-1d", "Embedding", lambda: nn.Embedding(1000, 64, padding_idx=0), (5,), dtype=torch.long),
    case("3d-index", "Embedding", lambda: nn.Embedding(50, 8, scale_grad_by_freq=True), (3, 4, 5),
         dtype=torch.long),
    # ------------------------------------------------------------ normalisation
    case("2d-input", "BatchNorm1d", lambda: nn.BatchNorm1d(10), (3, 10)),
    case("3d-input-noaffine", "BatchNorm1d", lambda: nn.BatchNorm1d(10, affine=False), (3, 10, 7)),
    case("nostats", "BatchNorm1d", lambda: nn.BatchNorm1d(10, track_running_stats=False), (3, 10)),
    case("basic", "BatchNorm2d", lambda: nn.BatchNorm2d(16), (2, 16, 5, 5)),
    case("noaffine", "BatchNorm2d", lambda: nn.BatchNorm2d(16, affine=False, momentum=None), (2, 16, 5, 5)),
    case("wide", "BatchNorm2d", lambda: nn.BatchNorm2d(1500), (1, 1500, 2, 2)),
    case("basic", "BatchNorm3d", lambda: nn.BatchNorm3d(4), (1, 4, 3, 3, 3)),
    case("noaffine", "BatchNorm3d", lambda: nn.BatchNorm3d(4, affine=False), (2, 4, 3, 3, 3)),
    case("default", "InstanceNorm1d", lambda: nn.InstanceNorm1d(6), (2, 6, 10)),
    case("affine-unbatched", "InstanceNorm1d", lambda: nn.InstanceNorm1d(6, affine=True), (6, 10)),
    case("default", "InstanceNorm2d", lambda: nn.InstanceNorm2d(3), (2, 3, 8, 8)),
    case("affine-stats", "InstanceNorm2d", lambda: nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
         (2, 3, 8, 8)),
    case("affine", "InstanceNorm3d", lambda: nn.InstanceNorm3d(2, affine=True), (1, 2, 4, 4, 4)),
    case("default", "InstanceNorm3d", lambda: nn.InstanceNorm3d(2), (2, 4, 4, 4)),
    case("int", "LayerNorm", lambda: nn.LayerNorm(16), (2, 5, 16)),
    case("tuple", "LayerNorm", lambda: nn.LayerNorm((5, 16)), (2, 5, 16)),
    case("list-noaffine", "LayerNorm", lambda: nn.LayerNorm([4, 6, 6], elementwise_affine=False), (2, 4, 6, 6)),
    case("nobias", "LayerNorm", lambda: nn.LayerNorm(32, bias=False), (3, 32)),
    case("noaffine-nobias", "LayerNorm", lambda: nn.LayerNorm(32, elementwise_affine=False, bias=False), (3, 32)),
    case("wide", "LayerNorm", lambda: nn.LayerNorm((2, 1200)), (1, 2, 1200)),
    case("basic", "GroupNorm", lambda: nn.GroupNorm(4, 16), (2, 16, 5, 5)),
    case("one-group-noaffine", "GroupNorm", lambda: nn.GroupNorm(1, 6, affine=False), (3, 6, 10)),
    case("per-channel-3d", "GroupNorm", lambda: nn.GroupNorm(8, 8), (2, 8, 4, 4, 4)),
    # ------------------------------------------------------------------ pooling
    case("basic", "MaxPool1d", lambda: nn.MaxPool1d(2), (1, 4, 9)),
    case("all-hyper", "MaxPool1d", lambda: nn.MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True),
         (2, 3, 20)),
    case("unbatched", "MaxPool1d", lambda: nn.MaxPool1d(4, stride=3), (3, 16)),
    case("cifar", "MaxPool2d", lambda: nn.MaxPool2d(2, 2), (1, 3, 32, 32)),
    case("alexnet", "MaxPool2d", lambda: nn.MaxPool2d(3, 2), (1, 96, 55, 55)),
    case("tuples-ceil", "MaxPool2d",
         lambda: nn.MaxPool2d((3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), ceil_mode=True),
         (2, 4, 11, 10)),
    case("ceil-last-window-dropped", "MaxPool2d", lambda: nn.MaxPool2d(2, 2, padding=1, ceil_mode=True),
         (1, 2, 7, 7)),
    case("basic", "MaxPool3d", lambda: nn.MaxPool3d(2), (1, 2, 8, 8, 8)),
    case("padded", "MaxPool3d", lambda: nn.MaxPool3d(3, stride=2, padding=1), (1, 2, 7, 7, 7)),
    case("tuple-unbatched", "MaxPool3d", lambda: nn.MaxPool3d((1, 2, 2), ceil_mode=True), (2, 3, 5, 5)),
    case("basic", "AvgPool1d", lambda: nn.AvgPool1d(3), (1, 4, 10)),
    case("all-hyper", "AvgPool1d",
         lambda: nn.AvgPool1d(4, stride=2, padding=2, ceil_mode=True, count_include_pad=False), (2, 3, 11)),
    case("basic", "AvgPool2d", lambda: nn.AvgPool2d(2), (1, 3, 8, 8)),
    case("tuples-ceil", "AvgPool2d",
         lambda: nn.AvgPool2d((3, 2), stride=(1, 2), padding=(1, 1), ceil_mode=True, divisor_override=2),
         (1, 2, 7, 9)),
    case("ceil-last-window-dropped", "AvgPool2d", lambda: nn.AvgPool2d(2, 2, padding=1, ceil_mode=True),
         (1, 2, 7, 7)),
    case("stride1", "AvgPool3d", lambda: nn.AvgPool3d(2, stride=1), (1, 2, 4, 4, 4)),
    case("ceil", "AvgPool3d", lambda: nn.AvgPool3d(3, 2, 1, ceil_mode=True), (1, 2, 6, 6, 6)),
    case("basic", "AdaptiveAvgPool1d", lambda: nn.AdaptiveAvgPool1d(5), (2, 4, 17)),
    case("global", "AdaptiveAvgPool1d", lambda: nn.AdaptiveAvgPool1d(1), (4, 17)),
    case("vgg", "AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d((7, 7)), (1, 8, 14, 14)),
    case("none-dim", "AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d((None, 3)), (1, 3, 5, 9)),
    case("global-unbatched", "AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d(1), (3, 5, 5)),
    case("none-dim", "AdaptiveAvgPool3d", lambda: nn.AdaptiveAvgPool3d((2, None, 3)), (1, 2, 4, 5, 6)),
    case("basic", "AdaptiveMaxPool1d", lambda: nn.AdaptiveMaxPool1d(3), (1, 2, 10)),
    case("tuple", "AdaptiveMaxPool2d", lambda: nn.AdaptiveMaxPool2d((2, 3)), (1, 2, 7, 8)),
    case("upsampling", "AdaptiveMaxPool2d", lambda: nn.AdaptiveMaxPool2d(6), (1, 2, 4, 4)),
    case("basic", "AdaptiveMaxPool3d", lambda: nn.AdaptiveMaxPool3d(2), (1, 2, 5, 5, 5)),
    # -------------------------------------------------------------- activations
    case("basic", "ReLU", nn.ReLU, (2, 3, 4)),
    case("inplace", "ReLU", lambda: nn.ReLU(inplace=True), (2, 30, 40)),
    case("basic", "ReLU6", nn.ReLU6, (2, 3, 4)),
    case("basic", "Mish", nn.Mish, (2, 3, 4)),
    case("slope", "LeakyReLU", lambda: nn.LeakyReLU(0.2), (2, 3, 4)),
    case("alpha", "ELU", lambda: nn.ELU(alpha=0.5), (2, 3, 4)),
    case("exact", "GELU", nn.GELU, (2, 3, 4)),
    case("tanh", "GELU", lambda: nn.GELU(approximate="tanh"), (5, 7)),
    case("basic", "SiLU", nn.SiLU, (2, 3, 4)),
    case("basic", "Sigmoid", nn.Sigmoid, (2, 3, 4)),
    case("basic", "Tanh", nn.Tanh, (2, 3, 4)),
    case("basic", "Hardswish", nn.Hardswish, (2, 3, 4)),
    case("basic", "Hardsigmoid", nn.Hardsigmoid, (2, 3, 4)),
    case("shared", "PReLU", nn.PReLU, (2, 3, 4, 4)),
    case("per-channel", "PReLU", lambda: nn.PReLU(num_parameters=3), (2, 3, 4, 4)),
    case("per-feature-init", "PReLU", lambda: nn.PReLU(1500, init=0.1), (7, 1500)),
    case("dim1", "Softmax", lambda: nn.Softmax(dim=1), (2, 5, 3)),
    case("dim-last", "Softmax", lambda: nn.Softmax(dim=-1), (4, 1000)),
    case("p", "Dropout", lambda: nn.Dropout(0.5), (2, 3, 4)),
    case("p", "Dropout2d", lambda: nn.Dropout2d(0.3), (2, 3, 4, 4)),
    case("default", "Flatten", nn.Flatten, (2, 3, 4, 5)),
    case("all", "Flatten", lambda: nn.Flatten(0, -1), (2, 3, 4, 5)),
    case("start2", "Flatten", lambda: nn.Flatten(start_dim=2), (2, 3, 4, 5)),
    case("middle", "Flatten", lambda: nn.Flatten(1, 2), (2, 3, 4, 5)),
    case("negative", "Flatten", lambda: nn.Flatten(-3, -2), (2, 3, 4, 5)),
    case("no-args", "Identity", nn.Identity, (2, 3)),
    case("ignored-args", "Identity", lambda: nn.Identity(54, unused_argument1=0.1), (2, 3, 4)),
    case("nearest", "Upsample", lambda: nn.Upsample(scale_factor=2), (1, 3, 4, 4)),
    case("bilinear-size", "Upsample", lambda: nn.Upsample(size=(7, 9), mode="bilinear", align_corners=True),
         (1, 3, 4, 4)),
    case("bicubic", "Upsample", lambda: nn.Upsample(scale_factor=2, mode="bicubic"), (1, 2, 3, 3)),
    case("nearest-exact", "Upsample", lambda: nn.Upsample(scale_factor=(1.5, 2), mode="nearest-exact"),
         (1, 2, 4, 4)),
    case("linear", "Upsample", lambda: nn.Upsample(scale_factor=3, mode="linear"), (1, 2, 5)),
    case("trilinear", "Upsample", lambda: nn.Upsample(scale_factor=2, mode="trilinear"), (1, 2, 3, 3, 3)),
    # ---------------------------------------------------------------- recurrent
    case("basic", "RNN", lambda: nn.RNN(10, 20), (5, 3, 10), kind=MAC),
    case("stacked-relu-nobias-bf", "RNN",
         lambda: nn.RNN(10, 20, num_layers=2, nonlinearity="relu", bias=False, batch_first=True), (3, 5, 10),
         kind=MAC),
    case("bidirectional-unbatched", "RNN", lambda: nn.RNN(8, 16, bidirectional=True), (6, 8), kind=MAC),
    case("basic", "LSTM", lambda: nn.LSTM(10, 20), (5, 3, 10), kind=MAC),
    case("stacked-bi-bf", "LSTM",
         lambda: nn.LSTM(10, 20, num_layers=3, bidirectional=True, batch_first=True, dropout=0.1), (2, 5, 10),
         kind=MAC),
    case("proj", "LSTM", lambda: nn.LSTM(10, 20, proj_size=7), (5, 3, 10), kind=MAC),
    case("proj-bi-stacked-nobias-unbatched", "LSTM",
         lambda: nn.LSTM(10, 20, num_layers=2, proj_size=5, bidirectional=True, bias=False), (4, 10), kind=MAC),
    case("proj-bi-bf", "LSTM", lambda: nn.LSTM(6, 12, proj_size=4, bidirectional=True, batch_first=True),
         (3, 4, 6), kind=MAC),
    case("basic", "GRU", lambda: nn.GRU(10, 20), (5, 3, 10), kind=MAC),
    case("stacked-bi-nobias-bf", "GRU",
         lambda: nn.GRU(10, 20, num_layers=2, bidirectional=True, bias=False, batch_first=True), (3, 5, 10),
         kind=MAC),
    case("wide", "GRU", lambda: nn.GRU(3, 1200), (2, 1, 3), kind=MAC),
    # ---------------------------------------------------------------- attention
    self_attention("seq-first", lambda: nn.MultiheadAttention(16, 4), (5, 3, 16)),
    self_attention("batch-first", lambda: nn.MultiheadAttention(16, 4, batch_first=True), (3, 5, 16)),
    self_attention("unbatched", lambda: nn.MultiheadAttention(16, 2), (5, 16)),
    self_attention("unbatched-bf", lambda: nn.MultiheadAttention(16, 2, batch_first=True), (7, 16)),
    self_attention("nobias", lambda: nn.MultiheadAttention(16, 4, bias=False), (5, 3, 16)),
    self_attention("bias-kv", lambda: nn.MultiheadAttention(16, 4, add_bias_kv=True), (5, 3, 16)),
    self_attention("zero-attn", lambda: nn.MultiheadAttention(16, 4, add_zero_attn=True), (5, 3, 16)),
    self_attention("bias-kv-zero-attn-bf",
                   lambda: nn.MultiheadAttention(16, 4, add_bias_kv=True, add_zero_attn=True, batch_first=True),
                   (2, 6, 16)),
    self_attention("nobias-bias-kv", lambda: nn.MultiheadAttention(8, 2, bias=False, add_bias_kv=True), (4, 2, 8)),
    self_attention("wide", lambda: nn.MultiheadAttention(64, 8, batch_first=True), (2, 10, 64)),
    case("kdim-vdim", "MultiheadAttention", lambda: nn.MultiheadAttention(16, 2, kdim=6, vdim=7),
         (5, 3, 16), (5, 3, 6), (5, 3, 7), kind=MAC, call=attend),
    case("kdim-vdim-bf-nobias", "MultiheadAttention",
         lambda: nn.MultiheadAttention(16, 4, kdim=16, vdim=5, batch_first=True, bias=False),
         (3, 5, 16), (3, 5, 16), (3, 5, 5), kind=MAC, call=attend),
]


def test_every_registered_layer_has_cases() -> None:
    covered = {p.values[0] for p in CASES}
    leaves = {name for name, spec in REGISTRY.items() if spec.cost is not None}
    assert leaves - covered == set()
    assert covered - leaves == set()
    assert REGISTRY["Sequential"].cost is None


@pytest.mark.parametrize(("name", "make", "shapes", "kind", "call", "dtype"), CASES)
def test_layer_against_pytorch(name: str, make: Callable[[], nn.Module], shapes: tuple[Shape, ...], kind: str,
                               call: Callable[..., Any] | None, dtype: torch.dtype) -> None:
    check_layer(name, make, shapes, kind, call, dtype)


@pytest.mark.parametrize(("name", "make", "shapes", "kind", "call", "dtype"), CASES)
def test_params_need_no_shape(name: str, make: Callable[[], nn.Module], shapes: tuple[Shape, ...], kind: str,
                              call: Callable[..., Any] | None, dtype: torch.dtype) -> None:
    """`spec.params(module)`, from the module alone: PyTorch's count and the very text of the cost's formula."""
    module, out = run_real(make, shapes, dtype, call)
    spec = REGISTRY[name]
    count, text = spec.params(module)
    assert count == numel(module)  # a row's own parameters: every entry's, MultiheadAttention's out_proj included
    cost = registry_cost(name, module, shapes[0], tuple(out.shape))
    assert (cost.params, cost.params_formula) == (count, text)
    assert spec.cost is not None
    if len(shapes) == 1 or len(set(shapes)) == 1:  # the block's call: the input itself as every input
        assert spec.cost(module, shapes[0]).params_formula == text  # without PyTorch's output shape
    assert (text == "") == (spec.params is no_params)  # the families without parameters write nothing
    with torch.device("meta"):
        meta = make()  # as a block builds it
    assert spec.params(meta) == (count, text)


NOT_YET_REGISTERED = ("Softsign", "Tanhshrink", "LogSigmoid", "SELU", "CELU", "Softplus")


def test_a_layer_without_parameters_is_one_register_line() -> None:
    name = next(n for n in NOT_YET_REGISTERED if n not in REGISTRY)
    register(name)(elementwise(1, "one per element"))
    try:
        spec = REGISTRY[name]
        module = getattr(nn, name)()
        assert spec.params(module) == (0, "")
        assert spec.cost is not None
        cost = spec.cost(module, (2, 3))
        assert (cost.params, cost.params_formula, cost.shape) == (0, "", (2, 3))
    finally:
        del REGISTRY[name]


def test_parameters_come_from_the_params_function_only() -> None:
    """A cost function that writes parameters is refused: the params function is their one source."""
    name = next(n for n in NOT_YET_REGISTERED if n not in REGISTRY)
    register(name, params=lambda m: (5, "5 (made up)"))(lambda m, x, y: Cost(params=5, shape=x))
    try:
        spec = REGISTRY[name]
        assert spec.params(None) == (5, "5 (made up)")
        with pytest.raises(TypeError, match="writes parameters"):
            spec.cost(None, (2, 3))  # type: ignore[misc]
    finally:
        del REGISTRY[name]


# The `detailed` additions: each family's documented rule, against the real output tensor.
UPSAMPLE_PER_ELEMENT = {"nearest": 0, "nearest-exact": 0, "linear": 2, "bilinear": 4, "bicubic": 16, "trilinear": 8}
ZERO_COST = ("Dropout", "Dropout2d", "Identity", "Flatten", "Embedding")


def expected_extra(name: str, module: nn.Module, x: Shape, y: torch.Tensor) -> int:
    out = y.numel()
    if name == "Softmax":
        return 3 * out
    if name == "Upsample":
        return UPSAMPLE_PER_ELEMENT[str(getattr(module, "mode"))] * out  # noqa: B009
    if name in ZERO_COST:
        return 0
    if family(name) == "activation":  # every other activation, PReLU included
        return out
    if family(name) == "norm":
        return 4 * out
    if name.startswith(("Conv", "Linear", "Bilinear")):
        return out if getattr(module, "bias", None) is not None else 0
    if name.startswith(("MaxPool", "AvgPool")):
        kernel: Any = getattr(module, "kernel_size")  # noqa: B009
        dims = int(name[-2])
        return out * (kernel ** dims if isinstance(kernel, int) else math.prod(kernel))
    assert name.startswith("Adaptive"), name
    return math.prod(x)


@pytest.mark.parametrize(("name", "make", "shapes", "kind", "call", "dtype"),
                         [p for p in CASES if p.values[0] not in ("RNN", "LSTM", "GRU", "MultiheadAttention")])
def test_detailed_extra_rules(name: str, make: Callable[[], nn.Module], shapes: tuple[Shape, ...], kind: str,
                              call: Callable[..., Any] | None, dtype: torch.dtype) -> None:
    module, out = run_real(make, shapes, dtype, call)
    cost = registry_cost(name, module, shapes[0], tuple(out.shape))
    assert cost.extra == expected_extra(name, module, shapes[0], out)
