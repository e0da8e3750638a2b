"""Output shapes by formula (the default) and by PyTorch's meta kernels (`shapes: torch`) give the same site.

The registry's formulas give every output shape of a block built from registry layers, so a
block normally runs no meta kernel at all; PyTorch decides where no formula applies (an
imported model, a layer without a formula, an input a formula refuses). The per-layer
agreement of the formulas with PyTorch is proven in tests/layers/test_formula_shapes.py; here,
whole blocks and the whole guide.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import cnn_cost.evaluate as ev
import cnn_cost.shapes as walks
from cnn_cost.block import parse_block
from cnn_cost.errors import CnnCostError
from conftest import Built, build_guide

VGG_LIKE = """\
id: vgg-like
input: 3x32x32
model: |
  nn.Sequential(
      nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2)),
      nn.Sequential(*[nn.Conv2d(16, 16, 3, padding=1), nn.ReLU()] * 2),
      nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten(), nn.Dropout(0.5), nn.Linear(64, 10))
"""

RECURRENT = """\
id: rnn
input: 7x12
layers:
  lstm: LSTM(12, 20, num_layers=2, bidirectional=True)
  attn: MultiheadAttention(40, 4)
"""


@pytest.fixture
def no_meta_kernels(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the blocks that ran the model on the meta device."""
    runs: list[int] = []
    real = walks.by_torch

    def counting(*args: object, **kwargs: object) -> object:
        runs.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(walks, "by_torch", counting)
    return runs


@pytest.mark.parametrize("body", [VGG_LIKE, RECURRENT], ids=["vgg-like", "recurrent"])
def test_formula_and_torch_results_are_equal(body: str, no_meta_kernels: list[int]) -> None:
    block = parse_block(body)
    by_formula = ev.evaluate(block)
    assert no_meta_kernels == [], "a block of registry layers ran the meta kernels"
    by_torch = ev.evaluate(block, shapes="torch")
    assert no_meta_kernels == [1]
    assert by_formula == by_torch
    assert by_formula.rows and all(r.output is not None for r in by_formula.rows)


def test_an_input_the_formula_refuses_is_worded_by_the_formula(no_meta_kernels: list[int]) -> None:
    """Where a formula refuses the input, the error is the formula's, in the block's words, and no meta
    kernel runs; with `shapes: torch`, PyTorch words it. Both point at the layer's line."""
    body = "input: 3x8x8\nlayers:\n  conv: Conv2d(4, 8, 3)\n"
    messages = []
    for shapes in ("formula", "torch"):
        with pytest.raises(CnnCostError) as info:
            ev.evaluate(parse_block(body), shapes=shapes)
        messages.append((info.value.message, info.value.line))
    assert messages[0] == ("layer conv, Conv2d(4, 8, 3), expects 4 input channels, got 3; the block's input is "
                           "[1, 3, 8, 8]", 3)
    assert messages[1][1] == 3
    assert "layer conv (Conv2d) cannot take an input of shape [1, 3, 8, 8]" in messages[1][0]
    assert no_meta_kernels == [1]


def test_a_wrong_linear_width_names_both_layers() -> None:
    body = "input: 3x32x32\nmodel: nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8192, 10))\n"
    with pytest.raises(CnnCostError) as info:
        ev.evaluate(parse_block(body))
    assert info.value.message == ("layer 3, Linear(8192, 10), expects 8,192 input features (last dimension), "
                                  "got 7,200; layer 2 gives [1, 7200]")


def test_guide_is_byte_identical_with_torch_shapes(guide: Built, tmp_path: Path) -> None:
    """The guide built with `shapes: torch` equals the guide built with formula shapes, file for file."""
    assert guide.code == 0, guide.out
    torch_site = build_guide(tmp_path, shapes="torch")
    assert torch_site.code == 0, torch_site.out
    ours = {str(p.relative_to(guide.site)): p.read_bytes() for p in sorted(guide.site.rglob("*")) if p.is_file()}
    theirs = {str(p.relative_to(torch_site.site)): p.read_bytes()
              for p in sorted(torch_site.site.rglob("*")) if p.is_file()}
    assert ours.keys() == theirs.keys()
    assert sum(name.endswith(".html") for name in ours) >= 10
    differ = [name for name in ours if ours[name] != theirs[name] and not name.endswith(".gz")]
    assert differ == []
