"""Every host, for real: MkDocs, ProperDocs and Zensical build a small site, Python-Markdown converts a
page (as a library and as `python -m markdown`). In each a wrong number fails with the file and line and
no traceback, and a right one passes with the table in the HTML.

ProperDocs and Zensical run from their own venvs, .venv-hosts/properdocs and .venv-hosts/zensical
(`make hosts`; `make test-long` and CI make them): without them these tests are skipped, under CI they fail.
The rest: the extension's own set-up (with or without the host listing superfences and inlinehilite,
before or after it, with custom fences of its own), `reset()`, and its options.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import markdown
import pytest
from bs4 import BeautifulSoup

from cnn_cost import hosts
from cnn_cost.errors import CnnCostError, OptionError
from cnn_cost.markdown import formatter_config
from conftest import CIFAR_CLAIMS, ROOT, build_env, cifar_block, mkdocs, write_site

HOSTS = ROOT / ".venv-hosts"
FRONT = "---\ntitle: A small CIFAR-10 net\n---\n"


def page(params: str, *, front: bool = True) -> str:
    """The CIFAR block claiming `params` parameters, with two references; its `params` claim is on line 13,
    16 behind the front matter."""
    return ((FRONT if front else "") + "# CIFAR\n\n```cnn-cost\n"
            + cifar_block(claims={**CIFAR_CLAIMS, "params": params}) + "```\n\n"
            "It has `#!cnn cifar-net.params` parameters and `#!cnn cifar-net.macs = 6.13M` MACs.\n")


LAYERS = "# Layers\n\n```cnn-cost\nid: fc\ninput: [1, 100]\nmodel: nn.Linear(100, 10)\nexpect:\n  params: {}\n```\n"


def wrong(path: str, line: int) -> str:
    return f"{path}:{line}: cnn-cost block 'cifar-net': params: expected 9, computed 545,098"


def table_and_refs(html: str) -> tuple[list[str], list[str]]:
    soup = BeautifulSoup(html, "html.parser")
    cells = [td.get_text() for td in soup.select("div.cnn-cost table td")]
    refs = [s.get_text() for s in soup.select("span.cnn-cost-ref")]
    return cells, refs


def assert_right(html: str) -> None:
    cells, refs = table_and_refs(html)
    assert "545,098" in cells and "524,416" in cells, cells
    assert refs == ["545,098", "6.13M"]


def host_command(venv: str, command: str) -> Path:
    path = HOSTS / venv / "bin" / command
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: `make hosts` (a prerequisite of `make test-long`) makes it")
        pytest.skip(f"{path} is missing: run `make hosts`")
    return path


def run(args: list[str | Path], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=build_env(), check=False)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


# ---------------------------------------------------------------- MkDocs ----


def test_mkdocs(tmp_path: Path):
    """The plugin (the other tests build with it at length): here for symmetry."""
    root = write_site(tmp_path, {"index.md": page("9")}, theme="mkdocs", search="")
    failed = mkdocs(root)
    assert failed.code == 1, failed.out
    assert wrong("docs/index.md", 16) in failed.out
    assert "Traceback" not in failed.out
    write_site(tmp_path, {"index.md": page("545,098")}, theme="mkdocs", search="")
    built = mkdocs(root, "--strict")
    assert built.code == 0, built.out
    assert_right(built.html("index.html"))


# ------------------------------------------------------------- ProperDocs ----

PROPERDOCS_YML = "site_name: test\ntheme:\n  name: mkdocs\nplugins:\n  - cnn-cost\n"


def test_properdocs(tmp_path: Path):
    """ProperDocs loads the MkDocs plugin through the `mkdocs.plugins` entry point (it aliases `mkdocs.*`)."""
    properdocs = host_command("properdocs", "properdocs")
    root = write(tmp_path, {"properdocs.yml": PROPERDOCS_YML, "docs/index.md": page("9"),
                            "docs/layers.md": LAYERS.format("1,000")})
    failed = run([properdocs, "build", "-f", "properdocs.yml", "-d", "site"], root)
    out = failed.stdout + failed.stderr
    assert failed.returncode == 1, out
    assert wrong("docs/index.md", 16) in out
    assert "docs/layers.md:8: cnn-cost block 'fc': params: expected 1,000, computed 1,010" in out
    assert "cnn-cost: 2 problems in cnn-cost blocks (listed above); the build fails" in out
    assert "Traceback" not in out
    write(root, {"docs/index.md": page("545,098"), "docs/layers.md": LAYERS.format("1,010")})
    built = run([properdocs, "build", "--strict", "-f", "properdocs.yml", "-d", "site"], root)
    assert built.returncode == 0, built.stdout + built.stderr
    assert_right((root / "site/index.html").read_text(encoding="utf-8"))


# --------------------------------------------------------------- Zensical ----

ZENSICAL_TOML = """
[project]
site_name = "test"

[project.markdown_extensions.cnn_cost]
flops = "{flops}"
"""


def zensical(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([host_command("zensical", "zensical"), "build", *args], root)


def test_zensical_fails_with_every_problem_and_passes_when_right(tmp_path: Path):
    root = write(tmp_path, {"zensical.toml": ZENSICAL_TOML.format(flops="2mac"), "docs/index.md": page("9"),
                            "docs/layers.md": LAYERS.format("1,000")})
    failed = zensical(root)
    out = failed.stdout + failed.stderr
    assert failed.returncode == 1, out
    assert wrong("docs/index.md", 16) in out  # the front matter's lines count
    assert "docs/layers.md:8: cnn-cost block 'fc': params: expected 1,000, computed 1,010" in out
    assert "cnn-cost: 2 problems in cnn-cost blocks (listed above); the build fails" in out
    assert "Traceback" not in out and "RuntimeError" not in out
    again = zensical(root)  # Zensical keeps rendered pages in .cache: a page that failed is not among them
    assert again.returncode == 1 and wrong("docs/index.md", 16) in again.stderr, again.stdout + again.stderr
    write(root, {"docs/index.md": page("545,098"), "docs/layers.md": LAYERS.format("1,010")})
    built = zensical(root)
    assert built.returncode == 0, built.stdout + built.stderr
    assert_right((root / "site/index.html").read_text(encoding="utf-8"))
    cells, _ = table_and_refs((root / "site/layers/index.html").read_text(encoding="utf-8"))
    assert "1,010" in cells


def test_zensical_keeps_its_own_superfences_and_inlinehilite(tmp_path: Path):
    """mkdocs.yml with the host's superfences (a mermaid fence) listed before `cnn_cost`, inlinehilite after."""
    config = textwrap.dedent("""
        site_name: test
        markdown_extensions:
          - pymdownx.superfences:
              custom_fences:
                - name: mermaid
                  class: mermaid
          - cnn_cost
          - pymdownx.inlinehilite
        """)
    mermaid = "\n```mermaid\ngraph LR\n  a --> b\n```\n"
    root = write(tmp_path, {"mkdocs.yml": config, "docs/index.md": page("545,098") + mermaid})
    built = zensical(root)
    assert built.returncode == 0, built.stdout + built.stderr
    html = (root / "site/index.html").read_text(encoding="utf-8")
    assert_right(html)
    assert BeautifulSoup(html, "html.parser").select(".mermaid"), html
    write(root, {"docs/index.md": page("9") + mermaid})
    failed = zensical(root)
    assert failed.returncode == 1 and wrong("docs/index.md", 16) in failed.stderr, failed.stdout + failed.stderr


def test_zensical_bad_option_is_named_without_traceback(tmp_path: Path):
    root = write(tmp_path, {"zensical.toml": ZENSICAL_TOML.format(flops="3mac"), "docs/index.md": page("545,098")})
    failed = zensical(root)
    out = failed.stdout + failed.stderr
    assert failed.returncode == 1, out
    assert "cnn_cost: flops: '3mac' is not one of 2mac, mac, detailed" in out
    assert "Traceback" not in out


# -------------------------------------------------------- Python-Markdown ----


def test_markdown_library():
    md = markdown.Markdown(extensions=["cnn_cost"])
    assert_right(md.convert(page("545,098", front=False)))
    md.reset()
    with pytest.raises(CnnCostError, match=r"^<markdown>:13: cnn-cost block 'cifar-net': params: expected 9, "):
        md.convert(page("9", front=False))


def test_markdown_convert_file_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    write(tmp_path, {"docs/index.md": page("9", front=False)})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CnnCostError) as caught:
        markdown.Markdown(extensions=["cnn_cost"]).convertFile("docs/index.md", output=str(tmp_path / "out.html"))
    assert str(caught.value) == wrong("docs/index.md", 13)


def test_markdown_command_line(tmp_path: Path):
    root = write(tmp_path, {"docs/index.md": page("9", front=False)})
    failed = run([sys.executable, "-m", "markdown", "-x", "cnn_cost", "docs/index.md"], root)
    assert failed.returncode == 1
    assert failed.stderr.strip() == wrong("docs/index.md", 13)  # the problem, and no traceback
    assert not failed.stdout
    write(root, {"docs/index.md": page("545,098", front=False)})
    built = run([sys.executable, "-m", "markdown", "-x", "cnn_cost", "docs/index.md"], root)
    assert built.returncode == 0, built.stderr
    assert_right(built.stdout)


def up_format(src: str, language: str, class_name: str, md: markdown.Markdown) -> str:
    return f"<b class='up'>{src.upper()}</b>"


MERMAID = {"custom_fences": [{"name": "mermaid", "class": "mermaid"}]}
UP = {"custom_inline": [{"name": "up", "class": "up", "format": up_format}]}
SETUPS = {
    "alone": (["cnn_cost"], {}),
    "superfences before": (["pymdownx.superfences", "pymdownx.inlinehilite", "cnn_cost"],
                           {"pymdownx.superfences": MERMAID, "pymdownx.inlinehilite": UP}),
    "superfences after": (["cnn_cost", "pymdownx.superfences", "pymdownx.inlinehilite"],
                          {"pymdownx.superfences": MERMAID, "pymdownx.inlinehilite": UP}),
    "fenced_code before": (["fenced_code", "cnn_cost"], {}),
    "formatter_config as well": ([*formatter_config(), "cnn_cost"], formatter_config()),
}


@pytest.mark.parametrize("setup", list(SETUPS))
def test_extension_set_ups(setup: str):
    """`cnn_cost` alone is the whole set-up; a host's superfences and inlinehilite, listed before or after it,
    keep their own custom fences and inline code."""
    extensions, configs = SETUPS[setup]
    md = markdown.Markdown(extensions=extensions, extension_configs=configs)
    extra = "\n```mermaid\ngraph LR\n```\n\nShout `#!up hello`.\n"
    html = md.convert(page("545,098", front=False) + extra)
    assert_right(html)
    soup = BeautifulSoup(html, "html.parser")
    if configs.get("pymdownx.superfences") is MERMAID:
        assert soup.select(".mermaid") and soup.select_one("b.up").get_text() == "HELLO"
    md.reset()
    with pytest.raises(CnnCostError, match=r"^<markdown>:13: cnn-cost block 'cifar-net': params: expected 9"):
        md.convert(page("9", front=False) + extra)
    md.reset()
    assert_right(md.convert(page("545,098", front=False)))


def test_reset_starts_a_new_page():
    """A reused converter: without reset() the second page sees the first one's ids; with it, a clean page."""
    md = markdown.Markdown(extensions=["cnn_cost"])
    assert_right(md.convert(page("545,098", front=False)))
    with pytest.raises(CnnCostError, match="duplicate block id 'cifar-net'"):
        md.convert(page("545,098", front=False))
    md.reset()
    assert_right(md.convert(page("545,098", front=False)))
    md.reset()
    with pytest.raises(CnnCostError, match="expected 9"):
        md.convert(page("9", front=False))
    md.reset()  # a page that failed leaves nothing behind
    assert_right(md.convert(page("545,098", front=False)))


def test_fences_read_by_another_extension_warn_once(caplog: pytest.LogCaptureFixture,
                                                    monkeypatch: pytest.MonkeyPatch):
    """`fenced_code` listed after `cnn_cost` takes the fences back: the blocks render as plain code, and a
    warning says so once, with the fix; `#!cnn` references are still checked."""
    monkeypatch.setattr(hosts, "_warned", set())
    md = markdown.Markdown(extensions=["cnn_cost", "fenced_code"])
    text = page("545,098", front=False).replace("`#!cnn cifar-net.params` parameters and ", "")
    text = text.replace("`#!cnn cifar-net.macs = 6.13M`", "`#!cnn other.params`")
    with caplog.at_level(logging.WARNING, logger="mkdocs.plugins.cnn_cost"):
        for _ in range(2):
            md.reset()
            with pytest.raises(CnnCostError, match="no block with id 'other'"):
                md.convert(text)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "`cnn-cost` blocks render as plain code, unchecked: markdown.extensions.fenced_code" in warnings[0]
    assert "pymdownx.superfences" in warnings[0]
    md.reset()
    html = md.convert(page("9", front=False).split("It has")[0])  # a wrong claim in plain code: not checked
    assert "language-cnn-cost" in html and "<table" not in html


def test_options_are_validated():
    with pytest.raises(OptionError, match=r"cnn_cost: flops: '3mac' is not one of 2mac, mac, detailed"):
        markdown.Markdown(extensions=["cnn_cost"], extension_configs={"cnn_cost": {"flops": "3mac"}})
    with pytest.raises(ValueError, match=r"cnn_cost: unknown option 'flop' \(did you mean 'flops'\?\)"):
        markdown.Markdown(extensions=["cnn_cost"], extension_configs={"cnn_cost": {"flop": "mac"}})
    with pytest.raises(OptionError, match=r"cnn_cost: imports: a list of module names"):
        markdown.Markdown(extensions=["cnn_cost"], extension_configs={"cnn_cost": {"imports": "docs_models"}})
