"""The command-line check: same messages as the build, exit code 1 on any problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GOOD = "# Net\n\n```cnn-cost\nid: fc\ninput: [1, 8]\nmodel: nn.Linear(8, 4)\nexpect:\n  params: {params}\n```\n"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cnn_cost.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120, check=False)


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
    assert f"{bad}:8: cnn-cost block 'fc': params: expected 35, computed 36" in failed.stderr
    assert "Traceback" not in failed.stderr
