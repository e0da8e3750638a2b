"""Target 2: `import torch` alone, or `import torch` and then the first block, in this (fresh) process.

    python bench/first_block.py torch|block

Prints {"import_torch": s, "block": s} as JSON (in-process stopwatch); the caller times the process
from spawn to exit. The block is the VGG-16 block of target 1: parse_block + evaluate +
render.block_html, the first of the process (it pays torch's lazy imports). The plugin's modules are
imported before the stopwatch starts, in both modes, as MkDocs does when it loads the plugin.
"""

from __future__ import annotations

import json
import sys
import time

# The plugin's own modules are imported first, untimed, in both modes: MkDocs imports them when it
# loads the plugin, before any page is built (and before torch, which only a block's evaluation imports).
from blocks import VGG16

from cnn_cost import render
from cnn_cost.block import parse_block
from cnn_cost.evaluate import evaluate

started = time.perf_counter()
import torch  # noqa: E402, F401 - what is measured

out: dict[str, float | None] = {"import_torch": time.perf_counter() - started, "block": None}
if sys.argv[1] == "block":
    started = time.perf_counter()
    block = parse_block(VGG16)
    result = evaluate(block)
    render.block_html(VGG16, block_id=block.id, title=block.title, result=result, columns=block.columns,
                      claims=block.expect)
    out["block"] = time.perf_counter() - started
print(json.dumps(out))
