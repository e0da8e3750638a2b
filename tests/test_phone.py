"""The built guide on a phone and on a desktop, light and dark, in headless Chromium.

Each page is copied out of the session's guide build with a small script added before `</body>`:
`#dark` in the URL switches Material's palette to `slate`; after layout the script measures every
per-layer table of the plugin (`.cnn-cost table` that is rendered) and writes the results as JSON
into a `<pre id="cnn-cost-measure">`, which `--dump-dom` returns. No table may be wider than the
viewport unless the compact (card) layout is on (`display: block`); at 390 px every table must be
in that layout, at 1280 px none. Screenshots of every page, width and palette go into a temp
directory whose path the test prints (`pytest -s`).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import test_browser
from conftest import ROOT
from test_browser import run_chromium, serve

chromium = test_browser.chromium  # the browser test's fixture: skips (or fails in CI) without Chromium

# every page of both editions: the English at the site's root, the Chinese under zh/
_EN = ["", *(f"guide/{p.stem}/" for p in sorted((ROOT / "docs" / "guide").glob("*.md")) if ".zh" not in p.suffixes),
       "reference/"]
PAGES = [*_EN, *(f"zh/{page}" for page in _EN)]
SHOTS = ROOT / ".screenshots"  # kept after the run, for review (git ignores it)
WIDTHS = [390, 1280]
PALETTES = ["light", "dark"]
PHONE = 600  # the CSS's breakpoint: at or below it, the compact layout

MEASURE = """
<script>
(function () {
  if (location.hash === "#dark" || location.search.indexOf("dark") >= 0) {
    document.body.setAttribute("data-md-color-scheme", "slate");
  }
  function measure() {
    var vw = document.documentElement.clientWidth, tables = [];
    document.querySelectorAll(".cnn-cost table").forEach(function (t) {
      var r = t.getBoundingClientRect();
      if (!r.width && !r.height) return;  // inside a closed <details>: not rendered
      var cs = getComputedStyle(t);
      var head = getComputedStyle(t.tHead || t);
      tables.push({width: Math.round(r.width), right: Math.round(r.right),
                   compact: cs.display === "block" && head.position === "absolute",
                   scheme: document.body.getAttribute("data-md-color-scheme")});
    });
    var out = document.createElement("pre");
    out.id = "cnn-cost-measure";
    out.textContent = JSON.stringify({viewport: vw, tables: tables,
      sourceOpen: document.querySelectorAll(".cnn-cost details.cnn-cost-source[open]").length,
      sourceClosed: document.querySelectorAll(".cnn-cost details.cnn-cost-source:not([open])").length});
    (window.parent !== window ? window.parent.document : document).body.appendChild(out);
  }
  window.addEventListener("load", function () { setTimeout(measure, 300); });
})();
</script>
"""


@pytest.fixture(scope="module")
def measured_site(chromium: str, guide, tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert guide.code == 0, f"mkdocs build failed:\n{guide.out[-3000:]}"
    site = tmp_path_factory.mktemp("phone") / "site"
    shutil.copytree(guide.site, site)
    for page in PAGES:
        html = site / page / "index.html"
        text = html.read_text(encoding="utf-8")
        html.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    return site


@pytest.fixture(scope="module")
def url(measured_site: Path) -> Iterator[str]:
    server, base = serve(measured_site)
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def shots() -> Path:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir()
    print(f"\nphone/desktop screenshots in {SHOTS}")
    return SHOTS


FRAME = """<!doctype html><html><body style="margin:0">
<iframe src="{src}" style="border:0;width:{width}px;height:2000px"></iframe></body></html>"""


def measure(chromium: str, site: Path, base: str, page: str, width: int, dark: bool) -> dict:
    """The measuring script's results for `page` at `width`: headless Chromium's window is never narrower
    than 500 px, so the page is loaded in an iframe of that width, and the script writes into the frame's parent."""
    frame = site / f"measure-{width}-{int(dark)}-{page.strip('/').replace('/', '-') or 'home'}.html"
    frame.write_text(FRAME.format(src="/" + page + ("?dark" if dark else ""), width=width), encoding="utf-8")
    dom = run_chromium(chromium, "--dump-dom", "--virtual-time-budget=10000", "--window-size=1400,2000",
                       base + frame.name).stdout
    match = re.search(r'<pre id="cnn-cost-measure">(.*?)</pre>', dom, re.S)
    assert match, f"{page} at {width}px: the measuring script wrote nothing"
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.parametrize("palette", PALETTES)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", PAGES)
def test_tables_fit(page: str, width: int, palette: str, chromium: str, measured_site: Path, url: str,
                    shots: Path) -> None:
    page_url = url + page + ("#dark" if palette == "dark" else "")
    result = measure(chromium, measured_site, url, page, width, palette == "dark")
    tables = result["tables"]
    assert tables, f"{page}: no rendered .cnn-cost table"
    assert result["viewport"] <= width
    wide = [t for t in tables if t["width"] > result["viewport"] and not t["compact"]]
    assert not wide, f"{page} at {width}px: tables wider than the viewport without the compact layout: {wide}"
    if width <= PHONE:
        assert all(t["compact"] for t in tables), f"{page} at {width}px: a table without the compact layout"
        assert all(t["right"] <= result["viewport"] for t in tables), f"{page} at {width}px: a card runs off the screen"
    else:
        assert not any(t["compact"] for t in tables), f"{page} at {width}px: the compact layout on a desktop"
    assert {t["scheme"] for t in tables} == {"slate" if palette == "dark" else "default"}
    assert result["sourceClosed"] > 0 and result["sourceOpen"] == 0, f"{page}: block sources not collapsed"

    png = shots / f"{page.strip('/').replace('/', '-') or 'home'}-{width}-{palette}.png"
    run_chromium(chromium, f"--screenshot={png}", f"--window-size={width},2400", "--virtual-time-budget=5000",
                 page_url)
    assert png.is_file() and png.stat().st_size > 10_000, f"no screenshot {png}"
