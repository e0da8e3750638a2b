"""Second-round hardening (issue 8): one regression test per case found by an attacker or an unlucky author.

Every test builds a real site with MkDocs (or runs the real parser and evaluator) and checks
the exit code, the message and its place. The right numbers come from PyTorch (`numel()`).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from torch import nn

from cnn_cost.block import parse_block
from cnn_cost.builder import MAX_RECURRENT_LAYERS, MAX_WORK
from cnn_cost.cache import versions
from cnn_cost.errors import CnnCostError
from cnn_cost.evaluate import evaluate
from cnn_cost.markdown import MAX_INLINE
from cnn_cost.session import printable
from conftest import mkdocs, write_site

TINY = """\
```cnn-cost
id: tiny
input: 3x8x8
layers:
  conv: Conv2d(3, 8, 3)
expect:
  params: {params}
```
"""
TINY_PARAMS = sum(p.numel() for p in nn.Conv2d(3, 8, 3).parameters())  # 224


def numel(*modules: nn.Module) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


# ----------------------------------------------- 1. stale numbers marked verified ----

MODELS = "from torch import nn\n\nfrom site_helpers import WIDTH\n\n\ndef Net():\n    return nn.Linear(10, WIDTH)\n"


def model_page(params: int) -> dict[str, str]:
    return {"index.md": f"# M\n\n```cnn-cost\nid: m\nmodel: site_models.Net()\nexpect:\n  params: {params}\n```\n"}


def test_a_helper_module_change_is_never_hidden_by_the_cache(tmp_path: Path) -> None:
    """The key covers every project module the model's code loads, not only the listed file."""
    root = write_site(tmp_path, model_page(numel(nn.Linear(10, 20))), plugin="- cnn-cost:\n    imports: [site_models]")
    (root / "site_models.py").write_text(MODELS, encoding="utf-8")
    (root / "site_helpers.py").write_text("WIDTH = 20\n", encoding="utf-8")
    assert mkdocs(root).code == 0
    (root / "site_helpers.py").write_text("WIDTH = 30\n", encoding="utf-8")  # only the helper changes
    stale = mkdocs(root)
    assert stale.code == 1, stale.out
    assert f"params: expected 220, computed {numel(nn.Linear(10, 30)):,}" in stale.out


def test_a_missing_module_error_is_not_cached(tmp_path: Path) -> None:
    """'No module named' is reported, and once the module is added the block is evaluated again."""
    root = write_site(tmp_path, model_page(220), plugin="- cnn-cost:\n    imports: [site_models]")
    missing = mkdocs(root)
    assert missing.code == 1 and "cannot import 'site_models'" in missing.out, missing.out
    (root / "site_models.py").write_text(MODELS, encoding="utf-8")
    (root / "site_helpers.py").write_text("WIDTH = 20\n", encoding="utf-8")
    found = mkdocs(root)
    assert found.code == 0, found.out


def test_the_cache_key_names_every_package_that_shapes_the_html() -> None:
    for name in ("torch=", "Pygments=", "Markdown=", "pymdown-extensions=", "mkdocs-cnn-cost="):
        assert name in versions()


# ------------------------------------------------------- 2. one line hangs everything ----

def test_a_deep_recurrent_stack_is_refused_before_it_is_built() -> None:
    started = time.perf_counter()
    with pytest.raises(CnnCostError) as info:
        evaluate(parse_block("input: 5x1\nlayers:\n  l: LSTM(1, 1, num_layers=100000)\n"))
    assert time.perf_counter() - started < 5
    assert f"num_layers=100,000 is above the limit of {MAX_RECURRENT_LAYERS:,}" in info.value.message
    assert (info.value.line, info.value.column) == (3, 17)  # at the keyword


def test_a_block_too_costly_to_build_is_refused_before_it_is_built() -> None:
    started = time.perf_counter()
    with pytest.raises(CnnCostError) as info:
        evaluate(parse_block("input: 2x8\nmodel: cnn.Repeat(1000, " + ", ".join(["nn.MultiheadAttention(8, 2)"] * 6)
                             + ")\n"))
    assert time.perf_counter() - started < 5
    assert f"the limit per block is {MAX_WORK:,}" in info.value.message


def test_one_module_repeated_many_times_is_built_once() -> None:
    """`[layer] * 9999` is one module called 9,999 times (Python's meaning): built once, counted once."""
    result = evaluate(parse_block("input: 2x8\nmodel: nn.Sequential(*[nn.MultiheadAttention(8, 2)] * 9999)\n"))
    assert result.params == 4 * (8 * 8 + 8)
    assert len(result.rows) == 9999
    assert sum(r.params for r in result.rows) == result.params


def test_a_long_inline_reference_is_refused_fast(site) -> None:
    root = site({"index.md": TINY.format(params=TINY_PARAMS) + f"\nA `#!cnn tiny.params{' ' * 300_000}b`.\n"})
    started = time.perf_counter()
    built = mkdocs(root)
    assert time.perf_counter() - started < 120
    assert built.code == 1
    assert f"the limit is {MAX_INLINE}" in built.out


def test_a_ratio_with_many_spaces_is_linear() -> None:
    from cnn_cost.markdown import _split_ratio

    started = time.perf_counter()
    assert _split_ratio("a.params" + " " * 300_000 + "b") is None
    assert _split_ratio("a.params / guide/x.md#b.params") == ("a.params", "guide/x.md#b.params")
    assert time.perf_counter() - started < 1


def test_references_read_markdown_pages_only_and_up_to_a_size(site) -> None:
    root = site({"index.md": "# I\n\nA `#!cnn media/video.mp4#x.params` and `#!cnn big.md#x.params`.\n"})
    (root / "docs" / "media").mkdir()
    with (root / "docs" / "media" / "video.mp4").open("wb") as fh:
        fh.truncate(64 * 2**20)  # sparse: nothing is read if the reference is refused first
    with (root / "docs" / "big.md").open("wb") as fh:
        fh.truncate(6 * 2**20)
    built = mkdocs(root)
    assert built.code == 1
    assert "'media/video.mp4' is not a Markdown page" in built.out
    assert "page 'big.md' is 6,291,456 bytes" in built.out


# ------------------------------------------------------------ 3. calls not written ----

def test_only_what_the_module_defines_is_callable(tmp_path: Path) -> None:
    page = {"index.md": "# M\n\n```cnn-cost\nmodel: site_models.load_state_dict_from_url('file:///etc/passwd')\n```\n"}
    root = write_site(tmp_path, page, plugin="- cnn-cost:\n    imports: [site_models]")
    (root / "site_models.py").write_text(
        "from torch.hub import load_state_dict_from_url\nfrom torch import nn\n\n\n"
        "def Net():\n    return nn.Linear(1, 1)\n", encoding="utf-8")
    built = mkdocs(root)
    assert built.code == 1
    assert "defines no model 'load_state_dict_from_url' (it is imported there from 'torch.hub')" in built.out
    assert "docs/index.md:4:" in built.out
    assert not list((tmp_path / "site").rglob("passwd"))


@pytest.mark.parametrize("module", ["builtins", "os", "os.path", "subprocess", "not a name"])
def test_standard_library_modules_are_refused_in_imports(site, module: str) -> None:
    root = site({"index.md": TINY.format(params=TINY_PARAMS)}, plugin=f"- cnn-cost:\n    imports: ['{module}']")
    built = mkdocs(root)
    assert built.code == 1
    assert "cnn-cost: imports:" in built.out and repr(module) in built.out, built.out


# ----------------------------------------------------------- 4. blocks never skipped ----

@pytest.mark.parametrize(("fence", "indent", "message"), [
    ('```cnn-cost title="x"', "", "options on the fence line are not supported (title)"),
    ('```cnn-cost hl_lines="1"', "", "options on the fence line are not supported (hl_lines)"),
    ('```cnn-cost cnn_line="999"', "", "options on the fence line are not supported (cnn_line)"),
    ("```cnn-cost", "   ", "params: expected 1, computed 224"),
    ("``` cnn-cost", "", "params: expected 1, computed 224"),
    ("```{.cnn-cost}", "", "params: expected 1, computed 224"),
    ("~~~cnn-cost", "", "params: expected 1, computed 224"),
], ids=["title", "hl_lines", "forged-line", "indented-3", "space", "braces", "tildes"])
def test_every_cnn_cost_fence_is_a_block(site, fence: str, indent: str, message: str) -> None:
    closing = "~~~" if fence.startswith("~") else "```"
    body = TINY.format(params=1).replace("```cnn-cost", fence, 1).replace("```\n", closing + "\n")
    text = "# Page\n\nSome text.\n\n" + "".join(indent + line + "\n" for line in body.splitlines())
    built = mkdocs(site({"index.md": text}))
    assert built.code == 1, built.out
    assert "0 blocks" not in built.out
    line = 5 if "options" in message else 11  # the fence line, or the claim's line
    assert f"docs/index.md:{line}: " in built.out and message in built.out, built.out
    assert "cnn_line" not in "".join(p.read_text(encoding="utf-8") for p in (built.site).rglob("*.html"))


# ------------------------------------------- 5. text unchanged, lines right, logs clean ----

LITERAL = """\
# Literal

Shown as code: `` `#!cnn tiny.params` `` and

    `#!cnn tiny.params`
    ```cnn-cost

<pre>`#!cnn tiny.params`</pre>

<!-- `#!cnn tiny.params` -->

""" + TINY.format(params=1) + "\nThe block has `#!cnn tiny.params = 225` parameters.\n"


def test_literal_text_is_never_changed_and_lines_stay_right(site) -> None:
    built = mkdocs(site({"index.md": LITERAL}, plugin="- cnn-cost:\n    on_error: warn"))
    assert built.code == 0, built.out
    html = built.html("index.html")
    assert "@" not in BeautifulSoup(html, "html.parser").get_text().replace("@media", "")
    assert "<code>`#!cnn tiny.params`</code>" in html  # the double-backtick span, as written
    lines = LITERAL.split("\n")
    claim = next(i for i, line in enumerate(lines) if line == "  params: 1") + 1
    ref = next(i for i, line in enumerate(lines) if "= 225" in line) + 1
    assert f"docs/index.md:{claim}: cnn-cost block 'tiny': params: expected 1, computed 224" in built.out
    assert f"docs/index.md:{ref}: `#!cnn tiny.params = 225`" in built.out, built.out


def test_control_characters_never_reach_the_log_raw(site) -> None:
    forged = "\x1b[2K\rINFO    -  Documentation built in 0.1 seconds\n"
    text = TINY.format(params=1).replace("id: tiny", f"id: tiny\ntitle: \"{forged.encode('unicode_escape').decode()}\"")
    text += "\nA `#!cnn tiny.params = 9\x1b[31m`.\n"
    built = mkdocs(site({"index.md": text}))
    assert built.code == 1
    assert "\x1b" not in built.out
    assert not re.search(r"^INFO    -  Documentation built", built.out, re.MULTILINE)
    assert "\\x1b" in built.out
    assert printable("a\nb\x9b\u202e") == "a\\nb\\x9b\\u202e"


def test_problem_lines_in_the_cli_come_from_the_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """`cnn-cost check` reads lines from the file itself, front matter and all."""
    from cnn_cost.cli import main

    page = tmp_path / "page.md"
    page.write_text("---\ntitle: x\n---\n\n" + TINY.format(params=1), encoding="utf-8")
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        assert main(["check", str(page)]) == 1
    finally:
        os.chdir(cwd)
    # shown relative to the working directory, as the build shows docs/...
    assert "page.md:11: cnn-cost block 'tiny': params: expected 1, computed 224" in caplog.text
    assert str(page) not in caplog.text


# ------------------------------------------------------------------------- 6. smaller ----

@pytest.mark.parametrize(("layer", "message"), [
    ("Softmax(dim=2**40)", "dim 1099511627776 is out of range for a 4-D input"),
    ("Conv2d(3, 3, 3, stride=(1,)*9999)", "is not one int or 2 ints"),
])
def test_what_pytorch_refuses_on_a_real_device_is_refused(layer: str, message: str) -> None:
    """The meta device accepts these; PyTorch on CPU refuses them, and so do the formulas."""
    with pytest.raises(CnnCostError) as info:
        evaluate(parse_block(f"input: 3x5x5\nlayers:\n  x: {layer}\n"))
    assert message in info.value.message
    assert len(info.value.message) < 400
    assert info.value.line == 3


@pytest.mark.parametrize(("body", "message"), [
    ("input: 4x8x8\nlayers:\n  g: GroupNorm(0, 4)\n", "nn.GroupNorm: integer modulo by zero"),
    ("input: 4\nlayers:\n  forward: Linear(4, 2)\n", "layer name 'forward' is taken by an attribute of nn.Module"),
    ("input: 4\nlayers:\n  training: Linear(4, 2)\n", "layer name 'training' is taken"),
    ("input: 4\nlayers:\n  _modules: Linear(4, 2)\n", "layer name '_modules' is taken"),
])
def test_bad_names_and_arguments_are_errors_at_their_line(body: str, message: str) -> None:
    with pytest.raises(CnnCostError) as info:
        evaluate(parse_block(body))
    assert message in info.value.message and info.value.line == 3


def test_pytorchs_error_text_is_the_same_in_every_run() -> None:
    import subprocess
    import sys

    code = ("from cnn_cost.block import parse_block\nfrom cnn_cost.evaluate import evaluate\ntry:\n"
            "    evaluate(parse_block(\"input: 3x8x8\\nlayers:\\n  c: Conv2d(3, 4, 3, padding_mode='x')\\n\"))\n"
            "except Exception as e:\n    print(e)\n")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2, 3, 4)}
    assert len(outputs) == 1, outputs
    assert "{'circular', 'reflect', 'replicate', 'zeros'}" in outputs.pop()


# ------------------------------------------------------------------ caches stay bounded ----

def test_memory_caches_forget_the_least_recently_used() -> None:
    from cnn_cost.cache import Lru

    lru = Lru(10, len)
    for i in range(20):
        lru[f"k{i}"] = "x" * 3
        _ = lru.get("k0")  # a read does not keep an old key beyond the budget by itself
    assert lru.weight <= 10 and len(lru) == 3
    assert list(lru) == ["k17", "k18", "k19"]


def test_serve_memory_does_not_grow_with_every_save_of_a_large_block() -> None:
    """A large block saved many times keeps at most the budget of rows in memory (budget made small here)."""
    from cnn_cost.cache import MEMORY_ROWS, Cache

    cache = Cache()
    assert cache.memory.budget == MEMORY_ROWS
    cache.memory.budget = 5_000
    for i in range(15):
        block = parse_block(f"input: {i + 1}\nmodel: nn.Sequential(*[nn.ReLU()] * 999)\n")
        cache.put(f"key{i}", evaluate(block))
    assert cache.memory.weight <= 5_000
    assert list(cache.memory) == [f"key{i}" for i in range(10, 15)]


def test_unused_entries_and_leftover_temporary_files_are_pruned(tmp_path: Path) -> None:
    from cnn_cost.cache import KEEP_BUILDS, STALE_TMP, Cache

    cache = Cache(tmp_path)
    result = evaluate(parse_block("input: 3x8x8\nlayers:\n  c: Conv2d(3, 8, 3)\n"))
    cache.begin_build()
    cache.put("old", result)
    cache.put("kept", result)
    cache.end_build(prune=True)
    an_hour_ago = time.time() - 3600
    os.utime(tmp_path / "old.json", (an_hour_ago, an_hour_ago))  # written long before the builds below
    leftover = tmp_path / ".tmp-killed.json"
    leftover.write_text("{", encoding="utf-8")
    os.utime(leftover, (time.time() - STALE_TMP - 60,) * 2)
    for _ in range(KEEP_BUILDS):
        time.sleep(0.01)
        cache = Cache(tmp_path)
        cache.begin_build()
        assert cache.get("kept") is not None
        cache.end_build(prune=True)
    assert (tmp_path / "kept.json").is_file()
    assert not (tmp_path / "old.json").exists(), "an entry unused by the last full builds was kept"
    assert not leftover.exists()


def test_a_symlink_in_the_cache_directory_turns_the_disk_cache_off(site, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = site({"index.md": TINY.format(params=TINY_PARAMS)}, plugin="- cnn-cost:\n    cache_dir: cache")
    (root / "cache").mkdir()
    (root / "cache" / "views").symlink_to(outside)
    built = mkdocs(root)
    assert built.code == 0, built.out
    assert "is or holds a symbolic link: the disk cache is off" in built.out
    assert list(outside.iterdir()) == []


def test_an_unwritable_cache_directory_is_said_once(site) -> None:
    """Three blocks on two pages, each with a result and a rendered view to write: one warning, and
    the build goes on with every block evaluated."""
    other = TINY.format(params=TINY_PARAMS).replace("id: tiny", "id: {name}")
    root = site({"index.md": TINY.format(params=TINY_PARAMS) + "\n" + other.format(name="second"),
                 "other.md": other.format(name="third")}, plugin="- cnn-cost:\n    cache_dir: cache")
    (root / "cache").write_text("a file where the directory should be", encoding="utf-8")
    built = mkdocs(root)
    assert built.code == 0, built.out
    assert built.out.count("cannot write the cache in") == 1, built.out
    assert f"WARNING -  cnn-cost: cannot write the cache in {root / 'cache'}" in built.out
    assert "3 blocks, 3 evaluated" in built.out
    assert built.html("other/index.html").count(f"{TINY_PARAMS:,}") >= 1
    assert (root / "cache").read_text(encoding="utf-8") == "a file where the directory should be"


def test_a_reference_to_a_block_that_does_not_parse_says_so(site) -> None:
    text = "```cnn-cost\nid: net\nmodel: nn.Sequential(nn.Frobnicate())\n```\n\nIt has `#!cnn net.params` parameters.\n"
    built = mkdocs(site({"index.md": text}))
    assert built.code == 1
    assert "block 'net' has a problem (reported at the block)" in built.out
    assert "no block with id" not in built.out


def test_a_block_from_a_snippet_is_reported_at_its_own_file_and_line(tmp_path: Path) -> None:
    page = "# Page\n\nText.\n\n--8<-- \"snippets/net.md\"\n\nThe net has `#!cnn tiny.params = 225` parameters.\n"
    root = write_site(tmp_path, {"index.md": page}, extra="  - pymdownx.snippets\n")
    (root / "snippets").mkdir()
    (root / "snippets" / "net.md").write_text("Included.\n\n" + TINY.format(params=1), encoding="utf-8")
    built = mkdocs(root)
    assert built.code == 1, built.out
    assert "snippets/net.md:9: cnn-cost block 'tiny': params: expected 1, computed 224" in built.out
    assert "docs/index.md:7: `#!cnn tiny.params = 225`" in built.out  # the reference stays the page's
