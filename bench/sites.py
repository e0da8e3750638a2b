"""The sites of the benchmark and how they are built: the guide, the generated 1,000-block site and the
20-block site in two forms (ours and markdown-exec + torchinfo), each `mkdocs build` a fresh process;
the minimal replay hook's variant; a real `mkdocs serve` timed from a file write to the served page."""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from common import BENCH, PY, ROOT, child_env, parse_summary, run, run_json, stats

WORKER = BENCH / "mkdocs_worker.py"
CAPTURE_HOOK = BENCH / "hooks" / "capture.py"
REPLAY_HOOK = BENCH / "hooks" / "replay.py"
PLUGIN = "cnn-cost"
_LINE_MARK = re.compile(r"#!cnn @\d+ ")
_BUILD_DATE = re.compile(r"Build Date UTC : [^\n<]*")


def _write_config(path: Path, cfg: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def _variants(root: Path, base: dict[str, Any], with_plugin: list[Any], plain: list[Any]) -> dict[str, Path]:
    """plugin / plain / capture (plugin + capture hook) / hook (plain + replay hook) configs in `root`.
    The capture and hook configs share one directory, where rendered-html.json is written and read."""
    out = {}
    for name, plugins, hooks in (("plugin", with_plugin, []), ("plain", plain, []),
                                 ("capture", with_plugin, [str(CAPTURE_HOOK)]),
                                 ("hook", plain, [str(REPLAY_HOOK)])):
        cfg = dict(base, plugins=plugins, site_dir=str(root / f"site-{name}"))
        if hooks:
            cfg["hooks"] = hooks
        out[name] = _write_config(root / f"mkdocs-{name}.yml", cfg)
    return out


# ------------------------------------------------------------- the guide ----


def _plugin_name(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and len(entry) == 1:
        return str(next(iter(entry)))
    return None


def guide_configs(tmp: Path, cache_dir: Path) -> dict[str, Any]:
    """Configs that INHERIT the repository's mkdocs.yml: with the plugin (cache in `cache_dir`,
    on_error: warn so that a page with a wrong number still builds), without it, and the two hook
    variants."""
    from mkdocs.utils.yaml import yaml_load

    tmp.mkdir(parents=True, exist_ok=True)
    with open(ROOT / "mkdocs.yml", "rb") as fh:
        parent = yaml_load(fh)
    plugins = parent.get("plugins") or []
    if isinstance(plugins, dict):
        plugins = [{k: v} if v else k for k, v in plugins.items()]
    with_plugin: list[Any] = []
    plain: list[Any] = []
    imports: list[str] = []
    for entry in plugins:
        if _plugin_name(entry) == PLUGIN:
            options = dict(entry[PLUGIN] or {}) if isinstance(entry, dict) else {}
            imports = list(options.get("imports", []))
            options.update(cache_dir=str(cache_dir), on_error="warn")
            with_plugin.append({PLUGIN: options})
        else:
            with_plugin.append(entry)
            plain.append(entry)
    base: dict[str, Any] = {"INHERIT": str(ROOT / "mkdocs.yml"),
                            "docs_dir": str((ROOT / parent.get("docs_dir", "docs")).resolve()), "strict": False}
    theme = parent.get("theme")
    if isinstance(theme, dict) and theme.get("custom_dir"):
        base["theme"] = {"custom_dir": str((ROOT / theme["custom_dir"]).resolve())}
    configs: dict[str, Any] = dict(_variants(tmp, base, with_plugin, plain))
    configs["imports"] = imports
    configs["docs"] = Path(base["docs_dir"])
    return configs


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


def block_id(page: int, b: int) -> str:
    return f"b{page:02d}-{b:02d}"


def page_text(page: int, per_page: int, edit_block: int | None = None, edit: int = 0) -> str:
    parts = [f"# Page {page}\n\nGenerated for the benchmark: {per_page} small networks.\n"]
    for b in range(per_page):
        i = page * per_page + b
        body = _block(i, block_id(page, b), edit if b == edit_block else 0)
        parts.append(f"## Network {i}\n\n```cnn-cost\n{body}```\n\n"
                     f"Network {i} has `#!cnn {block_id(page, b)}.params` parameters.\n")
    return "\n".join(parts)


def _docs(root: Path, pages: int, write: Callable[[int], str]) -> Path:
    docs = root / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "index.md").write_text(
        "# Generated site\n\n" + "".join(f"- [Page {p}](page-{p:02d}.md)\n" for p in range(pages)), encoding="utf-8"
    )
    for p in range(pages):
        (docs / f"page-{p:02d}.md").write_text(write(p), encoding="utf-8")
    return docs


def _base(docs: Path) -> dict[str, Any]:
    return {"site_name": "cnn-cost benchmark site", "docs_dir": str(docs), "theme": {"name": "mkdocs"},
            "markdown_extensions": ["pymdownx.superfences", "pymdownx.inlinehilite"]}


def generate_site(root: Path, pages: int, per_page: int, cache_dir: Path) -> dict[str, Any]:
    docs = _docs(root, pages, lambda p: page_text(p, per_page))
    configs: dict[str, Any] = dict(_variants(root, _base(docs), ["search", {PLUGIN: {"cache_dir": str(cache_dir)}}],
                                             ["search"]))
    configs["docs"] = docs
    return configs


# ------------------------------------- the 20-block site, two forms ----


def _python(value: Any) -> str:
    """A parsed block value (a `Call` tree, numbers, tuples, strings) as Python source for torch.nn."""
    if hasattr(value, "kwargs") and hasattr(value, "args"):  # a Call
        args = [_python(v) for v in value.args] + [f"{k}={_python(v)}" for k, v in value.kwargs]
        return f"nn.{value.name}({', '.join(args)})"
    if isinstance(value, tuple):
        return "(" + ", ".join(_python(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def exec_block(body: str) -> str:
    """The same model as the cnn-cost block `body`, as a markdown-exec block that runs torchinfo (and
    asserts the block's total-parameter claim, the one check such a block can do cheaply)."""
    from cnn_cost.block import parse_block

    block = parse_block(body)
    if block.model is not None:
        model = _python(block.model)
    else:
        model = "nn.Sequential(OrderedDict([" + ", ".join(
            f"({name!r}, {_python(call)})" for name, call in block.layers or ()) + "]))"
    params = next(c.raw for c in block.expect if c.path == "params").replace(",", "")
    shape = (1, *(block.input or ()))
    return ("```python exec=\"on\" source=\"above\" result=\"text\"\n"
            "from collections import OrderedDict\n\nimport torch.nn as nn\nfrom torchinfo import summary\n\n"
            f"model = {model}\n"
            f"stats = summary(model, input_size={shape}, col_names=(\"output_size\", \"num_params\", "
            "\"mult_adds\"), verbose=0)\n"
            f"assert stats.total_params == {params}, stats.total_params\nprint(stats)\n```\n")


def generate_exec_sites(root: Path, pages: int, per_page: int, cache_dir: Path) -> dict[str, Any]:
    """The same blocks (models and claims) as cnn-cost fences with our plugin, and as markdown-exec blocks
    running torchinfo; the same prose (no `#!cnn` references: markdown-exec has none)."""

    def page(p: int, exec_form: bool) -> str:
        parts = [f"# Page {p}\n"]
        for b in range(per_page):
            i = p * per_page + b
            body = _block(i, block_id(p, b))
            block = exec_block(body) if exec_form else f"```cnn-cost\n{body}```\n"
            parts.append(f"## Network {i}\n\n{block}\nThe cost of network {i}.\n")
        return "\n".join(parts)

    configs: dict[str, Any] = {}
    for name, exec_form in (("ours", False), ("exec", True)):
        sub = root / name
        docs = _docs(sub, pages, lambda p, e=exec_form: page(p, e))  # type: ignore[misc]
        if exec_form:
            configs[name] = _write_config(sub / "mkdocs.yml", dict(_base(docs), plugins=["search", "markdown-exec"],
                                                                    site_dir=str(sub / "site")))
        else:  # ours, and the replay hook's variant of it (the floor of any plugin, for reference)
            variants = _variants(sub, _base(docs), ["search", {PLUGIN: {"cache_dir": str(cache_dir)}}], ["search"])
            configs.update(ours=variants["plugin"], capture=variants["capture"], hook=variants["hook"])
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


FAILED: list[dict[str, Any]] = []  # builds that exited non-zero and were run again


def build_once(config: Path, work: Path, env: dict[str, str],
               prepare: Callable[[], None] | None = None) -> dict[str, Any]:
    """`mkdocs build -f config` in a fresh process; wall time from spawn to exit, CPU of the process.
    A build that exits non-zero (the plugin's source is work in progress in the same checkout: a half-saved
    file) goes to FAILED and is run again after a pause, up to 3 times; `prepare` runs before each try."""
    for attempt in range(3):
        if prepare is not None:
            prepare()
        r = _build(config, work, env)
        if r["returncode"] == 0 or attempt == 2:
            return r
        FAILED.append({"config": config.name, "log_tail": r["log_tail"]})
        time.sleep(5)
    raise AssertionError("unreachable")


def _build(config: Path, work: Path, env: dict[str, str]) -> dict[str, Any]:
    out = work / "worker.json"
    result, info = run_json([PY, str(WORKER), str(out), "build", "-f", str(config)], out, env=env)
    return {
        "seconds": result.seconds, "cpu_seconds": result.cpu_seconds, "returncode": result.returncode,
        "summary": parse_summary(result.output),
        "torch_imported": info["torch_imported"], "maxrss_mb": info["maxrss_kb"] / 1024,
        **_count_problems(result.output),
        "problem_lines": [line for line in result.output.splitlines() if line.startswith(("WARNING", "ERROR"))][:20],
        "log_tail": result.output.splitlines()[-6:] if result.returncode else [],
    }


def torch_import_once(env: dict[str, str]) -> dict[str, Any]:
    """`import torch` in a fresh process: the in-process import time, and spawn to exit."""
    result = run([PY, str(BENCH / "first_block.py"), "torch"], env=env)
    if result.returncode:
        raise RuntimeError(f"first_block.py torch failed:\n{result.output[-2000:]}")
    return {"seconds": json.loads(result.output.strip().splitlines()[-1])["import_torch"],
            "process_seconds": result.seconds, "cpu_seconds": result.cpu_seconds}


def series(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs and the min/median/max of their wall and CPU seconds."""
    return {"runs": runs, "wall": stats([r["seconds"] for r in runs]),
            "cpu": stats([r["cpu_seconds"] for r in runs])}


def warm_build(config: Path, work: Path, env: dict[str, str], discarded: list[dict[str, Any]]) -> dict[str, Any]:
    """A warm build. One that evaluated blocks found the cache invalidated (the plugin's source, whose hash is
    in the cache key, changed meanwhile: work in progress in the same checkout): it goes to `discarded` and the
    build is run again, up to 3 times."""
    for attempt in range(3):
        r = build_once(config, work, env)
        if attempt == 2 or (r["summary"] is not None and r["summary"]["evaluated"] == 0):
            return r
        discarded.append(r)
    raise AssertionError("unreachable")


def warm_pairs(configs: dict[str, Any], n: int, work: Path, env: dict[str, str],
               plugin: str = "plugin") -> dict[str, Any]:
    """Warm plugin builds against the replay hook's builds, in pairs whose order alternates (ABBA...).
    First one capture build (not timed), which also proves the cache warm; see warm_build for reruns."""
    capture = build_once(configs["capture"], work, env)
    warm: list[dict[str, Any]] = []
    hook: list[dict[str, Any]] = []
    discarded: list[dict[str, Any]] = []
    for i in range(n):
        for variant in (("hook", "warm") if i % 2 == 0 else ("warm", "hook")):
            if variant == "hook":
                hook.append(build_once(configs["hook"], work, env))
                continue
            warm.append(warm_build(configs[plugin], work, env, discarded))
    ratios = [w["seconds"] / h["seconds"] for w, h in zip(warm, hook, strict=True)]
    cpu_ratios = [w["cpu_seconds"] / h["cpu_seconds"] for w, h in zip(warm, hook, strict=True)]
    same = compare_sites(Path(yaml.safe_load(configs[plugin].read_text())["site_dir"]),
                         Path(yaml.safe_load(configs["hook"].read_text())["site_dir"]))
    return {"warm": series(warm), "hook": series(hook), "pair_ratios": stats(ratios), "cpu_ratios": stats(cpu_ratios),
            "capture": {k: capture[k] for k in ("seconds", "returncode", "summary")}, "discarded_warm": discarded,
            "same_output": same}


# ------------------------------------------------------ search_tables ----

SEARCH_THEMES = ("material",)  # besides the generated site's own theme
TABLE_MARK = "Output shape"  # a header of the plugin's per-layer table: the tables the search index holds


def search_configs(root: Path, plugin_config: Path) -> dict[str, dict[str, Path]]:
    """{theme: {"true": config, "false": config}}: the plugin's config of the generated site with
    `search_tables` set either way, for the site's own theme and for each of SEARCH_THEMES (whose
    `search` is then that theme's own search plugin, as MkDocs picks a theme's namespaced plugin first).
    The plugin's options (its cache directory) stay, so every variant reads the same cache."""
    base = yaml.safe_load(plugin_config.read_text(encoding="utf-8"))
    own = base.get("theme") or "mkdocs"
    own = own.get("name", "mkdocs") if isinstance(own, dict) else str(own)
    out: dict[str, dict[str, Path]] = {}
    for theme in dict.fromkeys((own, *SEARCH_THEMES)):
        out[theme] = {}
        for value in (True, False):
            plugins = [{PLUGIN: dict(entry[PLUGIN], search_tables=value)} if _plugin_name(entry) == PLUGIN
                       else entry for entry in base["plugins"]]
            name = f"search-{theme}-{str(value).lower()}"
            cfg = dict(base, theme={"name": theme}, plugins=plugins, site_dir=str(root / f"site-{name}"))
            out[theme][str(value).lower()] = _write_config(root / f"mkdocs-{name}.yml", cfg)
    return out


def search_index(site: Path) -> dict[str, Any]:
    """search/search_index.json of a built site: its size, which search plugin wrote it (Material's has a
    `pipeline`), how many entries, and how many of the plugin's tables its text holds. MkDocs' built-in
    search holds each page's text twice (an entry for the whole page, one per section): its tables are
    counted in the sections' entries; Material's entries do not overlap."""
    path = site / "search" / "search_index.json"
    if not path.is_file():
        return {"bytes": None}
    data = json.loads(path.read_text(encoding="utf-8"))
    docs = data.get("docs", [])
    plugin = "material" if "pipeline" in data.get("config", {}) else "mkdocs"
    counted = docs if plugin == "material" else [d for d in docs if "#" in str(d.get("location", ""))]
    return {"bytes": path.stat().st_size, "search_plugin": plugin, "entries": len(docs),
            "tables": sum(str(d.get("text", "")).count(TABLE_MARK) for d in counted)}


def search_tables_runs(configs: dict[str, dict[str, Path]], rounds: int, work: Path,
                       env: dict[str, str]) -> dict[str, Any]:
    """Warm builds with `search_tables: false` against `true`, per theme, on one shared cache.

    The cache holds every block's result and rendered HTML for `true` (the generated part's builds);
    the rendered HTML is keyed by `search_tables` too (not by theme), so first one untimed build of
    `false` per theme: the first adds the HTML of `false`, the second reads a theme's files once. Then
    per round one build of each variant, in an order that reverses every round (ABBA over themes and
    settings); see warm_build for reruns. `all_reused`: every timed build reused every block's HTML."""
    order = [(theme, value) for theme in configs for value in ("true", "false")]
    warmup = {f"{t}/false": build_once(configs[t]["false"], work, env) for t in configs}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {t: {"true": [], "false": []} for t in configs}
    discarded: list[dict[str, Any]] = []
    for i in range(rounds):
        for theme, value in (order if i % 2 == 0 else order[::-1]):
            runs[theme][value].append(warm_build(configs[theme][value], work, env, discarded))
    out: dict[str, Any] = {"rounds": rounds, "discarded_warm": discarded, "theme_order": list(configs),
                           "warmup": {k: {f: r[f] for f in ("seconds", "returncode", "summary")}
                                      for k, r in warmup.items()}, "themes": {}}
    for theme, by_value in runs.items():
        on, off = by_value["true"], by_value["false"]
        out["themes"][theme] = {
            "true": series(on), "false": series(off),
            "ratios": stats([f["seconds"] / t["seconds"] for f, t in zip(off, on, strict=True)]),
            "cpu_ratios": stats([f["cpu_seconds"] / t["cpu_seconds"] for f, t in zip(off, on, strict=True)]),
            "index": {v: search_index(site_dir(configs[theme][v])) for v in ("true", "false")},
            "all_reused": all(r["summary"] is not None and r["summary"]["reused_as_rendered"] == r["summary"]["blocks"]
                              for r in on + off),
            "configs": {v: str(configs[theme][v]) for v in ("true", "false")},
        }
    return out


def compare_sites(a: Path, b: Path) -> dict[str, Any]:
    """Compare two built sites file by file: sitemap.xml.gz left out (gzip stores its own time), the theme's
    "Build Date UTC" comment ignored."""
    files_a = {p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()}
    common = sorted((files_a & files_b) - {"sitemap.xml.gz"})

    def text(path: Path) -> str:
        return _BUILD_DATE.sub("", path.read_text(encoding="utf-8", errors="replace"))

    differ = [f for f in common if not filecmp.cmp(a / f, b / f, shallow=False) and text(a / f) != text(b / f)]
    # the plugin's line tagger marks `#!cnn` as `#!cnn @LINE` before pymdownx sees it; where `#!cnn` is quoted in
    # a longer code span, the mark stays in the page (the hook reproduces only what the formatters returned)
    normalized = [f for f in differ if _LINE_MARK.sub("#!cnn ", text(a / f)) != text(b / f)]
    same_files = files_a == files_b
    return {"files": len(common), "differ": differ[:20], "differ_count": len(differ),
            "differ_normalized": normalized[:20], "only_plugin": sorted(files_a - files_b)[:20],
            "only_hook": sorted(files_b - files_a)[:20], "identical": not differ and same_files,
            "identical_normalized": not normalized and same_files}


def site_dir(config: Path) -> Path:
    return Path(yaml.safe_load(config.read_text(encoding="utf-8"))["site_dir"])


# --------------------------------------------------------------- serve ----


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 - our own loopback server
            return str(resp.read().decode("utf-8", errors="replace"))
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None


def _save(path: Path, text: str) -> None:
    """Write a file as an editor does; make sure its modification time moves on (coarse clocks)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns <= before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def _stop(proc: subprocess.Popen[str]) -> None:
    """Ctrl-C (a clean stop, which removes the temporary site), then terminate, then kill."""
    for signal_it in (lambda: proc.send_signal(signal.SIGINT), proc.terminate, proc.kill):
        if proc.poll() is not None:
            return
        signal_it()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            continue


def serve_edits(config: Path, docs: Path, per_page: int, page: int, edits: list[int], work: Path,
                env: dict[str, str], dirty: bool, settle: float = 1.0,
                worker: list[str] | None = None) -> dict[str, Any]:
    """Start the real `mkdocs serve` (optionally `--dirty`) on a loopback port; once the page is served,
    change one block of one page per edit (`settle` seconds after the page is served or showed the
    last change) and time each change from the file write until the served page shows it."""
    port = _free_port()
    tmpdir = work / f"serve-tmp-{port}"  # mkdocs serve builds into a mkdtemp(): keep it in our work dir
    tmpdir.mkdir(parents=True)
    out = work / f"serve-worker-{port}.json"
    cmd = [*(worker or [PY, str(WORKER), str(out)]), "serve", "-f", str(config), "-a", f"127.0.0.1:{port}",
           *(["--dirty"] if dirty else [])]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**env, "TMPDIR": str(tmpdir)}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    lines: list[tuple[float, str]] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append((time.perf_counter(), line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started = time.perf_counter()
    url = f"http://127.0.0.1:{port}/page-{page:02d}/"
    path = docs / f"page-{page:02d}.md"
    original = path.read_text(encoding="utf-8")
    result: dict[str, Any] = {"dirty": dirty, "url_path": f"/page-{page:02d}/", "settle_seconds": settle}
    try:
        while _get(url) is None:
            if proc.poll() is not None or time.perf_counter() - started > 300:
                raise RuntimeError("mkdocs serve did not start:\n" + "\n".join(t for _, t in lines[-20:]))
            time.sleep(0.05)
        result["startup_seconds"] = time.perf_counter() - started
        result["startup_summary"] = parse_summary("\n".join(t for _, t in lines))
        runs: list[dict[str, Any]] = []
        for k in edits:
            time.sleep(settle)
            mark = len(lines)
            _save(path, page_text(page, per_page, edit_block=0, edit=k))
            written = time.perf_counter()
            seen = None
            while time.perf_counter() - written < 120:
                html = _get(url)
                if html is not None and f"edit-{k}" in html:
                    seen = time.perf_counter()
                    break
                time.sleep(0.02)
            if seen is None:
                raise RuntimeError(f"edit {k}: the page never changed:\n" + "\n".join(t for _, t in lines[-20:]))
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline and parse_summary("\n".join(t for _, t in lines[mark:])) is None:
                time.sleep(0.05)
            after = lines[mark:]
            detected = next((t for t, text in after if "Detected file changes" in text), None)
            building = next((t for t, text in after if "Building documentation" in text), None)
            reloaded = next((t for t, text in after if "Reloading browsers" in text), None)
            runs.append({
                "edit": k, "write_to_page_seconds": seen - written,
                "write_to_detected_seconds": None if detected is None else detected - written,
                "rebuild_seconds": None if building is None or reloaded is None else reloaded - building,
                "summary": parse_summary("\n".join(t for _, t in after)),
                "problems": [t for _, t in after if t.startswith(("WARNING", "ERROR"))][:5],
            })
        result["edits"] = runs
        result["write_to_page"] = stats([r["write_to_page_seconds"] for r in runs])
    finally:
        _stop(proc)
        reader.join(timeout=5)
        path.write_text(original, encoding="utf-8")
        shutil.rmtree(tmpdir, ignore_errors=True)
    if out.exists():
        result["worker"] = json.loads(out.read_text(encoding="utf-8"))
    result["log_tail"] = [t for _, t in lines[-6:]]
    return result


def env_for(imports: list[str]) -> dict[str, str]:
    """The guide's models module (`imports: [docs_models]`) lives beside the repository's mkdocs.yml; the
    copied config lives elsewhere, so the repository goes on PYTHONPATH (for every variant alike)."""
    return child_env(PYTHONPATH=str(ROOT)) if imports else child_env()
