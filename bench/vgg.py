"""Part 1: one VGG-16 block, our evaluation against the counting libraries, each tool in a fresh process.

    python bench/vgg.py TOOL RUNS OUT.json

Protocol, the same for every tool: import torch (and the tool); build what the tool needs (the block
text for us; a real CPU model with weights and a random input for the others); warm up on a tiny
model (this pays lazily imported torch modules once); then the first VGG-16 call is measured for
peak extra memory (RSS above the level before the call) and RUNS further calls for wall time.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from common import PeakRSS, median, rss_bytes, write_json

TOOLS = ("ours", "torchinfo", "thop", "ptflops", "flop_counter", "fvcore")
PACKAGE = {"ours": "mkdocs-cnn-cost", "torchinfo": "torchinfo", "thop": "thop", "ptflops": "ptflops",
           "flop_counter": "torch", "fvcore": "fvcore"}
CALL = {
    "ours": "cnn_cost.block.parse_block + cnn_cost.evaluate.evaluate (meta device)",
    "torchinfo": "torchinfo.summary(model, input_data=x, verbose=0)",
    "thop": "thop.profile(model, inputs=(x,), verbose=False)",
    "ptflops": "ptflops.get_model_complexity_info(model, (3, 224, 224), backend='pytorch', as_strings=False)",
    "flop_counter": "torch.utils.flop_counter.FlopCounterMode under torch.no_grad(), model(x)",
    "fvcore": "fvcore.nn.FlopCountAnalysis(model, x).total() + parameter_count(model)",
}

VGG16 = """\
id: vgg16
title: VGG-16, 3x224x224, 1000 classes
input: 3x224x224
model: |
  nn.Sequential(
      nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(),
      nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
      nn.MaxPool2d(2, 2),
      nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
      nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(),
      nn.MaxPool2d(2, 2),
      nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(),
      nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
      nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
      nn.MaxPool2d(2, 2),
      nn.Conv2d(256, 512, 3, padding=1), nn.ReLU(),
      nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(),
      nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(),
      nn.MaxPool2d(2, 2),
      nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(),
      nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(),
      nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(),
      nn.MaxPool2d(2, 2),
      nn.Flatten(),
      nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(p=0.5),
      nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(p=0.5),
      nn.Linear(4096, 1000))
expect:
  params: 138,357,544
  macs: 15,470,264,320
  output: [1, 1000]
"""
VGG_INPUT = (1, 3, 224, 224)

TINY = """\
input: 3x16x16
model: nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 7 * 7, 10))
"""
TINY_INPUT = (1, 3, 16, 16)


def build_real(call: Any) -> Any:
    """A real (CPU, with weights) module from a parsed block's call tree."""
    import torch

    cls = getattr(torch.nn, call.name)
    if call.name == "Sequential":
        return cls(*[build_real(c) for c in call.args])
    return cls(*call.args, **dict(call.kwargs))


def _counts_ours(body: str) -> Callable[[], dict[str, Any]]:
    from cnn_cost.block import parse_block
    from cnn_cost.evaluate import evaluate

    def go() -> dict[str, Any]:
        result = evaluate(parse_block(body))
        return {"params": result.params, "MACs": result.macs, "FLOPs (2mac)": result.flops}

    return go


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


def worker(tool: str, runs: int, out: Path) -> None:
    rss0 = rss_bytes()
    started = time.perf_counter()
    import torch

    torch_import = time.perf_counter() - started
    from cnn_cost.block import parse_block

    data: dict[str, Any] = {"tool": tool, "call": CALL[tool], "torch_import_seconds": torch_import,
                            "version": metadata.version(PACKAGE[tool]), "rss_after_torch_import": rss_bytes() - rss0}
    if tool == "ours":
        tiny, main = _counts_ours(TINY), _counts_ours(VGG16)
    else:
        block = parse_block(VGG16)
        started = time.perf_counter()
        with PeakRSS() as mem:
            model = build_real(block.model).eval()
        data["model_build_seconds"] = time.perf_counter() - started
        data["model_build_extra_bytes"] = mem.extra
        x = torch.randn(VGG_INPUT)
        tiny_model = build_real(parse_block(TINY).model).eval()
        tiny, main = _runner(tool, tiny_model, torch.randn(TINY_INPUT)), _runner(tool, model, x)
    started = time.perf_counter()
    with PeakRSS() as mem:
        tiny()
    data["warmup_seconds"] = time.perf_counter() - started
    data["warmup_extra_bytes"] = mem.extra
    started = time.perf_counter()
    with PeakRSS() as mem:
        data["counts"] = main()
    data["first_seconds"] = time.perf_counter() - started
    data["first_extra_bytes"] = mem.extra
    data["memory_method"] = mem.method
    times, cpu = [], []
    with PeakRSS() as mem:
        for _ in range(runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            main()
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    data["repeat_extra_bytes"] = mem.extra
    data["times"] = times
    data["median_seconds"] = median(times)
    data["cpu_median_seconds"] = median(cpu)
    data["runs"] = runs
    if tool == "ours":  # the two stages apart
        from cnn_cost.evaluate import evaluate

        parse_t, eval_t = [], []
        for _ in range(runs):
            started = time.perf_counter()
            block = parse_block(VGG16)
            parse_t.append(time.perf_counter() - started)
            started = time.perf_counter()
            evaluate(block)
            eval_t.append(time.perf_counter() - started)
        data["parse_median_seconds"] = median(parse_t)
        data["evaluate_median_seconds"] = median(eval_t)
    write_json(out, data)


if __name__ == "__main__":
    worker(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))
