"""Extra part (`--parts curve`, not a target of issue 7): the cost of one block as the model grows, in a
fresh process after torch is imported.

    python bench/curve.py OUT.json [MAX_LAYERS]

Two series of (layer, ReLU) pairs, each block parsed, evaluated and rendered to HTML as the plugin does:
`conv`: Conv2d(8, 8, 3, padding=1) + ReLU on 8x8x8, written as a repeated list
(`nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()] * n)`, so the block text stays short);
`linear`: Linear(8, 8) + ReLU on 8 features, every layer written out (the text grows with the model).
The largest size is 9,998 layers: with the enclosing Sequential that is 9,999 of the parser's
limit of 10,000 layers per block (and the written-out text, 95 kB, stays under its 100,000 characters).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from common import median, write_json

SIZES = (10, 100, 1000, 9998)
BUDGET_SECONDS = 4.0  # repeat a size until this much time is spent (at most 5 runs, at least 1)


def conv_block(layers: int) -> str:
    return f"input: 8x8x8\nmodel: nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()] * {layers // 2})\n"


def linear_block(layers: int) -> str:
    pairs = layers // 2
    rows = [("Linear(8,8),ReLU()," * min(50, pairs - start)) for start in range(0, pairs, 50)]
    return "input: 8\nmodel: |\n  Sequential(\n" + "".join(f"    {row}\n" for row in rows) + "  )\n"


SERIES = {"conv": conv_block, "linear": linear_block}


def measure(body: str) -> dict[str, Any]:
    from cnn_cost import render
    from cnn_cost.block import parse_block
    from cnn_cost.evaluate import evaluate

    parse_t: list[float] = []
    eval_t: list[float] = []
    render_t: list[float] = []
    cpu_t: list[float] = []
    spent = 0.0
    rows = 0
    while len(parse_t) < 5 and (not parse_t or spent < BUDGET_SECONDS):
        c0, t0 = time.process_time(), time.perf_counter()
        block = parse_block(body)
        t1 = time.perf_counter()
        result = evaluate(block)
        t2 = time.perf_counter()
        render.block_html(body, block_id=block.id, title=block.title, result=result, columns=block.columns)
        t3 = time.perf_counter()
        cpu_t.append(time.process_time() - c0)
        parse_t.append(t1 - t0)
        eval_t.append(t2 - t1)
        render_t.append(t3 - t2)
        spent += t3 - t0
        rows = len(result.rows)
    totals = [a + b + c for a, b, c in zip(parse_t, eval_t, render_t, strict=True)]
    return {"runs": len(totals), "rows": rows, "chars": len(body), "parse": median(parse_t),
            "evaluate": median(eval_t), "render": median(render_t), "total": median(totals), "totals": totals,
            "cpu": median(cpu_t)}


def main(out: Path, max_layers: int) -> None:
    import torch  # noqa: F401 - the curve is measured after torch is imported

    measure(conv_block(10))  # warm-up: lazily imported torch modules, registry signatures
    measure(linear_block(10))
    data: dict[str, Any] = {"sizes": [n for n in SIZES if n <= max_layers], "series": {}}
    for name, make in SERIES.items():
        points = []
        for n in data["sizes"]:
            point = measure(make(n))
            point["layers"] = n
            point["per_layer_ms"] = point["total"] / n * 1000
            point["cpu_per_layer_ms"] = point["cpu"] / n * 1000
            points.append(point)
            print(f"{name} {n}: {point['total']:.3f} s", flush=True)
        data["series"][name] = points
    write_json(out, data)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else SIZES[-1])
