"""`cnn-cost table EXPR`: the per-layer table of one layer expression, in the terminal (rich), as JSON and as a
GitHub Markdown table; run as a subprocess, its numbers checked against the real module."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CIFAR = ("nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), "
         "nn.Flatten(), nn.Linear(16 * 16 * 16, 10))")
SCRIPT = Path(sys.executable).with_name("cnn-cost")  # the console script: no working directory on sys.path


def table(*args: str, cwd: Path, script: bool = False) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT)] if script else [sys.executable, "-m", "cnn_cost.cli"]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([*command, "table", *args], capture_output=True, text=True, timeout=120, check=False,
                          cwd=cwd, env=env)


@pytest.fixture(scope="module")
def real() -> dict[str, object]:
    """The same network built for real: each layer's numel() and FlopCounterMode's count of a forward pass."""
    import torch
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(16 * 16 * 16, 10)).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        out = model(torch.zeros(1, 3, 32, 32))
    return {"params": sum(p.numel() for p in model.parameters()),
            "layers": [sum(p.numel() for p in layer.parameters()) for layer in model],
            "buffers": sum(b.numel() for b in model.buffers()),
            "flops": counter.get_total_flops(), "output": list(out.shape)}


def test_terminal_table_shows_the_real_numbers(tmp_path: Path, real: dict[str, object]):
    done = table(CIFAR, "--input", "3x32x32", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    header = next(line for line in out.splitlines() if "Layer" in line)
    assert [h.strip() for h in header.rstrip()[1:-1].split("┃")] == ["Layer", "Type", "Output shape", "Params", "MACs",
                                                                    "FLOPs", "Formula"]
    rows = {cells[0]: cells for cells in (
        [c.strip() for c in line.rstrip()[1:-1].split("│")] for line in out.splitlines() if line.startswith("│ ")
    ) if cells[0]}
    assert list(rows) == ["0", "1", "2", "3", "4", "5", "Total"]
    assert [int(rows[str(i)][3].replace(",", "")) for i in range(6)] == real["layers"]
    total = rows["Total"]
    assert total[2] == "[1, 10]"
    assert int(total[3].replace(",", "")) == real["params"]
    assert int(total[5].replace(",", "")) == real["flops"]  # 2mac: FLOPs = 2 × MACs, as FlopCounterMode counts
    assert int(total[4].replace(",", "")) * 2 == real["flops"]
    assert f"Parameters {real['params']:,}, buffers {real['buffers']:,}" in out
    assert "(FLOPs = 2 × MACs)" in out and "Output [1, 10]" in out
    assert "\x1b[" not in out  # not a terminal: no colour codes


JSON_KEYS = {"schema", "model", "input", "dtype", "flops", "mode", "rows", "totals"}
ROW_KEYS = {"name", "type", "output", "params", "macs", "flops", "formula", "note", "counters"}
TOTAL_KEYS = {"params", "trainable", "buffers", "memory", "macs", "flops", "output", "activations", "counters"}


def test_json_has_every_row_and_the_totals(tmp_path: Path, real: dict[str, object]):
    done = table(CIFAR, "--input", "3x32x32", "--json", "--as", "thop,torch", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == JSON_KEYS
    assert data["schema"] == 1 and data["model"] == CIFAR and data["input"] == [3, 32, 32]
    assert (data["dtype"], data["flops"], data["mode"]) == ("float32", "2mac", "eval")
    assert [set(row) for row in data["rows"]] == [ROW_KEYS] * 6
    assert [row["name"] for row in data["rows"]] == ["0", "1", "2", "3", "4", "5"]
    assert [row["type"] for row in data["rows"]] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    assert [row["params"] for row in data["rows"]] == real["layers"]
    assert data["rows"][0]["output"] == [1, 16, 32, 32] and data["rows"][-1]["output"] == real["output"]
    assert all(isinstance(line, str) for row in data["rows"] for line in row["formula"])
    totals = data["totals"]
    assert set(totals) == TOTAL_KEYS
    assert totals["params"] == totals["trainable"] == real["params"]
    assert totals["buffers"] == real["buffers"]
    assert totals["memory"] == 4 * real["params"]  # type: ignore[operator]
    assert totals["flops"] == 2 * totals["macs"] == real["flops"]
    assert totals["output"] == real["output"]
    assert totals["activations"] == 4 * sum(  # bytes of every row's output at float32
        _numel(row["output"]) for row in data["rows"])
    assert totals["counters"]["torch"] == real["flops"]  # the `as: torch` column: FlopCounterMode's own count
    assert sum(row["counters"]["thop"] for row in data["rows"]) == totals["counters"]["thop"]


def _numel(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def test_json_options_as_a_block_has_them(tmp_path: Path):
    mac = json.loads(table("nn.Linear(8, 4)", "--input", "8", "--json", "--flops", "mac", "--dtype", "float16",
                           cwd=tmp_path).stdout)
    assert mac["flops"] == "mac" and mac["totals"]["flops"] == mac["totals"]["macs"] == 32
    assert mac["totals"]["memory"] == 2 * 36 and mac["input"] == [8]
    no_input = json.loads(table("nn.Linear(8, 4)", "--json", cwd=tmp_path).stdout)
    assert no_input["input"] is None
    assert no_input["totals"]["macs"] is None and no_input["totals"]["output"] is None
    assert no_input["rows"][0]["output"] is None and no_input["rows"][0]["params"] == 36
    two = json.loads(table("nn.Bilinear(8, 12, 4)", "--input", "[1, 8]", "--input", "[1, 12]", "--json",
                           cwd=tmp_path).stdout)
    assert two["totals"]["params"] == 8 * 12 * 4 + 4 and two["totals"]["output"] == [1, 4]


MARKDOWN = """\
| Layer | Type | Output shape | Params | MACs | FLOPs |
|---|---|---|---:|---:|---:|
| 0 | Linear | [1, 4] | 36 | 32 | 64 |
| 1 | ReLU | [1, 4] | 0 | 0 | 0 |
| **Total** |  | **[1, 4]** | **36** | **32** | **64** |

Parameters 36, buffers 0<br>
Memory 144 B (144 B) at float32<br>
MACs 32, FLOPs 64 (FLOPs = 2 × MACs)<br>
Output [1, 4]
""".replace("<br>", "  ")  # Markdown's line break: two spaces at the end of the line


def test_markdown_table(tmp_path: Path):
    done = table("nn.Sequential(nn.Linear(8, 4), nn.ReLU())", "--input", "8", "--markdown",
                 "--columns", "layer,type,output,params,macs,flops", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == MARKDOWN
    formula = table("nn.Linear(8, 4)", "--input", "8", "--markdown", "--columns", "layer,formula", cwd=tmp_path)
    assert "| model | params: 8·4 + 4 = 36<br>MACs: 8·4 = 32 |" in formula.stdout


@pytest.mark.parametrize(("expr", "where", "message", "caret"), [
    ("nn.Conv2d(3, 64, 3, fo=1)", "expression:1:21", "nn.Conv2d has no argument 'fo'", 20),
    ("nn.Conv2D(3, 64, 3)", "expression:1:1", "unknown layer 'nn.Conv2D' (did you mean 'Conv2d'?)", 0),
    ("nn.Conv2d(3, 64, 3", "expression:1:10", "invalid layer expression: '(' was never closed", 9),
    ("__import__('os').system('true')", "expression:1:1", "", 0),
    ("nn.Sequential(nn.Conv2d(3, 64, 3), nn.Linear(10, 5))", "expression:1:36", "expects 10 input features", 35),
])
def test_a_bad_expression_gives_the_parsers_error_with_its_column(tmp_path: Path, expr: str, where: str,
                                                                    message: str, caret: int):
    done = table(expr, "--input", "3x32x32", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    first, shown, mark = done.stderr.splitlines()[:3]
    assert first.startswith(f"{where}: ") and message in first
    assert shown == f"  {expr}"
    assert mark == "  " + " " * caret + "^"


@pytest.mark.parametrize(("args", "message"), [
    (["nn.Linear(8, 4)", "--dtype", "float99"], "argument --dtype: invalid choice"),
    (["nn.Linear(8, 4)", "--flops", "3mac"], "argument --flops: invalid choice"),
    (["nn.Linear(8, 4)", "--columns", "layer,parms"], "--columns: unknown column 'parms' (did you mean 'params'?)"),
    (["nn.Linear(8, 4)", "--as", "thopp"], "--as: unknown counting library 'thopp' (did you mean 'thop'?)"),
    (["nn.Linear(8, 4)", "--input", "abc"], "--input: `input` must be a shape"),
    (["nn.Linear(8, 4)", "--imports", "os"], "--imports: 'os' is a standard-library module"),
    (["nn.Linear(8, 4)", "--json", "--markdown"], "not allowed with argument"),
    ([], "the following arguments are required: model"),
])
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str):
    done = table(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


MODELS = """\
from pathlib import Path

from torch import nn

Path(__file__).with_name("imported.txt").write_text("imported")


def Net():
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
"""


def test_imports_only_from_the_working_directory_and_only_when_asked(tmp_path: Path):
    (tmp_path / "mymodels.py").write_text(MODELS, encoding="utf-8")
    refused = table("mymodels.Net()", "--input", "8", cwd=tmp_path, script=True)
    assert refused.returncode == 1
    assert "expression:1:1: 'mymodels.Net': module 'mymodels' is not in" in refused.stderr
    assert not (tmp_path / "imported.txt").exists()  # never imported
    done = table("mymodels.Net()", "--input", "8", "--imports", "mymodels", "--json", cwd=tmp_path, script=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "imported.txt").exists()
    assert json.loads(done.stdout)["totals"]["params"] == 8 * 16 + 16 + 16 * 2 + 2
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    missing = table("mymodels.Net()", "--input", "8", "--imports", "mymodels", cwd=elsewhere, script=True)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert re.search(r"mymodels", missing.stderr)
