"""The stylesheet with MkDocs' default theme as well as with Material.

A small site (a block with a wrong claim shown with `on_error: warn`, a deliberate mistake, and a
good block) is built with `theme: mkdocs` and with `theme: material`. The page must link the
plugin's CSS; in headless Chromium (at 1280 px and 390 px) the error box must be red with
role="alert", the xfail box yellow, formula lines one per line (display: block), and the block's
source collapsed. Screenshots go into a temp directory the test prints (`pytest -s`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import test_browser
from conftest import mkdocs, write_site
from test_browser import run_chromium, serve
from test_phone import FRAME

chromium = test_browser.chromium  # the browser test's fixture: skips (or fails in CI) without Chromium

PAGE = """
# Boxes

```cnn-cost
id: wrong
input: [1, 9216]
model: nn.Linear(9216, 4096)
expect:
  params: 37,748,736
```

```cnn-cost
id: demo
xfail: true
input: [1, 9216]
model: nn.Linear(9216, 4096)
expect:
  params: 37,748,736
```

```cnn-cost
id: good
input: 3x8x8
model: nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 10))
expect:
  params: 2,682
```
"""

STYLES = """
<script>
window.addEventListener("load", function () { setTimeout(function () {
  function style(sel) {
    var el = document.querySelector(sel);
    if (!el) return null;
    var cs = getComputedStyle(el);
    return {color: cs.color, background: cs.backgroundColor, display: cs.display, border: cs.borderLeftStyle,
            role: el.getAttribute("role")};
  }
  var tables = [];
  document.querySelectorAll(".cnn-cost table").forEach(function (t) {
    var r = t.getBoundingClientRect();
    if (r.width) tables.push({width: Math.round(r.width), display: getComputedStyle(t).display});
  });
  var out = document.createElement("pre");
  out.id = "cnn-cost-measure";
  out.textContent = JSON.stringify({viewport: document.documentElement.clientWidth, tables: tables,
    error: style(".cnn-cost-error"), xfail: style(".cnn-cost-xfail"), formula: style(".cnn-cost-formula"),
    source: style(".cnn-cost details.cnn-cost-source:not([open]) .highlight")});
  (window.parent !== window ? window.parent.document : document).body.appendChild(out);
}, 300); });
</script>
"""

RED = "rgb(253, 236, 234)"  # #fdecea, the error box's background in cnn-cost.css
YELLOW = "rgb(255, 248, 225)"  # #fff8e1, the xfail box's


@pytest.fixture(scope="module", params=["mkdocs", "material"])
def built(request: pytest.FixtureRequest, chromium: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str]]:
    theme = request.param
    root = write_site(tmp_path_factory.mktemp(f"theme-{theme}"), {"index.md": PAGE},
                      plugin={"on_error": "warn", "cache_dir": ""}, theme=theme, search="")
    result = mkdocs(root)
    assert result.code == 0, result.out[-3000:]
    html = result.site / "index.html"
    html.write_text(html.read_text(encoding="utf-8").replace("</body>", STYLES + "</body>"), encoding="utf-8")
    server, base = serve(result.site)
    try:
        yield theme, result.site, base
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("theme-screenshots")
    print(f"\ntheme screenshots in {out}")
    return out


def test_css_is_linked(built: tuple[str, Path, str]) -> None:
    _, site, _ = built
    page = BeautifulSoup((site / "index.html").read_text(encoding="utf-8"), "html.parser")
    links = [link.get("href", "") for link in page.find_all("link", rel="stylesheet")]
    assert any(href.endswith("assets/cnn-cost/cnn-cost.css") for href in links), links
    assert (site / "assets" / "cnn-cost" / "cnn-cost.css").is_file()
    assert page.select_one(".cnn-cost-error[role=alert]") and page.select_one(".cnn-cost-xfail[role=note]")


@pytest.mark.parametrize("width", [1280, 390])
def test_styles_apply(built: tuple[str, Path, str], width: int, chromium: str, shots: Path) -> None:
    theme, site, base = built
    frame = site / f"frame-{width}.html"
    frame.write_text(FRAME.format(src="/index.html", width=width), encoding="utf-8")
    dom = run_chromium(chromium, "--dump-dom", "--virtual-time-budget=5000", "--window-size=1400,2000",
                       base + frame.name).stdout
    match = re.search(r'<pre id="cnn-cost-measure">(.*?)</pre>', dom, re.S)
    assert match, f"{theme}: the measuring script wrote nothing"
    got = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert got["error"]["background"] == RED and got["error"]["role"] == "alert", (theme, got["error"])
    assert got["xfail"]["background"] == YELLOW and got["xfail"]["border"] == "dashed", (theme, got["xfail"])
    assert got["formula"]["display"] == "block", (theme, got["formula"])
    assert got["source"]["display"] != "none" and got["source"] is not None  # in the DOM, inside a closed <details>
    wide = [t for t in got["tables"] if t["width"] > got["viewport"] and t["display"] != "block"]
    assert not wide, (theme, width, got["tables"])
    if width == 390:
        assert all(t["display"] == "block" for t in got["tables"]), (theme, got["tables"])

    png = shots / f"{theme}-{width}.png"
    run_chromium(chromium, f"--screenshot={png}", f"--window-size={width},1600", "--virtual-time-budget=5000",
                 base + "index.html")
    assert png.is_file()
