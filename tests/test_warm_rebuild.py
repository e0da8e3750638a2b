"""A warm rebuild needs no PyTorch: two fresh processes build the same site with one cache_dir.

Each build runs in its own `python -c` process that calls MkDocs' build programmatically
(as `mkdocs build` does: load_config, on_startup, build, on_shutdown) and prints whether
`torch` is in `sys.modules` at the end. The first (cold) build must have imported it, the
second (warm) must not have, and must write nothing to the cache. Both must give
byte-identical HTML.

The site covers the cache's paths: a `model:` block, a `layers:` block with a non-default
FLOPs convention, a recurrent layer, a block that imports a model from the project's own
module (`imports:`), a block whose evaluation fails (errors are cached too; `on_error: warn`
keeps the build going), and inline references on the same page and to another page.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import build_env, cifar_block, write_site

BUILD_TIMEOUT = 600

SCRIPT = """\
import json, logging, sys
from mkdocs.commands.build import build
from mkdocs.config import load_config

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
config = load_config(config_file=sys.argv[1], site_dir=sys.argv[2])
config.plugins.on_startup(command="build", dirty=False)
try:
    build(config)
finally:
    config.plugins.on_shutdown()
print("RESULT " + json.dumps({"torch": "torch" in sys.modules}))
"""

CIFAR_CLAIMS = {"params": "545,098", "output": "[1, 10]"}  # the small CIFAR-10 net of conftest

PAGES = {
    "index.md": "# Warm\n\n```cnn-cost\n" + cifar_block("cifar", title=False, claims=CIFAR_CLAIMS) + "```\n\n"
                + textwrap.dedent("""\
        ```cnn-cost
        id: stem
        input: 3x224x224
        flops: detailed
        layers:
          conv1: Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
          bn1: BatchNorm2d(64)
          relu: ReLU()
          pool: MaxPool2d(3, stride=2, padding=1)
        expect:
          conv1.params: 9,408
        ```

        ```cnn-cost
        id: tiny
        input: 3x32x32
        model: warm_models.Tiny(8)
        expect:
          params: 224
        ```

        ```cnn-cost
        input: 3x16x16
        layers:
          conv: Conv2d(3, 8, 3, padding=1)
          flat: Flatten()
          fc: Linear(8 * 16 * 16 + 1, 10)
        ```

        The CIFAR net has `#!cnn cifar.params` parameters, the stem `#!cnn stem.flops` FLOPs.
        """),
    "rnn.md": """
        # Recurrent

        ```cnn-cost
        id: lstm
        input: [1, 20, 32]
        layers:
          lstm: LSTM(32, 64, num_layers=2, batch_first=True)
        expect:
          params: 58,368
        ```

        Compare `#!cnn index.md#cifar.params = 545,098`.
        """,
}

MODULE = """\
from torch import nn


def Tiny(channels):
    return nn.Sequential(nn.Conv2d(3, channels, 3), nn.ReLU())
"""


def write_project(root: Path, cache: Path) -> Path:
    write_site(root, PAGES, {"cache_dir": str(cache), "imports": ["warm_models"], "on_error": "warn"})
    (root / "warm_models.py").write_text(MODULE, encoding="utf-8")
    return root / "mkdocs.yml"


def build(config: Path, site: Path) -> tuple[bool, str]:
    """Build in a fresh process; (torch imported?, output)."""
    env = build_env(PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(config), str(site)],
        cwd=config.parent, capture_output=True, text=True, timeout=BUILD_TIMEOUT, env=env, check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, out
    return bool(json.loads(lines[0].removeprefix("RESULT "))["torch"]), out


def cache_state(cache: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every entry in the cache directory, recursively; not the bookkeeping under
    `state/` (the stamps of the last full builds, which every full build updates, for pruning)."""
    return {str(p.relative_to(cache)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(cache.rglob("*")) if p.is_file() and p.relative_to(cache).parts[0] != "state"}


def html_files(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*.html"))}


def test_warm_rebuild_does_not_import_torch(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    config = write_project(tmp_path / "project", cache)

    cold_torch, cold_out = build(config, tmp_path / "site-cold")
    assert cold_torch, f"the cold build did not import torch (is the check broken?)\n{cold_out}"
    assert "layer flat gives [1, 2048]" in cold_out  # the failing block was evaluated and reported
    entries = cache_state(cache)
    results = [name for name in entries if "/" not in name]
    assert len(results) == 5, entries  # four results and one cached error (the references reuse them)

    warm_torch, warm_out = build(config, tmp_path / "site-warm")
    assert not warm_torch, f"the warm build imported torch\n{warm_out}"
    assert "cnn-cost: 5 blocks, 0 evaluated" in warm_out, warm_out
    assert "layer flat gives [1, 2048]" in warm_out  # the cached error is still reported
    assert cache_state(cache) == entries, "the warm build rewrote the cache"

    cold, warm = html_files(tmp_path / "site-cold"), html_files(tmp_path / "site-warm")
    assert cold.keys() == warm.keys()
    assert [page for page in cold if cold[page] != warm[page]] == []
    assert b"cnn-cost-total" in cold["index.html"]
    assert b"cnn-cost-total" in cold["rnn/index.html"]
