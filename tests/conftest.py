"""Shared helpers: make a small MkDocs site in a temp dir and build it for real."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Built:
    code: int
    out: str
    site: Path

    def html(self, page: str) -> str:
        return (self.site / page).read_text(encoding="utf-8")


def write_site(root: Path, pages: dict[str, str], plugin: str = "- cnn-cost", extra: str = "") -> Path:
    """A Material site with the plugin; `pages` maps docs-relative paths to Markdown."""
    (root / "docs").mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        path = root / "docs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    plugin_yaml = textwrap.indent(textwrap.dedent(plugin).strip("\n"), "  ")
    (root / "mkdocs.yml").write_text(
        "site_name: test\n"
        "theme:\n  name: material\n"
        f"plugins:\n  - search\n{plugin_yaml}\n"
        "markdown_extensions:\n  - admonition\n  - pymdownx.highlight\n  - pymdownx.superfences\n"
        "  - pymdownx.inlinehilite\n" + extra,
        encoding="utf-8",
    )
    return root


def mkdocs(root: Path, *args: str, timeout: float = 300) -> Built:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-f", str(root / "mkdocs.yml"), "-d", str(root / "site"), *args],
        cwd=root, capture_output=True, text=True, timeout=timeout, env=env, check=False,
    )
    return Built(proc.returncode, proc.stdout + proc.stderr, root / "site")


@pytest.fixture
def site(tmp_path: Path):
    def make(pages: dict[str, str], **kwargs: str) -> Path:
        return write_site(tmp_path, pages, **kwargs)

    return make


def build_guide(out: Path, **options: str) -> Built:
    """The repository's own guide, built into `out` with --strict, a fresh cache and extra plugin options."""
    extra = "".join(f"      {name}: {value}\n" for name, value in options.items())
    config = out / "mkdocs.yml"
    config.write_text(
        f"INHERIT: {ROOT / 'mkdocs.yml'}\ndocs_dir: {ROOT / 'docs'}\n"
        f"plugins:\n  - search\n  - cnn-cost:\n      imports: [docs_models]\n      cache_dir: {out / 'cache'}\n{extra}",
        encoding="utf-8",
    )
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(out / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=900, env=env, check=False,
    )
    return Built(proc.returncode, proc.stdout + proc.stderr, out / "site")


@pytest.fixture(scope="session")
def guide(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The repository's own guide, built once per test session with --strict and a fresh cache."""
    return build_guide(tmp_path_factory.mktemp("guide"))
