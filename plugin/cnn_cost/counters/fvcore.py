"""fvcore 0.1.5.post20221221: `FlopCountAnalysis(model, x).total()`, in "flops" (1 per MAC).

fvcore traces the model and counts `aten` ops by handle (`_DEFAULT_SUPPORTED_OPS` in
fvcore/nn/flop_count.py, the handles in fvcore/nn/jit_handles.py); every other op is unsupported or
ignored and counts 0. So it works by op, which is by family where a family shares its op: every
convolution is `aten::_convolution` (its products, no bias), a linear layer's products are
`aten::linear` or a matmul, and no activation, pool or recurrent op is counted (`aten::relu` is
ignored; `aten::lstm`, `aten::gru`, `aten::rnn_*`, `aten::max_pool*`, `aten::avg_pool*`, softmax, the
other activations are unsupported). By name: BatchNorm (2 per element in eval, 1 without affine),
InstanceNorm, GroupNorm and LayerNorm (5 per element, 4 without affine), 2-D adaptive average pooling,
2-D nearest and bilinear upsampling, Bilinear (`aten::bilinear`: unsupported), and
MultiheadAttention (its projections; the attention kernel is unsupported). Other norms count 0.

A convolution with ``padding='same'`` or ``'valid'`` traces as ``aten::_convolution_mode``, which
fvcore does not support: 0.
"""

from __future__ import annotations

from typing import Any

from cnn_cost.counters.base import CounterSpec, by_family, dims, macs, named, numel, projections, zero
from cnn_cost.layers.registry import Cost, Shape


def batchnorm(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # batchnorm_flop_jit, eval: 2 per element with affine, 1 without (training would be 5 / 4)
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
    # which fvcore does not support
    return 0 if isinstance(m.padding, str) else c.macs


def attention(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return projections(m, x)  # aten::linear of in_proj and out_proj; scaled_dot_product_attention unsupported


FVCORE = CounterSpec(
    "fvcore", unit="flops", per_mac=1, version="fvcore 0.1.5.post20221221", call="FlopCountAnalysis(model, x).total()",
    names=named(
        (["Bilinear"], zero),  # aten::bilinear: unsupported
        (dims("BatchNorm{}d"), batchnorm),
        ([*dims("InstanceNorm{}d"), "GroupNorm", "LayerNorm"], norm),
        (dims("AdaptiveAvgPool{}d"), adaptive_avgpool),
        (["Upsample"], upsample),
        (["MultiheadAttention"], attention),
    ),
    # the products of traced aten ops (Embedding has none); norms, pools, activations and
    # recurrent ops unsupported or ignored
    families=by_family(macs, conv=conv, norm=zero, pool=zero, activation=zero, recurrent=zero),
    default=macs,
)
