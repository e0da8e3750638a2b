"""Figures drawn from a block's result (`#!cnn figure ...`): well-formed SVG whose numbers are the block's."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from cnn_cost import figures
from cnn_cost.block import parse_block
from cnn_cost.errors import CnnCostError
from cnn_cost.evaluate import evaluate
from cnn_cost.result import Result
from conftest import mkdocs

SVG = "{http://www.w3.org/2000/svg}"

BLOCK = """id: nets
input: 16x32x32
layers:
  same: Conv2d(16, 16, 3, padding=1)
  strided: Conv2d(16, 32, 3, stride=2, padding=1)
  dilated: Conv2d(32, 32, 3, padding=2, dilation=2)
  grouped: Conv2d(32, 64, 3, padding=1, groups=4)
  depthwise: Conv2d(64, 64, 3, padding=1, groups=64)
  relu: ReLU()
  pool: MaxPool2d(2, 2)
  flat: Flatten()
  fc: Linear(64 * 8 * 8, 10)
"""


@pytest.fixture(scope="module")
def result() -> Result:
    return evaluate(parse_block(BLOCK, 1))


def texts(svg: str) -> list[str]:
    """The SVG's visible texts, after checking it parses as XML and carries a title and a description."""
    root = ET.fromstring(svg)  # noqa: S314 -- our own output
    assert root.tag == f"{SVG}svg" and root.get("viewBox") and root.get("role") == "img"
    assert root.find(f"{SVG}title").text and root.find(f"{SVG}desc").text  # type: ignore[union-attr]
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_conv_figure_shows_the_rows_sizes(result):
    row = figures.find_row(result, "strided")
    shown = " | ".join(texts(figures.figure(result, "nets", "conv", ["strided"])))
    assert "input 32×32, padding 1" in shown and "padded: 34×34" in shown
    assert "kernel 3×3, stride 2, dilation 1" in shown
    assert row.output is not None
    assert f"output {row.output[2]}×{row.output[3]}" in shown
    assert f"= {row.output[2]}" in shown  # the formula's result, as the registry computed it
    dilated = " | ".join(texts(figures.figure(result, "nets", "conv", ["dilated"])))
    assert "dilation 2" in dilated and "output 16×16" in dilated and "padding 2" in dilated


def test_groups_figure_numbers_are_the_rows(result):
    shown = texts(figures.figure(result, "nets", "groups", ["same", "grouped", "depthwise"]))
    for name in ("same", "grouped", "depthwise"):
        row = figures.find_row(result, name)
        assert f"params {row.params:,}" in shown
    assert "4 groups of 8 in → 16 out" in shown and "64 groups of 1 in → 1 out" in shown
    assert "C_out = 64" in shown and "grouped: groups = 4" in shown


@pytest.mark.parametrize("metric", ["params", "flops"])
def test_bars_equal_the_rows_and_fold_the_zeros(result, metric):
    shown = texts(figures.figure(result, "nets", "bars", [metric]))
    values = [getattr(r, metric) for r in result.rows]
    numbers = sorted(int(re.match(r"[\d,]+", t)[0].replace(",", "")) for t in shown  # type: ignore[index]
                     if re.fullmatch(r"[\d,]+ \(\d+\.\d%\)", t))
    assert numbers == sorted(v for v in values if v)
    zeros = sum(1 for v in values if not v)
    assert f"{zeros} layers with 0 {metric}" in shown
    assert f"nets: {metric} per layer (total {getattr(result, metric):,})" in shown


@pytest.mark.parametrize(("kind", "args", "message"), [
    ("conv", ["nope"], "no row named 'nope'"),
    ("conv", ["relu"], "is a ReLU, not a Conv2d"),
    ("groups", [], "needs one or more Conv2d rows"),
    ("bars", ["memory"], "takes one of params, flops, macs"),
    ("conv", ["a", "b"], "write `figure <block-id> conv <row>`"),
])
def test_bad_figures_are_errors(result, kind, args, message):
    with pytest.raises(CnnCostError, match=re.escape(message)):
        figures.figure(result, "nets", kind, args)


def test_a_conv_without_input_is_an_error():
    with pytest.raises(CnnCostError, match="needs `input:`"):
        figures.figure(evaluate(parse_block("id: a\nmodel: nn.Conv2d(3, 8, 3)\n", 1)), "a", "conv", [])


def test_a_one_layer_block_needs_no_row_name():
    one = evaluate(parse_block("id: a\ninput: 3x7x7\nmodel: nn.Conv2d(3, 8, 3, stride=2)\n", 1))
    shown = texts(figures.figure(one, "a", "conv", []))
    assert "output 3×3" in shown and "input 7×7, padding 0" in shown


PAGE = """# Figures

```cnn-cost
{block}```

`#!cnn figure nets conv strided`

`#!cnn figure nets groups grouped depthwise`

`#!cnn figure nets bars flops`
"""


def test_a_real_build_holds_the_svgs(site):
    built = mkdocs(site({"index.md": PAGE.format(block=BLOCK)}), "--strict")
    assert built.code == 0, built.out
    html = built.html("index.html")
    svgs = re.findall(r"<svg class=\"cnn-figure\".*?</svg>", html, re.S)
    assert len(svgs) == 3
    assert "output 16×16" in texts(svgs[0])
    for svg in svgs:
        texts(svg)


@pytest.mark.parametrize(("line", "message"), [
    ("`#!cnn figure other conv strided`", "no block with id 'other' on this page"),
    ("`#!cnn figure nets conv missing`", "no row named 'missing'"),
    ("`#!cnn figure nets circle x`", "write `figure <block-id> conv|groups|bars"),
])
def test_a_figure_of_a_missing_block_or_row_fails_the_build_with_its_line(site, line, message):
    page = "# Figures\n\n```cnn-cost\n" + BLOCK + "```\n\nText.\n\n" + line + "\n"
    built = mkdocs(site({"index.md": page}), "--strict")
    assert built.code == 1
    at = page.splitlines().index(line) + 1
    assert f"docs/index.md:{at}: {line}: " in built.out and message in built.out, built.out[-2000:]


def test_the_guide_holds_its_figures(guide):
    assert guide.code == 0, guide.out[-3000:]
    for page, count in (("convolution", 1), ("grouped-depthwise", 1), ("linear", 2), ("where-cost-goes", 4)):
        for edition in ("", "zh/"):  # the same figures in both editions
            svgs = re.findall(r"<svg class=\"cnn-figure\".*?</svg>", guide.html(f"{edition}guide/{page}/index.html"),
                              re.S)
            assert len(svgs) == count, edition + page
            for svg in svgs:
                texts(svg)
    bars = guide.html("guide/where-cost-goes/index.html")
    assert "vgg16-share: params per layer (total 138,357,544)" in bars and "102,764,544 (74.3%)" in bars
    assert "alexnet-share: flops per layer (total 1,722,602,560)" in bars
    chinese = guide.html("zh/guide/where-cost-goes/index.html")
    assert "vgg16-share：各层的 参数量（合计 138,357,544）" in chinese
    assert "vgg16-share：各层的 FLOPs（合计 30,940,528,640）" in chinese
