"""The wheel: built from the source tree as pip builds it, its metadata, and a real build with it installed.

The wheel is built by `pip wheel` with build isolation (the `[build-system]` requirements of
pyproject.toml, fetched from the index) from a copy of the tree, so nothing is written into the
repository, and the build prints no warning. It is installed with `--no-deps` into a fresh venv;
the dependencies (torch, MkDocs, Material...) come from this test's own environment through a
`.pth` line added after the install, instead of a second 1 GB install of torch: the test checks
that they satisfy the wheel's Requires-Dist, and that the plugin, its entry points and its CSS
are the wheel's, not the source tree's.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from email.message import Message
from email.parser import Parser
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from conftest import ROOT, cifar_block, write_site

PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT: dict[str, Any] = PYPROJECT["project"]
TIMEOUT = 600
# pip's own notes about this machine's pip configuration (a find-links folder that is not there)
PIP_NOISE = re.compile(r"Location '[^']*' is ignored: it is neither a file nor a directory")


def _env(**extra: str) -> dict[str, str]:
    """A clean environment: no PYTHONPATH (the source tree must not leak in), bytecode allowed (with
    PYTHONDONTWRITEBYTECODE, distutils warns that it skips byte-compiling)."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONHOME"}}
    return {**env, "NO_MKDOCS_2_WARNING": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra}


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT,
                          env=_env(), check=False)


def _warnings(output: str) -> list[str]:
    return [line for line in output.splitlines()
            if re.search(r"(?i)warn|deprecat|^\s*!!\s*$", line) and not PIP_NOISE.search(line)]


class Wheel:
    def __init__(self, path: Path, output: str) -> None:
        self.path = path
        self.output = output
        with zipfile.ZipFile(path) as archive:
            self.names = set(archive.namelist())
            info = next(n for n in self.names if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
            self.dist_info = info.split("/")[0]
            self.metadata: Message = Parser().parsestr(archive.read(info).decode("utf-8"))
            self.entry_points = archive.read(f"{self.dist_info}/entry_points.txt").decode("utf-8")
            self.css = archive.read("cnn_cost/assets/cnn-cost.css")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Wheel:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "plugin", source / "plugin", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", work / "dist", source, cwd=work)
    assert built.returncode == 0, built.stdout + built.stderr
    wheels = list((work / "dist").glob("*.whl"))
    assert len(wheels) == 1, wheels
    return Wheel(wheels[0], built.stdout + built.stderr)


def test_the_wheel_builds_without_a_warning(wheel: Wheel) -> None:
    assert "setuptools" in wheel.output  # the backend's output is there to be read (pip -v)
    assert _warnings(wheel.output) == []


def test_the_wheel_holds_every_module_the_css_and_the_license(wheel: Wheel) -> None:
    modules = {p.relative_to(ROOT / "plugin").as_posix() for p in (ROOT / "plugin" / "cnn_cost").rglob("*.py")}
    assert modules - wheel.names == set()
    assert {"cnn_cost/assets/cnn-cost.css", "cnn_cost/py.typed", f"{wheel.dist_info}/licenses/LICENSE"} <= wheel.names
    assert wheel.css == (ROOT / "plugin" / "cnn_cost" / "assets" / "cnn-cost.css").read_bytes()
    assert not [n for n in wheel.names if n.startswith(("tests/", "docs/", "bench/"))]


def test_the_wheel_metadata(wheel: Wheel) -> None:
    meta = wheel.metadata
    assert meta["Name"] == PROJECT["name"]
    assert meta["Version"] == PROJECT["version"]
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["Requires-Python"] == PROJECT["requires-python"]
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in SpecifierSet(meta["Requires-Python"])
    classifiers = meta.get_all("Classifier") or []
    assert classifiers == PROJECT["classifiers"]
    assert {"Framework :: MkDocs", "Topic :: Documentation",
            "Topic :: Scientific/Engineering :: Artificial Intelligence"} <= set(classifiers)
    assert f"Programming Language :: Python :: {sys.version_info.major}.{sys.version_info.minor}" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]  # the SPDX expression says it
    # project URLs: exactly pyproject's, absolute https addresses, no placeholder
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert urls == PROJECT.get("urls", {})  # none yet: no public address (README, "Quick start")
    for url in urls.values():
        assert re.fullmatch(r"https://[^\s/]+\.[^\s/]+/\S*", url), url
        assert not re.search(r"(?i)example\.|todo|xxx|your-?name|placeholder", url), url
    assert meta["Description-Content-Type"] == "text/markdown"
    assert str(meta.get_payload()).strip() == (ROOT / "README.md").read_text(encoding="utf-8").strip()


def _expected_requirements() -> set[str]:
    expected = {str(Requirement(r)) for r in PROJECT["dependencies"]}
    for extra, requirements in PROJECT.get("optional-dependencies", {}).items():
        expected |= {str(Requirement(f'{r}; extra == "{extra}"')) for r in requirements}
    return expected


def test_the_wheel_requirements_and_entry_points(wheel: Wheel) -> None:
    assert {str(Requirement(r)) for r in wheel.metadata.get_all("Requires-Dist") or []} == _expected_requirements()
    assert wheel.metadata.get_all("Provides-Extra") == list(PROJECT.get("optional-dependencies", {}))
    parser = configparser.ConfigParser(delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(wheel.entry_points)
    found = {section: dict(parser[section]) for section in parser.sections()}
    expected = {group: dict(points) for group, points in PROJECT.get("entry-points", {}).items()}
    if "scripts" in PROJECT:
        expected["console_scripts"] = dict(PROJECT["scripts"])
    assert found == expected
    assert found["mkdocs.plugins"]["cnn-cost"] == "cnn_cost.mkdocs_plugin:CnnCostPlugin"
    assert found["markdown.extensions"]["cnn_cost"] == "cnn_cost.markdown:CnnCostExtension"


PROBE = """
import json, sys
from importlib import metadata
import cnn_cost
(plugin,) = metadata.entry_points(group="mkdocs.plugins", name="cnn-cost")
(extension,) = metadata.entry_points(group="markdown.extensions", name="cnn_cost")
print(json.dumps({"module": cnn_cost.__file__, "version": cnn_cost.__version__,
                  "plugin": plugin.value, "plugin_dist": str(plugin.dist.locate_file("")),
                  "extension_dist": str(extension.dist.locate_file("")),
                  "plugin_class": plugin.load().__module__}))
"""


def test_the_installed_wheel_builds_a_site(wheel: Wheel, tmp_path: Path) -> None:
    fresh = tmp_path / "venv"
    venv.create(fresh, with_pip=True)
    python = fresh / "bin" / "python"
    installed = _run(python, "-m", "pip", "install", "--no-deps", "--no-index", wheel.path, cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert _warnings(installed.stdout + installed.stderr) == []
    purelib = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                        cwd=tmp_path).stdout.strip())
    assert purelib.is_relative_to(fresh)
    # the dependencies: this environment's packages, after the venv's own (a plain path line: the
    # source tree's editable install, a .pth file there, is not loaded)
    (purelib / "zz-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    for requirement in map(Requirement, wheel.metadata.get_all("Requires-Dist") or []):
        if requirement.marker is None or requirement.marker.evaluate({"extra": "material"}):
            version = metadata.version(requirement.name)
            assert requirement.specifier.contains(version, prereleases=True), f"{requirement}: {version} here"

    probe = _run(python, "-c", PROBE, cwd=tmp_path)
    assert probe.returncode == 0, probe.stdout + probe.stderr
    found = json.loads(probe.stdout)
    assert Path(found["module"]).is_relative_to(purelib), found  # the wheel's cnn_cost, not plugin/
    assert found["version"] == PROJECT["version"]
    assert Path(found["plugin_dist"]) == purelib and Path(found["extension_dist"]) == purelib, found
    assert found["plugin_class"] == "cnn_cost.mkdocs_plugin"
    printed = _run(fresh / "bin" / "cnn-cost", "--version", cwd=tmp_path)
    assert printed.stdout.strip() == f"cnn-cost {PROJECT['version']}", printed.stdout + printed.stderr

    page = "# CIFAR\n\n```cnn-cost\n" + cifar_block() + "```\n\nIt has `#!cnn cifar-net.params` parameters.\n"
    root = write_site(tmp_path / "site", {"index.md": page}, config="strict: true\n")
    built = _run(python, "-m", "mkdocs", "build", "--strict", "-f", root / "mkdocs.yml", "-d", root / "out", cwd=root)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "Traceback" not in built.stderr
    html = (root / "out" / "index.html").read_text(encoding="utf-8")
    assert "545,098" in html
    assert "assets/cnn-cost/cnn-cost.css" in html
    assert (root / "out" / "assets" / "cnn-cost" / "cnn-cost.css").read_bytes() == wheel.css


def test_the_version_of_a_source_tree_that_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import cnn_cost

    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    assert cnn_cost._version() == PROJECT["version"]
    monkeypatch.setattr(cnn_cost, "__file__", "/nowhere/plugin/cnn_cost/__init__.py")
    assert cnn_cost._version() == "0+unknown"
