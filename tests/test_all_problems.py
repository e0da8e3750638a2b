"""Every problem of a block is listed (issue: "Errors: every problem of a block is listed").

A block's unknown layers (all of them, each at its own line and column), its wrong claims, its claims
whose path names nothing (with "did you mean" from the block's layer names and metrics) and its claims
that cannot be checked: each is one line `path:line[:col]: cnn-cost block 'id': message` in the build
log, in the serve page's red box (one box per block), in the plain extension's error and in
`cnn-cost check`. Parse-level tests first, then real builds, the serve page, the extension, the CLI.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from mkdocs.commands.build import build
from mkdocs.config import load_config
from torch import nn

import cnn_cost.layers
from cnn_cost.block import parse_block
from cnn_cost.claims import LAYER_METRICS, TOTAL_METRICS, Unverifiable, WrongNumber, check, expect_claim, path_problem
from cnn_cost.cli import converter
from cnn_cost.errors import MAX_PROBLEMS, CnnCostError, suggest
from cnn_cost.evaluate import evaluate
from cnn_cost.session import Session
from conftest import mkdocs, write_site

FIRST = 10  # the Markdown line of a parsed body's first line


def numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def problems_of(body: str, imports: tuple[str, ...] = ()) -> list[tuple[int | None, int | None, str]]:
    with pytest.raises(CnnCostError) as info:
        parse_block(textwrap.dedent(body), FIRST, imports)
    return [(p.line, p.column, p.message) for p in info.value.problems]


# --------------------------------------------------------------- the error type ----


def test_one_error_carries_several_problems_in_place_order() -> None:
    late = CnnCostError("late", 14, 2)
    early = CnnCostError("early", 12, 9, more=[CnnCostError("earlier", 12, 3)])
    combined = CnnCostError.of([late, early])
    assert [(p.message, p.line, p.column) for p in combined.problems] == [
        ("earlier", 12, 3), ("early", 12, 9), ("late", 14, 2)]
    assert (combined.message, combined.line, combined.column) == ("earlier", 12, 3)  # the first is the error
    assert str(combined) == "earlier\nearly\nlate"
    assert all(not p.more for p in combined.problems)
    assert [p.line for p in combined.shifted(-10).problems] == [2, 2, 4]
    single = CnnCostError("one", 3)
    assert single.problems == (single,) and str(single) == "one"


def test_too_many_problems_are_cut_with_a_count() -> None:
    many = CnnCostError.of(CnnCostError(f"p{i}", i) for i in range(1, 201))
    assert len(many.problems) == MAX_PROBLEMS
    assert many.problems[-1].message == f"… and {200 - MAX_PROBLEMS + 1} more problems of this block, not listed"


def test_a_transposed_word_is_suggested_before_a_shorter_one() -> None:
    assert suggest("modle", ["mode", "model"]) == " (did you mean 'model'?)"
    assert suggest("Conv2D", ["Conv1d", "Conv2d", "Conv3d"]) == " (did you mean 'Conv2d'?)"
    assert suggest("relu", ["ReLU", "GELU"]) == " (did you mean 'ReLU'?)"
    assert suggest("zzz", ["ReLU"]) == ""


# --------------------------------------------------------- unknown layers, parsed ----


def test_every_unknown_layer_of_an_expression_is_listed_at_its_place() -> None:
    body = """\
    input: 3x8x8
    model: |
      nn.Sequential(
          nn.Conv2D(3, 8, 3), nn.ReLU(), nn.Relu(),
          nn.Sequential(Frobnicate(8), cnn.Residul(nn.ReLU())),
          foo.Net())
    """
    assert problems_of(body) == [
        (13, 7, "unknown layer 'nn.Conv2D' (did you mean 'Conv2d'?)"),
        (13, 38, "unknown layer 'nn.Relu' (did you mean 'ReLU'?)"),
        (14, 21, "unknown layer 'Frobnicate'; a model of your own? list its module under the plugin's "
                 "`imports:` and write `mymodule.Frobnicate(...)`"),
        (14, 36, "unknown container 'cnn.Residul' (did you mean 'Residual'?); the package's containers are: "
                 "cnn.Residual, cnn.Add, cnn.Concat, cnn.Mul, cnn.Repeat"),
        (15, 7, "'foo.Net': module 'foo' is not in the plugin's `imports` list (none configured)"),
    ]


def test_every_layers_entry_is_read_and_every_key_too() -> None:
    body = """\
    id: net
    input: 3x8x8
    layers:
      conv1: Conv2D(3, 8, 3)
      relu: ReLU()
      odd: Frobnicate()
      fc: Linear(4, 2, bias=[i for i in x])
    dtype: float8
    """
    found = problems_of(body)
    assert [(line, column) for line, column, _ in found] == [(13, 10), (15, 8), (16, 25), (17, 8)]
    assert "did you mean 'Conv2d'" in found[0][2]
    assert "a model of your own?" in found[1][2]
    assert "comprehensions are not allowed" in found[2][2]
    assert "unknown dtype 'float8'" in found[3][2]


def test_an_unknown_layer_before_a_refused_expression_is_listed_with_it() -> None:
    found = problems_of("model: nn.Sequential(nn.Nope(), nn.Linear(4, x=[i for i in y]))\n")
    assert [(line, column) for line, column, _ in found] == [(10, 22), (10, 48)]
    assert "unknown layer 'nn.Nope'" in found[0][2] and "comprehensions are not allowed" in found[1][2]


def test_a_shared_unknown_layer_is_listed_once_and_thousands_stay_bounded() -> None:
    assert len(problems_of("model: nn.Sequential(*[nn.Nope()] * 5000)\n")) == 1
    body = "model: nn.Sequential(" + ", ".join(f"Foo{i}()" for i in range(8000)) + ")\n"
    started = time.perf_counter()
    found = problems_of(body)
    assert time.perf_counter() - started < 5
    assert len(found) == MAX_PROBLEMS - 1
    assert found[-1][2] == f"… and {8000 - (MAX_PROBLEMS - 2)} more unknown names, not listed"


def test_several_bad_claim_values_are_all_listed() -> None:
    block = parse_block("model: nn.ReLU()\nexpect:\n  params: lots\n  memory: 12\n  output: banana\n", FIRST)
    found = check(block.expect, evaluate(block)).failures
    assert [(f.claim.line, f.message.split(":")[0]) for f in found] == [(12, "params"), (13, "memory"), (14, "output")]


def test_the_imports_pointer_names_the_configured_modules() -> None:
    (_, _, message), = problems_of("model: ResidualBlock(64)\n", imports=("docs_models", "more_models"))
    assert message == ("unknown layer 'ResidualBlock'; a model of your own? list its module under the plugin's "
                       "`imports:` (listed now: docs_models, more_models) and write `docs_models.ResidualBlock(...)`")
    (_, _, near), = problems_of("model: nn.Conv2D(3, 8, 3)\n")
    assert "a model of your own" not in near  # a near name is the likelier mistake


def test_a_torch_class_that_is_no_layer_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cnn_cost.layers.NOT_LAYERS` (layers/unsupported.py) gives the reason, whether it exists yet or not."""
    monkeypatch.delattr(cnn_cost.layers, "NOT_LAYERS", raising=False)
    (_, _, without), = problems_of("model: nn.CrossEntropyLoss()\n")
    assert without.startswith("unknown layer 'nn.CrossEntropyLoss'")
    monkeypatch.setattr(cnn_cost.layers, "NOT_LAYERS", {"CrossEntropyLoss": "a loss: it compares two tensors"},
                        raising=False)
    found = problems_of("model: nn.Sequential(nn.CrossEntropyLoss(), CrossEntropyLoss(), nn.Foo())\n")
    assert [m for _, _, m in found[:2]] == [
        "nn.CrossEntropyLoss is not a layer a block can count: a loss: it compares two tensors"] * 2
    assert found[2][2].startswith("unknown layer 'nn.Foo'")


def test_the_registry_s_own_list_of_classes_that_are_no_layers_is_used() -> None:
    not_layers = getattr(cnn_cost.layers, "NOT_LAYERS", None)
    if not isinstance(not_layers, dict) or "MSELoss" not in not_layers:
        pytest.skip("cnn_cost.layers.NOT_LAYERS is not there yet")
    (_, _, message), = problems_of("model: torch.nn.MSELoss()\n")
    assert message == f"torch.nn.MSELoss is not a layer a block can count: {not_layers['MSELoss']}"


# ---------------------------------------------------------------- claims, checked ----

CLAIMED = """\
id: two
input: 3x32x32
layers:
  conv1: Conv2d(3, 32, 3, padding=1)
  pool1: MaxPool2d(2, 2)
expect:
  conv1.parms: 896
  params: 1
  conv9.params: 896
  conv1: 896
  parms: 896
  pool1.output: [1, 2]
  conv1.macs: 884,736
  convv1.flopz: 1
"""
CONV1 = numel(nn.Conv2d(3, 32, 3, padding=1))


def test_every_claim_is_checked_and_a_misspelt_path_says_what_was_meant() -> None:
    block = parse_block(CLAIMED, FIRST)
    assert [c.kind for c in block.expect][:2] == ["unknown", "count"]  # the misspelt path is kept, not raised
    checked = check(block.expect, evaluate(block))
    assert [(type(f).__name__, f.claim.line) for f in checked.failures] == [
        ("Unverifiable", 16), ("WrongNumber", 17), ("Unverifiable", 18), ("Unverifiable", 19),
        ("Unverifiable", 20), ("WrongNumber", 21), ("Unverifiable", 23)]
    messages = [f.message for f in checked.failures]
    assert messages[0].startswith("unknown per-layer metric 'parms' in 'conv1.parms' (did you mean 'conv1.params'?)")
    assert messages[1] == f"params: expected 1, computed {CONV1:,}"
    assert messages[2] == "conv9.params: no layer named 'conv9' (did you mean 'conv1.params'?)"
    assert messages[3].startswith("unknown claim 'conv1' (did you mean 'conv1.params'?)")
    assert messages[4].startswith("unknown claim 'parms' (did you mean 'params'?)")
    assert messages[5] == "pool1.output: expected [1, 2], computed [1, 32, 16, 16]"
    assert messages[6].startswith("unknown per-layer metric 'flopz' in 'convv1.flopz' (did you mean 'conv1.flops'?)")
    assert [c.path for c in checked.held] == ["conv1.macs"]


@pytest.mark.parametrize(("path", "layers", "expected"), [
    ("params", ["a"], None),
    ("a.params", ["a"], None),
    ("3.params", ["3.0", "3.1", "3"], None),
    ("a.params", [], None),  # no layer names known: the layer is not checked here
    ("a.parms", ["a"], "(did you mean 'a.params'?)"),
    ("b.params", ["block"], "no layer named 'b'; layers are: block"),
    ("blok.params", ["block"], "(did you mean 'block.params'?)"),
    ("flop", ["a"], "(did you mean 'flops'?)"),
    ("a", ["a"], "(did you mean 'a.params'?)"),
    ("layer1", ["layer_1"], "(did you mean 'layer_1.params'?)"),
    ("a.weight", ["a"], "unknown per-layer metric 'weight'"),
    (".params", ["a"], "unknown claim '.params'"),
])
def test_path_problems(path: str, layers: list[str], expected: str | None) -> None:
    problem = path_problem(path, layers)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem, problem


def test_every_metric_is_a_path() -> None:
    assert all(path_problem(m, ["x"]) is None for m in TOTAL_METRICS)
    assert all(path_problem(f"x.{m}", ["x"]) is None for m in LAYER_METRICS)
    claim = expect_claim("x.parms", "lots", 7)  # the value is not read: the path is the problem
    assert (claim.kind, claim.line, claim.mismatch(1)) == ("unknown", 7, claim.problem)
    assert "unknown per-layer metric 'parms'" in claim.problem


def test_a_claim_that_cannot_be_computed_is_unverifiable_beside_wrong_ones() -> None:
    block = parse_block("layers:\n  fc: Linear(8, 4)\nexpect:\n  macs: 64\n  params: 1\n  fc.output: [1, 4]\n", FIRST)
    checked = check(block.expect, evaluate(block))
    assert [type(f) for f in checked.failures] == [Unverifiable, WrongNumber, Unverifiable]
    assert all("needs `input:`" in f.message for f in checked.unverifiable)


# --------------------------------------------------------------------- real builds ----

PAGE = """\
# Every problem

```cnn-cost
id: broken
input: 3x8x8
model: |
  nn.Sequential(
      nn.Conv2D(3, 8, 3), nn.ReLU(),
      MyNet(8), nn.Flaten())
expect:
  convv.params: 1
```

```cnn-cost
id: two
input: 3x32x32
layers:
  conv1: Conv2d(3, 32, 3, padding=1)
  pool1: MaxPool2d(2, 2)
expect:
  conv1.parms: 896
  params: 1
  conv9.params: 896
  pool1.output: [1, 2]
  conv1.macs: 884,736
```

```cnn-cost
id: demo
xfail: true
input: [1, 8]
model: nn.Linear(8, 4)
expect:
  params: 32
  fc.params: 36
```

Text after.
"""
# (line, column or None, what the message holds), in page order
EXPECTED = [
    ("8:7", "cnn-cost block 'broken': unknown layer 'nn.Conv2D' (did you mean 'Conv2d'?)"),
    ("9:7", "cnn-cost block 'broken': unknown layer 'MyNet'; a model of your own? list its module under the "
            "plugin's `imports:` and write `mymodule.MyNet(...)`"),
    ("9:17", "cnn-cost block 'broken': unknown layer 'nn.Flaten' (did you mean 'Flatten'?)"),
    ("21", "cnn-cost block 'two': unknown per-layer metric 'parms' in 'conv1.parms' (did you mean 'conv1.params'?)"),
    ("22", f"cnn-cost block 'two': params: expected 1, computed {CONV1:,}"),
    ("23", "cnn-cost block 'two': conv9.params: no layer named 'conv9' (did you mean 'conv1.params'?)"),
    ("24", "cnn-cost block 'two': pool1.output: expected [1, 2], computed [1, 32, 16, 16]"),
    ("35", "cnn-cost block 'demo': fc.params: no layer named 'fc'"),
]


def log_lines(out: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"(docs/index\.md:\S+ .*)$", out, re.MULTILINE)]


def test_the_build_lists_every_problem_of_every_block(site) -> None:
    built = mkdocs(site({"index.md": PAGE}))
    assert built.code == 1, built.out
    assert "Traceback" not in built.out
    lines = log_lines(built.out)
    for place, message in EXPECTED:
        assert any(line.startswith(f"docs/index.md:{place}: {message}") for line in lines), (place, lines)
    assert len(lines) == len(EXPECTED), lines  # each once: nothing more (the xfail demo's wrong number is no problem)
    assert f"cnn-cost: {len(EXPECTED)} problems in cnn-cost blocks" in built.out


def test_the_build_with_imports_points_at_the_listed_module(tmp_path: Path) -> None:
    page = "# M\n\n```cnn-cost\nmodel: nn.Sequential(Net(), site_model.Net(), site_modles.Net())\n```\n"
    root = write_site(tmp_path, {"index.md": page}, plugin={"imports": ["site_model"]})
    (root / "site_model.py").write_text("from torch import nn\n\n\ndef Net():\n    return nn.ReLU()\n",
                                        encoding="utf-8")
    built = mkdocs(root)
    assert built.code == 1, built.out
    assert ("docs/index.md:4:22: cnn-cost block: unknown layer 'Net'; a model of your own? list its module under the "
            "plugin's `imports:` (listed now: site_model) and write `site_model.Net(...)`") in built.out
    assert ("docs/index.md:4:47: cnn-cost block: 'site_modles.Net': module 'site_modles' is not in the plugin's "
            "`imports` list (site_model)") in built.out


def test_the_serve_page_shows_one_box_per_block_with_every_problem(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    root = write_site(tmp_path, {"index.md": PAGE})
    config = load_config(str(root / "mkdocs.yml"), site_dir=str(root / "site"))
    config.plugins.on_startup(command="serve", dirty=False)
    with caplog.at_level(logging.WARNING, logger="mkdocs.plugins.cnn_cost"):
        build(config)  # never raises in serve
    soup = BeautifulSoup((root / "site/index.html").read_text(encoding="utf-8"), "html.parser")
    blocks = soup.select("div.cnn-cost")
    assert [b.get("id") for b in blocks] == ["cnn-cost-broken", "cnn-cost-two", "cnn-cost-demo"]
    boxes = [b.select(".admonition.failure") for b in blocks]
    assert [len(b) for b in boxes] == [1, 1, 1]  # one box per block
    shown = [[p.get_text() for p in box[0].select("p:not(.admonition-title)")] for box in boxes]
    # built in this process: the page is named as MkDocs names it (the docs directory is not below the cwd)
    expected = [f"index.md:{place}: {message}" for place, message in EXPECTED]
    assert [len(s) for s in shown] == [3, 4, 1]
    for text, wanted in zip([t for s in shown for t in s], expected, strict=True):
        assert text.startswith(wanted), (text, wanted)
    titles = [box[0].select_one(".admonition-title").get_text() for box in boxes]
    assert titles == ["cnn-cost: this block has 3 problems", "cnn-cost: this block has 4 problems",
                      "cnn-cost: this block has a problem"]
    # the evaluated blocks still show their tables; the demonstration shows its wrong number on purpose
    assert blocks[1].select_one("table") is not None and blocks[0].select_one("table") is None
    demo = blocks[2].select_one(".admonition.warning")
    assert demo is not None and "params: expected 32, computed 36" in demo.get_text()
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for place, message in EXPECTED:
        assert any(m.startswith(f"index.md:{place}: {message}") for m in logged), place


def test_a_block_that_does_not_evaluate_still_lists_its_misspelt_claims(site) -> None:
    page = ("```cnn-cost\nid: net\ninput: 3x8x8\nmodel: nn.Linear(5, 2)\nexpect:\n  parms: 12\n"
            "  0.output: [1, 2]\n  params: 12\n```\n")
    built = mkdocs(site({"index.md": page}))
    assert built.code == 1, built.out
    assert re.search(r"docs/index\.md:4:8: cnn-cost block 'net': .*Linear", built.out), built.out
    assert "docs/index.md:6: cnn-cost block 'net': unknown claim 'parms' (did you mean 'params'?)" in built.out


def test_an_inline_reference_with_a_misspelt_path_says_what_was_meant() -> None:
    page = "```cnn-cost\nid: fc\ninput: [1, 8]\nlayers:\n  fc1: Linear(8, 4)\n```\n\nIt has `#!cnn fc.fc1.parms`.\n"
    session = Session(on_error="warn")
    converter(session).convert(page)
    assert [(p.line, p.message) for p in session.problems] == [
        (8, "`#!cnn fc.fc1.parms`: unknown per-layer metric 'parms' in 'fc1.parms' (did you mean 'fc1.params'?)")]


# --------------------------------------------------------------- xfail, unchanged ----


def test_xfail_keeps_its_meaning_and_a_misspelt_path_in_it_is_a_problem() -> None:
    demo = "```cnn-cost\nid: d\nxfail: true\ninput: [1, 8]\nmodel: nn.Linear(8, 4)\nexpect:\n  params: {claims}\n```\n"
    session = Session(on_error="warn")
    html = converter(session).convert(demo.format(claims="32"))
    assert session.problems == [] and "A wrong number, on purpose" in html
    session = Session(on_error="warn")
    converter(session).convert(demo.format(claims="36"))
    assert [(p.line, p.message) for p in session.problems] == [
        (2, "cnn-cost block 'd': xfail: true, but every claim holds: correct the block or remove `xfail`")]
    session = Session(on_error="warn")
    html = converter(session).convert(demo.format(claims="32\n  parms: 36"))
    assert [(p.line, p.message.split(" (")[0]) for p in session.problems] == [
        (8, "cnn-cost block 'd': unknown claim 'parms'")]
    soup = BeautifulSoup(html, "html.parser")
    assert "params: expected 32, computed 36" in soup.select_one(".admonition.warning").get_text()
    assert "parms" not in soup.select_one(".admonition.warning").get_text()


# --------------------------------------------------------- the plain extension ----


def test_the_plain_extension_raises_one_error_listing_every_problem() -> None:
    with pytest.raises(CnnCostError) as info:
        converter(Session()).convert(PAGE)
    text = str(info.value)
    first_block = [f"<markdown>:{place}: {message}" for place, message in EXPECTED[:3]]
    assert [line[: len(want)] for line, want in zip(text.split("\n"), first_block, strict=True)] == first_block
    assert [(p.line, p.column) for p in info.value.problems] == [(8, 7), (9, 7), (9, 17)]
    with pytest.raises(CnnCostError) as info:  # a page whose first block is fine: the second block's claims
        converter(Session()).convert(PAGE[PAGE.index("```cnn-cost\nid: two"):])
    assert len(info.value.problems) == 4
    assert [p.line for p in info.value.problems] == [8, 9, 10, 11]


def test_the_plain_extension_warns_each_problem_and_shows_them_in_the_page() -> None:
    session = Session(on_error="warn")
    html = converter(session).convert(PAGE)
    assert [str(p).split(": cnn-cost block")[0] for p in session.problems] == [
        f"<markdown>:{place}" for place, _ in EXPECTED]
    assert len(BeautifulSoup(html, "html.parser").select(".admonition.failure")) == 3


# ------------------------------------------------------------------------ the CLI ----


def test_the_cli_prints_every_problem_on_its_own_line(tmp_path: Path) -> None:
    (tmp_path / "page.md").write_text(PAGE, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "cnn_cost.cli", "check", "page.md"], capture_output=True, text=True,
                          timeout=300, check=False, cwd=tmp_path, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    for place, message in EXPECTED:
        assert any(line.startswith(f"page.md:{place}: {message}") for line in lines), (place, lines)
    assert f"cnn-cost: 3 blocks in 1 files, {len(EXPECTED)} problems" in proc.stderr
    assert "Traceback" not in proc.stderr


# ------------------------------------------------------------- a value written wrongly ----


def test_a_value_written_wrongly_does_not_hide_the_wrong_numbers() -> None:
    """`memory: 5` (no unit) is listed, and the block's wrong numbers beside it are still checked."""
    block = parse_block("input: 3x8x8\nmodel: nn.Conv2d(3, 4, 3)\nexpect:\n  memory: 5\n  params: 1\n  macs: 1\n")
    checked = check(block.expect, evaluate(block))
    assert [(type(f).__name__, f.claim.line) for f in checked.failures] == [
        ("Unverifiable", 4), ("WrongNumber", 5), ("WrongNumber", 6)]
    assert "memory: expected a size with a unit such as" in checked.failures[0].message
    assert checked.failures[1].message == f"params: expected 1, computed {numel(nn.Conv2d(3, 4, 3)):,}"


def test_inline_sizes_carry_their_unit() -> None:
    page = ("```cnn-cost\nid: c\ninput: 3x8x8\nmodel: nn.Conv2d(3, 4, 3)\n```\n\n"
            "Out: `#!cnn c.activations`, weights `#!cnn c.memory`.\n")
    html = converter(Session()).convert(page)
    assert f"{4 * 6 * 6 * 4:,} B" in html  # 4 channels of 6x6 float32 outputs
    assert f"{numel(nn.Conv2d(3, 4, 3)) * 4:,} B" in html
