"""Evaluate a parsed block: build it (`cnn_cost.builder`), count its parameters, propagate its input
(`cnn_cost.shapes`), and compute one row per leaf call with its formula: the block's `Result`.

`import torch` happens in `cnn_cost.builder`, lazily, the first time a block is evaluated.
"""

from __future__ import annotations

import warnings
from typing import Any

from cnn_cost import shapes as walks
from cnn_cost.block import DTYPES, Block
from cnn_cost.builder import Builder, Torch, first_line, no_init, shorten, torch_imported, warm_up
from cnn_cost.claims import format_shape
from cnn_cost.counters import count
from cnn_cost.errors import CnnCostError
from cnn_cost.imports import ModuleTracker
from cnn_cost.layers import REGISTRY, Cost, LayerSpec
from cnn_cost.result import Result, Row, Shape
from cnn_cost.shapes import Record, Walk, batched_input, leaves_of


def evaluate(block: Block, *, imports: tuple[str, ...] = (), convention: str = "2mac",
             site_path: str | None = None, modules: ModuleTracker | None = None, shapes: str = "formula") -> Result:
    """Evaluate a parsed block. Raises `CnnCostError` at the offending line for any problem.

    `shapes`: "formula" takes output shapes from the registry's formulas and runs PyTorch's meta
    kernels only where no formula applies; "torch" runs the model forward on the meta device.
    Parameters are always `numel()` of the real modules.

    The steps: check every call against the real signatures; build the model on the meta device;
    count its parameters; propagate the input's shape (by formula, else by PyTorch); one row per call.
    """
    torch, nn = Torch.get()
    convention = block.flops or convention
    builder = Builder(imports, site_path, modules)
    for call in ([block.model] if block.model is not None else [c for _, c in block.layers or ()]):
        builder.check(call)
    model = _Model(_build(block, builder, nn), builder)
    params = sum(p.numel() for p in model.root.parameters())
    trainable = sum(p.numel() for p in model.root.parameters() if p.requires_grad)
    buffers = sum(b.numel() for b in model.root.buffers())
    memory = params * DTYPES[block.dtype]
    if block.input is None:  # parameters only, each with the registry's formula, which needs no shape
        rows = []
        for name, module in model.leaves:
            spec = model.spec_of(module)
            text = spec.params(module)[1] if spec is not None else ""
            rows.append(Row(name or ROOT_NAME, model.type_of(module), None, model.own_params(module), None, None,
                            (f"params: {text}",) if text else ()))
        return Result(tuple(rows), params, trainable, buffers, memory, None, None, None, convention, block.dtype)
    records, outputs, model_output, costs = _shapes(torch, model, block, shapes)
    rows = []
    seen: set[int] = set()
    for record in records:
        rows.append(_row(torch, model, record, id(record[0]) in seen, costs, convention, block.counters))
        seen.add(id(record[0]))
    totals = tuple((tool, sum(dict(r.counters)[tool] for r in rows)) for tool in block.counters)
    macs, flops = sum(r.macs or 0 for r in rows), sum(r.flops or 0 for r in rows)
    return Result(tuple(rows), params, trainable, buffers, memory, macs, flops, model_output, convention,
                  block.dtype, tuple(outputs.items()), totals)


ROOT_NAME = "model"  # the row name of a block whose model is one leaf


def _build(block: Block, builder: Builder, nn: Any) -> Any:
    """The block's model on the meta device (a `layers:` block: an nn.Sequential of its named layers)."""
    torch = builder.torch
    with no_init(torch), warnings.catch_warnings():  # registry layers get device="meta" themselves
        warnings.simplefilter("ignore")
        if block.model is not None:
            return builder.build(block.model)
        model = nn.Sequential()
        for name, call in block.layers or ():
            layer = builder.build(call)
            try:
                model.add_module(name, layer)
            except KeyError:  # an attribute of nn.Module: `forward`, `training`, `cuda`, ...
                raise CnnCostError(
                    f"layer name {name!r} is taken by an attribute of nn.Module: choose another name", call.line, None,
                ) from None
        return model


class _Model:
    """A built model with what the steps ask of it: its leaves, names, layer types and specs."""

    def __init__(self, root: Any, builder: Builder) -> None:
        self.root = root
        self.builder = builder
        self.leaves = leaves_of(root)
        self.names = {id(m): (n or ROOT_NAME) for n, m in self.leaves}
        self.module_names = {id(m): n for n, m in root.named_modules()}

    def type_of(self, module: Any) -> str:
        return self.builder.types.get(id(module), type(module).__name__)

    def spec_of(self, module: Any) -> LayerSpec | None:
        spec = REGISTRY.get(self.type_of(module))
        return spec if spec is not None and spec.cost is not None else None

    def own_params(self, module: Any) -> int:
        spec = self.spec_of(module)
        recurse = not (list(module.children()) and not (spec and spec.atomic))
        return sum(p.numel() for p in module.parameters(recurse=recurse))

    def name_of(self, module: Any) -> str:
        return self.names.get(id(module), self.module_names.get(id(module)) or ROOT_NAME)


def _shapes(torch: Any, model: _Model, block: Block, shapes: str) -> Walk:
    """Every leaf call with its input and output shapes: by the registry's formulas where they apply,
    else by a forward pass on the meta device (and then a formula's refusal still stands)."""
    first = model.leaves[0][1] if model.leaves else None
    shape = batched_input(block, first, model.spec_of(first) if first is not None else None)
    dtype = torch.long if first is not None and model.type_of(first) == "Embedding" else torch.float32
    model.root.eval()  # inference: BatchNorm uses running statistics, Dropout is the identity
    refused: list[tuple[Any, Shape, str]] = []
    if shapes == "formula":
        walk = walks.by_formula(model.root, shape, model.spec_of, model.module_names, refused)
        if walk is not None:
            return walk
    x = torch.empty(shape, device="meta", dtype=dtype)
    leaf_ids = {id(m) for _, m in model.leaves}
    walk = walks.by_torch(torch, model.root, x, shape, leaf_ids, model.module_names, model.builder.calls,
                     model.type_of, block, ROOT_NAME)
    if refused:  # the meta kernels accepted what PyTorch refuses on a real device (the formulas follow it)
        culprit, culprit_input, reason = refused[0]
        reason = shorten(reason)
        reason = reason if len(reason) <= 300 else reason[:297] + "..."
        located = model.builder.calls.get(id(culprit))
        raise CnnCostError(
            f"layer {model.module_names.get(id(culprit)) or ROOT_NAME} ({model.type_of(culprit)}) cannot take an "
            f"input of shape {format_shape(culprit_input)}: {reason}",
            *((located.line, located.column) if located else (block.line, None)),
        )
    return walk


def _row(torch: Any, model: _Model, record: Record, shared: bool, costs: dict[int, dict[Shape, Cost]],
         convention: str, counters: tuple[str, ...]) -> Row:
    """The table row of one call of one leaf: by its registry entry, else measured by the flop counter."""
    module, xin, in_shapes, yout = record
    n_params = 0 if shared else model.own_params(module)
    note = "shared" if shared else ""
    spec = model.spec_of(module)
    type_name = model.type_of(module)
    if spec is not None:
        cost = costs.get(id(module), {}).get(xin) or spec.cost(module, xin, yout)  # type: ignore[misc]
        formula = list(cost.formula_lines(convention))
        if cost.params != n_params and not shared:
            formula.append(f"note: the formula gives {cost.params:,}; PyTorch counts {n_params:,}")
        if cost.shape is not None and yout is not None and tuple(cost.shape) != tuple(yout):
            formula.append(f"note: the formula gives {format_shape(cost.shape)}; PyTorch gives {format_shape(yout)}")
        macs, flops = cost.macs, cost.flops(convention)
    else:
        macs, flops, formula = walks.measured(torch, module, in_shapes, convention)
        note = note or "measured"
        cost = Cost(macs=macs)
    tools = tuple((tool, count(tool, type_name, module, xin, yout or (), cost)) for tool in counters)
    return Row(model.name_of(module), type_name, yout, n_params, macs, flops, tuple(formula), note, tools)


__all__ = ["Builder", "Result", "Row", "batched_input", "evaluate", "first_line", "leaves_of", "torch_imported",
           "warm_up"]
