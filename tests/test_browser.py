"""The built site in a real browser: headless Chromium loads guide pages and screenshots them.

The repository's own site (the session's `guide` build, in a temporary directory, never in
the repository) is served on a free loopback port, and three guide pages are opened in
headless Chromium. The rendered DOM must hold the plugin's tables, MathML and no leftover
TeX; for "Where the cost goes" also the SVG share bars. Each page is screenshot to a PNG in
the test's temporary directory.

Without Chromium the tests are skipped, unless the environment variable `CI` is set:
then a missing browser is a failure, so that CI cannot pass by not running them.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import Built

PAGES = ["guide/convolution/", "guide/networks/", "guide/where-cost-goes/"]
PAGES_WITH_SVG = {"guide/where-cost-goes/"}

BROWSER_TIMEOUT = 90
MIN_SCREENSHOT_BYTES = 10_000
WINDOW_SIZE = "1280,2000"

# TeX that should have become MathML: display delimiters and common commands.
RAW_TEX = re.compile(r"\$\$|\\(?:frac|cdot|times|lfloor|rfloor|left|right|text|sum|sqrt)\b|[_^]\{")


MISSING = "Chromium not found (neither /usr/bin/chromium nor `chromium` on PATH)"


def find_chromium() -> str | None:
    """Path of the Chromium binary, or None."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{MISSING}, and CI is set: the browser test must run in CI")
        pytest.skip(f"{MISSING}; install Chromium to run the browser test")
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="module")
def site(chromium: str, guide: Built) -> Path:
    """The repository's site: the session's build of the guide (requested after the Chromium check)."""
    assert guide.code == 0, f"mkdocs build failed:\n{guide.out[-3000:]}"
    return guide.site


def serve(site_dir: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Start serving `site_dir` on a free loopback port; return the server and its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host!s}:{port}/"


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    server, url = serve(site)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def run_chromium(chromium: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium once, with a fresh profile, and return the finished process."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        result = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=BROWSER_TIMEOUT,
            check=False,
        )
    assert result.returncode == 0, f"chromium {args} failed:\n{result.stderr[-3000:]}"
    return result


def visible_text(page: BeautifulSoup) -> str:
    """Text a reader sees in the body, without code, scripts and styles."""
    body = page.body
    assert body is not None, "no <body> in the DOM"
    for hidden in body.find_all(["code", "pre", "script", "style", "noscript", "template", "textarea"]):
        hidden.decompose()
    return body.get_text(" ")


def check_dom(dom: str, page_name: str, want_svg: bool) -> None:
    """The rendered page has the plugin's tables, MathML, no raw TeX, and SVG if wanted."""
    page = BeautifulSoup(dom, "html.parser")
    assert page.select(".cnn-cost table"), f"{page_name}: no table inside a .cnn-cost element"
    assert page.find_all("math"), f"{page_name}: no MathML <math> element"
    assert not page.select(".mathml-error"), f"{page_name}: TeX shown as code (conversion failed)"
    sources = page.select(".cnn-cost > details.cnn-cost-source")
    assert sources and not any(d.has_attr("open") for d in sources), f"{page_name}: block sources not collapsed"
    assert all(d.summary and d.summary.get_text().startswith("Block source (") for d in sources), page_name
    if want_svg:
        assert page.select(".cnn-cost svg"), f"{page_name}: no <svg> inside a .cnn-cost element"
    leftover = sorted({m.group(0) for m in RAW_TEX.finditer(visible_text(page))})
    assert not leftover, f"{page_name}: raw TeX in the visible text: {leftover}"


def screenshot_name(page_name: str) -> str:
    return page_name.strip("/").replace("/", "-") + ".png"


@pytest.mark.parametrize("page_name", PAGES)
def test_page_in_chromium(page_name: str, chromium: str, base_url: str, out_dir: Path) -> None:
    url = base_url + page_name
    dom = run_chromium(chromium, "--dump-dom", url).stdout
    check_dom(dom, page_name, want_svg=page_name in PAGES_WITH_SVG)

    png = out_dir / screenshot_name(page_name)
    run_chromium(chromium, f"--screenshot={png}", f"--window-size={WINDOW_SIZE}", url)
    assert png.is_file(), f"{page_name}: no screenshot written to {png}"
    size = png.stat().st_size
    assert size > MIN_SCREENSHOT_BYTES, f"{page_name}: screenshot {png} is only {size} bytes"
