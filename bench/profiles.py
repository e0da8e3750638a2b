"""pyinstrument profiles behind a missed target, summed into a few named parts.

    python bench/profiles.py block OUT.json OUT.txt [first]       VGG-16 block, warm (or the first in a process)
    python bench/profiles.py build OUT.json OUT.txt CONFIG [CACHE_DIR_TO_EMPTY]
    python bench/profiles.py serve OUT.json OUT.txt serve -f CONFIG -a HOST:PORT [--dirty]

Each part is the time of the outermost frames that match it (no double counting within a part; parts
may nest). Time outside the plugin's code but under its frames is attributed to the library whose code
ran (torch, yaml, pygments...). The full call tree goes to OUT.txt. `serve` runs the real `mkdocs serve`
in this process and profiles each rebuild (config reload + build) after the first build.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import sysconfig
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import parse_summary, write_json

Pred = Callable[[Any], bool]
STDLIB = sysconfig.get_paths()["stdlib"]


def fn(name: str, path_part: str) -> Pred:
    return lambda f: f.function == name and path_part in (f.file_path or "")


def module_of(path_suffix: str) -> Pred:
    return lambda f: f.function == "<module>" and (f.file_path or "").endswith(path_suffix)


def in_files(*parts: str) -> Pred:
    return lambda f: any(p in (f.file_path or "") for p in parts)


def is_plugin(f: Any) -> bool:
    path = f.file_path or ""
    return "/cnn_cost/" in path and "cnn_cost/mathml.py" not in path  # mathml: the guide's extension, not ours


def outer(frame: Any, pred: Pred) -> float:
    """Time of the outermost frames matching `pred` under `frame`."""
    if pred(frame):
        return float(frame.time)
    return sum(outer(c, pred) for c in frame.children)


def outer_frames(frame: Any, pred: Pred) -> list[Any]:
    if pred(frame):
        return [frame]
    return [g for c in frame.children for g in outer_frames(c, pred)]


def within(frames: list[Any], pred: Pred) -> float:
    return sum(outer(f, pred) for f in frames)


def library(path: str | None) -> str:
    path = path or "?"
    if "site-packages/" in path:
        return path.split("site-packages/")[1].split("/")[0].removesuffix(".py")
    if path.startswith(STDLIB):
        return "stdlib " + path[len(STDLIB):].lstrip("/").split("/")[0].removesuffix(".py")
    if "/bench/" in path:
        return "bench"
    if path.startswith("<frozen importlib"):
        return "importing (importlib)"
    return {"<built-in>": "C functions (built-ins)", "<string>": "generated code (<string>)"}.get(
        path, "other" if path.startswith("/") else path)


def libraries_under(frames: list[Any]) -> dict[str, float]:
    """Time spent in other libraries' code under `frames`, by library (outermost non-plugin frames)."""
    out: dict[str, float] = defaultdict(float)

    def visit(frame: Any) -> None:
        if frame.is_synthetic or is_plugin(frame):
            for c in frame.children:
                visit(c)
            return
        out[library(frame.file_path)] += frame.time

    for f in frames:
        for c in f.children:
            visit(c)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _plugin_name(frame: Any) -> str:
    where = (frame.file_path or "").split("/cnn_cost/")[-1]
    return f"{where}:{frame.class_name + '.' if frame.class_name else ''}{frame.function}"


def library_functions(frames: list[Any], top: int = 4) -> list[dict[str, Any]]:
    """Under `frames`: the outermost frames of other libraries' code, by library, function and the plugin
    function that called it."""
    totals: dict[str, float] = defaultdict(float)

    def visit(frame: Any, caller: str) -> None:
        if frame.is_synthetic or is_plugin(frame):
            here = caller if frame.is_synthetic or frame.function.startswith("<") else _plugin_name(frame)
            for c in frame.children:
                visit(c, here)
            return
        name = f"{frame.class_name}.{frame.function}" if frame.class_name else frame.function
        totals[f"{library(frame.file_path)} {name} (from {caller})"] += frame.time

    for f in frames:
        for c in f.children:
            visit(c, _plugin_name(f))
    return [{"function": k, "seconds": v} for k, v in sorted(totals.items(), key=lambda kv: -kv[1])[:top]]


def plugin_functions(frames: list[Any], top: int = 10) -> list[dict[str, Any]]:
    """The plugin's functions by inclusive time (outermost call of each function; recursion counted once)."""
    totals: dict[str, float] = defaultdict(float)

    def visit(frame: Any, active: frozenset[str]) -> None:
        name = None
        if is_plugin(frame) and not frame.is_synthetic:
            where = (frame.file_path or "").split("/cnn_cost/")[-1]
            name = f"{where}:{frame.class_name + '.' if frame.class_name else ''}{frame.function}"
            if name not in active:
                totals[name] += frame.time
        nxt = active | {name} if name else active
        for c in frame.children:
            visit(c, nxt)

    for f in frames:
        visit(f, frozenset())
    return [{"function": k, "seconds": v} for k, v in sorted(totals.items(), key=lambda kv: -kv[1])[:top]]


def plugin_self_times(frames: list[Any], top: int = 8) -> list[dict[str, Any]]:
    """The plugin's own code (self time, callees excluded), by function."""
    totals: dict[str, float] = defaultdict(float)

    def visit(frame: Any) -> None:
        if is_plugin(frame) and not frame.is_synthetic:
            where = (frame.file_path or "").split("/cnn_cost/")[-1]
            totals[f"{where}:{frame.class_name + '.' if frame.class_name else ''}{frame.function}"] += \
                frame.total_self_time
        for c in frame.children:
            visit(c)

    for f in frames:
        visit(f)
    return [{"function": k, "seconds": v} for k, v in sorted(totals.items(), key=lambda kv: -kv[1])[:top]]


def self_times(root: Any, top: int = 10) -> list[dict[str, Any]]:
    totals: dict[str, float] = defaultdict(float)

    def visit(frame: Any) -> None:
        if not frame.is_synthetic:
            path = frame.file_path or "?"
            where = path.split("site-packages/")[-1].split("/plugin/")[-1].split("/bench/")[-1]
            if path.startswith(STDLIB):
                where = path[len(STDLIB):].lstrip("/")
            name = f"{frame.class_name}.{frame.function}" if frame.class_name else frame.function
            totals[f"{name} ({where})"] += frame.total_self_time
        for c in frame.children:
            visit(c)

    visit(root)
    return [{"function": k, "seconds": v} for k, v in sorted(totals.items(), key=lambda kv: -kv[1])[:top]]


def parts(root: Any) -> dict[str, Any]:
    """The named parts of the plugin's time under `root`, and where the rest goes."""
    plugin = outer_frames(root, is_plugin)
    return {
        "total": float(root.time),
        "plugin frames": sum(f.time for f in plugin),
        "named": {
            "import torch": within(plugin, module_of("torch/__init__.py")),
            "importing cnn_cost's modules": within(plugin, lambda f: f.function == "<module>" and is_plugin(f)),
            "parse_block": within(plugin, fn("parse_block", "cnn_cost/block.py")),
            "evaluate": within(plugin, fn("evaluate", "cnn_cost/evaluate.py")),
            "render.block_html": within(plugin, fn("block_html", "cnn_cost/render.py")),
            "claims": within(plugin, in_files("cnn_cost/claims.py")),
            "cache (key, get, put, views)": within(plugin, in_files("cnn_cost/cache.py")),
            "inline #!cnn": within(plugin, fn("inline_format", "cnn_cost/markdown.py")),
        },
        "libraries under plugin frames": libraries_under(plugin),
        "libraries under evaluate": libraries_under(outer_frames(root, fn("evaluate", "cnn_cost/evaluate.py"))),
        "library calls under evaluate": library_functions(outer_frames(root, fn("evaluate", "cnn_cost/evaluate.py"))),
        "plugin functions": plugin_functions(plugin),
        "plugin self time": plugin_self_times(plugin),
        "outside plugin frames, by library": _outside(root),
        # phases of a MkDocs build (each may hold plugin frames: the Markdown conversion runs our formatters)
        "phases": {
            "config load": outer(root, fn("load_config", "mkdocs/config/base.py")),
            "Markdown conversion": outer(root, fn("convert", "markdown/core.py")),
            "templates (jinja2)": outer(root, fn("render", "jinja2/environment.py")),
            "search index (mkdocs search plugin)": outer(root, in_files("mkdocs/contrib/search/")),
            "search index (Material's search plugin)": outer(root, in_files("material/plugins/search/")),
        },
    }


def _outside(root: Any) -> dict[str, float]:
    """Time not under any plugin frame: the self time of those frames, summed by library."""
    out: dict[str, float] = defaultdict(float)

    def visit(frame: Any) -> None:
        if is_plugin(frame):
            return
        if not frame.is_synthetic:
            out[library(frame.file_path)] += frame.total_self_time
        for c in frame.children:
            visit(c)

    visit(root)
    return dict(sorted(((k, v) for k, v in out.items() if v > 0.0005), key=lambda kv: -kv[1]))


def _session_root(profiler: Any) -> Any:
    session = profiler.last_session
    assert session is not None
    return session.root_frame()


def profile_block(out: Path, txt: Path, first: bool) -> None:
    import torch  # noqa: F401 - not profiled: the block's own cost is
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    if first:  # the first block of a process: the plugin's imports and torch's lazy ones included
        profiler.start()
        from vgg import VGG16, ours

        ours(VGG16)
        profiler.stop()
        repeat = 1
    else:
        from vgg import VGG16, ours

        for _ in range(3):
            ours(VGG16)
        repeat = 50
        profiler.start()
        for _ in range(repeat):
            ours(VGG16)
        profiler.stop()
    root = _session_root(profiler)
    data = {"kind": "block", "first": first, "repeat": repeat, "parts": parts(root), "self_time_top": self_times(root)}
    write_json(out, data)
    txt.write_text(profiler.output_text(unicode=False, color=False), encoding="utf-8")


def _plugin_log() -> list[str]:
    import logging

    messages: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    plugin_log = logging.getLogger("mkdocs.plugins.cnn_cost")
    plugin_log.setLevel(logging.INFO)
    plugin_log.addHandler(handler)
    return messages


def profile_build(out: Path, txt: Path, config: str, cache: str | None) -> None:
    from pyinstrument import Profiler

    if cache:
        shutil.rmtree(cache, ignore_errors=True)
    messages = _plugin_log()
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    profiler = Profiler(interval=0.001)
    started = time.perf_counter()
    profiler.start()
    cfg = load_config(config_file=config)
    cfg.plugins.on_startup(command="build", dirty=False)
    try:
        build(cfg)
    finally:
        profiler.stop()
    root = _session_root(profiler)
    data = {"kind": "build", "cold": bool(cache), "wall_seconds": time.perf_counter() - started,
            "parts": parts(root), "self_time_top": self_times(root), "summary": parse_summary("\n".join(messages))}
    write_json(out, data)
    txt.write_text(profiler.output_text(unicode=False, color=False), encoding="utf-8")


def profile_serve(out: Path, txt: Path, args: list[str]) -> None:
    """The real `mkdocs serve` in this process; each rebuild after the first build profiled: from the
    config reload (`load_config`, as serve's builder does) to the end of `build`."""
    import atexit

    import mkdocs.commands.serve as serve_mod
    from pyinstrument import Profiler

    messages = _plugin_log()
    rebuilds: list[dict[str, Any]] = []
    texts: list[str] = []
    state: dict[str, Any] = {"loads": 0, "builds": 0, "profiler": None, "started": 0.0}
    real_load, real_build = serve_mod.load_config, serve_mod.build

    def load_config(*a: Any, **k: Any) -> Any:
        state["loads"] += 1
        if state["loads"] >= 2:  # a rebuild (the first call configures the server)
            state["profiler"] = Profiler(interval=0.001)
            state["started"] = time.perf_counter()
            state["mark"] = len(messages)
            state["profiler"].start()
        return real_load(*a, **k)

    def build(*a: Any, **k: Any) -> Any:
        state["builds"] += 1
        try:
            return real_build(*a, **k)
        finally:
            profiler = state["profiler"]
            if profiler is not None and state["builds"] >= 2:
                profiler.stop()
                state["profiler"] = None
                root = _session_root(profiler)
                rebuilds.append({"rebuild": len(rebuilds) + 1, "wall_seconds": time.perf_counter() - state["started"],
                                 "parts": parts(root), "self_time_top": self_times(root),
                                 "summary": parse_summary("\n".join(messages[state["mark"]:]))})
                texts.append(f"=== rebuild {len(rebuilds)} ===\n" + profiler.output_text(unicode=False, color=False))

    def report() -> None:
        write_json(out, {"kind": "serve", "rebuilds": rebuilds})
        txt.write_text("\n".join(texts), encoding="utf-8")

    atexit.register(report)
    serve_mod.load_config, serve_mod.build = load_config, build  # type: ignore[assignment]
    from mkdocs.__main__ import cli

    sys.argv = ["mkdocs", *args]
    with contextlib.suppress(KeyboardInterrupt):
        cli()


def main() -> None:
    kind, out, txt = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if kind == "block":
        profile_block(out, txt, first=sys.argv[4:5] == ["first"])
    elif kind == "build":
        profile_build(out, txt, sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else None)
    elif kind == "serve":
        profile_serve(out, txt, sys.argv[4:])
    else:
        raise SystemExit(f"unknown profile kind {kind!r}")


if __name__ == "__main__":
    main()
