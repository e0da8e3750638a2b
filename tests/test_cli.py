"""The command-line check: same messages as the build, exit code 1 on any problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GOOD = "# Net\n\n```cnn-cost\nid: fc\ninput: [1, 8]\nmodel: nn.Linear(8, 4)\nexpect:\n  params: {params}\n```\n"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a directory without mkdocs.yml (in the repository it would read the project's site and cache)."""
    path = Path(str(args[-1]))
    return subprocess.run([sys.executable, "-m", "cnn_cost.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120, check=False, cwd=path.parent)


def test_check_passes_and_fails_with_location(tmp_path: Path):
    good = tmp_path / "good.md"
    good.write_text(GOOD.format(params=36), encoding="utf-8")
    bad = tmp_path / "bad.md"
    bad.write_text(GOOD.format(params=35), encoding="utf-8")
    ok = run("check", good)
    assert ok.returncode == 0, ok.stderr
    assert "1 blocks in 1 files, 0 problems" in ok.stderr
    failed = run("check", good, bad)
    assert failed.returncode == 1
    assert "bad.md:8: cnn-cost block 'fc': params: expected 35, computed 36" in failed.stderr
    assert "Traceback" not in failed.stderr


def run_in(cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cnn_cost.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120, check=False, cwd=cwd)


MODEL_PAGE = "# M\n\n```cnn-cost\nid: m\nmodel: site_models.Net()\nexpect:\n  params: {params}\n```\n"


def test_check_without_paths_reads_the_site(tmp_path: Path):
    """No path: the site's mkdocs.yml gives docs_dir and the plugin's options (`imports` included)."""
    from conftest import write_site

    root = write_site(tmp_path / "site", {"index.md": GOOD.format(params=36), "sub/model.md": MODEL_PAGE.format(
        params=11)}, plugin={"imports": ["site_models"]})
    (root / "site_models.py").write_text("from torch import nn\n\n\ndef Net():\n    return nn.Linear(10, 1)\n",
                                         encoding="utf-8")
    ok = run_in(root, "check")
    assert ok.returncode == 0, ok.stderr
    assert "2 blocks in 2 files, 0 problems" in ok.stderr
    (root / "docs" / "sub" / "model.md").write_text(MODEL_PAGE.format(params=12), encoding="utf-8")
    failed = run_in(root, "check")
    assert failed.returncode == 1
    assert "docs/sub/model.md:7: cnn-cost block 'm': params: expected 12, computed 11" in failed.stderr
    quiet = run_in(root, "check", "--quiet")
    assert quiet.returncode == 1 and "blocks in" not in quiet.stderr and "expected 12" in quiet.stderr
    elsewhere = run_in(tmp_path, "check", "--config", root / "mkdocs.yml")
    assert elsewhere.returncode == 1 and "expected 12, computed 11" in elsewhere.stderr


def test_check_takes_directories_and_goes_on_after_an_unreadable_file(tmp_path: Path):
    (tmp_path / "pages" / "deep").mkdir(parents=True)
    (tmp_path / "pages" / "a.md").write_text(GOOD.format(params=36), encoding="utf-8")
    (tmp_path / "pages" / "deep" / "b.md").write_text(GOOD.format(params=35), encoding="utf-8")
    result = run_in(tmp_path, "check", "missing.md", "pages")
    assert result.returncode == 1
    assert "missing.md: cannot read" in result.stderr
    assert "pages/deep/b.md:8: cnn-cost block 'fc': params: expected 35, computed 36" in result.stderr
    assert "2 blocks in 3 files, 2 problems" in result.stderr
    assert "Is a directory" not in result.stderr


def test_version_and_no_site(tmp_path: Path):
    version = run_in(tmp_path, "--version")
    assert version.returncode == 0 and version.stdout.startswith("cnn-cost ")
    nothing = run_in(tmp_path, "check")
    assert nothing.returncode == 2 and "no paths given and no mkdocs.yml" in nothing.stderr


def test_a_reused_markdown_instance_converts_the_same_page_twice():
    """Python-Markdown's reset() starts a new page: block ids do not clash across documents."""
    from cnn_cost.cli import converter
    from cnn_cost.session import Session

    session = Session(on_error="warn")
    md = converter(session)
    first = md.convert(GOOD.format(params=36))
    md.reset()
    second = md.convert(GOOD.format(params=36))
    assert first == second
    assert session.problems == []


NOTES = """# Notes

```cnn-cost
id: c
input: 3x8x8
model: nn.Conv2d(3, 4, 3)
```

!!! note
    An admonition: `#!cnn c.params = 113`.

??? note "Answer"
    A collapsible note: `#!cnn c.params = 114`.
"""


def test_check_reads_claims_inside_notes(tmp_path: Path) -> None:
    """A `#!cnn` claim inside an admonition or a collapsible note is checked, as `mkdocs build` checks it,
    with the site's extensions or without a site."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(NOTES, encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: t\nplugins:\n  - cnn-cost\nmarkdown_extensions:\n  - admonition\n  - pymdownx.details\n"
        "  - pymdownx.superfences\n  - pymdownx.inlinehilite\n", encoding="utf-8")
    for args in ((), ("docs/index.md", "--config", str(tmp_path / "none.yml"))):
        proc = run_in(tmp_path, "check", *args)
        assert proc.returncode == 1, proc.stderr
        assert "docs/index.md:10: `#!cnn c.params = 113`: c.params: expected 113, computed 112" in proc.stderr
        assert "docs/index.md:13: `#!cnn c.params = 114`: c.params: expected 114, computed 112" in proc.stderr
