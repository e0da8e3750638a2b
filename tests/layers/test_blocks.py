"""End to end: `parse_block` + `evaluate` on multi-layer blocks, against the real PyTorch model.

The reference model is built from the same layer expressions, with the contract's wrapping
(a recurrent layer passes on its output tensor, MultiheadAttention is self-attention,
Bilinear takes the input twice), then materialised on CPU and run on a real input.
"""

from __future__ import annotations

import re
import types
from collections import OrderedDict
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnn_cost.block import parse_block
from cnn_cost.evaluate import evaluate
from cnn_cost.layers import REGISTRY

from .common import bilinear_flops, first_tensor, numel

# nn.Transformer's advice that its encoder would be faster batch-first is not a verdict
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning")


def _wrap(cls: type[nn.Module], forward: Any) -> type[nn.Module]:
    return type(cls.__name__, (cls,), {"forward": forward})


def _first_output(cls: Any) -> type[nn.Module]:
    return _wrap(cls, lambda self, x: cls.forward(self, x)[0])


def _hidden_state(cls: Any) -> type[nn.Module]:
    """A recurrent cell on its input alone: the new hidden state (LSTMCell returns (h, c))."""

    def forward(self: Any, x: Any) -> Any:
        out = cls.forward(self, x)
        return out[0] if isinstance(out, tuple) else out

    return _wrap(cls, forward)


def _twice(cls: Any) -> type[nn.Module]:
    return _wrap(cls, lambda self, x: cls.forward(self, x, x))


WRAPPED: dict[str, type[nn.Module]] = {
    **{name: _first_output(getattr(nn, name)) for name in ("RNN", "LSTM", "GRU")},
    **{name: _hidden_state(getattr(nn, name)) for name in ("RNNCell", "GRUCell", "LSTMCell")},
    "MultiheadAttention": _wrap(
        nn.MultiheadAttention,
        lambda self, x: nn.MultiheadAttention.forward(self, x, x, x, need_weights=False)[0]),
    **{name: _twice(getattr(nn, name)) for name in ("Bilinear", "TransformerDecoderLayer", "Transformer",
                                                     "CosineSimilarity", "PairwiseDistance")},
}
LAYERS = {name: WRAPPED.get(name, getattr(nn, name)) for name in REGISTRY}
ATOMIC = ("MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer", "Transformer")


def build_reference(body: str, device: str) -> nn.Module:
    """The block's model, built by PyTorch from the block's own expressions (the test's constants)."""
    block = parse_block(body)
    ns = types.SimpleNamespace(**LAYERS)
    scope = {"__builtins__": {}, "nn": ns, "torch": types.SimpleNamespace(nn=ns), **LAYERS}
    text = block.source
    with torch.device(device):
        if block.model is not None:
            expr = text.split("model:", 1)[1].split("\nexpect:")[0].strip().lstrip("|").strip()
            return eval(expr, scope)  # type: ignore[no-any-return]  # noqa: S307
        lines = text.split("layers:", 1)[1].split("\nexpect:")[0].strip().splitlines()
        pairs = [line.strip().split(":", 1) for line in lines if line.strip()]
        return nn.Sequential(OrderedDict(
            (key.strip(), eval(expr.strip(), scope)) for key, expr in pairs))  # noqa: S307


def materialise(model: nn.Module) -> nn.Module:
    """Real CPU tensors without paying for PyTorch's initialisers on 138M weights."""
    model = model.to_empty(device="cpu")
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.01)  # the values do not matter for shapes, only that they are finite
        for name, b in model.named_buffers():
            b.fill_(1 if name.endswith("running_var") else 0)
    return model.eval()


def leaves(model: nn.Module) -> dict[str, nn.Module]:
    out: dict[str, nn.Module] = {}

    def visit(name: str, module: nn.Module) -> None:
        children = list(module.named_children())
        if not children or type(module).__name__ in ATOMIC:
            out[name or "model"] = module
            return
        for child, sub in children:
            visit(f"{name}.{child}" if name else child, sub)

    visit("", model)
    return out


VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def vgg16_body() -> str:
    layers, cin = [], 3
    for v in VGG16_CFG:
        if v == "M":
            layers.append("nn.MaxPool2d(kernel_size=2, stride=2)")
        else:
            layers += [f"nn.Conv2d({cin}, {v}, kernel_size=3, padding=1)", "nn.ReLU(inplace=True)"]
            cin = int(v)
    layers += ["nn.AdaptiveAvgPool2d((7, 7))", "nn.Flatten()", "nn.Linear(512 * 7 * 7, 4096)", "nn.ReLU(True)",
               "nn.Dropout()", "nn.Linear(4096, 4096)", "nn.ReLU(True)", "nn.Dropout()", "nn.Linear(4096, 1000)"]
    inner = ",\n    ".join(layers)
    return f"input: 3x224x224\nmodel: |\n  nn.Sequential(\n    {inner})\n"


BLOCKS = [
    pytest.param("""\
id: cifar-net
input: 3x32x32
model: |
  nn.Sequential(
      nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
      nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
      nn.Flatten(), nn.Linear(64 * 8 * 8, 128), nn.ReLU(), nn.Linear(128, 10))
expect:
  params: 545,098
""", (1, 3, 32, 32), torch.float32, 545_098, id="cifar-net"),
    pytest.param(vgg16_body(), (1, 3, 224, 224), torch.float32, 138_357_544, id="vgg16-224"),
    pytest.param("""\
input: 3x224x224
model: |
  torch.nn.Sequential(
      nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
      nn.MaxPool2d(kernel_size=3, stride=2),
      nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
      nn.MaxPool2d(kernel_size=3, stride=2),
      nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
      nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
      nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
      nn.MaxPool2d(kernel_size=3, stride=2),
      nn.AdaptiveAvgPool2d((6, 6)), nn.Flatten(),
      nn.Dropout(p=0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
      nn.Dropout(p=0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
      nn.Linear(4096, 1000))
""", (1, 3, 224, 224), torch.float32, 61_100_840, id="alexnet-torchvision"),
    pytest.param("""\
input: 3x224x224
model: |
  nn.Sequential(
      nn.Conv2d(3, 96, kernel_size=11, stride=4, padding=2, bias=False), nn.ReLU(),
      nn.MaxPool2d(kernel_size=3, stride=2),
      nn.Conv2d(96, 192, kernel_size=5, padding=2, bias=False), nn.ReLU(),
      nn.MaxPool2d(kernel_size=3, stride=2),
      nn.Conv2d(192, 384, kernel_size=3, padding=1, bias=False), nn.ReLU(),
      nn.Conv2d(384, 256, kernel_size=3, padding=1, bias=False), nn.ReLU(),
      nn.Conv2d(256, 256, kernel_size=3, padding=1, bias=False), nn.ReLU(),
      nn.MaxPool2d(kernel_size=3, stride=2),
      nn.Flatten(), nn.Dropout(p=0.5),
      nn.Linear(256 * 6 * 6, 4096), nn.ReLU(), nn.Dropout(p=0.5),
      nn.Linear(4096, 4096), nn.ReLU(),
      nn.Linear(4096, 1000))
""", (1, 3, 224, 224), torch.float32, 61_264_904, id="alexnet-bias-free"),
    pytest.param("""\
input: 1x224x224
model: |
  Sequential(
      Conv2d(1, 96, kernel_size=11, stride=4, padding=1), ReLU(), MaxPool2d(kernel_size=3, stride=2),
      Conv2d(96, 256, kernel_size=5, padding=2), ReLU(), MaxPool2d(kernel_size=3, stride=2),
      Conv2d(256, 384, kernel_size=3, padding=1), ReLU(),
      Conv2d(384, 384, kernel_size=3, padding=1), ReLU(),
      Conv2d(384, 256, kernel_size=3, padding=1), ReLU(),
      MaxPool2d(kernel_size=3, stride=2), Flatten(),
      Linear(6400, 4096), ReLU(), Dropout(p=0.5),
      Linear(4096, 4096), ReLU(), Dropout(p=0.5),
      Linear(4096, 10))
""", (1, 1, 224, 224), torch.float32, 46_764_746, id="alexnet-d2l"),
    pytest.param("""\
input: 3x227x227
layers:
  conv1: Conv2d(3, 96, 11, stride=4, bias=False)
  pool1: MaxPool2d(3, 2)
  conv2: Conv2d(96, 192, 5, padding=2, bias=False)
  pool2: MaxPool2d(3, 2)
  conv3: Conv2d(192, 384, 3, padding=1, bias=False)
  conv4: Conv2d(384, 256, 3, padding=1, bias=False)
  conv5: Conv2d(256, 256, 3, padding=1, bias=False)
  pool5: MaxPool2d(3, 2)
""", (1, 3, 227, 227), torch.float32, None, id="alexnet-227-features"),
    pytest.param("""\
input: [2, 3, 32, 32]
model: |
  nn.Sequential(
      nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()),
      nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1, groups=2, bias=False), nn.BatchNorm2d(32),
                    nn.Hardswish()),
      nn.Sequential(nn.Conv2d(32, 32, 3, padding='same', groups=32), nn.GroupNorm(4, 32), nn.SiLU(),
                    nn.Conv2d(32, 64, 1), nn.PReLU(64)),
      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(64, 10), nn.Softmax(dim=1))
""", (2, 3, 32, 32), torch.float32, None, id="nested-mobile"),
    pytest.param("""\
input: [2, 6]
layers:
  emb: Embedding(1000, 64, padding_idx=0)
  lstm: LSTM(64, 128, num_layers=2, bidirectional=True, batch_first=True)
  fc: Linear(256, 10)
""", (2, 6), torch.long, None, id="embedding-lstm"),
    pytest.param("""\
input: [5, 2, 24]
layers:
  gru: GRU(24, 32, num_layers=2, bias=False)
  lstm: LSTM(32, 16, proj_size=8, bidirectional=True)
  rnn: RNN(16, 4, nonlinearity='relu')
""", (5, 2, 24), torch.float32, None, id="recurrent-stack"),
    pytest.param("""\
input: [2, 10, 32]
layers:
  attn: MultiheadAttention(32, 4, batch_first=True)
  norm: LayerNorm(32)
  fc1: Linear(32, 64)
  act: GELU()
  fc2: Linear(64, 32)
  attn2: MultiheadAttention(32, 2, batch_first=True, bias=False, add_bias_kv=True)
  norm2: LayerNorm(32, elementwise_affine=False)
""", (2, 10, 32), torch.float32, None, id="attention-block"),
    pytest.param("""\
input: 16x8x8
model: |
  nn.Sequential(
      nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
      nn.Upsample(scale_factor=2, mode='bilinear'),
      nn.ConvTranspose2d(8, 8, 3, stride=2, padding=1, output_padding=1, groups=4, bias=False),
      nn.Conv2d(8, 3, 3, padding='same'), nn.Sigmoid())
""", (1, 16, 8, 8), torch.float32, None, id="decoder"),
    pytest.param("""\
input: 40x101
model: |
  nn.Sequential(
      nn.Conv1d(40, 64, kernel_size=3, padding=1), nn.BatchNorm1d(64), nn.ReLU(), nn.MaxPool1d(2),
      nn.Conv1d(64, 64, kernel_size=3, dilation=2, padding=2), nn.ReLU(),
      nn.AvgPool1d(3, stride=2, ceil_mode=True), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(64, 12))
""", (1, 40, 101), torch.float32, None, id="kws-1d"),
    pytest.param("""\
input: 3x8x16x16
model: |
  nn.Sequential(
      nn.Conv3d(3, 8, 3, padding=1), nn.InstanceNorm3d(8, affine=True), nn.ELU(),
      nn.MaxPool3d(2), nn.Conv3d(8, 8, (1, 3, 3), padding=(0, 1, 1), groups=8), nn.BatchNorm3d(8),
      nn.AvgPool3d(2), nn.ConvTranspose3d(8, 4, 2, stride=2), nn.AdaptiveMaxPool3d(1), nn.Flatten(),
      nn.Linear(4, 2))
""", (1, 3, 8, 16, 16), torch.float32, None, id="volumetric"),
    pytest.param("""\
input: 3x64x64
model: |
  nn.Sequential(
      nn.Conv2d(3, 16, 11, stride=4, padding=2), nn.ReLU(), nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0),
      nn.MaxPool2d(3, 2), nn.ReflectionPad2d(1), nn.Conv2d(16, 32, 3), nn.ReLU(), nn.CrossMapLRN2d(5),
      nn.ZeroPad2d((1, 0, 1, 0)), nn.PixelUnshuffle(2), nn.ChannelShuffle(4), nn.PixelShuffle(2),
      nn.ReplicationPad2d(1), nn.LPPool2d(2, 2), nn.CircularPad2d(1), nn.AlphaDropout(), nn.Unfold(2),
      nn.Fold((7, 7), 2), nn.SyncBatchNorm(32), nn.GLU(dim=1), nn.Softmax2d(),
      nn.UpsamplingBilinear2d(scale_factor=2), nn.UpsamplingNearest2d(size=10),
      nn.FractionalMaxPool2d(2, output_size=4),
      nn.Flatten(), nn.Unflatten(1, (16, 16)), nn.RMSNorm(16), nn.Hardtanh(), nn.Softplus(), nn.LogSoftmax(dim=-1))
""", (1, 3, 64, 64), torch.float32, None, id="original-alexnet-and-the-rest"),
    pytest.param("""\
input: [2, 10, 32]
layers:
  enc: TransformerEncoderLayer(32, 4, 64, batch_first=True)
  dec: TransformerDecoderLayer(32, 4, 64, batch_first=True, norm_first=True, activation='gelu')
  fc: Linear(32, 8)
  act: GLU()
""", (2, 10, 32), torch.float32, None, id="transformer-layers"),
    pytest.param("input: [7, 2, 16]\nmodel: nn.Transformer(16, 2, 2, 1, 32)\n", (7, 2, 16), torch.float32, None,
                 id="transformer-alone"),
    pytest.param("""\
input: 3x10
layers:
  rnn: RNNCell(10, 20, nonlinearity='relu')
  gru: GRUCell(20, 16, bias=False)
  lstm: LSTMCell(16, 8)
  sim: CosineSimilarity(dim=1)
""", (3, 10), torch.float32, None, id="cells"),
    pytest.param("""\
input: [2, 6]
layers:
  bag: EmbeddingBag(1000, 16, mode='max')
  fc: Linear(16, 4)
  dist: PairwiseDistance(keepdim=True)
""", (2, 6), torch.long, None, id="embedding-bag"),
    pytest.param("input: 20\nmodel: nn.Bilinear(20, 20, 40)\n", (1, 20), torch.float32, None, id="bilinear-alone"),
    pytest.param("input: 5x3x10\nmodel: nn.GRU(10, 20, bidirectional=True)\n", (5, 3, 10), torch.float32, None,
                 id="gru-alone"),
]


CONVENTION_BLOCKS = ("cifar-net", "alexnet-torchvision", "nested-mobile", "attention-block", "decoder", "kws-1d",
                     "bilinear-alone")


def real_run(model: nn.Module, shape: tuple[int, ...], dtype: torch.dtype) -> tuple[Any, dict[str, Any]]:
    """The model's output shape, and each module's (input shape, output shape) by name."""
    names = {id(m): n for n, m in model.named_modules()}
    seen: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def hook(module: nn.Module, args: Any, out: Any) -> None:
        seen[names[id(module)] or "model"] = (tuple(args[0].shape), tuple(first_tensor(out).shape))

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    torch.manual_seed(0)
    x = torch.randint(0, 1000, shape) if dtype == torch.long else torch.randn(shape)
    try:
        with torch.no_grad():
            out = first_tensor(model(x))
    finally:
        for h in handles:
            h.remove()
    return tuple(out.shape), seen


def fcm_counts(body: str, shape: tuple[int, ...], dtype: torch.dtype) -> tuple[int, dict[str, int], str]:
    model = build_reference(body, "meta").eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.empty(shape, device="meta", dtype=dtype))
    per_module = {key: sum(ops.values()) for key, ops in counter.get_flop_counts().items()}
    return int(counter.get_total_flops()), per_module, type(model).__name__


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN:UserWarning")
@pytest.mark.parametrize(("body", "shape", "dtype", "total"), BLOCKS)
def test_block_against_pytorch(body: str, shape: tuple[int, ...], dtype: torch.dtype, total: int | None) -> None:
    result = evaluate(parse_block(body))
    model = materialise(build_reference(body, "meta"))

    # parameters: the total, and every row against the real leaf module
    assert result.params == numel(model)
    if total is not None:
        assert result.params == total
    assert result.trainable == result.params
    assert result.buffers == sum(b.numel() for b in model.buffers())
    assert result.memory == 4 * result.params
    real_leaves = leaves(model)
    assert [r.name for r in result.rows] == list(real_leaves)
    for row in result.rows:
        module = real_leaves[row.name]
        assert row.type == type(module).__name__, row.name
        assert row.params == numel(module), row.name
        assert row.note == "", row.name  # every layer here has a registry formula

    # shapes: the model's output and every row's output, from a real CPU run
    output, seen = real_run(model, shape, dtype)
    assert result.output == output
    for row in result.rows:
        assert row.output == seen[row.name][1], row.name

    # FLOPs: 2 x MACs, equal to torch.utils.flop_counter in total and per row (the counter does
    # not see Bilinear's aten._trilinear: that row is counted through an equivalent pair of matmuls)
    total_flops, per_module, root = fcm_counts(body, shape, dtype)
    assert result.convention == "2mac"
    assert result.flops == 2 * result.macs  # type: ignore[operator]
    unseen = 0
    for row in result.rows:
        assert row.flops == 2 * row.macs  # type: ignore[operator]
        if row.type == "Bilinear":
            xin = seen[row.name][0]
            assert row.flops == bilinear_flops(real_leaves[row.name], xin, xin), row.name  # type: ignore[arg-type]
            unseen += row.flops  # type: ignore[operator]
            continue
        key = root if row.name == "model" else f"{root}.{row.name}"
        assert row.flops == per_module.get(key, 0), row.name
    assert result.flops == total_flops + unseen


@pytest.mark.parametrize("body", [p.values[0] for p in BLOCKS if p.id in CONVENTION_BLOCKS])
def test_block_conventions(body: str) -> None:
    base = evaluate(parse_block(body))
    as_mac = evaluate(parse_block(body), convention="mac")
    assert as_mac.flops == base.macs
    assert [r.flops for r in as_mac.rows] == [r.macs for r in base.rows]
    detailed = evaluate(parse_block(body), convention="detailed")
    assert detailed.macs == base.macs
    assert detailed.flops == sum(r.flops for r in detailed.rows)  # type: ignore[misc]
    assert all(d.flops >= b.flops for d, b in zip(detailed.rows, base.rows, strict=True))  # type: ignore[operator]
    assert detailed.flops > base.flops  # type: ignore[operator]
    # a block's own `flops:` key wins over the site default
    own = evaluate(parse_block(body + "flops: mac\n"), convention="detailed")
    assert own.flops == base.macs


def test_parameters_only_without_input() -> None:
    body = str(BLOCKS[0].values[0]).replace("input: 3x32x32\n", "")
    result = evaluate(parse_block(body))
    model = build_reference(body, "meta")
    assert result.params == numel(model) == 545_098
    assert result.output is None
    assert result.macs is None
    assert result.flops is None
    assert [r.params for r in result.rows] == [numel(m) for m in leaves(model).values()]


def _params_lines(rows: Any) -> dict[str, tuple[str, ...]]:
    """Each row's `params:` formula lines, by row name (a shared module's first call)."""
    lines: dict[str, tuple[str, ...]] = {}
    for row in rows:
        lines.setdefault(row.name, tuple(line for line in row.formula if line.startswith("params: ")))
    return lines


@pytest.mark.parametrize(("body", "shape", "dtype", "total"), BLOCKS)
def test_params_formulas_without_input_are_those_with_input(body: str, shape: tuple[int, ...], dtype: torch.dtype,
                                                             total: int | None) -> None:
    """A block without input writes each row's parameter formula as the block with input does."""
    with_input = evaluate(parse_block(body))
    without = evaluate(parse_block(re.sub(r"(?m)^input: .*\n", "", body)))
    assert without.macs is None
    assert _params_lines(without.rows) == _params_lines(with_input.rows)
    assert [r.params for r in without.rows] == [numel(m) for m in leaves(build_reference(body, "meta")).values()]


@pytest.mark.parametrize(("layer", "formula"), [
    ("nn.Bilinear(20, 30, 40)", "40·20·30 + 40 = 24,040"),  # as self-bilinear, no input fits it
    ("nn.MultiheadAttention(16, 2, kdim=6, vdim=7)", "16·(16 + 6 + 7) + 3·16 + 16·16 + 16 = 784 (in_proj, out_proj)"),
    ("nn.Conv2d(3, 8, 2000)", "(2000·2000·3/1)·8 + 8 = 96,000,008"),  # a kernel larger than any probe input
    ("nn.LayerNorm([4, 6], bias=False)", "4·6 = 24"),
    ("nn.GroupNorm(3, 12)", "2·12 = 24 (3 groups)"),
    ("nn.ConvTranspose2d(6, 9, 3, groups=3)", "(3·3·9/3)·6 + 9 = 171"),
    ("nn.LSTM(3, 5, num_layers=2, proj_size=2, bidirectional=True)",
     "2·(4·(5·(3 + 2) + 2·5) + 2·5) + 2·(4·(5·(4 + 2) + 2·5) + 2·5) = 640"),
    ("nn.PReLU(7)", "7 (one slope per channel)"),
    ("nn.BatchNorm1d(5, affine=False)", "0 (affine=False) + running mean and variance as buffers"),
])
def test_params_formula_without_input(layer: str, formula: str) -> None:
    body = f"model: {layer}\n"
    (row,) = evaluate(parse_block(body)).rows
    assert row.formula == (f"params: {formula}",)
    assert row.params == numel(build_reference(body, "meta"))


def test_batchnorm_after_linear_with_batch_of_one() -> None:
    body = "input: 20\nmodel: nn.Sequential(nn.Linear(20, 64), nn.BatchNorm1d(64), nn.ReLU())\n"
    model = materialise(build_reference(body, "meta"))
    output, _ = real_run(model, (1, 20), torch.float32)  # PyTorch in eval mode takes it
    assert evaluate(parse_block(body)).output == output


@pytest.mark.parametrize(("layer", "seq_first_shape"), [
    ("nn.MultiheadAttention(32, 4)", (10, 1, 32)),
    ("nn.LSTM(32, 16)", (10, 1, 32)),
])
def test_missing_batch_of_sequence_first_layer(layer: str, seq_first_shape: tuple[int, ...]) -> None:
    body = f"input: 10x32\nmodel: {layer}\n"
    model = materialise(build_reference(body, "meta"))
    output, _ = real_run(model, seq_first_shape, torch.float32)
    total_flops, _, _ = fcm_counts(body, seq_first_shape, torch.float32)
    result = evaluate(parse_block(body))
    assert result.output == output
    assert result.flops == total_flops


def test_no_block_allocates_a_real_tensor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registry layers are built with device="meta" (or inside a meta device context): every parameter
    and buffer of every block above is a meta tensor, never memory."""
    from cnn_cost import builder as ev

    built: list[nn.Module] = []
    real = ev.Builder.build

    def recording(self: Any, call: Any, wrap: bool = True) -> Any:
        module = real(self, call, wrap)
        built.append(module)
        return module

    monkeypatch.setattr(ev.Builder, "build", recording)
    for item in BLOCKS:
        body = getattr(item, "values", item)[0]  # a pytest.param or a plain tuple
        evaluate(parse_block(body))
    tensors = [t for m in built for t in (*m.parameters(), *m.buffers())]
    assert len(tensors) > 50
    assert [t for t in tensors if not t.is_meta] == []
    types_seen = {type(m).__name__ for m in built}
    assert len(types_seen & set(REGISTRY)) >= 30, sorted(types_seen)


def _attend(module: nn.Module, q: Any, k: Any, v: Any) -> Any:
    return module(q, k, v, need_weights=False)[0]


def _lstm_cell(module: nn.Module, x: Any, h: Any, c: Any) -> Any:
    return module(x, (h, c))[0]


@pytest.mark.parametrize(("body", "make", "shapes", "call"), [
    pytest.param("inputs: [[5, 2, 16], [9, 2, 6], [9, 2, 7]]\nmodel: nn.MultiheadAttention(16, 4, kdim=6, vdim=7)\n",
                 lambda: nn.MultiheadAttention(16, 4, kdim=6, vdim=7), [(5, 2, 16), (9, 2, 6), (9, 2, 7)], _attend,
                 id="attention-kdim-vdim-other-length"),
    pytest.param("inputs: [[2, 5, 16], [2, 9, 16]]\nmodel: nn.MultiheadAttention(16, 2, batch_first=True)\n",
                 lambda: nn.MultiheadAttention(16, 2, batch_first=True), [(2, 5, 16), (2, 9, 16), (2, 9, 16)],
                 _attend, id="attention-key-is-value"),
    pytest.param("inputs: [[2, 5, 16], [2, 9, 16]]\nmodel: nn.TransformerDecoderLayer(16, 4, 32, batch_first=True)\n",
                 lambda: nn.TransformerDecoderLayer(16, 4, 32, batch_first=True), [(2, 5, 16), (2, 9, 16)], None,
                 id="decoder-memory-of-another-length"),
    pytest.param("inputs: [[6, 2, 16], [4, 2, 16]]\nmodel: nn.Transformer(16, 2, 1, 2, 32)\n",
                 lambda: nn.Transformer(16, 2, 1, 2, 32), [(6, 2, 16), (4, 2, 16)], None,
                 id="transformer-source-and-target"),
    pytest.param("inputs: [[3, 10], [3, 20], [3, 20]]\nmodel: nn.LSTMCell(10, 20)\n",
                 lambda: nn.LSTMCell(10, 20), [(3, 10), (3, 20), (3, 20)], _lstm_cell, id="lstm-cell-with-state"),
    pytest.param("inputs: [[4, 5], [4, 7]]\nmodel: nn.Bilinear(5, 7, 3)\n",
                 lambda: nn.Bilinear(5, 7, 3), [(4, 5), (4, 7)], None, id="bilinear-two-sizes"),
])
def test_block_with_several_inputs(body: str, make: Any, shapes: list[tuple[int, ...]], call: Any) -> None:
    """`inputs:` gives the first layer its other inputs (key and value, memory, state, a second input):
    parameters, the output shape and FLOPs against the real module on CPU and the flop counter on meta."""
    result = evaluate(parse_block(body))
    torch.manual_seed(0)
    module = make().eval()
    inputs = [torch.randn(s) for s in shapes]
    with torch.no_grad():
        out = first_tensor(call(module, *inputs) if call else module(*inputs))
    assert result.params == numel(module)
    assert result.output == tuple(out.shape)
    (row,) = result.rows
    assert row.output == tuple(out.shape)
    if isinstance(module, nn.Bilinear):
        assert result.flops == bilinear_flops(module, shapes[0], shapes[1])
        return
    with torch.device("meta"):
        meta = make().eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        meta_inputs = [torch.empty(s, device="meta") for s in shapes]
        call(meta, *meta_inputs) if call else meta(*meta_inputs)
    assert result.flops == 2 * result.macs == counter.get_total_flops()  # type: ignore[operator]


def test_a_deep_transformer_counts_toward_the_block_budget() -> None:
    """A Transformer's layer counts are construction work (`LayerSpec.work`): refused before anything is built."""
    from cnn_cost.errors import CnnCostError

    with pytest.raises(CnnCostError, match="the limit per block is 25,000"):
        evaluate(parse_block("model: nn.Transformer(16, 2, num_encoder_layers=3000, num_decoder_layers=1)\n"))
    evaluate(parse_block("model: nn.Transformer(16, 2, num_encoder_layers=30, num_decoder_layers=30)\n"))
