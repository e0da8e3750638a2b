"""Evaluate a parsed block: build it (`cnn_cost.builder`), count its parameters, propagate its input
(`cnn_cost.shapes`), and compute one row per leaf call with its formula: the block's `Result`.

`import torch` happens in `cnn_cost.builder`, lazily, the first time a block is evaluated.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

from cnn_cost import containers, ledger
from cnn_cost import shapes as walks
from cnn_cost.block import DTYPES, Block
from cnn_cost.builder import Builder, Torch, first_line, no_init, shorten, torch_imported, warm_up
from cnn_cost.claims import format_shape
from cnn_cost.counters import counts, totals
from cnn_cost.errors import CnnCostError
from cnn_cost.expressions import Call
from cnn_cost.imports import ModuleTracker
from cnn_cost.layers import REGISTRY, Cost, LayerSpec
from cnn_cost.result import Ledger, Result, Row, Shape
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
    if model.imported:  # an imported model: counted by one forward pass, as PyTorch counts (contract 2b)
        _lazy_needs_input(torch, model, block)
        if block.input is not None:
            return _counted(torch, model, block, convention)
    params = sum(p.numel() for p in model.root.parameters())
    trainable = sum(p.numel() for p in model.root.parameters() if p.requires_grad)
    buffers = sum(b.numel() for b in model.root.buffers())
    memory = params * DTYPES[block.dtype]
    if block.input is None:  # parameters only, each with the registry's formula, which needs no shape
        rows = []
        seen: set[int] = set()
        for name, module in model.leaves:
            if containers.is_container(module):
                continue  # a merge has no parameters and, without an input, nothing to show
            shared = id(module) in seen
            seen.add(id(module))
            spec = model.spec_of(module)
            text = spec.params(module)[1] if spec is not None and not shared else ""
            rows.append(Row(name or ROOT_NAME, model.type_of(module), None, 0 if shared else model.own_params(module),
                            None, None, (f"params: {text}",) if text else (), "shared" if shared else ""))
        return Result(tuple(rows), params, trainable, buffers, memory, None, None, None, convention, block.dtype)
    records, outputs, model_output, costs = _shapes(torch, model, block, shapes)
    rows = []
    seen = set()
    for record in records:
        rows.append(_row(torch, model, record, id(record[0]) in seen, costs, convention, block.counters))
        seen.add(id(record[0]))
    tools = totals(block.counters, (r.counters for r in rows), records[0][2] if records else ())
    macs, flops = sum(r.macs or 0 for r in rows), sum(r.flops or 0 for r in rows)
    return Result(tuple(rows), params, trainable, buffers, memory, macs, flops, model_output, convention,
                  block.dtype, tuple(outputs.items()), tools)


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

    @property
    def imported(self) -> bool:
        """A model with a module of the site's own (`imports:`): its cost needs a forward pass."""
        return any(call.module is not None for call in self.builder.calls.values())

    def type_of(self, module: Any) -> str:
        if type(module).__module__.startswith("torch.jit"):  # a ScriptModule: the class it was made from
            return f"{getattr(module, 'original_name', type(module).__name__)} (TorchScript)"
        return self.builder.types.get(id(module), type(module).__name__)

    def spec_of(self, module: Any) -> LayerSpec | None:
        """The registry entry of a module: of a block's layer, or of PyTorch's own class in an imported
        model (a project's class that shares a name with one of torch.nn's is not that layer)."""
        if id(module) not in self.builder.types and not type(module).__module__.startswith("torch.nn."):
            return None
        spec = REGISTRY.get(self.type_of(module))
        return spec if spec is not None and spec.cost is not None else None

    def kind_of(self, module: Any) -> str:
        """How a forward pass counts a module: see `cnn_cost.ledger.Called.kind`."""
        if ledger.scripted(self.builder.torch, module):
            return "script"
        if containers.merges(module):
            return "merge"
        spec = self.spec_of(module)
        children = any(child is not None for child in module._modules.values())
        if spec is not None and (spec.atomic or not children):
            return "layer"
        return "own" if children else "leaf"

    def own_params(self, module: Any) -> int:
        spec = self.spec_of(module)
        recurse = not (list(module.children()) and not (spec and spec.atomic)) or ledger.scripted(self.builder.torch,
                                                                                                     module)
        return sum(p.numel() for p in module.parameters(recurse=recurse))

    def name_of(self, module: Any) -> str:
        return self.names.get(id(module), self.module_names.get(id(module)) or ROOT_NAME)


def _inputs(torch: Any, model: _Model, block: Block) -> tuple[Shape, tuple[Shape, ...], Any]:
    """The block's input shape and its other inputs' (`inputs:`), batched for the first layer, and their
    dtype (integers for a first layer that takes indices); the model put in the block's mode."""
    first = model.leaves[0][1] if model.leaves else None
    first_spec = model.spec_of(first) if first is not None else None
    shape = batched_input(block, first, first_spec)
    more = tuple(batched_input(block, first, first_spec, given) for given in block.more_inputs)
    dtype = torch.long if first_spec is not None and first_spec.index_input else torch.float32
    # eval (the default): BatchNorm on running statistics, Dropout the identity; train: as in training
    model.root.train(block.mode == "train")
    return shape, more, dtype


def _shapes(torch: Any, model: _Model, block: Block, shapes: str) -> Walk:
    """Every leaf call with its input and output shapes: by the registry's formulas where they apply,
    else by a forward pass on the meta device (and then a formula's refusal still stands)."""
    shape, more, dtype = _inputs(torch, model, block)
    refused: list[walks.Refusal] = []
    if shapes == "formula":
        walk = walks.by_formula(model.root, shape, model.spec_of, refused, more)
        if walk is not None:
            return walk
        if refused:  # in the block's words, with the layer that gave the input; PyTorch would refuse it too
            raise _refused(model, block, refused[0])
    x = torch.empty(shape, device="meta", dtype=dtype)
    others = tuple(torch.empty(s, device="meta", dtype=dtype) for s in more)
    return walks.by_torch(torch, model.root, x, others, model.leaves, model.module_names, model.builder.calls,
                          model.type_of, block, ROOT_NAME)


def _refused(model: _Model, block: Block, refusal: walks.Refusal) -> CnnCostError:
    """A formula's refusal in the block's words: 'layer 3, Linear(8192, 10), expects 8,192 input features
    (last dimension), got 7,200; layer 2 gives [1, 7200]'."""
    module = refusal.module
    located = model.builder.calls.get(id(module))
    kind = ("cnn." if containers.is_container(module) else "") + model.type_of(module)
    what = call_text(located) if located is not None and not containers.is_container(module) else kind
    reason = shorten(refusal.reason)
    reason = reason if len(reason) <= 300 else reason[:297] + "..."
    given = (f"; layer {refusal.source} gives {format_shape(refusal.shape)}" if refusal.source
             else f"; the block's input is {format_shape(refusal.shape)}")
    if containers.is_container(module):
        given = ""  # the message names the branches and their shapes
    return CnnCostError(f"layer {refusal.name or ROOT_NAME}, {what}, {reason}{given}",
                        *((located.line, located.column) if located else (block.line, None)))


def call_text(call: Call, limit: int = 60) -> str:
    """A layer call as an author writes it, shortened: 'Linear(8192, 10)', 'Conv2d(3, 64, 3, padding=1)'."""
    parts = [repr(v) for v in call.args if not isinstance(v, Call)] + [
        f"{k}={v!r}" for k, v in call.kwargs if not isinstance(v, Call)]
    text = f"{call.qualified}({', '.join(parts)})"
    return text if len(text) <= limit else text[: limit - 2] + "…)"


def _lazy_needs_input(torch: Any, model: _Model, block: Block) -> None:
    """A lazy module's parameters exist only after its first call: a block without `input:` cannot count them."""
    if block.input is not None:
        return
    for name, module in model.root.named_modules():
        if ledger.is_lazy(torch, module):
            kind = ("nn." if type(module).__module__.startswith("torch.nn.") else "") + type(module).__name__
            where = _located(model).get(id(module))
            raise CnnCostError(
                f"{kind}'s parameters are known only after its first call: give the block an `input:` "
                f"(layer {name or ROOT_NAME})",
                *((where.line, where.column) if where is not None else (block.line, None)))


def _located(model: _Model) -> dict[int, Call]:
    """id(module) -> the block's call that built it, or built the imported model that holds it."""
    out: dict[int, Call] = {}

    def visit(module: Any, call: Call | None) -> None:
        call = model.builder.calls.get(id(module), call)
        if call is not None:
            out.setdefault(id(module), call)
        for child in module._modules.values():
            if child is not None and id(child) not in out:
                visit(child, call)

    visit(model.root, None)
    return out


def _counted(torch: Any, model: _Model, block: Block, convention: str) -> Result:
    """An imported model, counted by one forward pass on the meta device (`cnn_cost.ledger`): a row per
    registry layer (its formula), per unknown leaf or TorchScript module and per module whose own forward
    counts (their operations, as torch.utils.flop_counter counts them); a ledger of every operation.
    Parameters are counted after the pass (lazy modules have then materialised)."""
    shape, more, dtype = _inputs(torch, model, block)
    x = torch.empty(shape, device="meta", dtype=dtype)
    others = tuple(torch.empty(s, device="meta", dtype=dtype) for s in more)
    lazy = {id(m) for m in model.root.modules() if ledger.is_lazy(torch, m)}
    names = walks.places(model.root)

    @contextlib.contextmanager
    def quiet() -> Any:
        with contextlib.ExitStack() as stack:
            stack.enter_context(torch.no_grad())
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")  # torch's advice about real runs does not apply on meta
            if lazy:  # a lazy module's first call initialises its new (meta) weights: nothing to do
                stack.enter_context(no_init(torch))
            yield

    def first_call(root: Any, x: Any, rest: tuple[Any, ...]) -> Any:
        if rest and walks.sequential(root) and len(root):  # the block's other inputs go to the first layer
            children = list(root._modules.values())
            out = children[0](x, *rest)
            for child in children[1:]:
                out = child(out)
            return out
        return root(x, *rest)

    def on_error(exc: BaseException, culprit: Any, culprit_input: Shape, last: dict[int, Shape]) -> BaseException:
        return walks.forward_error(exc, culprit, culprit_input, last, names, model.module_names,
                                   model.builder.calls, model.type_of, block, ROOT_NAME)

    forward = ledger.run(torch, model.root, x, others, model.kind_of, convention, on_error, quiet, first_call)
    rows, lines, never, uncounted = ledger.tally(forward, model, model.root, convention, block.counters, lazy,
                                                 ROOT_NAME)
    if uncounted and not block.uncounted_ok:
        located = _located(model)
        problems = []
        for op, words, calls in uncounted:
            where = located.get(id(calls[0].module))
            places = ", ".join(dict.fromkeys(
                f"{c.name or ROOT_NAME} ({model.type_of(c.module)}{', its own forward' if c.kind == 'own' else ''})"
                for c in calls))
            problems.append(CnnCostError(
                f"{op} in {places} is {words.removeprefix('not counted: ')}: the block would show it as 0 FLOPs; "
                "write `uncounted: ok` in the block to accept that",
                *((where.line, where.column) if where is not None else (block.line, None))))
        raise CnnCostError.of(problems)
    modelled = [tool for tool in block.counters if tool != "torch"]
    measured = [r for r in rows if r.note == "measured"]
    if modelled and measured:  # their rules cover registry layers and merges; own operations are not modelled
        raise CnnCostError(
            f"`as: [{', '.join(modelled)}]` cannot be shown for an imported model whose rows "
            f"{', '.join(f'{r.name} ({r.type})' for r in measured[:3])}{' …' if len(measured) > 3 else ''} "
            "run operations outside registry layers: the plugin follows each library's rules for layers, not "
            "what it counts of a module's own operations; keep `as: [torch]` (torch.utils.flop_counter) for "
            "this block", block.line, None)
    params = sum(p.numel() for p in model.root.parameters())  # after the pass: lazy modules are real now
    trainable = sum(p.numel() for p in model.root.parameters() if p.requires_grad)
    buffers = sum(b.numel() for b in model.root.buffers())
    tools = totals(block.counters, (r.counters for r in rows), (shape, *more))
    macs, flops = sum(r.macs or 0 for r in rows), sum(r.flops or 0 for r in rows)
    torch_flops = sum(line.flops for line in lines if line.status == ledger.COUNTED)
    return Result(tuple(rows), params, trainable, buffers, params * DTYPES[block.dtype], macs, flops, forward.output,
                  convention, block.dtype, tuple(forward.outputs.items()), tools,
                  ledger=Ledger(lines, torch_flops, never, block.uncounted_ok))


def _row(torch: Any, model: _Model, record: Record, shared: bool, costs: dict[int, dict[Shape, Cost]],
         convention: str, counters: tuple[str, ...]) -> Row:
    """The table row of one call of one leaf: by its registry entry (or a container's merge formula), else
    measured by the flop counter."""
    module, xin, in_shapes, yout, name = record
    n_params = 0 if shared else model.own_params(module)
    note = "shared" if shared else ""
    spec = model.spec_of(module)
    type_name = model.type_of(module)
    cost: Cost | None = None
    if containers.merges(module):
        cost = containers.merge_of(module, in_shapes, name)
    elif spec is not None and spec.cost is not None:
        rest = in_shapes[1 : spec.inputs]  # `inputs:`, or an imported model's call: the inputs the layer counts
        if rest:
            cost = spec.cost(module, xin, yout, rest)
        else:
            cost = costs.get(id(module), {}).get(xin) or spec.cost(module, xin, yout)
    if cost is not None:
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
    tools = counts(counters, type_name, module, xin, yout or (), cost)
    return Row(name or ROOT_NAME, type_name, yout, n_params, macs, flops, tuple(formula), note, tools)


__all__ = ["Builder", "Result", "Row", "batched_input", "evaluate", "first_line", "leaves_of", "torch_imported",
           "warm_up"]
