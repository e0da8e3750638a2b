"""Shared helpers, fixtures and options of the test suite.

- `write_site` writes a small Material site with the plugin; `mkdocs` builds a site for real in a
  subprocess (`mkdocs build`), returning its exit code, output and site directory.
- `build_guide` builds the repository's own guide (docs/) into a temp dir; the session fixture
  `guide` is that build, made once per test session: use it wherever the guide as it is is read.
- `cifar_block` is the small CIFAR-10 block (545,098 parameters) that several tests build.
- `--long` also runs the tests marked `long` (the 200-save serve soak, the damaged-cache builds);
  `make test-long` and CI pass it. `--update-golden` rewrites tests/golden/*.html.

No test writes into the repository: sites, caches and Hypothesis' storage live in temp dirs. The one
exception is tests/test_phone.py's screenshots, kept for review in `.screenshots/` (git ignores it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis.configuration import set_hypothesis_home_dir

ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT = 600  # seconds for one `mkdocs build` of a small site
GUIDE_TIMEOUT = 1200  # the guide evaluates every block of the repository's docs
_HYPOTHESIS_HOME = pytest.StashKey[str]()


# ------------------------------------------------------------------ options ----


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cnn-cost")
    group.addoption("--long", action="store_true", default=False,
                    help="also run the tests marked `long` (the serve soak, the damaged-cache builds)")
    group.addoption("--update-golden", action="store_true", default=False,
                    help="rewrite tests/golden/*.html from the current rendering instead of comparing")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "long: a slow test (serve soak, damaged caches), run only with --long")
    # Hypothesis keeps its storage (example database, constants cache) in ./.hypothesis by default,
    # that is, in the repository: give it a temp dir for the session instead.
    home = tempfile.mkdtemp(prefix="cnn-cost-hypothesis-")
    config.stash[_HYPOTHESIS_HOME] = home
    set_hypothesis_home_dir(home)


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(_HYPOTHESIS_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--long"):
        return
    skip = pytest.mark.skip(reason="long test: run with --long (make test-long)")
    for item in items:
        if item.get_closest_marker("long") is not None:
            item.add_marker(skip)


# -------------------------------------------------------- sites and builds ----


@dataclass
class Built:
    code: int
    out: str
    site: Path

    def html(self, page: str) -> str:
        return (self.site / page).read_text(encoding="utf-8")


def _list_item(item: str) -> str:
    """A YAML list item (`- name` with its options below), indented under a top-level key."""
    return textwrap.indent(textwrap.dedent(item).strip("\n"), "  ") + "\n"


def write_site(root: Path, pages: Mapping[str, str], plugin: str | Mapping[str, Any] = "- cnn-cost",
               extra: str = "", *, theme: str = "material", search: str = "- search", config: str = "") -> Path:
    """A site with search and the plugin in `root`; `pages` maps docs-relative paths to (dedented) text.

    `plugin` is the plugin's YAML list item, or its options as a mapping; `extra` holds more
    `markdown_extensions` items; `theme` names the theme, `search` is search's list item (or empty);
    `config` holds more top-level lines (`strict: true`). Returns `root`.
    """
    (root / "docs").mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        path = root / "docs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    if not isinstance(plugin, str):
        plugin = yaml.safe_dump([{"cnn-cost": dict(plugin)}], sort_keys=False)
    plugins = (_list_item(search) if search else "") + _list_item(plugin)
    (root / "mkdocs.yml").write_text(
        f"site_name: test\n{config}"
        f"theme:\n  name: {theme}\n"
        f"plugins:\n{plugins}"
        "markdown_extensions:\n  - admonition\n  - pymdownx.highlight\n  - pymdownx.superfences\n"
        "  - pymdownx.inlinehilite\n" + extra,
        encoding="utf-8",
    )
    return root


def build_env(**extra: str) -> dict[str, str]:
    """The environment of a build: this process's, without MkDocs 2's banner, with `extra`."""
    return {**os.environ, "NO_MKDOCS_2_WARNING": "1", **extra}


def mkdocs(root: Path, *args: str, site: Path | None = None, cwd: Path | None = None,
           env: Mapping[str, str] | None = None, timeout: float = BUILD_TIMEOUT) -> Built:
    """`mkdocs build` of `root/mkdocs.yml` into `site` (default `root/site`), run in `cwd` (default `root`)."""
    site = site or root / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-f", str(root / "mkdocs.yml"), "-d", str(site), *args],
        cwd=cwd or root, capture_output=True, text=True, timeout=timeout,
        env=dict(env) if env is not None else build_env(), check=False,
    )
    return Built(proc.returncode, proc.stdout + proc.stderr, site)


@pytest.fixture
def site(tmp_path: Path):
    def make(pages: dict[str, str], **kwargs: Any) -> Path:
        return write_site(tmp_path, pages, **kwargs)

    return make


# ----------------------------------------------------------------- the guide ----


def build_guide(out: Path, env: Mapping[str, str] | None = None, **options: Any) -> Built:
    """The repository's own guide, built into `out/site` with --strict, a fresh cache in `out/cache`
    and extra cnn-cost options; `env`: more environment variables (`CNN_COST_ONLY=zh`: one edition).

    The config in `out` INHERITs the guide's mkdocs.yml. MkDocs merges an inherited file with
    mergedeep: mappings merge, lists are replaced, so `plugins:` repeats the guide's plugin list
    with only cnn-cost's options changed. The guide's models (docs_models.py) are imported from
    the repository, without writing bytecode there.
    """
    from mkdocs.utils.yaml import yaml_load

    with (ROOT / "mkdocs.yml").open("rb") as fh:
        parent = yaml_load(fh)
    plugins: list[Any] = []
    for item in parent.get("plugins", []):
        if item == "cnn-cost":
            item = {"cnn-cost": {}}
        if isinstance(item, dict) and "cnn-cost" in item:
            item = {"cnn-cost": {**(item["cnn-cost"] or {}), "cache_dir": str(out / "cache"), **options}}
        plugins.append(item)
    assert any(isinstance(p, dict) and "cnn-cost" in p for p in plugins), "the guide does not use cnn-cost"
    child = {"INHERIT": str(ROOT / "mkdocs.yml"), "docs_dir": str(ROOT / parent.get("docs_dir", "docs")),
             "plugins": plugins}
    out.mkdir(parents=True, exist_ok=True)
    (out / "mkdocs.yml").write_text(yaml.safe_dump(child, sort_keys=False), encoding="utf-8")
    environment = build_env(PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1", **(env or {}))
    return mkdocs(out, "--strict", cwd=ROOT, env=environment, timeout=GUIDE_TIMEOUT)


@pytest.fixture(scope="session")
def guide(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The repository's own guide, built once per test session with --strict and a fresh cache.

    Shared: read it, never write into `guide.site`."""
    return build_guide(tmp_path_factory.mktemp("guide"))


# ------------------------------------------------------------- shared blocks ----

CIFAR_CLAIMS = {"params": "545,098", "0.params": "896", "7.params": "524,416", "output": "[1, 10]"}


def cifar_block(block_id: str = "cifar-net", *, title: bool = True, claims: Mapping[str, str] = CIFAR_CLAIMS) -> str:
    """The body (no fence lines) of the small CIFAR-10 block: 545,098 parameters, 6,128,896 MACs,
    output [1, 10]. `claims` become its `expect:` (in their order), `title` adds its caption line."""
    lines = [f"id: {block_id}", *(["title: A small CIFAR-10 net"] if title else []), "input: 3x32x32",
             "model: |",
             "  nn.Sequential(",
             "      nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),",
             "      nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),",
             "      nn.Flatten(), nn.Linear(64 * 8 * 8, 128), nn.ReLU(), nn.Linear(128, 10))",
             "expect:", *(f"  {path}: {value}" for path, value in claims.items())]
    return "\n".join(lines) + "\n"
