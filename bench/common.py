"""Helpers shared by the benchmark's parts: paths, subprocesses, medians, peak RSS, log parsing."""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PY = sys.executable

# "cnn-cost: N blocks, M evaluated (X s), K from cache; pages rendered in Y s" (plugin, INFO)
SUMMARY_RE = re.compile(
    r"cnn-cost: (\d+) blocks, (\d+) evaluated \(([\d.]+) s\), (\d+) from cache(?:, (\d+) reused as rendered)?; "
    r"pages rendered in ([\d.]+) s"
)
# "cnn-cost: imported torch and evaluated the first block in X s" (plugin, INFO)
FIRST_RE = re.compile(r"imported torch and evaluated the first block in ([\d.]+) s")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def stats(values: Sequence[float]) -> dict[str, Any]:
    """n, min, median and max of some measurements, and the measurements."""
    vals = [float(v) for v in values]
    if not vals:
        return {"n": 0, "min": None, "median": None, "max": None, "values": []}
    return {"n": len(vals), "min": min(vals), "median": median(vals), "max": max(vals), "values": vals}


def relativize(data: Any, replacements: Sequence[tuple[str, str]]) -> Any:
    """`data` with every string's machine paths replaced (repository -> relative, temporary -> <tmp>)."""
    if isinstance(data, str):
        for old, new in replacements:
            data = data.replace(old, new)
        return data
    if isinstance(data, dict):
        return {relativize(k, replacements): relativize(v, replacements) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [relativize(v, replacements) for v in data]
    return data


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def loadavg() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:  # pragma: no cover - not on Linux
        return (float("nan"),) * 3


def probe() -> float:
    """Seconds for a fixed piece of pure-Python work (the best of 3): how fast this machine runs right now.
    Other work on the same host need not show in the load average (other containers); it shows here."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        sum(i * i for i in range(200_000))
        best = min(best, time.perf_counter() - started)
    return best


@dataclass
class Run:
    seconds: float
    returncode: int
    output: str
    cpu_seconds: float  # user + system time of the process (and the children it waited for)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd: Sequence[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 600) -> Run:
    """Run a command in a fresh process, timed from spawn to exit; stdout and stderr merged."""
    cpu = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(
        list(cmd), cwd=cwd, env=env or child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=timeout, check=False,
    )
    return Run(time.perf_counter() - started, proc.returncode, proc.stdout, _children_cpu() - cpu)


def run_json(cmd: Sequence[str], out: Path, **kwargs: Any) -> tuple[Run, dict[str, Any]]:
    """Run a worker that writes its results to `out` as JSON."""
    if out.exists():
        out.unlink()
    result = run(cmd, **kwargs)
    if not out.exists():
        raise RuntimeError(f"{' '.join(map(str, cmd))} wrote no results (exit {result.returncode}):\n"
                           f"{result.output[-3000:]}")
    return result, json.loads(out.read_text(encoding="utf-8"))


def parse_summary(log: str) -> dict[str, Any] | None:
    """The last plugin summary line in a log, as numbers."""
    found = SUMMARY_RE.findall(log)
    if not found:
        return None
    blocks, evaluated, eval_s, cached, reused, pages_s = found[-1]
    first = FIRST_RE.findall(log)
    return {
        "blocks": int(blocks), "evaluated": int(evaluated), "eval_seconds": float(eval_s),
        "from_cache": int(cached), "reused_as_rendered": int(reused or 0), "pages_seconds": float(pages_s),
        "first_block_seconds": float(first[-1]) if first else None,
        "logged_torch_import": bool(first),
    }


# ------------------------------------------------------------ memory ----


def _status_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def rss_bytes() -> int:
    try:
        return _status_kb("VmRSS") * 1024
    except (OSError, KeyError):
        import psutil

        return int(psutil.Process().memory_info().rss)


def _reset_hwm() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class PeakRSS:
    """Peak resident memory above the level at entry, for the code inside `with`.

    Uses the kernel's own peak (VmHWM, reset through /proc/self/clear_refs) when it can; otherwise
    samples RSS with psutil every millisecond in a thread. tracemalloc would not see torch's
    allocations, so RSS is what is measured.
    """

    def __init__(self) -> None:
        self.before = 0
        self.peak = 0
        self.method = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakRSS:
        self.before = rss_bytes()
        if _reset_hwm():
            self.method = "VmHWM (reset via /proc/self/clear_refs)"
        else:
            self.method = "psutil RSS sampled every 1 ms"
            self.peak = self.before
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.001)

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, rss_bytes())
        else:
            self.peak = _status_kb("VmHWM") * 1024

    @property
    def extra(self) -> int:
        return max(0, self.peak - self.before)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
