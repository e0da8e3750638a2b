"""fvcore 0.1.5.post20221221: `FlopCountAnalysis(model, x).total()`, in "flops" (1 per MAC).

fvcore traces the model and counts `aten` ops by handle (`_DEFAULT_SUPPORTED_OPS` in
fvcore/nn/flop_count.py, the handles in fvcore/nn/jit_handles.py); every other op is unsupported or
ignored and counts 0. So it works by op, which is by family where a family shares its op: every
convolution is `aten::_convolution` (its products, no bias), a linear layer's products are
`aten::linear` or a matmul, and no activation, pool or recurrent op is counted (`aten::relu` is
ignored; `aten::lstm`, `aten::gru`, `aten::rnn_*`, `aten::max_pool*`, `aten::avg_pool*`, softmax, the
other activations are unsupported). By name: BatchNorm (2 per element in eval, 1 without affine; 5
and 4 in training mode or without running statistics, as fvcore reads `aten::batch_norm`'s `training`),
InstanceNorm, GroupNorm and LayerNorm (5 per element, 4 without affine), 2-D adaptive average pooling,
2-D nearest and bilinear upsampling, Bilinear (`aten::bilinear`: unsupported), and
MultiheadAttention (its projections; the attention kernel is unsupported). Other norms count 0.

A convolution with ``padding='same'`` or ``'valid'`` traces as ``aten::_convolution_mode``, which
fvcore does not support: 0, but with a ``padding_mode`` other than ``'zeros'``, whose forward pads with
``F.pad`` and convolves with numeric padding.
"""

from __future__ import annotations

from typing import Any

from cnn_cost.counters.base import (
    TRANSFORMERS,
    CounterSpec,
    by_family,
    dims,
    macs,
    named,
    numel,
    parts,
    projections,
    zero,
)
from cnn_cost.layers.registry import Cost, Shape

VERSION = "0.1.5.post20221221"  # the release these rules follow


def batchnorm(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # batchnorm_flop_jit reads aten::batch_norm's `training` argument, which PyTorch sets in training mode
    # and, in eval, for a BatchNorm without running statistics (track_running_stats=False): then it is
    # norm_flop_counter, 5 per element with a weight, 4 without; else 2 per element with affine, 1 without
    if getattr(m, "training", False) or not getattr(m, "track_running_stats", True):
        return numel(x) * (5 if m.affine else 4)
    return numel(x) * (2 if m.affine else 1)


def norm(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # norm_flop_counter: 5 per element with a weight, 4 without (group, layer, instance norm)
    affine = getattr(m, "affine", None)
    if affine is None:
        affine = m.elementwise_affine
    return numel(x) * (5 if affine else 4)


def adaptive_avgpool(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return numel(x) if len(x) == 4 else 0  # only aten::adaptive_avg_pool2d is supported


def upsample(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    if len(x) != 4:
        return 0  # upsample_nearest1d/3d, upsample_linear1d, upsample_trilinear3d: unsupported
    return {"nearest": 1, "bilinear": 4}.get(m.mode, 0) * numel(y)


def conv(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # conv_flop_jit on aten::_convolution; padding='same'/'valid' traces as aten::_convolution_mode,
    # which fvcore does not support, unless a padding_mode other than 'zeros' pads first (F.pad, then a
    # convolution with numeric padding 0: aten::_convolution again)
    string = isinstance(m.padding, str) and getattr(m, "padding_mode", "zeros") == "zeros"
    return 0 if string else c.macs


def attention(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return projections(m, x)  # aten::linear of in_proj and out_proj; scaled_dot_product_attention unsupported


FVCORE = CounterSpec(
    "fvcore", unit="flops", per_mac=1, version=f"fvcore {VERSION}", call="FlopCountAnalysis(model, x).total()",
    package="fvcore", release=VERSION,
    names=named(
        (["Bilinear"], zero),  # aten::bilinear: unsupported
        ([*dims("BatchNorm{}d"), "SyncBatchNorm"], batchnorm),
        ([*dims("InstanceNorm{}d"), "GroupNorm", "LayerNorm"], norm),
        (dims("AdaptiveAvgPool{}d"), adaptive_avgpool),
        (["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"], upsample),
        (["RNNCell", "GRUCell", "LSTMCell"], macs),  # traced as their linear products (no bias)
        (["MultiheadAttention"], attention),
        (TRANSFORMERS, parts("fvcore")),  # the traced ops of its children
    ),
    # the products of traced aten ops (Embedding has none); norms, pools, activations and
    # recurrent ops unsupported or ignored
    families=by_family(macs, conv=conv, norm=zero, pool=zero, activation=zero, recurrent=zero),
    default=macs,
)
