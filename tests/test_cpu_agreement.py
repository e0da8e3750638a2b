"""Every block the guide accepts is also accepted by PyTorch on a real device, with the same numbers.

Blocks are evaluated on the meta device, with output shapes from the registry's formulas; the
meta device accepts some things a real device refuses. Here each block of the guide (and of the
README) that is small enough is built again by the same builder on the CPU, with real weights,
and run on a real input: it must run, give the same output shape at every leaf, and the same
parameter count. Blocks that import models are built from the guide's own module.
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch

from cnn_cost.block import parse_block
from cnn_cost.builder import Builder
from cnn_cost.evaluate import evaluate
from cnn_cost.layers import REGISTRY
from cnn_cost.lines import fence_bodies
from cnn_cost.shapes import batched_input, leaves_of

ROOT = Path(__file__).resolve().parents[1]
MAX_PARAMS = 3_000_000  # weights really allocated on the CPU
MAX_INPUT = 2_000_000  # input elements


def guide_blocks() -> list[Any]:
    out = []
    for page in sorted([*(ROOT / "docs").rglob("*.md"), ROOT / "README.md"]):
        for line, body in fence_bodies(page.read_text(encoding="utf-8")):
            out.append(pytest.param(body, id=f"{page.relative_to(ROOT)}:{line}"))
    return out


BLOCKS = guide_blocks()


def test_the_guide_has_blocks() -> None:
    assert len(BLOCKS) >= 80


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("body", BLOCKS)
def test_block_runs_on_cpu_with_the_same_numbers(body: str) -> None:
    imports = ("docs_models",)
    sys.path.insert(0, str(ROOT))
    try:
        block = parse_block(body, 1, imports)
        result = evaluate(block, imports=imports, site_path=str(ROOT))
        if block.input is None or result.output is None:
            pytest.skip("no input: nothing runs")
        if result.params > MAX_PARAMS or math.prod(block.input) > MAX_INPUT:
            pytest.skip(f"{result.params:,} parameters: too large to allocate in a test")
        builder = Builder(imports, str(ROOT))
        builder.device = "cpu"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if block.model is not None:
                model = builder.build(block.model)
            else:
                model = torch.nn.Sequential()
                for name, call in block.layers or ():
                    model.add_module(name, builder.build(call))
    finally:
        sys.path.remove(str(ROOT))
    model.eval()
    assert sum(p.numel() for p in model.parameters()) == result.params
    assert all(not p.is_meta for p in model.parameters())

    shapes: dict[int, tuple[int, ...]] = {}

    def hook(module: Any, args: Any, out: Any) -> None:
        while isinstance(out, (tuple, list)):
            out = out[0]
        shapes[id(module)] = tuple(out.shape)

    leaves = leaves_of(model)
    for _, module in leaves:
        module.register_forward_hook(hook)
    first = leaves[0][1] if leaves else None
    spec = REGISTRY.get(type(first).__name__)
    spec = spec if spec is not None and spec.cost is not None else None
    given = [batched_input(block, first, spec)] + [batched_input(block, first, spec, more)
                                                   for more in block.more_inputs]
    dtype = torch.long if spec is not None and spec.index_input else torch.float32
    xs = [torch.randint(0, 2, s) if dtype == torch.long else torch.randn(s) for s in given]
    with torch.no_grad():
        if len(xs) > 1 and isinstance(model, torch.nn.Sequential):  # `inputs:`: all go to the first layer
            children = list(model)
            out = children[0](*xs)
            for child in children[1:]:
                out = child(out)
        else:
            out = model(*xs)
    while isinstance(out, (tuple, list)):
        out = out[0]
    assert tuple(out.shape) == result.output
    by_name = {name or "model": shapes.get(id(module)) for name, module in leaves}
    for row in result.rows:
        if row.name in by_name and row.note != "shared" and by_name[row.name] is not None:
            assert by_name[row.name] == row.output, row.name
