"""The `as:` counter rules (cnn_cost.counters) against the counting libraries themselves.

The library tests build real CPU models in eval mode at batch 1, run each library, and compare its
total with the sum of the rules over the model's leaf layers, exactly. They are skipped when a
library is not importable (they are the `bench` extra: thop==0.1.1.post2209072238, ptflops==0.7.5,
fvcore==0.1.5.post20221221, torchinfo==1.8.0; ultralytics-thop==2.2.3, which installs a module named
`thop` too, lives in its own directory, see `ultralytics_thop`); `torch` (torch.utils.flop_counter)
always runs. torchsummary and torchstat, which print several numbers each, are tested in
tests/test_counters_printed.py with the helpers here, as are the containers' merge rows.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import io
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from cnn_cost.counters import COUNTERS, FAMILIES, METRICS, count, family
from cnn_cost.layers import REGISTRY, register
from cnn_cost.layers.registry import elementwise

# nn.Transformer's advice that its encoder would be faster batch-first is not a verdict
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning")

Shape = tuple[int, ...]
TOOLS = ("thop", "ptflops", "fvcore", "torchinfo", "torch", "torchsummary", "torchstat", "ultralytics-thop")
LIBRARIES = ("thop", "ptflops", "fvcore", "torchinfo", "torch", "ultralytics-thop")  # one number each, any model
ROOT = Path(__file__).resolve().parents[1]
ULTRALYTICS_THOP = Path(os.environ.get("ULTRALYTICS_THOP", ROOT / ".venv" / "ultralytics-thop"))
"""Where `make` installs ultralytics-thop (`pip install --target`), apart from thop 0.1.1: both are `thop`."""


# ------------------------------------------------------------ models ----


class Call(nn.Module):
    """Calls one layer the way a block does (first output; self-attention; both inputs)."""

    def __init__(self, layer: nn.Module, how: str) -> None:
        super().__init__()
        self.layer = layer
        self.how = how

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.how == "attention":
            return self.layer(x, x, x, need_weights=False)[0]  # type: ignore[no-any-return]
        if self.how == "both":
            return self.layer(x, x)  # type: ignore[no-any-return]
        out = self.layer(x)
        if self.how == "cell":  # RNNCell, GRUCell: the hidden state; LSTMCell: (h, c)
            return out if isinstance(out, torch.Tensor) else out[0]
        return out[0]  # type: ignore[no-any-return]


def cifar_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(64 * 8 * 8, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU6(), nn.AvgPool2d(2),
        nn.Conv2d(32, 32, 3, groups=4), nn.GroupNorm(4, 32), nn.SiLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.5), nn.Linear(32, 10), nn.Softmax(dim=1),
    )


def alexnet() -> nn.Module:
    """torchvision's AlexNet, written out."""
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=3, stride=2),
        nn.AdaptiveAvgPool2d((6, 6)), nn.Flatten(),
        nn.Dropout(p=0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
        nn.Dropout(p=0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Linear(4096, 1000),
    )


def alexnet_bn() -> nn.Module:
    """An AlexNet-style net with batch norm, LeakyReLU, GELU and ELU, at CIFAR size."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, stride=2, padding=1), nn.BatchNorm2d(64), nn.LeakyReLU(0.1), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.GELU(), nn.MaxPool2d(2),
        nn.Conv2d(128, 256, 3, padding=1), nn.ELU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.Hardswish(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(), nn.Linear(256 * 2 * 2, 512), nn.ReLU(), nn.Linear(512, 10),
    )


def seq(*layers: nn.Module) -> Callable[[], nn.Module]:
    return lambda: nn.Sequential(*layers)


# (id, model factory, input shape)
Case = tuple[str, Callable[[], nn.Module], Shape]

LAYER_CASES: list[Case] = [
    ("conv1d", lambda: nn.Sequential(nn.Conv1d(3, 8, 3)), (1, 3, 20)),
    ("conv1d_g", lambda: nn.Sequential(nn.Conv1d(4, 8, 3, stride=2, padding=1, groups=2, bias=False)), (1, 4, 21)),
    ("conv2d", lambda: nn.Sequential(nn.Conv2d(3, 16, 3, padding=1)), (1, 3, 16, 16)),
    ("conv2d_gd", lambda: nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, groups=4, dilation=2)), (1, 8, 17, 15)),
    ("conv2d_same", lambda: nn.Sequential(nn.Conv2d(4, 4, (3, 5), padding="same", bias=False)), (1, 4, 9, 9)),
    ("conv1d_valid", lambda: nn.Sequential(nn.Conv1d(3, 4, 5, padding="valid")), (1, 3, 20)),
    ("conv2d_reflect", lambda: nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect")), (1, 3, 8, 8)),
    ("conv2d_same_reflect", lambda: nn.Sequential(nn.Conv2d(3, 4, 3, padding="same", padding_mode="reflect")),
     (1, 3, 8, 8)),
    ("conv1d_same_circular", lambda: nn.Sequential(nn.Conv1d(3, 4, 4, padding="same", padding_mode="circular")),
     (1, 3, 9)),
    ("conv2d_valid_replicate", lambda: nn.Sequential(nn.Conv2d(3, 4, 3, padding="valid", padding_mode="replicate")),
     (1, 3, 8, 8)),
    ("conv3d", lambda: nn.Sequential(nn.Conv3d(2, 4, 3, padding=1)), (1, 2, 6, 6, 6)),
    ("convT1d", lambda: nn.Sequential(nn.ConvTranspose1d(4, 6, 3, stride=2)), (1, 4, 10)),
    ("convT2d", lambda: nn.Sequential(nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)), (1, 8, 7, 7)),
    ("convT2d_g", lambda: nn.Sequential(nn.ConvTranspose2d(8, 4, 3, groups=4, bias=False, output_padding=0)),
     (1, 8, 5, 6)),
    ("convT3d", lambda: nn.Sequential(nn.ConvTranspose3d(2, 4, 2, stride=2)), (1, 2, 3, 3, 3)),
    ("linear", lambda: nn.Sequential(nn.Linear(20, 10)), (1, 20)),
    ("linear_nobias", lambda: nn.Sequential(nn.Linear(20, 10, bias=False)), (1, 20)),
    ("linear_3d", lambda: nn.Sequential(nn.Linear(20, 10)), (1, 5, 20)),
    ("bilinear", lambda: Call(nn.Bilinear(8, 8, 4), "both"), (1, 8)),
    ("embedding", lambda: nn.Sequential(nn.Embedding(100, 8)), (1, 5)),
    ("embeddingbag", lambda: nn.Sequential(nn.EmbeddingBag(100, 8)), (2, 5)),
    ("cosine", lambda: Call(nn.CosineSimilarity(), "both"), (1, 8, 4)),
    ("pairwise", lambda: Call(nn.PairwiseDistance(), "both"), (1, 8)),
    ("bn1d", lambda: nn.Sequential(nn.BatchNorm1d(16)), (1, 16)),
    ("bn1d_3d", lambda: nn.Sequential(nn.BatchNorm1d(16)), (1, 16, 10)),
    ("bn2d", lambda: nn.Sequential(nn.BatchNorm2d(8)), (1, 8, 6, 6)),
    ("bn2d_noaffine", lambda: nn.Sequential(nn.BatchNorm2d(8, affine=False)), (1, 8, 6, 6)),
    ("bn2d_no_stats", lambda: nn.Sequential(nn.BatchNorm2d(8, track_running_stats=False)), (1, 8, 6, 6)),
    ("bn1d_no_stats_noaffine", lambda: nn.Sequential(nn.BatchNorm1d(8, affine=False, track_running_stats=False)),
     (1, 8, 5)),
    ("bn3d", lambda: nn.Sequential(nn.BatchNorm3d(4)), (1, 4, 3, 4, 5)),
    ("in1d", lambda: nn.Sequential(nn.InstanceNorm1d(8)), (1, 8, 10)),
    ("in2d_affine", lambda: nn.Sequential(nn.InstanceNorm2d(8, affine=True)), (1, 8, 6, 6)),
    ("in3d", lambda: nn.Sequential(nn.InstanceNorm3d(4, track_running_stats=True)), (1, 4, 3, 4, 5)),
    ("layernorm", lambda: nn.Sequential(nn.LayerNorm(16)), (1, 5, 16)),
    ("layernorm_noaffine", lambda: nn.Sequential(nn.LayerNorm([8, 4, 4], elementwise_affine=False)), (1, 8, 4, 4)),
    ("layernorm_nobias", lambda: nn.Sequential(nn.LayerNorm(16, bias=False)), (1, 5, 16)),
    ("groupnorm", lambda: nn.Sequential(nn.GroupNorm(2, 8)), (1, 8, 6, 6)),
    ("rmsnorm", lambda: nn.Sequential(nn.RMSNorm(16)), (1, 5, 16)),
    ("rmsnorm_noaffine", lambda: nn.Sequential(nn.RMSNorm([4, 6], elementwise_affine=False)), (1, 3, 4, 6)),
    ("lrn", lambda: nn.Sequential(nn.LocalResponseNorm(3)), (1, 8, 6, 6)),
    ("lrn_3d", lambda: nn.Sequential(nn.LocalResponseNorm(2)), (1, 6, 10)),
    ("crossmaplrn", lambda: nn.Sequential(nn.CrossMapLRN2d(3)), (1, 8, 6, 6)),
    ("groupnorm_noaffine", lambda: nn.Sequential(nn.GroupNorm(4, 8, affine=False)), (1, 8, 10)),
    ("maxpool1d", lambda: nn.Sequential(nn.MaxPool1d(2)), (1, 4, 11)),
    ("maxpool2d", lambda: nn.Sequential(nn.MaxPool2d(3, 2, 1)), (1, 4, 9, 9)),
    ("maxpool2d_ceil", lambda: nn.Sequential(nn.MaxPool2d(2, ceil_mode=True)), (1, 4, 7, 7)),
    ("maxpool3d", lambda: nn.Sequential(nn.MaxPool3d(2)), (1, 2, 4, 4, 4)),
    ("avgpool1d", lambda: nn.Sequential(nn.AvgPool1d(3, 2)), (1, 4, 11)),
    ("avgpool2d", lambda: nn.Sequential(nn.AvgPool2d(2)), (1, 4, 8, 8)),
    ("avgpool2d_pad", lambda: nn.Sequential(nn.AvgPool2d(3, 2, 1, count_include_pad=False)), (1, 4, 9, 9)),
    ("avgpool3d", lambda: nn.Sequential(nn.AvgPool3d(2)), (1, 2, 4, 4, 4)),
    ("adaptiveavg1d", lambda: nn.Sequential(nn.AdaptiveAvgPool1d(4)), (1, 4, 10)),
    ("adaptiveavg2d", lambda: nn.Sequential(nn.AdaptiveAvgPool2d((3, 3))), (1, 4, 7, 7)),
    ("adaptiveavg2d_1", lambda: nn.Sequential(nn.AdaptiveAvgPool2d(1)), (1, 8, 6, 6)),
    ("adaptiveavg2d_odd", lambda: nn.Sequential(nn.AdaptiveAvgPool2d((5, 7))), (1, 3, 13, 10)),
    ("adaptiveavg2d_none", lambda: nn.Sequential(nn.AdaptiveAvgPool2d((None, 3))), (1, 3, 5, 10)),
    ("adaptiveavg3d", lambda: nn.Sequential(nn.AdaptiveAvgPool3d((2, 3, 3))), (1, 2, 5, 7, 7)),
    ("adaptivemax1d", lambda: nn.Sequential(nn.AdaptiveMaxPool1d(4)), (1, 4, 10)),
    ("adaptivemax2d", lambda: nn.Sequential(nn.AdaptiveMaxPool2d((3, 3))), (1, 4, 7, 7)),
    ("adaptivemax3d", lambda: nn.Sequential(nn.AdaptiveMaxPool3d(2)), (1, 2, 4, 4, 4)),
    ("relu_inplace", lambda: nn.Sequential(nn.ReLU(inplace=True)), (1, 4, 5, 5)),
    ("prelu_channels", lambda: nn.Sequential(nn.PReLU(4)), (1, 4, 5, 5)),
    ("softmax", lambda: nn.Sequential(nn.Softmax(dim=1)), (1, 10)),
    ("softmax_last", lambda: nn.Sequential(nn.Softmax(dim=-1)), (1, 4, 7)),
    ("up_nearest", lambda: nn.Sequential(nn.Upsample(scale_factor=2)), (1, 3, 8, 8)),
    ("up_bilinear", lambda: nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear")), (1, 3, 8, 8)),
    ("up_size", lambda: nn.Sequential(nn.Upsample(size=(12, 10))), (1, 3, 8, 8)),
    ("up_size_int", lambda: nn.Sequential(nn.Upsample(size=12, mode="bilinear")), (1, 3, 8, 8)),
    ("up_tuple", lambda: nn.Sequential(nn.Upsample(scale_factor=(2, 3))), (1, 3, 4, 4)),
    ("up_frac", lambda: nn.Sequential(nn.Upsample(scale_factor=1.5)), (1, 3, 5, 5)),
    ("up_bicubic", lambda: nn.Sequential(nn.Upsample(scale_factor=2, mode="bicubic")), (1, 3, 4, 4)),
    ("up_linear1d", lambda: nn.Sequential(nn.Upsample(scale_factor=2, mode="linear")), (1, 3, 8)),
    ("up_nearest1d", lambda: nn.Sequential(nn.Upsample(scale_factor=3)), (1, 3, 8)),
    ("up_nearest3d", lambda: nn.Sequential(nn.Upsample(scale_factor=2)), (1, 2, 3, 3, 3)),
    ("up_trilinear", lambda: nn.Sequential(nn.Upsample(scale_factor=2, mode="trilinear")), (1, 2, 3, 3, 3)),
    ("rnn", lambda: Call(nn.RNN(10, 20, batch_first=True), "first"), (1, 5, 10)),
    ("rnn_relu_2", lambda: Call(nn.RNN(10, 20, num_layers=2, nonlinearity="relu"), "first"), (5, 1, 10)),
    ("gru", lambda: Call(nn.GRU(10, 20, batch_first=True), "first"), (1, 5, 10)),
    ("gru_bi2", lambda: Call(nn.GRU(10, 16, num_layers=2, bidirectional=True, batch_first=True), "first"),
     (1, 4, 10)),
    ("gru_nobias", lambda: Call(nn.GRU(10, 20, bias=False, batch_first=True), "first"), (1, 5, 10)),
    ("lstm", lambda: Call(nn.LSTM(10, 20, batch_first=True), "first"), (1, 5, 10)),
    ("lstm_seqfirst", lambda: Call(nn.LSTM(10, 20), "first"), (5, 1, 10)),
    ("lstm_bi2", lambda: Call(nn.LSTM(10, 20, num_layers=2, bidirectional=True, batch_first=True), "first"),
     (1, 5, 10)),
    ("lstm_proj", lambda: Call(nn.LSTM(10, 20, num_layers=2, proj_size=8, batch_first=True), "first"),
     (1, 5, 10)),
    ("lstm_nobias", lambda: Call(nn.LSTM(10, 20, bias=False, batch_first=True), "first"), (1, 5, 10)),
    ("mha", lambda: Call(nn.MultiheadAttention(16, 4, batch_first=True), "attention"), (1, 6, 16)),
    ("mha_seqfirst", lambda: Call(nn.MultiheadAttention(16, 4), "attention"), (6, 1, 16)),
    ("mha_nobias", lambda: Call(nn.MultiheadAttention(32, 2, bias=False, batch_first=True), "attention"),
     (1, 7, 32)),
    ("mha_bias_kv", lambda: Call(nn.MultiheadAttention(16, 2, add_bias_kv=True, batch_first=True), "attention"),
     (1, 5, 16)),
    # second edition: the rest of torch.nn
    ("encoder", lambda: nn.Sequential(nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0)), (6, 1, 16)),
    ("encoder_bf_gelu_normfirst", lambda: nn.Sequential(nn.TransformerEncoderLayer(
        16, 2, 24, batch_first=True, norm_first=True, activation="gelu")), (1, 5, 16)),
    ("encoder_nobias", lambda: nn.Sequential(nn.TransformerEncoderLayer(8, 2, 16, bias=False, batch_first=True)),
     (1, 4, 8)),
    ("decoder", lambda: Call(nn.TransformerDecoderLayer(16, 4, 32), "both"), (5, 1, 16)),
    ("decoder_bf_gelu", lambda: Call(nn.TransformerDecoderLayer(12, 3, 20, batch_first=True, activation="gelu"),
                                     "both"), (1, 4, 12)),
    ("transformer", lambda: Call(nn.Transformer(16, 4, 2, 1, 32), "both"), (5, 1, 16)),
    ("transformer_bf", lambda: Call(nn.Transformer(12, 2, 1, 2, 20, batch_first=True, norm_first=True), "both"),
     (1, 4, 12)),
    ("rnncell", lambda: nn.Sequential(nn.RNNCell(10, 20)), (1, 10)),
    ("rnncell_relu_nobias", lambda: nn.Sequential(nn.RNNCell(10, 20, bias=False, nonlinearity="relu")), (1, 10)),
    ("grucell", lambda: nn.Sequential(nn.GRUCell(10, 20)), (1, 10)),
    ("lstmcell", lambda: Call(nn.LSTMCell(10, 20), "cell"), (1, 10)),
    ("lstmcell_nobias", lambda: Call(nn.LSTMCell(6, 5, bias=False), "cell"), (1, 6)),
    ("embeddingbag_max", lambda: nn.Sequential(nn.EmbeddingBag(100, 8, mode="max")), (1, 5)),
    ("pairwise_keepdim", lambda: Call(nn.PairwiseDistance(keepdim=True), "both"), (1, 8)),
    ("lrn_5d", lambda: nn.Sequential(nn.LocalResponseNorm(3)), (1, 4, 3, 3, 3)),
    ("syncbn2d", lambda: nn.Sequential(nn.SyncBatchNorm(8)), (1, 8, 6, 6)),
    ("syncbn_noaffine_3d", lambda: nn.Sequential(nn.SyncBatchNorm(4, affine=False)), (1, 4, 3, 3, 3)),
    ("lppool1d", lambda: nn.Sequential(nn.LPPool1d(2, 3)), (1, 4, 10)),
    ("lppool2d", lambda: nn.Sequential(nn.LPPool2d(2, (2, 3), stride=1)), (1, 3, 8, 9)),
    ("lppool3d", lambda: nn.Sequential(nn.LPPool3d(3, 2)), (1, 2, 4, 4, 4)),
    ("fractional2d", lambda: nn.Sequential(nn.FractionalMaxPool2d(3, output_size=(4, 5))), (1, 2, 9, 9)),
    ("fractional3d", lambda: nn.Sequential(nn.FractionalMaxPool3d(2, output_ratio=0.5)), (1, 2, 6, 6, 6)),
    ("softmax2d", lambda: nn.Sequential(nn.Softmax2d()), (1, 3, 4, 4)),
    ("logsoftmax", lambda: nn.Sequential(nn.LogSoftmax(dim=1)), (1, 10)),
    ("softmin", lambda: nn.Sequential(nn.Softmin(dim=-1)), (1, 4, 7)),
    ("glu", lambda: nn.Sequential(nn.GLU(dim=1)), (1, 6, 5)),
    ("threshold", lambda: nn.Sequential(nn.Threshold(0.1, 2.0)), (1, 4, 5)),
    ("hardtanh", lambda: nn.Sequential(nn.Hardtanh(-2.0, 2.0)), (1, 4, 5)),
    ("unflatten", lambda: nn.Sequential(nn.Unflatten(1, (2, 4))), (1, 8, 5)),
    ("pixelshuffle", lambda: nn.Sequential(nn.PixelShuffle(2)), (1, 8, 3, 4)),
    ("pixelunshuffle", lambda: nn.Sequential(nn.PixelUnshuffle(2)), (1, 2, 6, 4)),
    ("channelshuffle", lambda: nn.Sequential(nn.ChannelShuffle(2)), (1, 4, 3, 3)),
    ("upnearest2d", lambda: nn.Sequential(nn.UpsamplingNearest2d(scale_factor=2)), (1, 3, 4, 5)),
    ("upbilinear2d", lambda: nn.Sequential(nn.UpsamplingBilinear2d(size=(7, 9))), (1, 3, 4, 4)),
    ("upbilinear2d_scale", lambda: nn.Sequential(nn.UpsamplingBilinear2d(scale_factor=2)), (1, 3, 4, 4)),
    ("unfold", lambda: nn.Sequential(nn.Unfold(3, padding=1)), (1, 3, 6, 6)),
    ("fold", lambda: nn.Sequential(nn.Fold((4, 5), (2, 2))), (1, 12, 12)),
    ("zeropad2d", lambda: nn.Sequential(nn.ZeroPad2d((1, 2, 0, 3))), (1, 3, 4, 4)),
    ("constantpad1d", lambda: nn.Sequential(nn.ConstantPad1d(2, 1.5)), (1, 3, 5)),
    ("reflectionpad2d", lambda: nn.Sequential(nn.ReflectionPad2d(1)), (1, 3, 4, 4)),
    ("replicationpad3d", lambda: nn.Sequential(nn.ReplicationPad3d(1)), (1, 2, 3, 3, 3)),
    ("circularpad1d", lambda: nn.Sequential(nn.CircularPad1d(2)), (1, 3, 4)),
    ("dropouts", lambda: nn.Sequential(nn.Dropout1d(), nn.AlphaDropout(), nn.FeatureAlphaDropout()), (1, 3, 4)),
]

# One case per registry layer of the families whose members are built alike (below), so that a new entry there
# is checked against every library without a line here; LAYER_CASES adds the configurations that matter. A
# type that cannot be built so fails its case, named: give it arguments in PROBE_ARGUMENTS, or a case above.
PROBE_ARGUMENTS: dict[str, dict[str, Any]] = {
    "Softmax": {"dim": 1}, "Upsample": {"scale_factor": 2}, "LogSoftmax": {"dim": 1}, "Softmin": {"dim": 1},
    "UpsamplingNearest2d": {"scale_factor": 2}, "UpsamplingBilinear2d": {"scale_factor": 2},
    "Threshold": {"threshold": 0.1, "value": 0.0}, "GLU": {"dim": 1}, "ChannelShuffle": {"groups": 2},
    "PixelShuffle": {"upscale_factor": 2}, "PixelUnshuffle": {"downscale_factor": 2},
    "Unflatten": {"dim": 1, "unflattened_size": (2, 2)}, "Unfold": {"kernel_size": 2},
    "Fold": {"output_size": (4, 5), "kernel_size": 2},
    **{f"{pad}Pad{d}d": {"padding": 1} for pad in ("Zero", "Reflection", "Replication", "Circular") for d in (1, 2, 3)},
    **{f"ConstantPad{d}d": {"padding": 1, "value": 0.5} for d in (1, 2, 3)},
    **{f"LPPool{d}d": {"kernel_size": 2} for d in (1, 2, 3)},
    **{f"FractionalMaxPool{d}d": {"output_ratio": 0.5} for d in (2, 3)},
}
# Inputs other than the family's: the layer wants another rank or size
PROBE_INPUTS: dict[str, Shape] = {
    "Dropout1d": (1, 4, 5), "PixelUnshuffle": (1, 4, 6, 6), "Fold": (1, 4 * 4, 12),
    **{f"{pad}Pad1d": (1, 4, 5) for pad in ("Reflection", "Replication", "Circular")},
    **{f"{pad}Pad3d": (1, 2, 4, 4, 4) for pad in ("Reflection", "Replication", "Circular")},
}
PROBED = ("activation", "pool", "conv", "recurrent")


def probe(name: str) -> Case:
    """`name` built with its family's arguments, on an input of its family's shape."""
    kind = family(name)
    spatial = (7,) * ((REGISTRY[name].input_rank or 4) - 2)

    def layer(*args: Any, **kwargs: Any) -> nn.Module:
        return getattr(nn, name)(*args, **kwargs, **PROBE_ARGUMENTS.get(name, {}))  # type: ignore[no-any-return]

    if kind == "activation":
        return name, lambda: nn.Sequential(layer()), PROBE_INPUTS.get(name, (1, 4, 5, 5))
    if kind == "pool":
        return name, lambda: nn.Sequential(layer(2)), (1, 3, *spatial)
    if kind == "conv":
        return name, lambda: nn.Sequential(layer(4, 6, 3)), (1, 4, *spatial)
    assert kind == "recurrent", (name, kind)
    if name.endswith("Cell"):
        return name, lambda: Call(layer(6, 8), "cell"), (2, 6)
    return name, lambda: Call(layer(6, 8, batch_first=True), "first"), (1, 5, 6)


LEAVES = sorted(name for name, spec in REGISTRY.items() if spec.cost is not None)
REGISTRY_CASES: list[Case] = [probe(name) for name in LEAVES if family(name) in PROBED]

MODEL_CASES: list[Case] = [
    ("cifar_net", cifar_net, (1, 3, 32, 32)),
    ("small_cnn", small_cnn, (1, 3, 32, 32)),
    ("alexnet", alexnet, (1, 3, 224, 224)),
    ("alexnet_bn", alexnet_bn, (1, 3, 32, 32)),
    ("seq_mixed", lambda: nn.Sequential(
        nn.Conv1d(4, 8, 3, padding=1), nn.BatchNorm1d(8), nn.PReLU(8), nn.MaxPool1d(2), nn.Upsample(scale_factor=2),
        nn.ConvTranspose1d(8, 4, 2, stride=2), nn.InstanceNorm1d(4, affine=True), nn.Tanh(), nn.AvgPool1d(2),
        nn.Flatten(), nn.Linear(4 * 32, 8), nn.LayerNorm(8), nn.Sigmoid(), nn.Identity()), (1, 4, 32)),
]


ALL_CASES = LAYER_CASES + REGISTRY_CASES + MODEL_CASES


# ------------------------------------------------------------ rows ----


def _is_row(module: nn.Module) -> bool:
    name = type(module).__name__
    if name not in REGISTRY or REGISTRY[name].cost is None:
        return False
    return REGISTRY[name].atomic or not any(True for _ in module.children())


def row_modules(model: nn.Module) -> list[nn.Module]:
    """The modules that are rows, as a block's table has them: none inside an atomic layer (a Transformer
    layer's Linear and LayerNorm are its parts, not rows of their own)."""
    rows: list[nn.Module] = []

    def visit(module: nn.Module) -> None:
        if _is_row(module):
            rows.append(module)
            if REGISTRY[type(module).__name__].atomic:
                return
        for child in module.children():
            visit(child)

    visit(model)
    return rows


def _first(value: Any) -> torch.Tensor | None:
    while isinstance(value, (tuple, list)) and value:
        value = value[0]
    return value if isinstance(value, torch.Tensor) else None


def _input(shape: Shape, model: nn.Module) -> torch.Tensor:
    torch.manual_seed(0)
    if any(isinstance(m, (nn.Embedding, nn.EmbeddingBag)) for m in model.modules()):
        return torch.randint(0, 100, shape)
    return torch.randn(shape)


def rule_totals(model: nn.Module, x: torch.Tensor, mode: str = "eval") -> dict[str, int]:
    """Each number's total by the rules (every tool's, and their details: `torchstat-madd`, ...): one
    forward pass on CPU in `mode`, the rule summed over the leaf rows."""
    rows: list[tuple[str, nn.Module, Shape, Shape]] = []

    def hook(module: nn.Module, args: tuple[Any, ...], out: Any) -> None:
        xin, yout = _first(args), _first(out)
        assert xin is not None
        assert yout is not None
        rows.append((type(module).__name__, module, tuple(xin.shape), tuple(yout.shape)))

    handles = [m.register_forward_hook(hook) for m in row_modules(model)]
    try:
        with torch.no_grad():
            model.train(mode == "train")(x)
    finally:
        for h in handles:
            h.remove()
    assert rows
    totals = dict.fromkeys(METRICS, 0)
    for kind, module, xin, yout in rows:
        cost = REGISTRY[kind].cost(module, xin, yout)  # type: ignore[misc]
        for metric in METRICS:
            totals[metric] += count(metric, kind, module, xin, yout, cost)
    return totals


# ------------------------------------------------------------ libraries ----


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The libraries print, log and warn (deprecations, tracer warnings, unsupported ops)."""
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


def _library(name: str) -> Any:
    if name == "ultralytics-thop":
        return ultralytics_thop()
    with _quiet():
        try:
            return importlib.import_module(name)
        except ImportError:
            pytest.skip(f"{name} is not installed")


_ULTRALYTICS: list[Any] = []


def ultralytics_thop() -> Any:
    """ultralytics-thop's `thop` package, imported from ULTRALYTICS_THOP beside thop 0.1.1's `thop`.

    Both are imported as `thop` and ultralytics-thop imports its submodules absolutely (`from
    thop.vision...`): it is imported once with thop 0.1.1's modules taken out of `sys.modules` and its
    directory first on `sys.path`, which are put back after; its functions keep their own modules.
    """
    if _ULTRALYTICS:
        return _ULTRALYTICS[0]
    if not (ULTRALYTICS_THOP / "thop" / "profile.py").is_file():
        pytest.skip(f"ultralytics-thop is not installed in {ULTRALYTICS_THOP} (make installs it)")

    def ours(name: str) -> bool:
        return name == "thop" or name.startswith("thop.")

    saved = {name: module for name, module in sys.modules.items() if ours(name)}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(ULTRALYTICS_THOP))
    try:
        with _quiet():
            module = importlib.import_module("thop")
    finally:
        sys.path.remove(str(ULTRALYTICS_THOP))
        for name in [name for name in sys.modules if ours(name)]:
            del sys.modules[name]
        sys.modules.update(saved)
    assert Path(module.__file__).is_relative_to(ULTRALYTICS_THOP), module.__file__
    _ULTRALYTICS.append(module)
    return module


def measure(tool: str, make: Callable[[], nn.Module], shape: Shape, mode: str = "eval") -> int:
    """The total `tool` reports for a fresh model in `mode` (eval by default), rounded where it gives a float."""
    torch.manual_seed(0)
    model = make().train(mode == "train")
    x = _input(shape, model)
    if tool in ("thop", "ultralytics-thop"):
        thop = _library(tool)
        with _quiet():
            ops, _ = thop.profile(model, inputs=(x,), verbose=False)
        return round(ops)
    if tool == "ptflops":
        ptflops = _library("ptflops")
        with _quiet():
            macs, _ = ptflops.get_model_complexity_info(
                model, tuple(shape[1:]), as_strings=False, print_per_layer_stat=False,
                input_constructor=lambda _: x, backend="pytorch")
        assert macs is not None, "ptflops failed"
        return round(macs)
    if tool == "fvcore":
        fvcore_nn = _library("fvcore.nn")
        with _quiet():
            analysis = fvcore_nn.FlopCountAnalysis(model, x)
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            return round(analysis.total())
    if tool == "torchinfo":
        torchinfo = _library("torchinfo")
        with _quiet():
            return int(torchinfo.summary(model, input_data=x, verbose=0).total_mult_adds)
    from torch.utils.flop_counter import FlopCounterMode

    with _quiet(), FlopCounterMode(display=False) as counter:
        model(x)
    return int(counter.get_total_flops())


@pytest.mark.parametrize("tool", LIBRARIES)
@pytest.mark.parametrize(("make", "shape"), [pytest.param(m, s, id=i) for i, m, s in ALL_CASES])
def test_rules_match_library(tool: str, make: Callable[[], nn.Module], shape: Shape) -> None:
    check_library(tool, make, shape)


def check_library(tool: str, make: Callable[[], nn.Module], shape: Shape, mode: str = "eval") -> None:
    """The library's total for a fresh model in `mode` equals the rules' total over its rows."""
    reported = measure(tool, make, shape, mode)
    torch.manual_seed(0)
    model = make()
    assert rule_totals(model, _input(shape, model), mode)[tool] == reported


# Batch 2: the rules read the batch from the shapes (ptflops divides its module hooks by it). Not
# `up_frac` for ptflops: with a fractional scale factor its hook count (numel(out) / batch / batch)
# is fractional too, and ptflops truncates only its total (411 there; the rows give 410).
BATCH2 = ("cifar_net", "small_cnn", "alexnet_bn", "seq_mixed", "conv2d", "convT2d", "linear_3d", "bn2d",
          "maxpool2d", "up_nearest", "up_bilinear", "up_size", "lstm", "gru", "mha", "PReLU", "softmax",
          "adaptiveavg2d_odd", "layernorm", "embedding", "bilinear", "encoder_bf_gelu_normfirst", "decoder_bf_gelu",
          "transformer_bf", "rnncell", "lstmcell", "embeddingbag_max", "lppool2d", "fractional2d", "glu", "fold",
          "unfold", "pixelshuffle", "zeropad2d", "upbilinear2d_scale", "pairwise_keepdim")


@pytest.mark.parametrize("tool", LIBRARIES)
@pytest.mark.parametrize(("make", "shape"), [pytest.param(m, (2, *s[1:]), id=i)
                                             for i, m, s in ALL_CASES if i in BATCH2])
def test_rules_match_library_batch2(tool: str, make: Callable[[], nn.Module], shape: Shape) -> None:
    test_rules_match_library(tool, make, shape)


# Training mode (a block's `mode: train`): thop, ultralytics-thop, ptflops put the model in eval mode
# themselves and torchinfo counts parameters, so only fvcore (BatchNorm on batch statistics: 5 or 4 per
# element) and torch's counter (which counts no norm) could differ; every library is checked.
TRAIN = ("small_cnn", "alexnet_bn", "seq_mixed", "bn1d_3d", "bn2d", "bn2d_noaffine", "bn3d", "bn2d_no_stats",
         "in3d", "layernorm", "groupnorm", "conv2d_reflect")


@pytest.mark.parametrize("tool", LIBRARIES)
@pytest.mark.parametrize(("make", "shape"), [pytest.param(m, (2, *s[1:]), id=i)
                                             for i, m, s in ALL_CASES if i in TRAIN])
def test_rules_match_library_in_training_mode(tool: str, make: Callable[[], nn.Module], shape: Shape) -> None:
    check_library(tool, make, shape, mode="train")


def test_fvcore_batchnorm_follows_the_mode() -> None:
    """fvcore's BatchNorm: 2 per element in eval, 5 in training and without running statistics."""
    x: Shape = (2, 8, 6, 6)
    for mode, stats, per_element in (("eval", True, 2), ("train", True, 5), ("eval", False, 5), ("train", False, 5)):
        bn = nn.BatchNorm2d(8, track_running_stats=stats).train(mode == "train")
        cost = REGISTRY["BatchNorm2d"].cost(bn, x, x)  # type: ignore[misc]
        assert count("fvcore", "BatchNorm2d", bn, x, x, cost) == per_element * 2 * 8 * 6 * 6, (mode, stats)
        if _installed("fvcore"):
            assert measure("fvcore", lambda b=bn: nn.Sequential(b), x, mode) == per_element * 2 * 8 * 6 * 6


def _installed(name: str) -> bool:
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.parametrize("tool", TOOLS)
def test_rules_follow_the_installed_release(tool: str) -> None:
    """The column header says which release the rules follow (render.py); the installed library is it."""
    from packaging.version import Version

    spec = COUNTERS[tool]
    assert spec.header == f"{tool} {spec.release.split('.post')[0]}"
    if tool == "ultralytics-thop":
        module = ultralytics_thop()
        installed = module.__version__
    elif not _installed(spec.package):
        pytest.skip(f"{spec.package} is not installed")
    else:
        installed = importlib.metadata.version(spec.package)
    assert Version(installed).public == Version(spec.release).public, (tool, installed, spec.release)


def test_thop_softmax_without_dim_raises() -> None:
    """Why the thop rule gives 0 for Softmax(dim=None): thop itself cannot count it."""
    thop = _library("thop")
    model = nn.Sequential(nn.Softmax())
    with _quiet(), pytest.raises(TypeError):
        thop.profile(model, inputs=(torch.randn(1, 10),), verbose=False)
    module = model[0]
    cost = REGISTRY["Softmax"].cost(module, (1, 10), (1, 10))  # type: ignore[misc]
    assert count("thop", "Softmax", module, (1, 10), (1, 10), cost) == 0


# ------------------------------------------------------------ always ----


def test_every_registry_layer_is_in_a_counter_family() -> None:
    unknown = {name: family(name) for name in LEAVES if family(name) not in FAMILIES}
    assert not unknown, f"registry layers in a family the counters do not know: {unknown}; add it to FAMILIES " \
                        "(cnn_cost/counters/base.py) and give it a rule in every counter module"
    assert {family(name) for name in ("ReLU", "Dropout", "Identity", "Softmax", "Upsample")} == {"activation"}
    assert (family("Conv2d"), family("BatchNorm2d"), family("MaxPool2d"), family("LSTM")) == \
        ("conv", "norm", "pool", "recurrent")
    assert family("Sequential") is None
    assert family("MyBlock") is None


def test_every_counter_has_a_rule_per_family() -> None:
    for tool, spec in COUNTERS.items():
        assert tuple(spec.families) == FAMILIES, tool
        stale = sorted(set(spec.names) - set(LEAVES))
        assert not stale, f"{tool} names layer types the registry does not have: {stale}"
        assert sorted(spec.rules) == LEAVES, tool
        assert spec.version
        assert spec.unit
        assert spec.per_mac in (0, 1, 2)
        assert spec.package == tool
        for detail in spec.details:
            assert detail.name.startswith(tool + "-")
            assert detail.tool == tool
            assert tuple(detail.families) == FAMILIES, detail.name
            assert sorted(detail.rules) == LEAVES, detail.name
    assert tuple(COUNTERS) == TOOLS


def test_layer_cases_cover_the_registry() -> None:
    seen: set[str] = set()
    with torch.device("meta"):
        for cid, make, _ in ALL_CASES:
            try:
                model = make()
            except Exception as error:  # a new registry layer its family's probe cannot build
                raise AssertionError(f"case {cid!r} cannot be built ({error}): give it arguments in "
                                     "PROBE_ARGUMENTS or a case in LAYER_CASES") from error
            seen |= {type(m).__name__ for m in row_modules(model)}
    missing = sorted(set(LEAVES) - seen)
    assert not missing, f"no case builds the registry layers {missing}: add them to LAYER_CASES"
    assert seen == set(LEAVES)
    assert len({cid for cid, _, _ in ALL_CASES}) == len(ALL_CASES), "case ids repeat"


NOT_YET_REGISTERED = ("Softsign", "Tanhshrink", "LogSigmoid", "SELU", "CELU", "Softplus")


@pytest.fixture
def mish() -> Iterator[str]:
    """An activation registered afresh for this test only, as activation.py registers its elementwise
    activations: one the registry does not have yet, else one of those taken out for the test (the
    registry has them all by now) and put back after."""
    name = next((n for n in NOT_YET_REGISTERED if n not in REGISTRY), NOT_YET_REGISTERED[0])
    saved = REGISTRY.pop(name, None)
    register(name)(elementwise(1, "one per element"))
    try:
        yield name
    finally:
        del REGISTRY[name]
        if saved is not None:
            REGISTRY[name] = saved


@pytest.mark.parametrize("tool", LIBRARIES)
def test_a_new_registry_activation_needs_no_counter_rule(tool: str, mish: str) -> None:
    """What adding an activation to the registry gives: each library's activation rule, as the library counts."""
    assert family(mish) == "activation"
    assert mish not in COUNTERS[tool].names
    assert COUNTERS[tool].rule(mish) is COUNTERS[tool].families["activation"]
    _, make, shape = probe(mish)
    test_rules_match_library(tool, make, shape)


def test_unknown_tool() -> None:
    with pytest.raises(KeyError, match="unknown counter 'deepspeed'"):
        count("deepspeed", "Conv2d", None, (1, 3, 8, 8), (1, 8, 8, 8), REGISTRY["Identity"].cost(None, (1,), (1,)))  # type: ignore[misc]


def test_the_package_does_not_import_torch() -> None:
    import ast

    import cnn_cost.counters

    modules = sorted(Path(cnn_cost.counters.__file__).parent.glob("*.py"))
    assert len(modules) > 1
    for path in modules:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
        names |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "torch" not in names, path.name


# The CIFAR net (design doc, section 1) on 3x32x32, per row and in total, as each library reported it,
# measured with torch 2.13.0 on CPU, eval mode, batch 1. Rows: 0 Conv2d, 1 ReLU, 2 MaxPool2d, 3 Conv2d,
# 4 ReLU, 5 MaxPool2d, 6 Flatten, 7 Linear, 8 ReLU, 9 Linear.
CIFAR_EXPECTED: dict[str, tuple[tuple[int, ...], int]] = {
    # thop 0.1.1.post2209072238: profile(..., ret_layer_info=True), total 6,128,896.0
    "thop": ((884_736, 0, 0, 4_718_592, 0, 0, 0, 524_288, 0, 1_280), 6_128_896),
    # ptflops 0.7.5, backend pytorch: per-layer print (module hooks: 917,504 / 32,768 / 32,768 /
    # 4,734,976 / 16,384 / 16,384 / 0 / 524,416 / 128 / 1,290, total 6,276,618 with
    # count_functional=False) plus its patched F.relu and F.max_pool2d, which count the same again
    # (98,432) and which ptflops adds to the total only: 6,375,050
    "ptflops": ((917_504, 65_536, 65_536, 4_734_976, 32_768, 32_768, 0, 524_416, 256, 1_290), 6_375_050),
    # fvcore 0.1.5.post20221221: FlopCountAnalysis.by_module(), total 6,128,896
    "fvcore": ((884_736, 0, 0, 4_718_592, 0, 0, 0, 524_288, 0, 1_280), 6_128_896),
    # torchinfo 1.8.0: summary_list[i].macs, total_mult_adds 6,178,186
    "torchinfo": ((917_504, 0, 0, 4_734_976, 0, 0, 0, 524_416, 0, 1_290), 6_178_186),
    # torch 2.13.0 FlopCounterMode: get_flop_counts() per module, get_total_flops() 12,257,792
    "torch": ((1_769_472, 0, 0, 9_437_184, 0, 0, 0, 1_048_576, 0, 2_560), 12_257_792),
}


@pytest.mark.parametrize("tool", CIFAR_EXPECTED)
def test_cifar_net_constants(tool: str) -> None:
    rows, total = CIFAR_EXPECTED[tool]
    with torch.device("meta"):
        model = cifar_net()
    shapes: list[tuple[str, nn.Module, Shape, Shape]] = []
    x: Shape = (1, 3, 32, 32)
    for module in model:
        y = tuple(module(torch.empty(x, device="meta")).shape)
        shapes.append((type(module).__name__, module, x, y))
        x = y
    got = tuple(count(tool, k, m, xi, yo, REGISTRY[k].cost(m, xi, yo)) for k, m, xi, yo in shapes)  # type: ignore[misc]
    assert got == rows
    assert sum(got) == total
