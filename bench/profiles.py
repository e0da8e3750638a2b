"""pyinstrument profiles of a missed target, summed into a few named parts.

    python bench/profiles.py vgg OUT.json OUT.txt
    python bench/profiles.py curve OUT.json OUT.txt LAYERS
    python bench/profiles.py build OUT.json OUT.txt CONFIG [CACHE_DIR_TO_EMPTY]

Each part is the time of the outermost frames that match it (no double counting within a part;
parts may nest, as "meta forward" holds "ReLU.forward"). The full call tree goes to OUT.txt.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import write_json

Pred = Callable[[Any], bool]


def fn(name: str, path_part: str) -> Pred:
    return lambda f: f.function == name and path_part in (f.file_path or "")


def module(path_suffix: str) -> Pred:
    return lambda f: f.function == "<module>" and (f.file_path or "").endswith(path_suffix)


def in_files(*parts: str) -> Pred:
    return lambda f: any(p in (f.file_path or "") for p in parts)


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


def by_module_forward(frames: list[Any]) -> dict[str, dict[str, float]]:
    """Time in each module class's forward (containers skipped), and how much of it is spent in
    torch/_refs and torch/_prims (PyTorch's Python reference implementations)."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: {"seconds": 0.0, "python_refs_seconds": 0.0})
    refs = in_files("torch/_refs", "torch/_prims", "torch/_decomp")

    def visit(frame: Any) -> None:
        cls = frame.class_name
        if frame.function == "forward" and cls and cls not in ("Sequential", "ModuleList", "ModuleDict"):
            out[cls]["seconds"] += frame.time
            out[cls]["python_refs_seconds"] += outer(frame, refs)
            return
        for c in frame.children:
            visit(c)

    for f in frames:
        visit(f)
    return dict(out)


def self_times(root: Any, top: int = 12) -> list[dict[str, Any]]:
    totals: dict[str, float] = defaultdict(float)

    def visit(frame: Any) -> None:
        if not frame.is_synthetic:
            where = (frame.file_path or "?").split("site-packages/")[-1].split("/work/main/")[-1]
            name = f"{frame.class_name}.{frame.function}" if frame.class_name else frame.function
            totals[f"{name} ({where})"] += frame.total_self_time
        for c in frame.children:
            visit(c)

    visit(root)
    return [{"function": k, "seconds": v} for k, v in sorted(totals.items(), key=lambda kv: -kv[1])[:top]]


def block_parts(root: Any) -> dict[str, Any]:
    """Where the time of parse_block + evaluate (+ render) goes."""
    evaluate_frames = outer_frames(root, fn("evaluate", "cnn_cost/evaluate.py"))
    forward = [g for f in evaluate_frames
               for g in outer_frames(f, fn("_wrapped_call_impl", "torch/nn/modules/module.py"))]
    return {
        "total": float(root.time),
        "parse_block": outer(root, fn("parse_block", "cnn_cost/block.py")),
        "parse: YAML (_compose)": outer(root, fn("_compose", "cnn_cost/block.py")),
        "parse: layer expressions": outer(root, fn("top", "cnn_cost/block.py")),
        "evaluate": sum(f.time for f in evaluate_frames),
        "evaluate: signature checks (_Builder.check)": within(evaluate_frames, fn("check", "cnn_cost/evaluate.py")),
        "evaluate: module construction on meta (_Builder.build)":
            within(evaluate_frames, fn("build", "cnn_cost/evaluate.py")),
        "evaluate: meta forward (model(x) with hooks)": sum(f.time for f in forward),
        "evaluate: formulas (cnn_cost/layers)": within(evaluate_frames, in_files("cnn_cost/layers/")),
        "render (block_html)": outer(root, fn("block_html", "cnn_cost/render.py")),
        "forward by module": by_module_forward(forward),
    }


def build_parts(root: Any) -> dict[str, Any]:
    mathml = in_files("cnn_cost/mathml.py")  # a Markdown extension of the guide: in the plain build too
    plugin = outer_frames(root, lambda f: in_files("/cnn_cost/")(f) and not mathml(f))
    return {
        "total": float(root.time),
        "cnn_cost (all plugin frames)": sum(f.time for f in plugin),
        "import torch": within(plugin, module("torch/__init__.py")),
        "import torch._dynamo (lazy, first meta ReLU)": within(plugin, module("torch/_dynamo/__init__.py")),
        "parse_block": within(plugin, fn("parse_block", "cnn_cost/block.py")),
        "parse_block: YAML (_compose)": within(plugin, fn("_compose", "cnn_cost/block.py")),
        "evaluate": within(plugin, fn("evaluate", "cnn_cost/evaluate.py")),
        "render (block_html)": within(plugin, fn("block_html", "cnn_cost/render.py")),
        "cache: key": within(plugin, fn("key", "cnn_cost/cache.py")),
        "cache: get (memory + disk read)": within(plugin, fn("get", "cnn_cost/cache.py")),
        "cache: put (disk write)": within(plugin, fn("put", "cnn_cost/cache.py")),
        "claims": within(plugin, in_files("cnn_cost/claims.py")),
        "importing cnn_cost's modules": within(plugin, lambda f: f.function == "<module>"
                                               and "/cnn_cost/" in (f.file_path or "")),
        "cache: code hash (reads the plugin's source)": within(plugin, fn("code_hash", "cnn_cost/cache.py")),
        "mkdocs search plugin (not the plugin; also in the plain build)": outer(root, in_files("contrib/search")),
        "inline #!cnn": within(plugin, fn("inline_format", "cnn_cost/markdown.py")),
        "cnn_cost.mathml (not the plugin; also in the plain build)": outer(root, mathml),
    }


def main() -> None:
    kind, out, txt = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    if kind in ("vgg", "curve"):
        import torch  # noqa: F401 - profiles are of warm evaluations

        from cnn_cost import render
        from cnn_cost.block import parse_block
        from cnn_cost.evaluate import evaluate

        if kind == "vgg":
            from vgg import TINY, VGG16

            tiny, body, repeat = TINY, VGG16, 20
        else:
            from curve import conv_block

            tiny, body, repeat = conv_block(10), conv_block(int(sys.argv[4])), 1

        def once(text: str) -> None:
            block = parse_block(text)
            result = evaluate(block)
            render.block_html(text, block_id=block.id, title=block.title, result=result, columns=block.columns)

        once(tiny)
        if kind == "vgg":
            once(body)
        profiler.start()
        for _ in range(repeat):
            once(body)
        profiler.stop()
        session = profiler.last_session
        assert session is not None
        root = session.root_frame()
        data: dict[str, Any] = {"kind": kind, "repeat": repeat, "parts": block_parts(root)}
    else:
        config = sys.argv[4]
        if len(sys.argv) > 5:
            shutil.rmtree(sys.argv[5], ignore_errors=True)
        import logging

        from common import parse_summary
        from mkdocs.commands.build import build
        from mkdocs.config import load_config

        messages: list[str] = []
        handler = logging.Handler(logging.INFO)
        handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
        plugin_log = logging.getLogger("mkdocs.plugins.cnn_cost")
        plugin_log.setLevel(logging.INFO)
        plugin_log.addHandler(handler)

        started = time.perf_counter()
        profiler.start()
        cfg = load_config(config_file=config)
        cfg.plugins.on_startup(command="build", dirty=False)
        try:
            build(cfg)
        finally:
            profiler.stop()
        session = profiler.last_session
        assert session is not None
        root = session.root_frame()
        data = {"kind": kind, "config": config, "cold": len(sys.argv) > 5,
                "wall_seconds": time.perf_counter() - started, "parts": build_parts(root),
                "summary": parse_summary("\n".join(messages))}
    data["self_time_top"] = self_times(root)
    write_json(out, data)
    txt.write_text(profiler.output_text(unicode=False, color=False), encoding="utf-8")


if __name__ == "__main__":
    main()
