"""Parts 2 and 3: timed `mkdocs build` runs (plain, cold, warm; one fresh process each), the generated
1,000-block site, and a real `mkdocs serve` rebuild after one block changes."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from common import BENCH, PY, ROOT, child_env, median, parse_summary, run_json

WORKER = BENCH / "mkdocs_worker.py"
PLUGIN = "cnn-cost"


# ------------------------------------------------------------- configs ----


def _plugin_name(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and len(entry) == 1:
        return str(next(iter(entry)))
    return None


def guide_configs(tmp: Path, cache_dir: Path) -> dict[str, Any]:
    """Two configs that INHERIT /work/main/mkdocs.yml: with the plugin (cache in `cache_dir`,
    on_error: warn so that a page with a wrong number still builds) and without it."""
    from mkdocs.utils.yaml import yaml_load

    with open(ROOT / "mkdocs.yml", "rb") as fh:
        parent = yaml_load(fh)
    plugins = parent.get("plugins") or []
    if isinstance(plugins, dict):
        plugins = [{k: v} if v else k for k, v in plugins.items()]
    with_plugin: list[Any] = []
    plain: list[Any] = []
    for entry in plugins:
        if _plugin_name(entry) == PLUGIN:
            options = dict(entry[PLUGIN] or {}) if isinstance(entry, dict) else {}
            options.update(cache_dir=str(cache_dir), on_error="warn")
            with_plugin.append({PLUGIN: options})
        else:
            with_plugin.append(entry)
            plain.append(entry)
    common = {
        "INHERIT": str(ROOT / "mkdocs.yml"),
        "docs_dir": str((ROOT / parent.get("docs_dir", "docs")).resolve()),
        "strict": False,
    }
    theme = parent.get("theme")
    if isinstance(theme, dict) and theme.get("custom_dir"):
        common["theme"] = {"custom_dir": str((ROOT / theme["custom_dir"]).resolve())}
    paths = {}
    for name, plugin_list in (("plugin", with_plugin), ("plain", plain)):
        cfg = dict(common, plugins=plugin_list, site_dir=str(tmp / f"site-{name}"))
        path = tmp / f"mkdocs-{name}.yml"
        path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
        paths[name] = path
    return {"plugin": paths["plugin"], "plain": paths["plain"],
            "imports": next((e[PLUGIN].get("imports", []) for e in with_plugin
                             if isinstance(e, dict) and PLUGIN in e), [])}


# ----------------------------------------------------- generated site ----


def _block(i: int, block_id: str, edit: int = 0) -> str:
    """One small CNN block, varied by `i`, with claims computed here (so the build checks them)."""
    c1 = 8 + 4 * (i % 5) + 2 * edit
    c2 = 16 + 8 * ((i // 5) % 4)
    k = 10 + i  # makes every block's text unique
    h = 32 + 16 * (i % 3)
    title = f"edit-{edit}" if edit else f"Net {i}"
    kind = i % 4
    if kind == 0:
        size = (16, 24, 32)[i % 3]
        params = (27 * c1 + c1) + 2 * c1 + (9 * c1 * c2 + c2) + (c2 * k + k)
        return (f"id: {block_id}\ntitle: {title}\ninput: 3x{size}x{size}\nmodel: |\n  nn.Sequential(\n"
                f"      nn.Conv2d(3, {c1}, 3, padding=1), nn.BatchNorm2d({c1}), nn.ReLU(), nn.MaxPool2d(2),\n"
                f"      nn.Conv2d({c1}, {c2}, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),\n"
                f"      nn.Flatten(), nn.Linear({c2}, {k}))\n"
                f"expect:\n  params: {params:,}\n  4.params: {9 * c1 * c2 + c2:,}\n  output: [1, {k}]\n")
    if kind == 1:
        params = (9 * c1 + c1) + (c1 * c2 + c2) + 2 * c2 + (c2 * k + k)
        return (f"id: {block_id}\ntitle: {title}\ninput: {c1}x16x16\nlayers:\n"
                f"  dw: Conv2d({c1}, {c1}, 3, padding=1, groups={c1})\n  pw: Conv2d({c1}, {c2}, 1)\n"
                f"  bn: BatchNorm2d({c2})\n  act: ReLU6()\n  pool: AdaptiveAvgPool2d(1)\n  flat: Flatten()\n"
                f"  fc: Linear({c2}, {k})\n"
                f"expect:\n  params: {params:,}\n  pw.params: {c1 * c2 + c2:,}\n  pool.output: [1, {c2}, 1, 1]\n")
    if kind == 2:
        params = 784 * h + h + h * k + k
        return (f"id: {block_id}\ntitle: {title}\ninput: 1x28x28\n"
                f"model: nn.Sequential(nn.Flatten(), nn.Linear(784, {h}), nn.ReLU(), nn.Dropout(0.1), "
                f"nn.Linear({h}, {k}))\nexpect:\n  params: {params:,}\n  output: [1, {k}]\n")
    params = (27 * c1 + c1) + (9 * c1 * c2 + c2) + (16 * c2 * k + k)
    return (f"id: {block_id}\ntitle: {title}\ninput: 3x32x32\nmodel: |\n  nn.Sequential(\n"
            f"      nn.Conv2d(3, {c1}, 3, stride=2, padding=1), nn.GELU(),\n"
            f"      nn.Conv2d({c1}, {c2}, 3, stride=2, padding=1), nn.SiLU(), nn.AvgPool2d(2),\n"
            f"      nn.Flatten(), nn.Linear({c2} * 4 * 4, {k}))\n"
            f"expect:\n  params: {params:,}\n  4.output: [1, {c2}, 4, 4]\n")


def page_text(page: int, per_page: int, edit_block: int | None = None, edit: int = 0) -> str:
    parts = [f"# Page {page}\n\nGenerated for the benchmark: {per_page} small networks.\n"]
    for b in range(per_page):
        i = page * per_page + b
        block_id = f"b{page:02d}-{b:02d}"
        body = _block(i, block_id, edit if b == edit_block else 0)
        parts.append(f"## Network {i}\n\n```cnn-cost\n{body}```\n\n"
                     f"Network {i} has `#!cnn {block_id}.params` parameters.\n")
    return "\n".join(parts)


def generate_site(root: Path, pages: int, per_page: int, cache_dir: Path) -> dict[str, Path]:
    docs = root / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "index.md").write_text(
        "# Generated site\n\n" + "".join(f"- [Page {p}](page-{p:02d}.md)\n" for p in range(pages)), encoding="utf-8"
    )
    for p in range(pages):
        (docs / f"page-{p:02d}.md").write_text(page_text(p, per_page), encoding="utf-8")
    base = {"site_name": "cnn-cost benchmark site", "docs_dir": str(docs), "theme": {"name": "mkdocs"},
            "markdown_extensions": ["pymdownx.superfences", "pymdownx.inlinehilite"]}
    configs = {}
    for name, plugins in (("plugin", ["search", {PLUGIN: {"cache_dir": str(cache_dir)}}]), ("plain", ["search"])):
        cfg = dict(base, plugins=plugins, site_dir=str(root / f"site-{name}"))
        path = root / f"mkdocs-{name}.yml"
        path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
        configs[name] = path
    configs["docs"] = docs
    return configs


# -------------------------------------------------------------- builds ----


def _count_problems(log: str) -> dict[str, int]:
    lines = log.splitlines()
    return {
        "warnings": sum(1 for line in lines if line.startswith("WARNING")),
        "errors": sum(1 for line in lines if line.startswith("ERROR")),
        "cnn_cost_problems": sum(1 for line in lines if line.startswith(("WARNING", "ERROR"))
                                 and ("cnn-cost block" in line or "#!cnn" in line)),
    }


def build_once(config: Path, work: Path, env: dict[str, str]) -> dict[str, Any]:
    """`mkdocs build -f config` in a fresh process; wall time from spawn to exit."""
    out = work / "worker.json"
    result, info = run_json([PY, str(WORKER), str(out), "build", "-f", str(config)], out, env=env)
    return {
        "seconds": result.seconds, "cpu_seconds": result.cpu_seconds, "returncode": result.returncode,
        "summary": parse_summary(result.output),
        "torch_imported": info["torch_imported"], "dynamo_imported": info["dynamo_imported"],
        "maxrss_mb": info["maxrss_kb"] / 1024, **_count_problems(result.output),
        "log_tail": result.output.splitlines()[-12:],
        "problem_lines": [line for line in result.output.splitlines() if line.startswith(("WARNING", "ERROR"))][:20],
    }


def build_trials(configs: dict[str, Path], cache_dir: Path, work: Path, n_cold: int, n_warm: int,
                 env: dict[str, str]) -> dict[str, Any]:
    """Cold runs (cache emptied before each), then plain and warm runs interleaved."""
    cold = []
    for _ in range(n_cold):
        shutil.rmtree(cache_dir, ignore_errors=True)
        cold.append(build_once(configs["plugin"], work, env))
    plain, warm, discarded = [], [], []
    for _ in range(n_warm):
        plain.append(build_once(configs["plain"], work, env))
        for attempt in range(3):
            run = build_once(configs["plugin"], work, env)
            # A warm run that had to evaluate blocks found the cache invalidated: the cache key holds a hash
            # of the plugin's source, and pages or plugin may change while the bench runs (work in progress).
            if attempt == 2 or (run["summary"] is not None and run["summary"]["evaluated"] == 0):
                warm.append(run)
                break
            discarded.append(run)

    def stats(runs: list[dict[str, Any]]) -> dict[str, Any]:
        return {"runs": runs, "median_seconds": median([r["seconds"] for r in runs]),
                "seconds": [r["seconds"] for r in runs], "min_seconds": min(r["seconds"] for r in runs),
                "median_cpu_seconds": median([r["cpu_seconds"] for r in runs])}

    return {"cold": stats(cold), "warm": stats(warm), "plain": stats(plain), "discarded_warm": discarded}


# --------------------------------------------------------------- serve ----


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=120) as resp:  # noqa: S310 - our own loopback server
            return str(resp.read().decode("utf-8", errors="replace"))
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def serve_edits(configs: dict[str, Path], per_page: int, page: int, block: int, edits: int,
                work: Path, env: dict[str, str]) -> dict[str, Any]:
    """Start the real `mkdocs serve` on a loopback port, change one block of one page `edits` times,
    and time each change from the file write to the served page showing it."""
    port = _free_port()
    out = work / "serve-worker.json"
    if out.exists():
        out.unlink()
    cmd = [PY, str(WORKER), str(out), "serve", "-f", str(configs["plugin"]), "-a", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[tuple[float, str]] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append((time.perf_counter(), line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started = time.perf_counter()
    url = f"http://127.0.0.1:{port}/page-{page:02d}/"
    result: dict[str, Any] = {"port": port, "url": url, "method": "real `mkdocs serve` (livereload server)"}
    try:
        while not any("Serving on" in text for _, text in lines):
            if proc.poll() is not None or time.perf_counter() - started > 300:
                raise RuntimeError("mkdocs serve did not start:\n" + "\n".join(t for _, t in lines[-20:]))
            time.sleep(0.05)
        while _get(url) is None:
            time.sleep(0.05)
        result["startup_seconds"] = time.perf_counter() - started
        result["startup_summary"] = parse_summary("\n".join(t for _, t in lines))
        path = configs["docs"] / f"page-{page:02d}.md"
        edit_runs = []
        for k in range(1, edits + 1):
            time.sleep(1.0)  # let the watcher settle between edits
            mark = len(lines)
            path.write_text(page_text(page, per_page, edit_block=block, edit=k), encoding="utf-8")
            written = time.perf_counter()
            seen = None
            while time.perf_counter() - written < 180:
                html = _get(url)
                if html is not None and f"edit-{k}" in html:
                    seen = time.perf_counter()
                    break
                time.sleep(0.02)
            if seen is None:
                raise RuntimeError(f"edit {k}: the page never changed")
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline and parse_summary(
                    "\n".join(t for _, t in lines[mark:])) is None:
                time.sleep(0.05)
            after = lines[mark:]
            detected = next((t for t, text in after if "Detected file changes" in text), None)
            building = next((t for t, text in after if "Building documentation" in text), None)
            reloaded = next((t for t, text in after if "Reloading browsers" in text), None)
            edit_runs.append({
                "edit": k,
                "write_to_page_seconds": seen - written,
                "write_to_detected_seconds": None if detected is None else detected - written,
                "rebuild_seconds": None if building is None or reloaded is None else reloaded - building,
                "summary": parse_summary("\n".join(t for _, t in after)),
                "problems": [t for _, t in after if t.startswith(("WARNING", "ERROR"))][:5],
            })
        result["edits"] = edit_runs
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(timeout=5)
    if out.exists():
        result["worker"] = json.loads(out.read_text(encoding="utf-8"))
    result["log_tail"] = [t for _, t in lines[-8:]]
    return result


def torch_import_seconds(runs: int, env: dict[str, str]) -> dict[str, Any]:
    """`import torch` (and, apart, `import torch._dynamo`, which the first meta-device ReLU pulls in),
    each in a fresh process."""
    code = ("import time; t = time.perf_counter(); import torch; a = time.perf_counter() - t; "
            "t = time.perf_counter(); import torch._dynamo; b = time.perf_counter() - t; print(a, b)")
    torch_only, dynamo = [], []
    for _ in range(runs):
        proc = subprocess.run([PY, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        a, b = (float(v) for v in proc.stdout.split())
        torch_only.append(a)
        dynamo.append(b)
    return {"import_torch_seconds": torch_only, "import_torch_median": median(torch_only),
            "import_dynamo_seconds": dynamo, "import_dynamo_median": median(dynamo)}


def env_for(imports: list[str]) -> dict[str, str]:
    """The guide's models module (`imports: [docs_models]`) lives beside /work/main/mkdocs.yml; the copied
    config lives elsewhere, so the repository goes on PYTHONPATH (for both variants alike)."""
    return child_env(PYTHONPATH=str(ROOT)) if imports else child_env()
