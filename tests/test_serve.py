"""The live preview with the real `mkdocs serve`: it never stops on a problem, whatever the site's config.

Each test starts `python -m mkdocs serve` on a loopback port, edits files as an author does,
and polls the served pages over HTTP until they show the edit. Covered:

- strict and non-strict sites, and `--strict` on the command line: a wrong number shows a red
  box, the log names `path:line` and both numbers, the next save re-checks, and the server
  keeps answering (MkDocs aborts a strict build on any warning, which used to leave every
  request hanging);
- the project's own `mkdocs.yml` and guide, copied as they are;
- edits of an imported module, and of a helper module it imports, re-evaluate the blocks;
- `--dirty`: a `#!cnn` reference on another page follows the block it names;
- torch is imported in the background after the first build.

The right numbers are computed here with PyTorch (`numel()` of the real modules).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from torch import nn

from conftest import ROOT, mkdocs, write_site
from serving import Server, save, serve

EDIT_DEADLINE = 60.0

PAGE = """\
# Net

```cnn-cost
id: net
input: 3x16x16
layers:
  conv: Conv2d(3, {c}, 3, padding=1)
  relu: ReLU()
  pool: MaxPool2d(2, 2)
  flat: Flatten()
  fc: Linear({c} * 8 * 8, 10)
expect:
  params: {claim}
```

marker-{marker}
"""

MODELS = """\
from torch import nn

from site_helpers import WIDTH


def Head(features: int) -> nn.Module:
    return nn.Sequential(nn.Linear(features, WIDTH), nn.ReLU(), nn.Linear(WIDTH, {out}))
"""

HELPERS = "WIDTH = {width}\n"

MODEL_PAGE = """\
# Imported

```cnn-cost
id: head
input: 16
model: site_models.Head(16)
```

marker-model
"""

REFERENCE_PAGE = """\
# Reference

The net on the first page has `#!cnn index.md#net.params` parameters.

marker-reference
"""


def net_params(c: int) -> int:
    model = nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
                          nn.Linear(c * 8 * 8, 10))
    return sum(p.numel() for p in model.parameters())


def head_params(width: int, out: int) -> int:
    model = nn.Sequential(nn.Linear(16, width), nn.ReLU(), nn.Linear(width, out))
    return sum(p.numel() for p in model.parameters())


def make_site(root: Path, strict: str = "") -> Path:
    """The project in `root/project` (its cache in `root/cache`); `strict` is a top-level config line or empty."""
    pages = {"index.md": PAGE.format(c=8, claim=f"{net_params(8):,}", marker=0), "model.md": MODEL_PAGE,
             "ref.md": REFERENCE_PAGE}
    project = write_site(root / "project", pages, {"imports": ["site_models"], "cache_dir": str(root / "cache")},
                         config=strict)
    (project / "site_models.py").write_text(MODELS.format(out=10), encoding="utf-8")
    (project / "site_helpers.py").write_text(HELPERS.format(width=32), encoding="utf-8")
    return project


def red_boxes(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [" ".join(div.get_text(" ").split()) for div in soup.select("div.admonition.failure")]


def total_params(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    summary = soup.select_one("p.cnn-cost-summary strong")
    assert summary is not None, html[-800:]
    return summary.get_text()


def wrong_then_right(srv: Server, project: Path, *, marker: int = 1) -> None:
    """A wrong claim shows a red box and a warning with path:line; a fix brings the table back."""
    page = project / "docs" / "index.md"
    right = net_params(12)
    before = len(srv.log_text())
    save(page, PAGE.format(c=12, claim=f"{right + 1:,}", marker=marker))
    html, _ = srv.wait_for(f"marker-{marker}", EDIT_DEADLINE)
    boxes = red_boxes(html)
    assert len(boxes) == 1, boxes
    assert f"params: expected {right + 1:,}, computed {right:,}" in boxes[0]
    srv.wait_log(f"docs/index.md:13: cnn-cost block 'net': params: expected {right + 1:,}, computed {right:,}",
                 EDIT_DEADLINE, before)
    log = srv.log_text()[before:]
    assert "Aborted" not in log and "appear stuck" not in log, log
    assert "WARNING" in log  # shown to the author as a warning
    # every other page is still served while the problem stands
    assert srv.get("ref/") is not None and srv.get("model/") is not None
    # a broken block: also a red box, also no abort
    save(page, PAGE.format(c=12, claim="12", marker=marker + 1).replace("Conv2d(3,", "Conv2d(4,"))
    html, _ = srv.wait_for(f"marker-{marker + 1}", EDIT_DEADLINE)
    assert any("expects 4 input channels, got 3; the block's input is [1, 3, 16, 16]" in b
               for b in red_boxes(html)), red_boxes(html)
    # the next save re-checks: fixed, the table is back and verified
    save(page, PAGE.format(c=12, claim=f"{right:,}", marker=marker + 2))
    html, _ = srv.wait_for(f"marker-{marker + 2}", EDIT_DEADLINE)
    assert red_boxes(html) == []
    assert total_params(html) == f"{right:,}"
    assert "Verified at build time" in html
    assert "Aborted" not in srv.log_text() and "Traceback" not in srv.log_text(), srv.log_tail(60)


@pytest.mark.parametrize(("strict", "args"), [
    ("strict: true\n", ()),
    ("", ()),
    ("", ("--strict",)),
    ("strict: false\n", ()),
], ids=["strict-config", "default", "strict-flag", "strict-false"])
def test_preview_survives_problems(tmp_path: Path, strict: str, args: tuple[str, ...]) -> None:
    project = make_site(tmp_path, strict)
    with serve(project, tmp_path, *args, first="marker-0") as srv:
        wrong_then_right(srv, project)
        assert srv.errors == 0 and srv.timeouts == 0, srv.last_error


def test_build_still_fails_on_a_strict_site(tmp_path: Path) -> None:
    """What serve forgives, `mkdocs build` and `mkdocs build --strict` do not."""
    project = make_site(tmp_path, "strict: true\n")
    save(project / "docs" / "index.md", PAGE.format(c=8, claim="1", marker=0))
    for args in ((), ("--strict",)):
        built = mkdocs(project, *args)
        assert built.code == 1, built.out
        assert f"docs/index.md:13: cnn-cost block 'net': params: expected 1, computed {net_params(8):,}" in built.out


def test_preview_of_the_projects_own_site(tmp_path: Path) -> None:
    """The repository's own mkdocs.yml (strict: true) and guide, copied unchanged: a wrong number in the
    convolution page shows in the page and never stops the server."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "mkdocs.yml", project / "mkdocs.yml")
    shutil.copy(ROOT / "docs_models.py", project / "docs_models.py")
    shutil.copytree(ROOT / "docs", project / "docs")
    assert "strict: true" in (project / "mkdocs.yml").read_text(encoding="utf-8")
    page = project / "docs" / "guide" / "convolution.md"
    text = page.read_text(encoding="utf-8")
    lines = text.split("\n")
    # the first `params:` claim of the page's first block, made wrong by one
    at = next(i for i, line in enumerate(lines) if re.match(r"\s+params: [\d,]+\s*$", line))
    claimed = int(lines[at].split(":")[1].replace(",", ""))
    lines[at] = lines[at].replace(lines[at].split(":")[1].strip(), f"{claimed + 1:,}")
    with serve(project, tmp_path, first="convolution", first_path="guide/convolution/") as srv:
        before = len(srv.log_text())
        save(page, "\n".join(lines) + "\n\nmarker-own-site\n")
        html, _ = srv.wait_for("marker-own-site", 120, "guide/convolution/")
        assert any(f"expected {claimed + 1:,}" in b and f"computed {claimed:,}" in b for b in red_boxes(html))
        srv.wait_log(f"docs/guide/convolution.md:{at + 1}: ", EDIT_DEADLINE, before)
        assert srv.get("") is not None  # the home page is served too
        chinese = srv.get("zh/guide/convolution/")  # and the Chinese edition, built beside it on every save
        assert chinese is not None and '<html lang="zh"' in chinese
        save(page, text + "\n\nmarker-own-site-fixed\n")
        html, _ = srv.wait_for("marker-own-site-fixed", 120, "guide/convolution/")
        assert red_boxes(html) == []
        log = srv.log_text()
        assert "Aborted" not in log and "Traceback" not in log, srv.log_tail(60)


def test_imported_modules_are_watched(tmp_path: Path) -> None:
    """Saving the imported module, or a helper module it imports, re-evaluates the blocks that use it."""
    project = make_site(tmp_path, "strict: true\n")
    first = head_params(32, 10)
    with serve(project, tmp_path, first=f"{first:,}", first_path="model/") as srv:
        save(project / "site_models.py", MODELS.format(out=20))
        changed = head_params(32, 20)
        html, _ = srv.wait_for(f"{changed:,}", EDIT_DEADLINE, "model/")
        assert total_params(html) == f"{changed:,}"
        save(project / "site_helpers.py", HELPERS.format(width=48))  # only the helper changes
        helper = head_params(48, 20)
        html, _ = srv.wait_for(f"{helper:,}", EDIT_DEADLINE, "model/")
        assert total_params(html) == f"{helper:,}"
    # a fresh build later must not find a stale result under the new key
    save(project / "docs" / "model.md", MODEL_PAGE.replace("```\n\nmarker", f"expect:\n  params: {helper}\n```\n\nm"))
    built = mkdocs(project)
    assert built.code == 0, built.out
    assert total_params(built.html("model/index.html")) == f"{helper:,}"


def test_dirty_serve_follows_references(tmp_path: Path) -> None:
    """`mkdocs serve --dirty`: the reference page shows the new count of the block it names."""
    project = make_site(tmp_path, "strict: true\n")
    first = net_params(8)
    with serve(project, tmp_path, "--dirty", first=f"{first:,}", first_path="ref/") as srv:
        for i, c in enumerate((16, 24), start=1):
            save(project / "docs" / "index.md", PAGE.format(c=c, claim=f"{net_params(c):,}", marker=i))
            html, _ = srv.wait_for(f"{net_params(c):,}", EDIT_DEADLINE, "ref/")
            assert "marker-reference" in html
        # an imported module changed: its page is rebuilt though its Markdown did not change
        save(project / "site_models.py", MODELS.format(out=30))
        srv.wait_for(f"{head_params(32, 30):,}", EDIT_DEADLINE, "model/")
        log = srv.log_text()
        assert "Aborted" not in log and "appear stuck" not in log, srv.log_tail(60)


def test_torch_is_imported_in_the_background(tmp_path: Path) -> None:
    """With a warm cache the first build imports no torch; the server then imports it in the background,
    so the first edit does not pay for it."""
    project = make_site(tmp_path)
    assert mkdocs(project).code == 0  # fills the cache
    with serve(project, tmp_path, first="marker-0") as srv:
        srv.wait_log("torch imported in the background", 120)
        before = len(srv.log_text())
        save(project / "docs" / "index.md", PAGE.format(c=40, claim=f"{net_params(40):,}", marker=1))
        srv.wait_for("marker-1", EDIT_DEADLINE)
        assert "imported torch and evaluated the first block" not in srv.log_text(), srv.log_tail()
        assert srv.log_text().index("torch imported in the background") < before
