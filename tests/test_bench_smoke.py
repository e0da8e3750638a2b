"""The benchmark's torch-free formula count (bench/formula.py), the baseline of the VGG-16 target,
agrees with PyTorch: parameters with numel(), MACs with torch.utils.flop_counter, output shapes
with a meta-device forward, layer by layer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from blocks import VGG16  # noqa: E402
from formula import count, parse_and_count  # noqa: E402

from cnn_cost.block import parse_block  # noqa: E402

# stride, padding, dilation, groups, rectangular kernels, ceil_mode (also where PyTorch drops a last window
# that would start in the padding), which VGG-16 does not exercise
ODD = """\
input: 3x37x29
model: |
  nn.Sequential(
      nn.Conv2d(3, 8, (3, 5), stride=2, padding=(1, 2), dilation=(2, 1), bias=False), nn.ReLU(inplace=True),
      nn.MaxPool2d(3, stride=2, ceil_mode=True), nn.Dropout(0.1),
      nn.Conv2d(8, 12, 3, padding=1, groups=4), nn.Conv2d(12, 4, 1, stride=2),
      nn.MaxPool2d(3, stride=3, padding=1, ceil_mode=True), nn.Flatten(), nn.Linear(4 * 2 * 2, 7, False))
"""


@pytest.mark.parametrize("text", [VGG16, ODD], ids=["vgg16", "odd"])
def test_formula_count_agrees_with_pytorch(text: str) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    block = parse_block(text)
    assert block.model is not None and block.input is not None
    counted = count(block.model, block.input)
    calls = block.model.args
    assert len(counted.rows) == len(calls)
    x = torch.empty(1, *block.input, device="meta")
    for row, call in zip(counted.rows, calls, strict=True):
        with torch.device("meta"):
            module = getattr(torch.nn, call.name)(*call.args, **dict(call.kwargs)).eval()
        assert row.params == sum(p.numel() for p in module.parameters()), row
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            x = module(x)
        assert tuple(x.shape) == row.output, row
        assert 2 * row.macs == counter.get_total_flops(), row
    assert counted.output == tuple(x.shape)


def test_vgg16_totals_are_the_blocks_claims() -> None:
    counted = parse_and_count(VGG16)
    claims = {c.path: c.raw for c in parse_block(VGG16).expect}
    assert f"{counted.params:,}" == claims["params"] == "138,357,544"
    assert f"{counted.macs:,}" == claims["macs"] == "15,470,264,320"
    assert counted.output == (1, 1000)
