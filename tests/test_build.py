"""Real MkDocs builds in temp dirs: exit codes, messages, HTML."""

from __future__ import annotations

import logging
import re

import markdown
import pytest
from bs4 import BeautifulSoup
from mkdocs.commands.build import build
from mkdocs.config import load_config

from cnn_cost.cli import converter
from cnn_cost.config import CnnCostConfig
from cnn_cost.errors import CnnCostError
from cnn_cost.markdown import Session
from conftest import CIFAR_CLAIMS, cifar_block, mkdocs, write_site


def cifar(params: str) -> str:
    """A page with the CIFAR block claiming `params` parameters, and two inline references to it."""
    return ("\n# CIFAR\n\n```cnn-cost\n" + cifar_block(claims={**CIFAR_CLAIMS, "params": params}) + "```\n\n"
            "It has `#!cnn cifar-net.params` parameters and `#!cnn cifar-net.macs = 6.13M` MACs.\n")


LAYERS = """
---
title: front matter shifts lines
---
# Layers

```cnn-cost
id: two
input: 3x32x32
layers:
  conv1: Conv2d(3, 32, 3, padding=1)
  pool1: MaxPool2d(2, 2)
expect:
  conv1.params: {conv1}
  conv1.output: [1, 32, 32, 32]
  pool1.output: 1x32x16x16
```
"""


def table_numbers(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [td.get_text() for td in soup.select("div.cnn-cost table td")]


def test_good_site_builds_and_html_holds_numbers(site):
    root = site({"index.md": cifar("545,098"), "layers.md": LAYERS.format(conv1=896)})
    built = mkdocs(root, "--strict")
    assert built.code == 0, built.out
    assert "Traceback" not in built.out
    html = built.html("index.html")
    cells = table_numbers(html)
    for number in ("896", "524,416", "545,098", "884,736", "1,290"):
        assert number in cells, number
    soup = BeautifulSoup(html, "html.parser")
    refs = [s.get_text() for s in soup.select("span.cnn-cost-ref")]
    assert refs == ["545,098", "6.13M"]
    assert "Verified at build time" in html
    assert not soup.select(".admonition.failure")
    assert (built.site / "assets/cnn-cost/cnn-cost.css").is_file()


def test_two_wrong_numbers_on_two_pages_fail_once_with_both_locations(site):
    root = site({"index.md": cifar("546,000"), "layers.md": LAYERS.format(conv1=900)})
    built = mkdocs(root)
    assert built.code == 1, built.out
    assert "docs/index.md:13: cnn-cost block 'cifar-net': params: expected 546,000, computed 545,098" in built.out
    # front matter (3 lines) counts: the claim is on line 13 of the file
    assert "docs/layers.md:13: cnn-cost block 'two': conv1.params: expected 900, computed 896" in built.out
    assert "Traceback" not in built.out
    assert built.out.count("the build fails") == 1


def test_bad_block_reports_line_and_column(site):
    page = "# Bad\n\n```cnn-cost\ninput: 3x8x8\nmodel: |\n  nn.Sequential(\n      nn.Conv2D(3, 8, 3))\n```\n"
    built = mkdocs(site({"index.md": page}))
    assert built.code == 1
    assert "docs/index.md:7:7: cnn-cost block: unknown layer 'nn.Conv2D' (did you mean 'Conv2d'?)" in built.out
    assert "Traceback" not in built.out


def test_shape_mismatch_points_at_the_layer(site):
    page = "```cnn-cost\ninput: 3x32x32\nmodel: |\n  nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(),\n" \
           "                nn.Linear(100, 10))\n```\n"
    built = mkdocs(site({"index.md": page}))
    assert built.code == 1
    assert re.search(r"docs/index\.md:5:17: .*layer 2, Linear\(100, 10\), expects 100 input features "
                     r"\(last dimension\), got 7,?200; layer 1 gives \[1, 7200\]",
                     built.out), built.out


def test_on_error_warn_passes_but_strict_fails(site):
    root = site({"index.md": cifar("1")}, plugin="- cnn-cost:\n    on_error: warn")
    assert mkdocs(root).code == 0
    strict = mkdocs(root, "--strict")
    assert strict.code == 1
    assert "docs/index.md:13:" in strict.out


def test_xfail_block_is_a_demonstration_and_fails_once_corrected(site):
    wrong = """
    ```cnn-cost
    id: alexnet-fc
    xfail: true
    input: [1, 9216]
    model: nn.Linear(9216, 4096)
    expect:
      params: {params}
    ```
    """
    root = site({"index.md": wrong.format(params="37,748,736")})
    built = mkdocs(root, "--strict")
    assert built.code == 0, built.out
    soup = BeautifulSoup(built.html("index.html"), "html.parser")
    demo = soup.select_one(".admonition.warning")
    assert demo is not None
    assert "params: expected 37,748,736, computed 37,752,832" in demo.get_text()
    # the claim corrected: xfail now fails the build
    (root / "docs/index.md").write_text(
        (root / "docs/index.md").read_text().replace("37,748,736", "37,752,832"), encoding="utf-8"
    )
    fixed = mkdocs(root)
    assert fixed.code == 1
    assert "xfail: true, but every claim holds" in fixed.out


def test_serve_mode_shows_red_box_and_does_not_raise(tmp_path, caplog):
    root = write_site(tmp_path, {"index.md": cifar("1")})
    config = load_config(str(root / "mkdocs.yml"), site_dir=str(root / "site"))
    config.plugins.on_startup(command="serve", dirty=False)
    with caplog.at_level(logging.WARNING, logger="mkdocs.plugins.cnn_cost"):
        build(config)  # must not raise
    soup = BeautifulSoup((root / "site/index.html").read_text(), "html.parser")
    box = soup.select_one(".admonition.failure")
    assert box is not None
    assert "params: expected 1, computed 545,098" in box.get_text()
    assert any("index.md:13" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_inline_reference_to_another_page(site):
    root = site({
        "index.md": "# Home\n\nParameters: `#!cnn nets/cifar.md#cifar-net.params = 545,098`; "
                    "ratio `#!cnn nets/cifar.md#cifar-net.params / nets/cifar.md#cifar-net.0.params`.\n",
        "nets/cifar.md": cifar("545,098"),
    })
    built = mkdocs(root, "--strict")
    assert built.code == 0, built.out
    soup = BeautifulSoup(built.html("index.html"), "html.parser")
    assert [s.get_text() for s in soup.select("span.cnn-cost-ref")] == ["545,098", "608.37×"]


def test_unknown_reference_is_an_error_with_line(site):
    built = mkdocs(site({"index.md": "# x\n\nSee `#!cnn nope.params` here.\n"}))
    assert built.code == 1
    assert "docs/index.md:3: `#!cnn nope.params`: no block with id 'nope' on this page" in built.out


def test_repository_guide_builds_strict(guide):
    assert guide.code == 0, guide.out[-3000:]
    assert "ERROR" not in guide.out and "WARNING" not in guide.out, guide.out[-3000:]
    html = guide.html("guide/networks/index.html")
    assert "46,764,746" in html and "138,357,544" in html


def test_config_defaults():
    config = CnnCostConfig()
    config.load_dict({})
    errors, warnings = config.validate()
    assert not errors and not warnings
    assert config.flops == "2mac" and config.on_error == "fail"
    assert config.imports == [] and config.cache_dir == ".cache/cnn-cost" and config.enabled


def plain_markdown() -> markdown.Markdown:
    """The extension as documented for sites without MkDocs plugins (the CLI's converter)."""
    return converter(Session())


def test_extension_without_plugin_renders_and_raises_on_wrong_number():
    html = plain_markdown().convert(cifar("545,098"))
    assert "545,098" in html and "<table>" in html
    with pytest.raises(CnnCostError, match=r"<markdown>:14: cnn-cost block 'cifar-net': params: expected 9, computed"):
        plain_markdown().convert(cifar("9"))


def test_internal_error_is_reported_not_swallowed(monkeypatch):
    """pymdownx hides exceptions from formatters: an internal error must still show and count."""
    from cnn_cost import markdown as cnn_markdown

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cnn_markdown, "parse_block", broken)
    session = Session(on_error="warn")
    html = converter(session).convert(cifar("545,098"))
    assert "internal error (RuntimeError: boom)" in html
    first, *references = session.problems
    assert "internal error (RuntimeError: boom)" in first.message
    assert first.line == 5  # the first line of the block
    # the page's two references to the block then fail too, each reported at its own line
    assert [(p.line, "no block with id 'cifar-net'" in p.message) for p in references] == [(20, True), (20, True)]
