"""Target 1: one VGG-16 block, ours against the torch-free formula count and against the counting
libraries on the real model, all in ONE process so that every ratio is measured under the same load.

    python bench/vgg.py OUT.json ROUNDS

Ours: `cnn_cost.block.parse_block` + `cnn_cost.evaluate.evaluate` + `cnn_cost.render.block_html` on
the block text (the public functions, with their defaults). Baseline: `parse_block` + the formula
count of bench/formula.py. The libraries: torchinfo, thop, ptflops, fvcore and
torch.utils.flop_counter.FlopCounterMode on one real CPU VGG-16 (weights, random input), shared.

Protocol: import torch; first calls (ours and the baseline first on VGG-16; each library first on a
tiny model, then on VGG-16, with its peak extra RSS); then ROUNDS rounds, each of K interleaved calls
of ours and of the baseline and one call of every library (in an order rotated per round). A round's
ratio divides the library's call (or ours' median) by ours' median (or the baseline's) of that round.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from blocks import TINY, VGG16
from common import PeakRSS, median, rss_bytes, write_json

TOOLS = ("torchinfo", "thop", "ptflops", "fvcore", "flop_counter")
PACKAGE = {"ours": "mkdocs-cnn-cost", "torchinfo": "torchinfo", "thop": "thop", "ptflops": "ptflops",
           "flop_counter": "torch", "fvcore": "fvcore"}
CALL = {
    "ours": "cnn_cost: parse_block + evaluate + render.block_html",
    "baseline": "cnn_cost.block.parse_block + bench/formula.py count (no torch)",
    "torchinfo": "torchinfo.summary(model, input_data=x, verbose=0)",
    "thop": "thop.profile(model, inputs=(x,), verbose=False)",
    "ptflops": "ptflops.get_model_complexity_info(model, (3, 224, 224), backend='pytorch', as_strings=False)",
    "flop_counter": "torch.utils.flop_counter.FlopCounterMode under torch.no_grad(), model(x)",
    "fvcore": "fvcore.nn.FlopCountAnalysis(model, x).total() + parameter_count(model)",
}
K = 7  # calls of ours and of the baseline per round
AROUND = 4  # calls of ours before and after each library call

VGG_INPUT = (1, 3, 224, 224)
TINY_INPUT = (1, 3, 16, 16)


def build_real(call: Any) -> Any:
    """A real (CPU, with weights) module from a parsed block's call tree."""
    import torch

    cls = getattr(torch.nn, call.name)
    if call.name == "Sequential":
        return cls(*[build_real(c) for c in call.args])
    return cls(*call.args, **dict(call.kwargs))


def ours(body: str) -> tuple[Any, str, tuple[float, float, float]]:
    """parse_block + evaluate + block_html, as the plugin does for one block: (result, HTML, stage times)."""
    from cnn_cost import render
    from cnn_cost.block import parse_block
    from cnn_cost.evaluate import evaluate

    t0 = time.perf_counter()
    block = parse_block(body)
    t1 = time.perf_counter()
    result = evaluate(block)
    t2 = time.perf_counter()
    html = render.block_html(body, block_id=block.id, title=block.title, result=result, columns=block.columns,
                             claims=block.expect)
    return result, html, (t1 - t0, t2 - t1, time.perf_counter() - t2)


def _runner(tool: str, model: Any, x: Any) -> Callable[[], dict[str, Any]]:
    import torch

    if tool == "torchinfo":
        from torchinfo import summary

        def go() -> dict[str, Any]:
            stats = summary(model, input_data=x, verbose=0)
            return {"Total params": int(stats.total_params), "Mult-Adds": int(stats.total_mult_adds)}

    elif tool == "thop":
        from thop import profile

        def go() -> dict[str, Any]:
            ops, params = profile(model, inputs=(x,), verbose=False)
            return {"params": int(params), "ops (MACs)": int(ops)}

    elif tool == "ptflops":
        from ptflops import get_model_complexity_info

        def go() -> dict[str, Any]:
            macs, params = get_model_complexity_info(
                model, tuple(x.shape[1:]), as_strings=False, print_per_layer_stat=False, verbose=False,
                backend="pytorch",
            )
            return {"params": int(params), "MACs": int(macs)}

    elif tool == "flop_counter":
        from torch.utils.flop_counter import FlopCounterMode

        def go() -> dict[str, Any]:
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                model(x)
            return {"FLOPs": int(counter.get_total_flops())}

    elif tool == "fvcore":
        from fvcore.nn import FlopCountAnalysis, parameter_count

        def go() -> dict[str, Any]:
            analysis = FlopCountAnalysis(model, x)
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            return {"params (parameter_count)": int(parameter_count(model)[""]),
                    "flop (= MAC)": int(analysis.total())}

    else:
        raise SystemExit(f"unknown tool {tool!r}")
    return go


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0, time.process_time() - c0


def worker(out: Path, rounds: int) -> None:
    rss0 = rss_bytes()
    started = time.perf_counter()
    import torch
    from formula import parse_and_count

    data: dict[str, Any] = {"torch_import_seconds": time.perf_counter() - started,
                            "rss_after_torch_import": rss_bytes() - rss0, "call": CALL, "rounds": rounds, "k": K,
                            "around": AROUND, "threads": torch.get_num_threads(),
                            "version": {t: metadata.version(p) for t, p in PACKAGE.items()}}
    from cnn_cost.block import parse_block

    # first calls in the process (lazy imports of the plugin and of torch are paid here)
    with PeakRSS() as mem:
        (result, html, stages), wall, cpu = _timed(lambda: ours(VGG16))
    first = {"seconds": wall, "cpu_seconds": cpu, "extra_bytes": mem.extra, "stages": stages}
    counted, wall, cpu = _timed(lambda: parse_and_count(VGG16))
    data["ours"] = {"first": first, "html_chars": len(html),
                    "counts": {"params": result.params, "MACs": result.macs, "output": list(result.output or ())}}
    data["baseline"] = {"first": {"seconds": wall, "cpu_seconds": cpu},
                        "counts": {"params": counted.params, "MACs": counted.macs, "output": list(counted.output)}}
    data["agree"] = data["ours"]["counts"] == data["baseline"]["counts"]

    # the libraries: one real model, shared (each library removes its hooks and buffers when done)
    block = parse_block(VGG16)
    started = time.perf_counter()
    with PeakRSS() as mem:
        model = build_real(block.model).eval()
    data["model_build_seconds"], data["model_build_extra_bytes"] = time.perf_counter() - started, mem.extra
    x = torch.randn(VGG_INPUT)
    tiny_model, tiny_x = build_real(parse_block(TINY).model).eval(), torch.randn(TINY_INPUT)
    runners: dict[str, Callable[[], dict[str, Any]]] = {}
    tools: dict[str, Any] = {}
    for tool in TOOLS:
        _runner(tool, tiny_model, tiny_x)()  # lazy imports, once
        runners[tool] = _runner(tool, model, x)
        with PeakRSS() as mem:
            counts, wall, cpu = _timed(runners[tool])
        tools[tool] = {"counts": counts, "first": {"seconds": wall, "cpu_seconds": cpu, "extra_bytes": mem.extra},
                       "wall": [], "cpu": []}
    data["memory_method"] = mem.method

    series: dict[str, dict[str, list[float]]] = {
        name: {"wall": [], "cpu": []} for name in ("ours", "baseline", "parse", "evaluate", "render")}

    def ours_call() -> tuple[float, float]:
        (_, _, stages), wall, cpu = _timed(lambda: ours(VGG16))
        series["ours"]["wall"].append(wall)
        series["ours"]["cpu"].append(cpu)
        for name, seconds in zip(("parse", "evaluate", "render"), stages, strict=True):
            series[name]["wall"].append(seconds)
        return wall, cpu

    a = torch.randn(512, 512)

    def torch_probe() -> float:
        """A fixed torch workload (10 matmuls of 512x512, the default threads): how fast torch runs now."""
        started = time.perf_counter()
        for _ in range(10):
            torch.mm(a, a)
        return time.perf_counter() - started

    per_round = []
    for r in range(rounds):
        walls: dict[str, list[float]] = {"ours": [], "baseline": []}
        for _ in range(K):  # ours and the baseline, interleaved
            walls["ours"].append(ours_call()[0])
            _, wall, cpu = _timed(lambda: parse_and_count(VGG16))
            walls["baseline"].append(wall)
            series["baseline"]["wall"].append(wall)
            series["baseline"]["cpu"].append(cpu)
        row: dict[str, float] = {"ours": median(walls["ours"]), "baseline": median(walls["baseline"]),
                                 "torch probe": torch_probe()}
        order = TOOLS[r % len(TOOLS):] + TOOLS[: r % len(TOOLS)]
        for tool in order:  # each library call between calls of ours: the ratio takes ours from around it
            around = [ours_call() for _ in range(AROUND)]
            counts, wall, cpu = _timed(runners[tool])
            around += [ours_call() for _ in range(AROUND)]
            row[f"{tool} cpu"] = cpu
            row[f"ours cpu around {tool}"] = median([c for _, c in around])
            if counts != tools[tool]["counts"]:
                tools[tool].setdefault("changed_counts", []).append(counts)
            tools[tool]["wall"].append(wall)
            tools[tool]["cpu"].append(cpu)
            row[tool] = wall
            row[f"ours around {tool}"] = median([w for w, _ in around])
        per_round.append(row)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in row.items()), flush=True)
    data["series"] = series
    data["tools"] = tools
    data["per_round"] = per_round
    write_json(out, data)


if __name__ == "__main__":
    worker(Path(sys.argv[1]), int(sys.argv[2]))
