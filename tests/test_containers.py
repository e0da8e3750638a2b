"""The package's containers (contract 2b) and Python's list repetition, against PyTorch.

Each block is evaluated as the plugin does (meta device, formula shapes), then built again by the same
builder on the CPU with real weights and run: output shape, `numel()` and `torch.utils.flop_counter`
must agree. A few are also compared with the same network written the usual way in plain PyTorch,
so that the containers mean what ResNet's, Inception's and SE's own code means.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnn_cost.block import parse_block
from cnn_cost.builder import Builder
from cnn_cost.claims import check
from cnn_cost.errors import CnnCostError
from cnn_cost.evaluate import evaluate
from cnn_cost.result import Result
from conftest import mkdocs, write_site

BASIC_DOWN = """
input: 64x56x56
model: |
  nn.Sequential(
      cnn.Residual(
          nn.Sequential(nn.Conv2d(64, 128, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(128), nn.ReLU(),
                        nn.Conv2d(128, 128, 3, padding=1, bias=False), nn.BatchNorm2d(128)),
          shortcut=nn.Sequential(nn.Conv2d(64, 128, 1, stride=2, bias=False), nn.BatchNorm2d(128))),
      nn.ReLU())
"""

BASIC_STAGE = """
input: 64x56x56
model: |
  cnn.Repeat(2,
      cnn.Residual(nn.Sequential(nn.Conv2d(64, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                 nn.Conv2d(64, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64))),
      nn.ReLU())
"""

INCEPTION = """
input: 192x28x28
model: |
  cnn.Concat(
      nn.Sequential(nn.Conv2d(192, 64, 1), nn.ReLU()),
      nn.Sequential(nn.Conv2d(192, 96, 1), nn.ReLU(), nn.Conv2d(96, 128, 3, padding=1), nn.ReLU()),
      nn.Sequential(nn.Conv2d(192, 16, 1), nn.ReLU(), nn.Conv2d(16, 32, 5, padding=2), nn.ReLU()),
      nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(192, 32, 1), nn.ReLU()))
"""

SQUEEZE_EXCITE = """
input: 64x14x14
model: |
  cnn.Mul(nn.Identity(),
          nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(64, 16, 1), nn.ReLU(), nn.Conv2d(16, 64, 1),
                        nn.Sigmoid()))
"""

THREE_WAY = """
input: 16x8x8
layers:
  stem: nn.Conv2d(16, 16, 1)
  sum: cnn.Add(nn.Conv2d(16, 16, 3, padding=1), nn.Conv2d(16, 16, 1), nn.AvgPool2d(3, 1, 1))
  head: nn.Sequential(nn.Flatten(), nn.Linear(1024, 10))
"""

UNET = """
input: 1x32x32
model: |
  nn.Sequential(
      nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
      cnn.Concat(nn.Identity(),
                 nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                               nn.ConvTranspose2d(16, 8, 2, stride=2))),
      nn.Conv2d(16, 2, 1))
"""

REPEATED = "input: 8x16x16\nmodel: nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()] * 3)\n"
REPEATED_SEQUENTIAL = "input: 8x16x16\nmodel: nn.Sequential(*[nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU())] * 2)\n"
COPIES = "input: 8x16x16\nmodel: cnn.Repeat(3, nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())\n"
REPEATED_IN_BRANCHES = "input: 8x4x4\nmodel: cnn.Add(*[nn.Conv2d(8, 8, 1)] * 2)\n"

BLOCKS = {"basic-down": BASIC_DOWN, "basic-stage": BASIC_STAGE, "inception": INCEPTION, "se": SQUEEZE_EXCITE,
          "three-way": THREE_WAY, "unet": UNET, "repeated": REPEATED, "repeated-sequential": REPEATED_SEQUENTIAL,
          "copies": COPIES, "repeated-branches": REPEATED_IN_BRANCHES}


def on_cpu(body: str) -> tuple[Result, nn.Module, tuple[int, ...]]:
    """The block's result, and its model built again on the CPU with real weights, and its input shape."""
    block = parse_block(body)
    result = evaluate(block)
    builder = Builder((), None)
    builder.device = "cpu"
    if block.model is not None:
        model = builder.build(block.model)
    else:
        model = nn.Sequential()
        for name, call in block.layers or ():
            model.add_module(name, builder.build(call))
    assert block.input is not None
    return result, model.eval(), (1, *block.input)


@pytest.mark.parametrize("body", BLOCKS.values(), ids=BLOCKS.keys())
def test_block_agrees_with_pytorch(body: str) -> None:
    result, model, shape = on_cpu(body)
    assert all(not p.is_meta for p in model.parameters())
    assert result.params == sum(p.numel() for p in model.parameters())
    x = torch.randn(shape)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(x)
    assert result.output == tuple(out.shape)
    assert result.flops == counter.get_total_flops()
    assert result.macs is not None and 2 * result.macs == result.flops


@pytest.mark.parametrize("body", BLOCKS.values(), ids=BLOCKS.keys())
def test_formula_and_torch_shapes_agree(body: str) -> None:
    block = parse_block(body)
    assert evaluate(block) == evaluate(block, shapes="torch")


@pytest.mark.parametrize("body", BLOCKS.values(), ids=BLOCKS.keys())
def test_activations_are_the_outputs_of_every_call(body: str) -> None:
    """`activations`: the bytes of every row's output, as hooks on the real leaves and the merges see them."""
    result, model, shape = on_cpu(body)
    sizes: list[int] = []

    def hook(module: Any, args: Any, out: torch.Tensor) -> None:
        if not list(module.children()) or type(module).__name__ in ("Residual", "Add", "Mul", "Concat"):
            sizes.append(out.numel() * out.element_size())

    for module in model.modules():
        module.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.randn(shape))
    assert result.value("activations") == sum(sizes)
    assert len(sizes) == len(result.rows)


# ------------------------------------------------------------ the same networks written the usual way ----


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock, written as torchvision writes it."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                           if stride != 1 or cin != cout else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class SE(nn.Module):
    def __init__(self, c: int, r: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(c, c // r, 1)
        self.fc2 = nn.Conv2d(c // r, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(nn.functional.adaptive_avg_pool2d(x, 1)))))
        return x * s


@pytest.mark.parametrize(("body", "make", "shape"), [
    (BASIC_DOWN, lambda: BasicBlock(64, 128, 2), (1, 64, 56, 56)),
    (BASIC_STAGE, lambda: nn.Sequential(BasicBlock(64, 64, 1), BasicBlock(64, 64, 1)), (1, 64, 56, 56)),
    (SQUEEZE_EXCITE, lambda: SE(64, 4), (1, 64, 14, 14)),
], ids=["basic-down", "basic-stage", "se"])
def test_containers_mean_what_the_usual_code_means(body: str, make: Any, shape: tuple[int, ...]) -> None:
    result = evaluate(parse_block(body))
    model = make().eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(torch.randn(shape))
    assert result.params == sum(p.numel() for p in model.parameters())
    assert result.output == tuple(out.shape)
    assert result.flops == counter.get_total_flops()


# ---------------------------------------------------------------------------------------- rows ----


def test_list_repetition_repeats_the_same_modules() -> None:
    """As in Python: 584 parameters, not 1,752; each call its own row, the repeats marked shared."""
    result = evaluate(parse_block(REPEATED))
    assert result.params == 584
    assert [r.name for r in result.rows] == ["0", "1", "2", "3", "4", "5"]
    assert [r.note for r in result.rows] == ["", "", "shared", "shared", "shared", "shared"]
    assert [r.params for r in result.rows] == [584, 0, 0, 0, 0, 0]
    assert result.macs == 3 * 8 * 8 * 9 * 16 * 16


def test_repeat_makes_independent_copies() -> None:
    result = evaluate(parse_block(COPIES))
    assert result.params == 3 * 584
    assert [r.name for r in result.rows] == ["0.0", "0.1", "1.0", "1.1", "2.0", "2.1"]
    assert all(r.note == "" for r in result.rows)


def test_repetition_without_input_lists_each_place() -> None:
    result = evaluate(parse_block(REPEATED.replace("input: 8x16x16\n", "")))
    assert result.params == 584
    assert [(r.name, r.params, r.note) for r in result.rows] == [
        ("0", 584, ""), ("1", 0, ""), ("2", 0, "shared"), ("3", 0, "shared"), ("4", 0, "shared"), ("5", 0, "shared")]


def test_rows_of_a_residual_block() -> None:
    result = evaluate(parse_block(BASIC_DOWN + "flops: detailed\n"))
    names = [r.name for r in result.rows]
    assert names == ["0.body.0", "0.body.1", "0.body.2", "0.body.3", "0.body.4", "0.shortcut.0", "0.shortcut.1",
                     "0", "1"]
    merge = result.rows[names.index("0")]
    assert merge.type == "Residual"
    assert (merge.output, merge.macs, merge.flops) == ((1, 128, 28, 28), 0, 128 * 28 * 28)
    assert "out: [1, 128, 28, 28] + [1, 128, 28, 28]" in merge.formula
    assert result.value("0.output") == (1, 128, 28, 28)
    assert result.value("0.body.output") == (1, 128, 28, 28)
    assert result.value("0.shortcut.params") == 64 * 128 + 256
    assert result.value("0.params") == result.params


def test_concat_row() -> None:
    result = evaluate(parse_block(INCEPTION + "flops: detailed\n"))
    merge = result.rows[-1]
    assert (merge.name, merge.type, merge.output, merge.flops) == ("model", "Concat", (1, 256, 28, 28), 0)
    assert "out: dim 1: 64 + 128 + 32 + 32 = 256" in merge.formula
    assert [r.name for r in result.rows][:3] == ["0.0", "0.1", "1.0"]


def test_three_branches_add_two_per_element_under_detailed() -> None:
    result = evaluate(parse_block(THREE_WAY + "flops: detailed\n"))
    merge = next(r for r in result.rows if r.name == "sum")
    assert merge.type == "Add"
    assert merge.flops == 2 * 16 * 8 * 8


def test_claims_on_containers() -> None:
    body = BASIC_DOWN + "expect:\n  0.output: [1, 128, 28, 28]\n  0.shortcut.params: 8,448\n  0.flops: 1\n"
    block = parse_block(body)
    wrong = check(block.expect, evaluate(block)).wrong
    assert [w.claim.path for w in wrong] == ["0.flops"]


# ---------------------------------------------------------------------------------------- errors ----


@pytest.mark.parametrize(("model", "words"), [
    ("cnn.Add(nn.Conv2d(64, 64, 3, padding=1), nn.Conv2d(64, 128, 3, stride=2, padding=1))",
     "layer model, cnn.Add, cannot add its branches: 0 gives [1, 64, 56, 56], 1 gives [1, 128, 28, 28]"),
    ("nn.Sequential(nn.ReLU(), cnn.Residual(nn.Conv2d(64, 128, 1)))",
     "layer 1, cnn.Residual, cannot add its branches: 1.body gives [1, 128, 56, 56], the shortcut (its input) "
     "gives [1, 64, 56, 56]"),
    ("cnn.Concat(nn.Identity(), nn.MaxPool2d(2))",
     "layer model, cnn.Concat, cannot concatenate its branches along dim 1: 0 gives [1, 64, 56, 56], "
     "1 gives [1, 64, 28, 28] (all other dimensions must agree)"),
    ("cnn.Mul(nn.Identity(), nn.Conv2d(64, 3, 1))",
     "layer model, cnn.Mul, cannot multiply its branches: 0 gives [1, 64, 56, 56], 1 gives [1, 3, 56, 56]"),
])
@pytest.mark.parametrize("shapes", ["formula", "torch"])
def test_branches_that_do_not_fit(model: str, words: str, shapes: str) -> None:
    block = parse_block(f"input: 64x56x56\nmodel: {model}\n", 10)
    with pytest.raises(CnnCostError) as info:
        evaluate(block, shapes=shapes)
    assert info.value.message == words
    assert info.value.line == 11


@pytest.mark.parametrize(("model", "words"), [
    ("cnn.Repeat(0, nn.ReLU())", "cnn.Repeat(n, layer, …) needs a number of copies n from 1 to 1,000 first, not 0"),
    ("cnn.Repeat(nn.ReLU())", "needs a number of copies n"),
    ("cnn.Repeat(2)", "cnn.Repeat needs at least 1 layer (got 0)"),
    ("cnn.Add(nn.ReLU())", "cnn.Add needs at least 2 layers (got 1)"),
    ("cnn.Add(nn.ReLU(), 3)", "cnn.Add takes layers, not 3"),
    ("cnn.Concat(nn.ReLU(), nn.ReLU(), dim='x')", "cnn.Concat: dim is an integer, not 'x'"),
    ("cnn.Residual(nn.ReLU(), scale=2)", "cnn.Residual has no argument 'scale'; its keyword is: shortcut"),
    ("cnn.Residual(nn.ReLU(), nn.ReLU(), nn.ReLU())", "takes a body and at most one shortcut"),
    ("cnn.Residual(nn.ReLU(), shortcut=3)", "the shortcut is a layer or None, not 3"),
    ("cnn.Resdual(nn.ReLU())", "unknown container 'cnn.Resdual' (did you mean 'Residual'?)"),
    ("cnn.Repeat(1001, nn.ReLU())", "from 1 to 1,000"),
    ("cnn.Repeat(1000, cnn.Repeat(1000, nn.ReLU()))", "the limit per block is 25,000"),
])
def test_container_arguments_are_checked(model: str, words: str) -> None:
    with pytest.raises(CnnCostError) as info:
        evaluate(parse_block(f"input: 4x4\nmodel: {model}\n"))
    assert words in info.value.message


def test_residual_shortcut_none_is_identity() -> None:
    plain = evaluate(parse_block("input: 4x4x4\nmodel: cnn.Residual(nn.Conv2d(4, 4, 1))\n"))
    none = evaluate(parse_block("input: 4x4x4\nmodel: cnn.Residual(nn.Conv2d(4, 4, 1), shortcut=None)\n"))
    assert plain == none


# ------------------------------------------------------------------------------------ a real site ----


def test_site_build_reports_a_wrong_container_claim(tmp_path: Path) -> None:
    page = "# ResNet\n\n```cnn-cost\nid: block\n" + textwrap.dedent(BASIC_DOWN).lstrip("\n") + (
        "expect:\n  params: 230,144\n  0.shortcut.params: 8,000\n```\n")
    write_site(tmp_path, {"index.md": page})
    built = mkdocs(tmp_path)
    assert built.code == 1
    line = page.splitlines().index("  0.shortcut.params: 8,000") + 1
    assert f"docs/index.md:{line}: cnn-cost block 'block': 0.shortcut.params: expected 8,000, computed 8,448" \
        in built.out
    good = page.replace("8,000", "8,448")
    write_site(tmp_path, {"index.md": good})
    built = mkdocs(tmp_path, "--strict")
    assert built.code == 0, built.out
    html = built.html("index.html")
    assert "0.shortcut.0" in html and "Residual" in html
