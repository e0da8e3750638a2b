"""Soak test of the live preview: the real `mkdocs serve`, 200 saves of one page, over HTTP.

A small Material site with one `cnn-cost` block is generated in a temporary directory and
served by `python -m mkdocs serve` on a free loopback port. The page is then rewritten
200 times, cycling through

- a wrong claim: the page must show a red box (`admonition failure`) with
  "expected <claimed>, computed <right>";
- a broken block (an unknown layer, or a Linear layer whose input does not fit): a red box
  with the error;
- a correct block: the per-layer table with the right total and no red box.

Every save uses a new channel count, so the cache never hides the work, and the right
number is computed here, independently, with PyTorch (and checked against the formula).
After every save the page is polled over HTTP (each request with a timeout, a bounded
number of tries, and a deadline per save) until it shows the save's marker.

Throughout, the server process must stay alive, and its memory (RSS of the process and its
children) may grow by less than 20 MB from the end of a 10-save warm-up to the end.

The test is marked `long`: it runs with `pytest --long` (`make test-long`, CI).
`CNN_COST_SOAK_SAVES` (default 200) changes the number of saves, for a quick local run.
The run takes about 1 s per save (MkDocs polls the docs directory every 0.5 s, then
rebuilds); timings and memory are printed (`pytest -s`) and attached as user properties.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from bs4 import BeautifulSoup

from conftest import write_site
from serving import Server, serve

SAVES = int(os.environ.get("CNN_COST_SOAK_SAVES", "200"))
WARMUP = 10
MAX_GROWTH = 20 * 2**20  # bytes of RSS allowed to grow after the warm-up

SAVE_DEADLINE = 60.0  # seconds for one save to show up in the served page
RUN_DEADLINE = 30 * 60.0  # the whole run; normally about 4 minutes

BLOCK = """\
# Soak

Save {i}: {kind}.

```cnn-cost
id: soak
input: 3x16x16
layers:
  conv1: Conv2d(3, {c}, 3, padding=1)
  bn1: BatchNorm2d({c})
  relu1: ReLU()
  pool1: MaxPool2d(2, 2)
  flat: Flatten()
  fc: {fc}
expect:
  params: {claim}
  output: [1, 10]
```

soak-marker-{i}-end
"""


def right_params(c: int) -> int:
    """The block's parameter count for `c` channels, by PyTorch, checked against the formula."""
    import torch
    from torch import nn

    with torch.device("meta"):
        model = nn.Sequential(
            nn.Conv2d(3, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Flatten(), nn.Linear(c * 8 * 8, 10),
        )
    count = sum(p.numel() for p in model.parameters())
    # conv (3·3·3 + 1)·c, batch norm 2c, linear 64c·10 + 10
    assert count == 28 * c + 2 * c + 640 * c + 10
    return count


@dataclass
class Save:
    i: int
    kind: str  # "wrong", "unknown-layer", "bad-shape", "correct"
    channels: int
    params: int  # the right number

    def text(self) -> str:
        c = self.channels
        fc = f"Linear({c} * 8 * 8, 10)"
        claim = self.params
        if self.kind == "wrong":
            claim += 1
        elif self.kind == "unknown-layer":
            fc = f"Frobnicate2d({c}, 10)"
        elif self.kind == "bad-shape":
            fc = f"Linear({c} * 8 * 8 + 1, 10)"
        return BLOCK.format(i=self.i, kind=self.kind, c=c, fc=fc, claim=f"{claim:,}")

    @property
    def marker(self) -> str:
        return f"soak-marker-{self.i}-end"


def plan(n: int) -> list[Save]:
    """wrong, broken, correct, wrong, broken, correct...; broken alternates between two errors."""
    saves = []
    for i in range(n):
        kind = ("wrong", "broken", "correct")[i % 3]
        if kind == "broken":
            kind = "unknown-layer" if (i // 3) % 2 == 0 else "bad-shape"
        channels = 8 + i
        saves.append(Save(i, kind, channels, right_params(channels)))
    return saves


def rss(proc: psutil.Process) -> int:
    """Resident memory of the process and all its children, in bytes."""
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += child.memory_info().rss
    return int(total)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    first = Save(-1, "correct", 8, right_params(8))
    project = write_site(tmp_path / "project", {"index.md": first.text()}, {"cache_dir": str(tmp_path / "cache")})
    with serve(project, tmp_path, first=first.marker) as srv:
        yield srv


def red_boxes(soup: BeautifulSoup) -> list[str]:
    return [" ".join(div.get_text(" ").split()) for div in soup.select("div.admonition.failure")]


def check(save: Save, html: str) -> None:
    soup = BeautifulSoup(html, "html.parser")
    boxes = red_boxes(soup)
    where = f"save {save.i} ({save.kind}, {save.channels} channels)"
    if save.kind == "correct":
        assert boxes == [], f"{where}: unexpected red box {boxes}"
        total = soup.select_one("table tr.cnn-cost-total")
        assert total is not None, f"{where}: no table"
        assert f"{save.params:,}" in total.get_text(" "), f"{where}: total row {total.get_text(' ')!r}"
        return
    assert len(boxes) == 1, f"{where}: expected one red box, found {boxes}"
    box = boxes[0]
    if save.kind == "wrong":
        assert "expected" in box and "computed" in box, f"{where}: {box!r}"
        assert f"params: expected {save.params + 1:,}, computed {save.params:,}" in box, f"{where}: {box!r}"
    elif save.kind == "unknown-layer":
        assert "unknown layer 'Frobnicate2d'" in box, f"{where}: {box!r}"
        assert soup.select_one("table tr.cnn-cost-total") is None, f"{where}: a table for a broken block"
    else:
        assert re.search(r"layer fc, Linear\([^)]*\), expects [\d,]+ input features \(last dimension\), got [\d,]+; "
                         r"layer \w+ gives \[1, \d+\]", box), f"{where}: {box!r}"
        assert soup.select_one("table tr.cnn-cost-total") is None, f"{where}: a table for a broken block"


@pytest.mark.long  # about 1 s per save: run with --long
def test_serve_survives_200_saves(server: Server, tmp_path: Path, record_property: pytest.RecordProperty) -> None:
    saves = plan(SAVES)
    page = tmp_path / "project" / "docs" / "index.md"
    proc = psutil.Process(server.proc.pid)
    started = time.monotonic()
    baseline = None
    samples: list[int] = []
    tries_total = 0
    slowest = 0.0
    for save in saves:
        if time.monotonic() - started > RUN_DEADLINE:
            pytest.fail(f"the run exceeded {RUN_DEADLINE:.0f} s at save {save.i}")
        t0 = time.monotonic()
        page.write_text(save.text(), encoding="utf-8")
        html, tries = server.wait_for(save.marker, SAVE_DEADLINE)
        slowest = max(slowest, time.monotonic() - t0)
        tries_total += tries
        check(save, html)
        server.alive()
        samples.append(rss(proc))
        if save.i == min(WARMUP, SAVES) - 1:
            baseline = samples[-1]
    elapsed = time.monotonic() - started
    server.alive()
    final = rss(proc)
    assert baseline is not None
    growth = final - baseline
    mib = 2**20
    figures = {
        "saves": SAVES,
        "seconds": round(elapsed, 1),
        "seconds_per_save": round(elapsed / SAVES, 3),
        "slowest_save_seconds": round(slowest, 2),
        "requests": server.requests,
        "request_timeouts": server.timeouts,
        "request_errors": server.errors,
        "rss_after_warmup_mib": round(baseline / mib, 1),
        "rss_final_mib": round(final / mib, 1),
        "rss_max_mib": round(max(samples) / mib, 1),
        "rss_growth_mib": round(growth / mib, 2),
    }
    for name, value in figures.items():
        record_property(name, value)
    print("\nserve soak:", ", ".join(f"{k}={v}" for k, v in figures.items()))
    # every problem was also logged as a warning (serve never stops for them)
    log = server.log.read_text(encoding="utf-8", errors="replace")
    wrong = sum(s.kind == "wrong" for s in saves)
    assert log.count("params: expected") >= wrong, server.log_tail()
    assert "Traceback" not in log, server.log_tail(80)
    assert server.errors == 0, f"{server.errors} failed requests after startup, last: {server.last_error}"
    assert growth < MAX_GROWTH, (
        f"RSS grew by {growth / mib:.1f} MiB after the warm-up (limit {MAX_GROWTH / mib:.0f} MiB): {figures}"
    )
