"""The names the plugin knows, each in one place: conventions, counting libraries, options, ids.

Imports nothing: every other module (the registry, the parser, the plugin's options) reads these.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

Convention = Literal["2mac", "mac", "detailed"]
CONVENTIONS: tuple[Convention, ...] = get_args(Convention)
"""How FLOPs are counted from MACs: 2 × MACs, = MACs, or 2 × MACs plus the other operations."""

CounterName = Literal[
    "thop", "ptflops", "fvcore", "torchinfo", "torch", "torchsummary", "torchstat", "ultralytics-thop",
]
COUNTER_NAMES: tuple[CounterName, ...] = get_args(CounterName)
"""The counting libraries a block can show a column for (`as:`); `torch` is torch.utils.flop_counter.
Each name is also a claim metric (`thop`, `conv1.thop`): that library's main number."""

CounterDetail = Literal[
    "torchsummary-pass", "torchsummary-input", "torchsummary-params-size", "torchsummary-total",
    "torchstat-madd", "torchstat-memory", "torchstat-memrw",
]
COUNTER_DETAILS: tuple[CounterDetail, ...] = get_args(CounterDetail)
"""The other numbers a library prints, claimable as `<library>-<what>` once the block has `as: [<library>]`."""
COUNTER_BYTES: tuple[CounterDetail, ...] = (
    "torchsummary-pass", "torchsummary-input", "torchsummary-params-size", "torchsummary-total",
    "torchstat-memory", "torchstat-memrw",
)
"""The details that are sizes, in bytes: claimed with a unit (`9.96 MiB`; the libraries' "MB" are MiB)."""


def counter_of(metric: str) -> str:
    """The library a counter metric belongs to: `torchstat-madd` -> `torchstat`, `thop` -> `thop`."""
    for name in COUNTER_NAMES:
        if metric == name or metric.startswith(name + "-"):
            return name
    raise KeyError(metric)

OnError = Literal["fail", "warn"]
ON_ERROR: tuple[OnError, ...] = get_args(OnError)
"""The plugin's `on_error`: a problem fails `mkdocs build`, or is a warning."""

ExtensionOnError = Literal["raise", "warn"]
EXTENSION_ON_ERROR: tuple[ExtensionOnError, ...] = get_args(ExtensionOnError)
"""The plain extension's `on_error`: a problem raises `CnnCostError`, or is a warning shown in the page."""

ShapesMode = Literal["formula", "torch"]
SHAPES: tuple[ShapesMode, ...] = get_args(ShapesMode)
"""Output shapes by the registry's formulas (meta kernels only as a fallback), or by meta kernels always."""

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}
"""A block's `dtype`: bytes per parameter (`memory`) and per output element (`activations`)."""

ClaimKind = Literal["count", "memory", "shape", "ratio"]

ID_PATTERN = re.compile(r"^[\w-]{1,64}\Z")
"""A block id or a layer name in `layers:`: letters (any script: `卷积`), digits, `-` and `_`."""

ContainerName = Literal["Residual", "Add", "Concat", "Mul", "Repeat"]
CONTAINERS: tuple[ContainerName, ...] = get_args(ContainerName)
"""The package's own containers for branching networks, written `cnn.Residual(...)` (contract 2b)."""

Mode = Literal["eval", "train"]
MODES: tuple[Mode, ...] = get_args(Mode)
"""The mode a block's model runs in (`mode:`): BatchNorm on running or batch statistics, Dropout off or on."""
