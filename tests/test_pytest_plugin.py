"""The authors' toolchains: the pytest plugin (`pytest --cnn-cost docs/`, run as a subprocess on temp docs) and
the pre-commit hook (`.pre-commit-hooks.yaml`, run by `pre-commit try-repo`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

INDEX = """\
# Index

```cnn-cost
id: fc
input: [1, 8]
model: nn.Linear(8, 4)
expect:
  params: 36
```

```cnn-cost
id: wrong
model: nn.Linear(8, 4)
expect:
  params: 35
```

```cnn-cost
id: demo
model: nn.Linear(8, 4)
expect: {params: 35}
xfail: true
```

```cnn-cost
id: holds
xfail: true
model: nn.Linear(8, 4)
expect:
  params: 36
```

The net has `#!cnn fc.params = 36` parameters (`#!cnn wrong.params` for the other).

It does `#!cnn fc.macs = 33` MACs.

````markdown
```cnn-cost
model: nn.Linear(8, 4)
expect:
  params: 1
```
````
"""

MODEL_PAGE = "# M\n\n```cnn-cost\nid: m\nmodel: site_models.Net()\nexpect:\n  params: 11\n```\n"

# records, at the end of collection, whether torch (or the package's evaluator) was imported
PROBE = """\
import sys
from pathlib import Path


def pytest_collection_finish(session):
    imported = [m for m in ("torch", "cnn_cost.block", "cnn_cost.session") if m in sys.modules]
    Path(__file__).with_name("imported-at-collection.txt").write_text(" ".join(imported))
"""


def pytest_run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], capture_output=True,
                          text=True, timeout=300, check=False, cwd=cwd, env=env)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # this directory is pytest's rootdir
    (tmp_path / "conftest.py").write_text(PROBE, encoding="utf-8")
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "index.md").write_text(INDEX, encoding="utf-8")
    (tmp_path / "docs" / "notes.md").write_text("# Notes\n\nNo block here.\n", encoding="utf-8")
    return tmp_path


def test_each_block_is_an_item_named_path_line(docs: Path):
    collected = pytest_run(docs, "--cnn-cost", "--collect-only", "-q", "docs")
    assert collected.returncode == 0, collected.stdout + collected.stderr
    names = [line for line in collected.stdout.splitlines() if "::" in line]
    assert names == [f"docs/index.md::docs/index.md:{line}" for line in (3, 11, 18, 25)] + [
        "docs/index.md::docs/index.md:33",  # the #!cnn references of a line: one item
        "docs/index.md::docs/index.md:35",
    ]  # the block shown inside the ````markdown example is no block; notes.md has none
    assert "torch" not in (docs / "imported-at-collection.txt").read_text()  # torch: by the first block run


def test_items_pass_fail_and_xfail_as_the_build_would(docs: Path):
    done = pytest_run(docs, "--cnn-cost", "-rA", "docs")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert re.search(r"=+ 3 failed, 2 passed, 1 xfailed in ", out), out
    assert "PASSED docs/index.md::docs/index.md:3\n" in out
    assert "PASSED docs/index.md::docs/index.md:33\n" in out
    assert "XFAIL docs/index.md::docs/index.md:18 - xfail: true: params: expected 35, computed 36" in out
    failures = out[out.index("= FAILURES ="):out.index("short test summary")]
    assert failures.count("cnn-cost block docs/index.md:") == 2
    assert "docs/index.md:15: cnn-cost block 'wrong': params: expected 35, computed 36\n" in failures
    assert ("docs/index.md:26: cnn-cost block 'holds': xfail: true, but every claim holds: correct the block or "
            "remove `xfail`\n") in failures
    assert "docs/index.md:35: `#!cnn fc.macs = 33`: fc.macs: expected 33, computed 32\n" in failures
    assert "Traceback" not in out and "def runtest" not in out  # the build's messages, no Python frames
    assert "FAILED docs/index.md::docs/index.md:11 - docs/index.md:15: " in out


def test_the_site_config_gives_imports(docs: Path):
    (docs / "docs" / "sub" / "model.md").write_text(MODEL_PAGE, encoding="utf-8")
    (docs / "site_models.py").write_text("from torch import nn\n\n\ndef Net():\n    return nn.Linear(10, 1)\n",
                                         encoding="utf-8")
    (docs / "mkdocs.yml").write_text("site_name: t\nplugins:\n  - cnn-cost:\n      imports: [site_models]\n",
                                     encoding="utf-8")
    refused = pytest_run(docs, "--cnn-cost", "docs/sub")
    assert refused.returncode == 1
    assert "docs/sub/model.md:5:8: cnn-cost block 'm': 'site_models.Net': module 'site_models' is not in" in \
        refused.stdout
    done = pytest_run(docs, "--cnn-cost", "--cnn-cost-config", "mkdocs.yml", "docs/sub")
    assert done.returncode == 0, done.stdout
    assert re.search(r"=+ 1 passed in ", done.stdout)
    missing = pytest_run(docs, "--cnn-cost", "--cnn-cost-config", "nowhere.yml", "docs/sub")
    assert missing.returncode == 4 and "--cnn-cost-config: no file nowhere.yml" in missing.stderr


def test_without_the_option_the_plugin_does_nothing(docs: Path):
    (docs / "test_probe.py").write_text(
        "import sys\n\n\ndef test_nothing_imported():\n"
        "    assert 'cnn_cost.pytest_plugin' in sys.modules\n"
        "    assert not {'torch', 'cnn_cost.block', 'cnn_cost.session'} & set(sys.modules)\n", encoding="utf-8")
    done = pytest_run(docs, "docs", "test_probe.py")
    assert done.returncode == 0, done.stdout
    assert re.search(r"=+ 1 passed in ", done.stdout)
    assert (docs / "imported-at-collection.txt").read_text() == ""


def test_this_projects_own_collection_is_unchanged():
    """Markdown files among the project's tests (golden files) are not collected; the items are the same."""
    args = ("--collect-only", "-q", "tests/test_cli.py", "tests/golden")
    with_plugin = pytest_run(ROOT, *args)
    without = pytest_run(ROOT, "-p", "no:cnn_cost", *args)
    assert with_plugin.returncode == without.returncode == 0, with_plugin.stdout
    assert any(ROOT.joinpath("tests", "golden").glob("*.md"))

    def items(out: str) -> list[str]:
        return [line for line in out.splitlines() if "::" in line]

    assert items(with_plugin.stdout) == items(without.stdout) != []


# --------------------------------------------------------------------------------- pre-commit ----


GOOD = "# Net\n\n```cnn-cost\nid: fc\ninput: [1, 8]\nmodel: nn.Linear(8, 4)\nexpect:\n  params: 36\n```\n"


def test_the_pre_commit_hook_definition():
    import yaml

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hooks == [{"id": "cnn-cost-check", "name": "cnn-cost check", "description": hooks[0]["description"],
                      "entry": "cnn-cost check", "language": "system", "files": r"\.md$", "pass_filenames": True}]


def test_the_pre_commit_hook_runs_with_try_repo(tmp_path: Path):
    """`pre-commit try-repo` on a repository holding this one's .pre-commit-hooks.yaml (try-repo on this
    working tree would leave out an uncommitted file), in a git repository with a passing and a failing page."""
    pre_commit = Path(sys.executable).with_name("pre-commit")
    if not pre_commit.exists() or shutil.which("git") is None:
        pytest.skip("pre-commit (the `test` extra) or git is not installed")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

    def git(cwd: Path, *args: str) -> None:
        subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=60)

    hooks = tmp_path / "hooks"
    hooks.mkdir()
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", hooks)
    git(hooks, "init", "-q")
    git(hooks, "add", ".")
    git(hooks, "commit", "-q", "-m", "hooks")
    site = tmp_path / "site"
    (site / "docs").mkdir(parents=True)
    (site / "docs" / "good.md").write_text(GOOD, encoding="utf-8")
    (site / "docs" / "bad.md").write_text(GOOD.replace("params: 36", "params: 35"), encoding="utf-8")
    (site / "notes.txt").write_text("not Markdown\n", encoding="utf-8")
    git(site, "init", "-q")
    git(site, "add", ".")

    def try_repo(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(pre_commit), "try-repo", str(hooks), "cnn-cost-check", *args], cwd=site, env=env,
                              capture_output=True, text=True, timeout=300, check=False)

    good = try_repo("--files", "docs/good.md", "notes.txt")
    assert good.returncode == 0, good.stdout
    assert re.search(r"cnn-cost check\.+Passed", good.stdout)
    every = try_repo("--all-files")
    assert every.returncode == 1, every.stdout
    assert re.search(r"cnn-cost check\.+Failed", every.stdout)
    assert "docs/bad.md:8: cnn-cost block 'fc': params: expected 35, computed 36" in every.stdout
    assert "cnn-cost: 2 blocks in 2 files, 1 problem" in every.stdout  # notes.txt is not passed: files \.md$
