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
from cnn_cost.layers import REGISTRY, Cost, ShapeMismatch, register
from cnn_cost.layers.registry import elementwise, no_params

from .common import BILINEAR, MAC, ZERO, Shape, check_layer, first_tensor, numel, registry_cost, run_real

# PyTorch's notes on its own kernels (a zero-padded copy, no oneDNN for projections) are expected.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning"),
    pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN:UserWarning"),
    pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning"),
]



def attend(module: nn.MultiheadAttention, q: Any, k: Any, v: Any) -> Any:
    return module(q, k, v, need_weights=False)


def both(module: nn.Module, a: Any, b: Any) -> Any:
    return module(a, b)


def twice(module: nn.Module, x: Any) -> Any:
    """A two-input layer given one input, as a block calls it: (x, x)."""
    return module(x, x)


def lstm_cell(module: nn.Module, x: Any, h: Any, c: Any) -> Any:
    return module(x, (h, c))[0]


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
    case("cross-other-length", "MultiheadAttention", lambda: nn.MultiheadAttention(16, 4), (5, 3, 16), (9, 3, 16),
         (9, 3, 16), kind=MAC, call=attend),
    case("cross-kdim-vdim-bf-bias-kv", "MultiheadAttention",
         lambda: nn.MultiheadAttention(12, 3, kdim=5, vdim=7, batch_first=True, add_bias_kv=True),
         (2, 4, 12), (2, 6, 5), (2, 6, 7), kind=MAC, call=attend),
    case("cross-unbatched-zero-attn", "MultiheadAttention", lambda: nn.MultiheadAttention(8, 2, add_zero_attn=True),
         (3, 8), (7, 8), (7, 8), kind=MAC, call=attend),
    # ------------------------------------------------------------- Transformer layers
    case("seq-first", "TransformerEncoderLayer", lambda: nn.TransformerEncoderLayer(16, 4, 32), (5, 3, 16), kind=MAC),
    case("bf-norm-first-gelu", "TransformerEncoderLayer",
         lambda: nn.TransformerEncoderLayer(16, 2, 24, batch_first=True, norm_first=True, activation="gelu"),
         (2, 7, 16), kind=MAC),
    case("nobias-unbatched", "TransformerEncoderLayer", lambda: nn.TransformerEncoderLayer(8, 2, 16, bias=False),
         (6, 8), kind=MAC),
    case("self", "TransformerDecoderLayer", lambda: nn.TransformerDecoderLayer(16, 4, 32), (5, 3, 16), kind=MAC,
         call=twice),
    case("memory-other-length", "TransformerDecoderLayer", lambda: nn.TransformerDecoderLayer(16, 4, 32),
         (5, 3, 16), (9, 3, 16), kind=MAC, call=both),
    case("bf-norm-first-gelu-nobias", "TransformerDecoderLayer",
         lambda: nn.TransformerDecoderLayer(12, 3, 20, batch_first=True, norm_first=True, activation="gelu",
                                            bias=False),
         (2, 4, 12), (2, 6, 12), kind=MAC, call=both),
    case("small", "Transformer", lambda: nn.Transformer(16, 4, 2, 1, 32), (7, 2, 16), kind=MAC, call=twice),
    case("src-tgt-bf", "Transformer",
         lambda: nn.Transformer(12, 2, 1, 2, 20, batch_first=True, norm_first=True, activation="gelu"),
         (2, 6, 12), (2, 4, 12), kind=MAC, call=both),
    case("unbatched-nobias", "Transformer", lambda: nn.Transformer(8, 2, 1, 1, 16, bias=False), (5, 8), (3, 8),
         kind=MAC, call=both),
    # ---------------------------------------------------------------- recurrent cells
    case("basic", "RNNCell", lambda: nn.RNNCell(10, 20), (3, 10), kind=MAC),
    case("relu-nobias-unbatched", "RNNCell", lambda: nn.RNNCell(6, 4, bias=False, nonlinearity="relu"), (6,),
         kind=MAC),
    case("with-state", "RNNCell", lambda: nn.RNNCell(10, 20), (3, 10), (3, 20), kind=MAC, call=both),
    case("basic", "GRUCell", lambda: nn.GRUCell(10, 20), (3, 10), kind=MAC),
    case("with-state-nobias", "GRUCell", lambda: nn.GRUCell(5, 7, bias=False), (2, 5), (2, 7), kind=MAC, call=both),
    case("basic", "LSTMCell", lambda: nn.LSTMCell(10, 20), (3, 10), kind=MAC),
    case("with-state-unbatched", "LSTMCell", lambda: nn.LSTMCell(5, 7), (5,), (7,), (7,), kind=MAC, call=lstm_cell),
    # ------------------------------------------------------------ linear and similarities
    case("basic", "EmbeddingBag", lambda: nn.EmbeddingBag(100, 16), (2, 7), dtype=torch.long),
    case("max-padding", "EmbeddingBag", lambda: nn.EmbeddingBag(50, 8, mode="max", padding_idx=0), (3, 4),
         dtype=torch.long),
    case("dim1", "CosineSimilarity", nn.CosineSimilarity, (4, 8), (4, 8), call=both),
    case("broadcast-dim-last", "CosineSimilarity", lambda: nn.CosineSimilarity(dim=-1), (2, 1, 6), (3, 6),
         call=both),
    case("self", "CosineSimilarity", lambda: nn.CosineSimilarity(dim=0), (5, 3), call=twice),
    case("self-keepdim", "PairwiseDistance", lambda: nn.PairwiseDistance(keepdim=True), (5, 3), call=twice),
    case("basic", "PairwiseDistance", nn.PairwiseDistance, (4, 8), (4, 8), call=both),
    case("keepdim-broadcast", "PairwiseDistance", lambda: nn.PairwiseDistance(p=1.0, keepdim=True),
         (2, 1, 6), (3, 6), call=both),
    case("bilinear-other-batch-dims", "Bilinear", lambda: nn.Bilinear(3, 5, 2), (2, 4, 3), (2, 4, 5),
         kind=BILINEAR, call=both),
    # ------------------------------------------------------------ normalisation
    case("2d", "SyncBatchNorm", lambda: nn.SyncBatchNorm(16), (2, 16, 5, 5)),
    case("1d-noaffine", "SyncBatchNorm", lambda: nn.SyncBatchNorm(6, affine=False), (3, 6)),
    case("nostats-3d", "SyncBatchNorm", lambda: nn.SyncBatchNorm(4, track_running_stats=False), (2, 4, 3, 3, 3)),
    case("affine", "RMSNorm", lambda: nn.RMSNorm(16), (2, 5, 16)),
    case("noaffine-tuple", "RMSNorm", lambda: nn.RMSNorm((4, 6), elementwise_affine=False), (3, 4, 6)),
    case("alexnet", "LocalResponseNorm", lambda: nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0),
         (1, 96, 7, 7)),
    case("3d", "LocalResponseNorm", lambda: nn.LocalResponseNorm(2), (2, 4, 9)),
    case("basic", "CrossMapLRN2d", lambda: nn.CrossMapLRN2d(3), (1, 6, 4, 4)),
    # ------------------------------------------------------------ pooling
    case("basic", "LPPool1d", lambda: nn.LPPool1d(2, 3), (2, 4, 10)),
    case("stride-ceil-unbatched", "LPPool1d", lambda: nn.LPPool1d(1.5, 3, stride=2, ceil_mode=True), (4, 10)),
    case("basic", "LPPool2d", lambda: nn.LPPool2d(2, (2, 3)), (1, 3, 8, 9)),
    case("stride", "LPPool2d", lambda: nn.LPPool2d(3, 3, stride=(1, 2)), (3, 7, 7)),
    case("basic", "LPPool3d", lambda: nn.LPPool3d(2, 2), (1, 2, 4, 4, 4)),
    case("size", "FractionalMaxPool2d", lambda: nn.FractionalMaxPool2d(3, output_size=(4, 5)), (1, 2, 9, 9)),
    case("ratio-unbatched", "FractionalMaxPool2d", lambda: nn.FractionalMaxPool2d(2, output_ratio=0.5), (3, 8, 11)),
    case("size", "FractionalMaxPool3d", lambda: nn.FractionalMaxPool3d(2, output_size=3), (1, 2, 6, 6, 6)),
    case("ratio", "FractionalMaxPool3d", lambda: nn.FractionalMaxPool3d((1, 2, 2), output_ratio=(0.9, 0.5, 0.5)),
         (2, 4, 5, 8)),
    # ------------------------------------------------------------ activations
    *(case("basic", name, getattr(nn, name), (2, 3, 4)) for name in (
        "SELU", "Softsign", "Tanhshrink", "LogSigmoid", "Softshrink", "Hardshrink", "RReLU")),
    case("beta", "Softplus", lambda: nn.Softplus(beta=2.0, threshold=10.0), (2, 3, 4)),
    case("alpha", "CELU", lambda: nn.CELU(alpha=0.5), (2, 3, 4)),
    case("range", "Hardtanh", lambda: nn.Hardtanh(-2.0, 2.0), (2, 3, 4)),
    case("basic", "Threshold", lambda: nn.Threshold(0.1, 20.0), (2, 3, 4)),
    case("dim1", "LogSoftmax", lambda: nn.LogSoftmax(dim=1), (2, 5, 3)),
    case("dim-last", "Softmin", lambda: nn.Softmin(dim=-1), (4, 10)),
    case("4d", "Softmax2d", nn.Softmax2d, (2, 3, 4, 4)),
    case("3d", "Softmax2d", nn.Softmax2d, (3, 4, 4)),
    case("last", "GLU", nn.GLU, (2, 3, 8)),
    case("channels", "GLU", lambda: nn.GLU(dim=1), (2, 6, 5)),
    case("p", "Dropout1d", lambda: nn.Dropout1d(0.3), (2, 3, 8)),
    case("p", "Dropout3d", lambda: nn.Dropout3d(0.3), (2, 3, 4, 4, 4)),
    case("p", "AlphaDropout", lambda: nn.AlphaDropout(0.2), (2, 3, 4)),
    case("p", "FeatureAlphaDropout", lambda: nn.FeatureAlphaDropout(0.2), (2, 3, 4, 4)),
    # ------------------------------------------------------------ reshapes and resampling
    case("channels", "Unflatten", lambda: nn.Unflatten(1, (2, 4)), (3, 8, 5)),
    case("inferred-last", "Unflatten", lambda: nn.Unflatten(-1, (3, -1)), (2, 12)),
    case("x2", "PixelShuffle", lambda: nn.PixelShuffle(2), (1, 8, 3, 4)),
    case("x3-unbatched", "PixelShuffle", lambda: nn.PixelShuffle(3), (9, 2, 2)),
    case("x2", "PixelUnshuffle", lambda: nn.PixelUnshuffle(2), (1, 2, 6, 4)),
    case("groups", "ChannelShuffle", lambda: nn.ChannelShuffle(3), (2, 6, 4, 4)),
    case("scale", "UpsamplingNearest2d", lambda: nn.UpsamplingNearest2d(scale_factor=2), (1, 3, 4, 5)),
    case("size", "UpsamplingBilinear2d", lambda: nn.UpsamplingBilinear2d(size=(7, 9)), (1, 3, 4, 4)),
    case("basic", "Unfold", lambda: nn.Unfold(3), (2, 3, 8, 8)),
    case("all-hyper", "Unfold", lambda: nn.Unfold((2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), (3, 7, 9)),
    case("basic", "Fold", lambda: nn.Fold((4, 5), (2, 2)), (2, 12, 12)),
    case("all-hyper-unbatched", "Fold", lambda: nn.Fold(6, 3, dilation=2, padding=1, stride=2), (18, 4)),
    # ------------------------------------------------------------------ padding
    case("int", "ZeroPad1d", lambda: nn.ZeroPad1d(2), (2, 3, 5)),
    case("tuple", "ZeroPad2d", lambda: nn.ZeroPad2d((1, 2, 0, 3)), (1, 3, 4, 4)),
    case("crop", "ZeroPad3d", lambda: nn.ZeroPad3d((1, -1, 0, 2, -2, 1)), (2, 4, 5, 6)),
    case("value", "ConstantPad1d", lambda: nn.ConstantPad1d((3, 1), 1.5), (4, 6)),
    case("any-rank", "ConstantPad2d", lambda: nn.ConstantPad2d(1, -1.0), (2, 2, 3, 4, 5)),
    case("int", "ConstantPad3d", lambda: nn.ConstantPad3d(1, 0.0), (1, 2, 3, 3, 3)),
    case("int", "ReflectionPad1d", lambda: nn.ReflectionPad1d(2), (2, 3, 5)),
    case("tuple", "ReflectionPad2d", lambda: nn.ReflectionPad2d((1, 0, 2, 3)), (3, 4, 5)),
    case("int", "ReflectionPad3d", lambda: nn.ReflectionPad3d(1), (1, 2, 3, 3, 3)),
    case("int", "ReplicationPad1d", lambda: nn.ReplicationPad1d(4), (2, 3, 2)),
    case("tuple", "ReplicationPad2d", lambda: nn.ReplicationPad2d((1, 2, 3, 4)), (1, 2, 3, 3)),
    case("int", "ReplicationPad3d", lambda: nn.ReplicationPad3d(2), (2, 3, 2, 2)),
    case("int", "CircularPad1d", lambda: nn.CircularPad1d(3), (2, 3, 4)),
    case("tuple", "CircularPad2d", lambda: nn.CircularPad2d((1, 2, 0, 3)), (3, 4, 5)),
    case("int", "CircularPad3d", lambda: nn.CircularPad3d(1), (1, 2, 3, 3, 3)),
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
    cost = registry_cost(name, module, shapes[0], tuple(out.shape), shapes[1:])
    assert (cost.params, cost.params_formula) == (count, text)
    assert spec.cost is not None
    if len(shapes) == 1 or len(set(shapes)) == 1:  # the block's call: the input itself as every input
        assert spec.cost(module, shapes[0]).params_formula == text  # without PyTorch's output shape
    assert (text == "") == (spec.params is no_params)  # the families without parameters write nothing
    with torch.device("meta"):
        meta = make()  # as a block builds it
    assert spec.params(meta) == (count, text)


class Swish(nn.Module):
    """A layer the registry does not know (every module of torch.nn with a cost from shapes is registered)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


def test_a_layer_without_parameters_is_one_register_line() -> None:
    assert "Swish" not in REGISTRY
    register("Swish")(elementwise(1, "one per element"))
    try:
        spec = REGISTRY["Swish"]
        module = Swish()
        assert spec.params(module) == (0, "")
        assert spec.cost is not None
        cost = spec.cost(module, (2, 3))
        assert (cost.params, cost.params_formula, cost.shape) == (0, "", (2, 3))
        with pytest.raises(ShapeMismatch, match=r"^takes one input, got 2$"):
            spec.cost(module, (2, 3), None, [(2, 3)])
    finally:
        del REGISTRY["Swish"]


def test_parameters_come_from_the_params_function_only() -> None:
    """A cost function that writes parameters is refused: the params function is their one source."""
    register("Swish", params=lambda m: (5, "5 (made up)"))(lambda m, x, y: Cost(params=5, shape=x))
    try:
        spec = REGISTRY["Swish"]
        assert spec.params(None) == (5, "5 (made up)")
        with pytest.raises(TypeError, match="writes parameters"):
            spec.cost(None, (2, 3))  # type: ignore[misc]
    finally:
        del REGISTRY["Swish"]


def test_a_multi_input_family_gets_the_other_inputs() -> None:
    """`register(..., inputs=N)`: the family is fn(m, x, y, rest), and the stored entry refuses more inputs."""
    seen: list[tuple[Shape, ...]] = []

    def pair(m: Any, x: Shape, y: Shape | None, rest: tuple[Shape, ...]) -> Cost:
        seen.append(rest)
        return Cost(shape=x)

    register("Swish", inputs=2)(pair)
    try:
        spec = REGISTRY["Swish"]
        assert spec.cost is not None
        assert spec.inputs == 2
        assert spec.work_of({}) == 1
        spec.cost(None, (2, 3))
        spec.cost(None, [2, 3], None, [[4, 5]])
        assert seen == [(), ((4, 5),)]
        with pytest.raises(ShapeMismatch, match=r"^takes up to 2 inputs, got 3$"):
            spec.cost(None, (2, 3), None, [(2, 3), (2, 3)])
        with pytest.raises(ShapeMismatch, match=r"^the input \[4, 0\] has an empty dimension$"):
            spec.cost(None, (2, 3), None, [(4, 0)])
    finally:
        del REGISTRY["Swish"]


def test_inputs_and_work_of_the_multi_input_layers() -> None:
    inputs = {name: spec.inputs for name, spec in REGISTRY.items() if spec.inputs > 1}
    assert inputs == {"MultiheadAttention": 3, "Bilinear": 2, "TransformerDecoderLayer": 2, "Transformer": 2,
                      "CosineSimilarity": 2, "PairwiseDistance": 2, "RNNCell": 2, "GRUCell": 2, "LSTMCell": 3}
    assert all(REGISTRY[name].wrap for name in inputs)  # a block's wrapper passes the other inputs on
    assert REGISTRY["MultiheadAttention"].work_of({}) == 5
    assert REGISTRY["TransformerEncoderLayer"].work_of({}) == 10
    transformer = REGISTRY["Transformer"]
    assert transformer.work_of({}) == 5 + 6 * 10 + 6 * 14  # PyTorch's defaults: 6 + 6 layers
    assert transformer.work_of({"num_encoder_layers": 100_000, "num_decoder_layers": 0}) == 1_000_005


# The `detailed` additions: each family's documented rule, against the real output tensor.
UPSAMPLE_PER_ELEMENT = {"nearest": 0, "nearest-exact": 0, "linear": 2, "bilinear": 4, "bicubic": 16, "trilinear": 8}
ZERO_COST = ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "Identity",
             "Flatten", "Unflatten", "PixelShuffle", "PixelUnshuffle", "ChannelShuffle", "Unfold", "Embedding")
SOFTMAX = ("Softmax", "LogSoftmax", "Softmin", "Softmax2d")
PER_PAIR_ELEMENT = {"CosineSimilarity": 6, "PairwiseDistance": 4}  # per element of the broadcast inputs
COMPOSED = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "MultiheadAttention", "TransformerEncoderLayer",
            "TransformerDecoderLayer", "Transformer")  # their rules: per unit and step, or the sum of their parts


def kernel_volume(module: nn.Module, dims: int) -> int:
    kernel: Any = getattr(module, "kernel_size")  # noqa: B009
    return int(kernel**dims if isinstance(kernel, int) else math.prod(kernel))


def expected_extra(name: str, module: nn.Module, shapes: tuple[Shape, ...], y: torch.Tensor) -> int:
    out, x = y.numel(), shapes[0]
    if name in SOFTMAX:
        return 3 * out
    if name == "GLU":
        return 2 * out
    if name.startswith("Upsampl"):
        return UPSAMPLE_PER_ELEMENT[str(getattr(module, "mode"))] * out  # noqa: B009
    if name in ZERO_COST or name.endswith(("Pad1d", "Pad2d", "Pad3d")):
        return 0
    if name in PER_PAIR_ELEMENT:
        pair = torch.broadcast_shapes(x, shapes[-1])
        return PER_PAIR_ELEMENT[name] * math.prod(pair)
    if name == "Fold":
        return math.prod(x)
    if name == "EmbeddingBag":
        return math.prod(x) * int(getattr(module, "embedding_dim"))  # noqa: B009
    if family(name) == "activation":  # every other activation, PReLU included
        return out
    if family(name) == "norm":
        return 4 * out
    if name.startswith(("Conv", "Linear", "Bilinear")):
        return out if getattr(module, "bias", None) is not None else 0
    if name.startswith(("MaxPool", "AvgPool", "FractionalMaxPool")):
        return out * kernel_volume(module, int(name[-2]))
    if name.startswith("LPPool"):
        return out * (kernel_volume(module, int(name[-2])) + 1)  # and one root per output
    assert name.startswith("Adaptive"), name
    return math.prod(x)


@pytest.mark.parametrize(("name", "make", "shapes", "kind", "call", "dtype"),
                         [p for p in CASES if p.values[0] not in COMPOSED])
def test_detailed_extra_rules(name: str, make: Callable[[], nn.Module], shapes: tuple[Shape, ...], kind: str,
                              call: Callable[..., Any] | None, dtype: torch.dtype) -> None:
    module, out = run_real(make, shapes, dtype, call)
    cost = registry_cost(name, module, shapes[0], tuple(out.shape), shapes[1:])
    assert cost.extra == expected_extra(name, module, shapes, out)


def recorded_parts(module: nn.Module, shapes: tuple[Shape, ...], call: Callable[..., Any] | None) -> list[Any]:
    """(type, module, input, output, other inputs) of every child call a forward hook sees, on CPU with autograd
    on (PyTorch's fused inference path would skip the children)."""
    seen: list[Any] = []

    def hook(child: nn.Module, args: tuple[Any, ...], out: Any) -> None:
        shapes_in = [tuple(a.shape) for a in args if isinstance(a, torch.Tensor)]
        seen.append((type(child).__name__, id(child), shapes_in[0], tuple(first_tensor(out).shape),
                     tuple(shapes_in[1:])))

    handles = [child.register_forward_hook(hook) for child in module.modules()
               if child is not module and type(child).__name__ in REGISTRY and REGISTRY[type(child).__name__].cost
               and (not any(True for _ in child.children()) or REGISTRY[type(child).__name__].atomic)
               and type(child).__name__ not in ("TransformerEncoderLayer", "TransformerDecoderLayer")]
    torch.manual_seed(0)
    inputs = [torch.randn(s) for s in shapes]
    try:
        call(module, *inputs) if call else module(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return seen


@pytest.mark.parametrize(("name", "make", "shapes", "kind", "call", "dtype"),
                         [p for p in CASES if str(p.values[0]).startswith("Transformer")])
def test_transformer_layers_are_the_sum_of_their_parts(name: str, make: Callable[[], nn.Module],
                                                       shapes: tuple[Shape, ...], kind: str,
                                                       call: Callable[..., Any] | None, dtype: torch.dtype) -> None:
    """`LayerSpec.parts` are the child calls PyTorch makes (the counting libraries count those), and the
    layer's MACs are theirs; the detailed FLOPs add the activation and the residual additions."""
    module = make().eval()
    spec = REGISTRY[name]
    assert spec.parts is not None and spec.cost is not None
    x, rest = shapes[0], tuple(shapes[1:])
    parts = spec.parts(module, x, rest)
    expected = sorted((p.name, id(p.module), p.x, p.y, (p.rest or (p.x, p.x)) if p.name == "MultiheadAttention"
                       else ()) for p in parts)  # self-attention: the query as key and value
    seen = sorted((kind_, ident, xin, yout, others if kind_ == "MultiheadAttention" else ())
                  for kind_, ident, xin, yout, others in recorded_parts(module, shapes, call))
    assert expected == seen
    cost = spec.cost(module, x, None, rest)
    assert cost.macs == sum(p.cost.macs for p in parts)
    # detailed: the parts' own, one per element of each feed-forward's hidden layer (the activation function)
    # and one per element for each residual addition (2 per encoder layer, 3 per decoder layer)
    layers = [module] if name != "Transformer" else [*module.encoder.layers, *module.decoder.layers]  # type: ignore
    by_module = {id(p.module): p for p in parts}
    hidden = sum(math.prod(by_module[id(layer.linear1)].y) for layer in layers)
    residual = sum((3 if hasattr(layer, "multihead_attn") else 2) * math.prod(by_module[id(layer.norm1)].x)
                   for layer in layers)
    assert cost.extra == sum(p.cost.extra for p in parts) + hidden + residual
