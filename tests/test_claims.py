"""Claims (`cnn_cost.claims`): values as authors write them, compared at the precision written.

Also the claim paths against real evaluated blocks, and inline references (`#!cnn id.path` and
`#!cnn id.path = value`) through a real Python-Markdown conversion with the extension.
"""

from __future__ import annotations

import textwrap
from fractions import Fraction

import markdown
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnn_cost.block import parse_block
from cnn_cost.claims import (
    LAYER_METRICS,
    TOTAL_METRICS,
    Claim,
    format_int,
    format_shape,
    metric_kind,
    parse_claim,
    split_path,
)
from cnn_cost.cli import converter
from cnn_cost.errors import CnnCostError
from cnn_cost.evaluate import evaluate
from cnn_cost.markdown import Session
from conftest import cifar_block

N = 61_264_904  # the design's example count


def claim(raw: str, path: str = "params") -> Claim:
    return parse_claim(path, raw, 42)


# ------------------------------------------------------------------ exact ----


@pytest.mark.parametrize(
    "raw",
    ["545098", "545,098", "545_098", "545\u2009098", "545\u202f098", "545\u00a0098", "545 098", " 545,098 "],
)
def test_exact_integers_with_separators(raw: str) -> None:
    c = claim(raw)
    assert c.kind == "count"
    assert c.exact
    assert c.low == c.high == 545_098
    assert c.holds(545_098)
    assert not c.holds(545_097)
    assert not c.holds(545_099)
    assert c.line == 42


def test_exact_big_and_zero() -> None:
    assert claim("1,000,000,000,000").holds(10**12)
    assert claim("0").holds(0)
    assert not claim("0").holds(1)
    assert claim("1_234_567").holds(1_234_567)


@pytest.mark.parametrize("raw", ["1,,000", "1, 000", "1,00", "1,0000", "12,34,567", "1__000", ",100", "100,",
                                 "١٢٣", "1 2", "1e6", "0x10", "-5", "+5", "lots", "", "~", "1.", "1.2.3"])
def test_malformed_counts_are_errors_at_their_line(raw: str) -> None:
    with pytest.raises(CnnCostError) as info:
        claim(raw)
    assert info.value.line == 42
    assert info.value.message.startswith("params: expected a number")


def test_a_decimal_without_suffix_or_tilde_is_exact() -> None:
    c = claim("545,098.0")
    assert c.exact
    assert c.holds(545_098)
    assert not c.holds(545_099)
    assert not claim("545,098.5").holds(545_098)


# ---------------------------------------------------------------- rounded ----


@pytest.mark.parametrize(
    ("raw", "holds"),
    [
        ("61.26M", True), ("61.3M", True), ("61.2M", False), ("61M", True), ("62M", False),
        ("61.265M", True), ("61.2649M", True), ("61.2648M", False), ("61.27M", False),
        ("61,264.9K", True), ("61,265K", True), ("61,264K", False), ("0.06G", True), ("0.061G", True),
        ("0.062G", False), ("0.00006T", True), ("61264.904K", True), ("61264.903K", False),
        ("61.264904M", True),
    ],
)
def test_rounded_at_the_precision_written(raw: str, holds: bool) -> None:
    c = claim(raw)
    assert not c.exact
    assert c.holds(N) is holds


@pytest.mark.parametrize(
    ("raw", "low", "high"),
    [
        ("61.3M", 61_250_000, 61_350_000),
        ("61.26M", 61_255_000, 61_265_000),
        ("61M", 60_500_000, 61_500_000),
        ("1.5K", 1_450, 1_550),
        ("1.5k", 1_450, 1_550),
        ("2G", 1_500_000_000, 2_500_000_000),
        ("1.7G", 1_650_000_000, 1_750_000_000),
        ("3T", 2_500_000_000_000, 3_500_000_000_000),
        (".5M", 450_000, 550_000),
        ("~545,000", 544_500, 545_500),
        ("~60M", 55_000_000, 65_000_000),
        ("≈1.7G", 1_650_000_000, 1_750_000_000),
        ("~ 61.3M", 61_250_000, 61_350_000),
        ("~100", 50, 150),
    ],
)
def test_half_a_unit_either_side_holds_one_more_fails(raw: str, low: int, high: int) -> None:
    c = claim(raw)
    assert (c.low, c.high) == (low, high)
    assert c.holds(low)
    assert c.holds(high)
    assert not c.holds(low - 1)
    assert not c.holds(high + 1)
    assert c.mismatch(low) is None
    assert c.mismatch(high + 1) is not None


def test_tilde_and_approx_mark_a_rounded_claim() -> None:
    assert claim("545,098").exact
    assert not claim("~545,098").exact
    assert not claim("≈545,098").exact
    assert claim("~545,098").holds(545_098)
    assert claim("~545,000").holds(545_098)
    assert not claim("545,000").holds(545_098)
    assert claim("~61M").holds(N)
    assert claim("≈60M").holds(N)
    assert not claim("~60.0M").holds(N)


def test_rounded_claims_on_fractions() -> None:
    c = parse_claim("a.params / b.params", "2.5", kind="ratio")
    assert c.kind == "ratio"
    assert c.holds(Fraction(5, 2))
    assert c.holds(Fraction(249, 100))
    assert not c.holds(Fraction(256, 100))
    assert c.mismatch(Fraction(3)) == "a.params / b.params: expected 2.5, computed 3"


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**14), st.sampled_from(["K", "M", "G", "T"]),
       st.integers(min_value=0, max_value=4), st.booleans())
def test_any_value_written_at_any_precision_holds(n: int, suffix: str, decimals: int, tilde: bool) -> None:
    scale = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}[suffix]
    # round half up in exact arithmetic (not float formatting)
    unit = Fraction(1, 10**decimals)
    written = (Fraction(n, scale) / unit + Fraction(1, 2)).__floor__() * unit
    text = f"{'~' if tilde else ''}{float(written):.{decimals}f}{suffix}"
    if float(written) != written:  # float formatting could not show it exactly: skip
        return
    assert claim(text).holds(n), text
    # one unit further away never holds
    further = f"{float(written + 2 * unit):.{decimals}f}{suffix}"
    assert not claim(further).holds(n), further


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**15))
def test_format_int_round_trips_exactly(n: int) -> None:
    c = claim(format_int(n))
    assert c.holds(n)
    assert not c.holds(n + 1)
    assert c.mismatch(n + 1) == f"params: expected {format_int(n)}, computed {format_int(n + 1)}"


# ----------------------------------------------------------------- memory ----


@pytest.mark.parametrize(
    ("raw", "holds"),
    [
        ("2,180,392 B", True), ("2180392B", True), ("2,180,393 B", False),
        ("2.18 MB", True), ("2.2 MB", True), ("2.1 MB", False), ("2 MB", True), ("2.19 MB", False),
        ("2,180.39 KB", True), ("2,180 KB", True), ("2,181 KB", False), ("0.00218 GB", True),
        ("2.08 MiB", True), ("2.07 MiB", False), ("2129.29 KiB", True), ("2129.3 KiB", True),
        ("2129.2 KiB", False), ("2,129 KiB", True), ("0.002 GiB", True), ("0.003 GiB", False),
        ("~2 MB", True), ("≈2.1 MiB", True), ("~2 MiB", True),
    ],
)
def test_memory_units(raw: str, holds: bool) -> None:
    c = claim(raw, "memory")
    assert c.kind == "memory"
    assert c.holds(2_180_392) is holds


def test_memory_at_the_precision_written_mib() -> None:
    c = claim("233.71 MiB", "memory")
    assert (c.low, c.high) == (Fraction("233.705") * 2**20, Fraction("233.715") * 2**20)
    low_bytes = -(-c.low.numerator // c.low.denominator)  # ceil
    high_bytes = c.high.numerator // c.high.denominator  # floor
    assert c.holds(low_bytes)
    assert c.holds(high_bytes)
    assert not c.holds(low_bytes - 1)
    assert not c.holds(high_bytes + 1)
    assert c.holds(round(Fraction("233.71") * 2**20))
    assert not claim("233.72 MiB", "memory").holds(round(Fraction("233.71") * 2**20))


def test_memory_edges_exactly_half_a_unit() -> None:
    c = claim("2.18 MB", "memory")
    assert (c.low, c.high) == (2_175_000, 2_185_000)
    assert c.holds(2_175_000)
    assert c.holds(2_185_000)
    assert not c.holds(2_174_999)
    assert not c.holds(2_185_001)
    k = claim("1.5 KiB", "memory")
    assert (k.low, k.high) == (Fraction("1.45") * 1024, Fraction("1.55") * 1024)
    assert k.holds(1485)
    assert not k.holds(1484)  # 1,484.8 is the edge
    assert k.holds(1587)
    assert not k.holds(1588)  # 1,587.2 is the edge


@pytest.mark.parametrize("raw", ["12", "12 bytes", "12 XB", "12 mib", "12 kb", "12 Mb", "MiB", "12 MiB B", "-1 B"])
def test_memory_needs_a_unit(raw: str) -> None:
    with pytest.raises(CnnCostError) as info:
        claim(raw, "memory")
    assert info.value.line == 42
    assert "with a unit" in info.value.message


def test_memory_mismatch_message_shows_bytes_and_rounded() -> None:
    assert claim("2.1 MB", "memory").mismatch(2_180_392) == (
        "memory: expected 2.1 MB, computed 2,180,392 B (= 2.2 MB)"
    )
    assert claim("2,180,393 B", "memory").mismatch(2_180_392) == (
        "memory: expected 2,180,393 B, computed 2,180,392 B"
    )


# ----------------------------------------------------------------- shapes ----


@pytest.mark.parametrize("raw", ["[1, 10]", "[1,10]", "[ 1 , 10 ]", "[1, 10,]", "1x10", "1 x 10", "1×10"])
def test_shapes(raw: str) -> None:
    c = claim(raw, "output")
    assert c.kind == "shape"
    assert c.shape == (1, 10)
    assert c.holds((1, 10))
    assert not c.holds((1, 11))
    assert not c.holds((10,))
    assert not c.holds((1, 10, 1))
    assert c.mismatch((1, 11)) == "output: expected [1, 10], computed [1, 11]"


@pytest.mark.parametrize("raw", ["banana", "[1, x]", "[]", "1x", "x1", "[1, -1]", "[1.5]", "[[1]]",
                                 "[1, 2, 3, 4, 5, 6, 7, 8, 9]", "١x٢", "1 10"])
def test_bad_shapes(raw: str) -> None:
    with pytest.raises(CnnCostError) as info:
        claim(raw, "conv1.output")
    assert info.value.line == 42
    assert info.value.message.startswith("conv1.output: ")


# --------------------------------------------------------- mismatch text ----


def test_mismatch_message_format_of_the_design() -> None:
    c = claim("46,756,544")
    assert c.mismatch(46_764_746) == "params: expected 46,756,544, computed 46,764,746"
    assert c.mismatch(46_756_544) is None


def test_mismatch_message_of_a_rounded_claim_gives_the_value_at_that_precision() -> None:
    assert claim("61.2M").mismatch(N) == "params: expected 61.2M, computed 61,264,904 (= 61.3M)"
    assert claim("~1.2G", "macs").mismatch(1_290_000_000) == (
        "macs: expected ~1.2G, computed 1,290,000,000 (= 1.3G)"
    )


def test_formatters() -> None:
    assert format_int(545098) == "545,098"
    assert format_int(0) == "0"
    assert format_shape((1, 10)) == "[1, 10]"
    assert format_shape(()) == "[]"


# ------------------------------------------------------------------ paths ----


@pytest.mark.parametrize(
    ("path", "layer", "metric"),
    [
        ("params", None, "params"), ("trainable", None, "trainable"), ("buffers", None, "buffers"),
        ("memory", None, "memory"), ("macs", None, "macs"), ("flops", None, "flops"),
        ("output", None, "output"), ("0.params", "0", "params"), ("3.1.params", "3.1", "params"),
        ("conv1.output", "conv1", "output"), ("conv1.macs", "conv1", "macs"),
        ("fc_out-1.flops", "fc_out-1", "flops"),
    ],
)
def test_paths(path: str, layer: str | None, metric: str) -> None:
    assert split_path(path) == (layer, metric)


@pytest.mark.parametrize("path", ["nosuch", "nosuch.metric", "conv1.memory", "conv1.trainable", ".params",
                                  "params.", "conv1.weight", ""])
def test_bad_paths(path: str) -> None:
    with pytest.raises(CnnCostError) as info:
        parse_claim(path, "1", 7)
    assert info.value.line == 7
    assert "unknown" in info.value.message


def test_metric_kinds() -> None:
    assert {m: metric_kind(m) for m in TOTAL_METRICS} == {
        "params": "count", "trainable": "count", "buffers": "count", "memory": "memory", "macs": "count",
        "flops": "count", "output": "shape",
        "activations": "memory",
        # what a counting library reports, for blocks with `as:`
        "thop": "count", "ptflops": "count", "fvcore": "count", "torchinfo": "count", "torch": "count",
        "torchsummary": "count", "torchstat": "count", "ultralytics-thop": "count", "torchstat-madd": "count",
        # sizes the libraries print (their "MB" are MiB)
        "torchsummary-pass": "memory", "torchsummary-input": "memory", "torchsummary-params-size": "memory",
        "torchsummary-total": "memory", "torchstat-memory": "memory", "torchstat-memrw": "memory",
    }
    assert set(LAYER_METRICS) == set(TOTAL_METRICS) - {"trainable", "buffers", "memory"}


def test_counter_claims_need_as() -> None:
    from cnn_cost.block import parse_block
    from cnn_cost.errors import CnnCostError
    from cnn_cost.evaluate import evaluate

    body = "input: [1, 8]\nmodel: nn.Sequential(nn.Linear(8, 4), nn.ReLU())\n"
    plain = evaluate(parse_block(body))
    with pytest.raises(CnnCostError, match=r"needs `as: \[thop\]`"):
        plain.value("thop")
    counted = evaluate(parse_block(body + "as: [thop, ptflops, torch]\n"))
    assert counted.value("thop") == 32  # products only
    assert counted.value("ptflops") == 32 + 4 + 2 * 4  # + bias per output, ReLU counted twice
    assert counted.value("0.torch") == 64
    assert parse_claim("ptflops", "44").holds(counted.value("ptflops"))


CIFAR = cifar_block(title=False, claims={
    "params": "545,098",
    "0.params": "896",
    "3.params": "18,496",
    "7.params": "524,416",
    "9.params": "1,290",
    "output": "[1, 10]",
    "7.output": "[1, 128]",
    "memory": "2.18 MB",
    "trainable": "545,098",
    "buffers": "0",
    "macs": "6.13M",
    "flops": "~12.3M",
})

NESTED = """\
input: [1, 3, 8, 8]
model: |
  nn.Sequential(
      nn.Conv2d(3, 4, 3),
      nn.Sequential(nn.BatchNorm2d(4), nn.Sequential(nn.Conv2d(4, 2, 1), nn.ReLU())),
      nn.Flatten())
expect:
  1.params: 18
  1.0.params: 8
  1.1.params: 10
  1.1.0.params: 10
  1.1.0.output: [1, 2, 6, 6]
  1.output: [1, 2, 6, 6]
  output: [1, 72]
  buffers: 9
"""

LAYERS = """\
input: 3x32x32
layers:
  conv1: Conv2d(3, 32, 3, padding=1)
  pool1: MaxPool2d(2, 2)
expect:
  conv1.params: 896
  conv1.output: [1, 32, 32, 32]
  conv1.macs: 884,736
  conv1.flops: 1.77M
  pool1.output: 1x32x16x16
  pool1.params: 0
"""


@pytest.mark.parametrize("body", [CIFAR, NESTED, LAYERS], ids=["cifar", "nested", "layers"])
def test_every_claim_holds_against_the_evaluated_block(body: str) -> None:
    block = parse_block(body, 1)
    result = evaluate(block)
    for c in block.expect:
        assert c.mismatch(result.value(c.path)) is None, (c.path, result.value(c.path))


def test_per_layer_values_and_wrong_claims() -> None:
    block = parse_block(CIFAR, 1)
    result = evaluate(block)
    assert result.value("0.params") == 896
    assert result.value("7.params") == 524_416
    assert result.value("output") == (1, 10)
    wrong = parse_claim("7.params", "524,417", 12)
    assert wrong.mismatch(result.value("7.params")) == "7.params: expected 524,417, computed 524,416"
    with pytest.raises(CnnCostError, match="no layer named 'conv9'"):
        result.value("conv9.params")


# ---------------------------------------------------------- inline, real ----


def make_md(on_error: str = "raise") -> markdown.Markdown:
    return converter(Session(on_error=on_error))


PAGE = """\
# A page

```cnn-cost
{cifar}```

The network has `#!cnn cifar-net.params` parameters (checked: `#!cnn cifar-net.params = 545,098`),
about `#!cnn cifar-net.macs = 6.13M` MACs, and outputs `#!cnn cifar-net.output = [1, 10]`;
its first layer holds `#!cnn cifar-net.0.params = 896` and its memory is `#!cnn cifar-net.memory`.
"""


def page(**replace: str) -> str:
    text = PAGE.replace("{cifar}", CIFAR)
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


def test_inline_references_show_the_numbers() -> None:
    html = make_md().convert(page())
    assert ">545,098<" in html  # the plain reference
    assert ">6.13M<" in html  # a claim shows the number as written
    assert "[1, 10]" in html
    assert ">896<" in html
    assert ">2,180,392 B<" in html
    assert html.count('title="verified: ') == 4  # the four inline claims
    assert "✓ Verified" in html  # the block's own claims


def test_wrong_inline_claim_raises_in_plain_extension_mode() -> None:
    text = page(**{"`#!cnn cifar-net.params = 545,098`": "`#!cnn cifar-net.params = 545,099`"})
    line = next(i for i, t in enumerate(text.split("\n"), 1) if "545,099" in t)
    with pytest.raises(CnnCostError) as info:
        make_md().convert(text)
    assert info.value.line == line
    assert "cifar-net.params: expected 545,099, computed 545,098" in info.value.message


def test_wrong_rounded_inline_claim_raises() -> None:
    text = page(**{"= 6.13M": "= 6.2M"})
    with pytest.raises(CnnCostError) as info:
        make_md().convert(text)
    assert "cifar-net.macs: expected 6.2M, computed 6,128,896 (= 6.1M)" in info.value.message


def test_wrong_claim_in_the_block_raises_at_its_line() -> None:
    text = page(**{"  7.params: 524,416": "  7.params: 524,415"})
    line = next(i for i, t in enumerate(text.split("\n"), 1) if "524,415" in t)
    with pytest.raises(CnnCostError) as info:
        make_md().convert(text)
    assert info.value.line == line
    assert "7.params: expected 524,415, computed 524,416" in info.value.message


def test_bad_inline_claim_value_raises() -> None:
    text = page(**{"= [1, 10]": "= banana"})
    with pytest.raises(CnnCostError) as info:
        make_md().convert(text)
    assert "expected a shape" in info.value.message


def test_inline_reference_to_unknown_block_raises() -> None:
    text = page(**{"`#!cnn cifar-net.memory`": "`#!cnn alexnet.memory`"})
    with pytest.raises(CnnCostError) as info:
        make_md().convert(text)
    assert "no block with id 'alexnet'" in info.value.message


def test_warn_mode_shows_the_problem_instead() -> None:
    md = make_md(on_error="warn")
    html = md.convert(page(**{"= 545,098": "= 545,099"}))
    assert "expected 545,099, computed 545,098" in html
    problems = md.cnn_cost_session.problems  # type: ignore[attr-defined]
    assert len(problems) == 1
    assert "expected 545,099" in problems[0].message


def test_thin_space_claims_inline_and_in_blocks() -> None:
    text = page(**{"= 545,098`": "= 545\u2009098`", "  params: 545,098": "  params: 545\u202f098"})
    html = make_md().convert(textwrap.dedent(text))
    assert "545\u2009098" in html
