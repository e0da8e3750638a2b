"""Propagating a block's input through its model: every leaf call with its input and output shapes,
from the registry's formulas (no PyTorch kernel) or from a forward pass on the meta device.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from cnn_cost import containers
from cnn_cost.block import Block
from cnn_cost.builder import first_line
from cnn_cost.claims import format_shape
from cnn_cost.errors import CnnCostError
from cnn_cost.expressions import Call
from cnn_cost.layers import REGISTRY, Cost, LayerSpec, ShapeMismatch
from cnn_cost.result import Shape


def leaves_of(model: Any) -> list[tuple[str, Any]]:
    """(name, module) of every row-producing module, once per place it holds in the model: registry-atomic
    modules, modules without children, modules with parameters of their own beside children, and the
    merge of each branching container (after its branches). A module placed twice (list repetition)
    is listed twice, under each of its names."""
    out: list[tuple[str, Any]] = []

    def visit(name: str, module: Any) -> None:
        type_name = type(module).__name__
        spec = REGISTRY.get(type_name)
        children = [(key, child) for key, child in module._modules.items() if child is not None]
        if (spec is not None and spec.atomic and not containers.is_container(module)) or not children \
                or type(module).__module__.startswith("torch.jit"):  # a TorchScript module: one row
            out.append((name, module))
            return
        if next(module.parameters(recurse=False), None) is not None:
            out.append((name, module))  # its own parameters get a row
        for child_name, child in children:
            visit(f"{name}.{child_name}" if name else child_name, child)
        if containers.merges(module):
            out.append((name, module))

    visit("", model)
    return out


def sequential(module: Any) -> bool:
    """A module that calls its children in order with one input: nn.Sequential or cnn.Repeat."""
    cls = type(module)
    return (cls.__name__ == "Sequential" and cls.__module__ == "torch.nn.modules.container") or (
        containers.is_container(module) and cls.__name__ == "Repeat"
    )


def batched_input(block: Block, first: Any, first_spec: LayerSpec | None,
                  given: tuple[Shape, bool] | None = None) -> Shape:
    """The block's input (or `given`: another of its `inputs:`, with whether it was written with its batch
    dimension) with a batch dimension of 1 put in where the first layer wants one more."""
    assert block.input is not None
    shape, has_batch = given if given is not None else (block.input, block.input_has_batch)
    rank = first_spec.input_rank if first_spec else None
    if (rank is not None and len(shape) == rank - 1) or (rank is None and not has_batch):
        # sequence-first layers (RNN, LSTM, GRU, MultiheadAttention with batch_first=False) take the batch second
        at = 1 if getattr(first, "batch_first", None) is False and len(shape) >= 1 else 0
        shape = (*shape[:at], 1, *shape[at:])
    return tuple(shape)


Record = tuple[Any, Shape, tuple[Shape, ...], Any, str]  # (leaf, input, all inputs, output, row name) per call
Walk = tuple[list[Record], dict[str, Shape], "Shape | None", dict[int, dict[Shape, Cost]]]


class MoreInputs:
    """The block's inputs after the first (`inputs:`), for the first layer that runs."""

    def __init__(self, shapes: tuple[Shape, ...]) -> None:
        self.shapes = shapes
        self.pending = bool(shapes)

    def take(self) -> tuple[Shape, ...]:
        if not self.pending:
            return ()
        self.pending = False
        return self.shapes


@dataclass(frozen=True)
class Refusal:
    """A formula's refusal of the input a layer gets: the layer, its row name, the input, the reason, and
    the row whose output the input is (None: the block's input)."""

    module: Any
    name: str
    shape: Shape
    reason: str
    source: str | None


def by_formula(model: Any, x: Shape, spec_of: Any, refused: list[Refusal],
               more: tuple[Shape, ...] = ()) -> Walk | None:
    """Output shapes from the registry's formulas, calling the modules as their containers do.

    None when a module is neither a plain nn.Sequential, a container of the package nor a registry layer,
    when an entry gives no shape formula, or when a formula refuses the input (then appended to `refused`):
    PyTorch then decides, and words the error.
    """
    records: list[Record] = []
    outputs: dict[str, Shape] = {}
    costs: dict[int, dict[Shape, Cost]] = {}
    extra = MoreInputs(more)

    def at(prefix: str, key: str) -> str:
        return f"{prefix}.{key}" if prefix else key

    def call(module: Any, shape: Shape, name: str, source: str | None) -> Shape | None:
        """The output shape of `module` (row name `name`) given `shape`, the output of row `source`."""
        spec = spec_of(module)
        if spec is None and sequential(module):
            for key, child in module._modules.items():  # as Sequential.forward: repeated modules called again
                found = call(child, shape, at(name, key), source)
                if found is None:
                    return None
                shape, source = found, at(name, key)
            out = shape
        elif spec is None and containers.merges(module):
            if extra.pending:
                return None  # several inputs reach a branching container: PyTorch decides
            got = []
            for key, branch in zip(("body", "shortcut"), containers.branches(module), strict=False) \
                    if type(module).__name__ == "Residual" else module._modules.items():
                found = shape if branch is None else call(branch, shape, at(name, key), source)
                if found is None:
                    return None
                got.append(found)
            try:
                cost = containers.merge_of(module, got, name)
            except ShapeMismatch as exc:
                refused.append(Refusal(module, name, shape, str(exc), source))
                return None
            out = tuple(cost.shape or ())
            records.append((module, got[0], tuple(got), out, name))
        elif spec is not None:
            if spec.index_input and records:  # shapes carry no dtype: indices after a float layer, PyTorch decides
                return None
            rest = extra.take()
            try:
                cost = spec.cost(module, shape, None, rest) if rest else spec.cost(module, shape, None)
            except ShapeMismatch as exc:
                refused.append(Refusal(module, name, shape, str(exc), source))
                return None
            if cost.shape is None:
                return None
            out = tuple(cost.shape)
            if not rest:
                costs.setdefault(id(module), {})[shape] = cost
            records.append((module, shape, (shape, *rest), out, name))
        else:
            return None
        if name:
            outputs.setdefault(name, out)
        return out

    final = call(model, x, "", None)
    if final is None:
        return None
    return records, outputs, final, costs


def places(model: Any) -> dict[int, list[str]]:
    """id(module) -> every name it has in the model, in model order (a module placed twice has two;
    the root's name is "")."""
    names: dict[int, list[str]] = {}

    def visit(name: str, module: Any) -> None:
        names.setdefault(id(module), []).append(name)
        for key, child in module._modules.items():
            if child is not None:
                visit(f"{name}.{key}" if name else key, child)

    visit("", model)
    return names


def by_torch(torch: Any, model: Any, x: Any, more: tuple[Any, ...], leaves: list[tuple[str, Any]],
             module_names: dict[int, str], calls: dict[int, Call], type_of: Any, block: Block,
             root_name: str) -> Walk:
    """Output shapes from a forward pass on the meta device, recorded by hooks.

    The k-th call of a module placed several times gets its k-th name; `more` (the block's other
    inputs) go to the first layer, with the model's own forward, or nn.Sequential's, then following.
    """
    shape = tuple(x.shape)
    records: list[Record] = []
    outputs: dict[str, Shape] = {}
    current: list[tuple[Any, Shape]] = []
    names = places(model)
    rows = {id(m) for _, m in leaves}
    seen: dict[int, int] = {}
    last: dict[int, Shape] = {}  # id(module) -> its last output shape (a container's branches)

    def first_tensor(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return value
        if isinstance(value, (tuple, list)) and value:
            return first_tensor(value[0])
        return None

    def pre_hook(module: Any, args: tuple[Any, ...]) -> None:
        tensor = first_tensor(args)
        current.append((module, tuple(tensor.shape) if tensor is not None else shape))

    def post_hook(module: Any, args: tuple[Any, ...], out: Any) -> None:
        if current:
            current.pop()
        tensor = first_tensor(out)
        called = seen.get(id(module), 0)
        seen[id(module)] = called + 1
        placed = names.get(id(module), [""])
        name = placed[min(called, len(placed) - 1)]  # the k-th call of a module placed k times: its k-th name
        if tensor is not None:
            last[id(module)] = tuple(tensor.shape)
            if name:
                outputs.setdefault(name, tuple(tensor.shape))
        if id(module) in rows:
            in_shapes = tuple(tuple(a.shape) for a in args if isinstance(a, torch.Tensor))
            if containers.merges(module):
                in_shapes = tuple(in_shapes[0] if b is None else last[id(b)] for b in containers.branches(module))
            records.append((module, in_shapes[0] if in_shapes else (), in_shapes,
                            tuple(tensor.shape) if tensor is not None else None, name))

    handles = []
    for module in model.modules():
        handles.append(module.register_forward_pre_hook(pre_hook))
        handles.append(module.register_forward_hook(post_hook))
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's advice about real runs does not apply on meta
            if more and sequential(model) and len(model):
                children = list(model._modules.values())
                out = children[0](x, *more)
                for child in children[1:]:
                    out = child(out)
            else:
                out = model(x, *more)
    except Exception as exc:  # torch reports shape mismatches as RuntimeError, ValueError, ...
        culprit, culprit_input = current[-1] if current else (None, shape)
        raise forward_error(exc, culprit, culprit_input, last, names, module_names, calls, type_of, block,
                            root_name) from None
    finally:
        for handle in handles:
            handle.remove()
    final = first_tensor(out)
    return records, outputs, tuple(final.shape) if final is not None else None, {}


META_VALUES = ("meta tensor", "on meta tensors", "Cannot copy out of meta")  # an operation that needs values


def forward_error(exc: BaseException, culprit: Any, culprit_input: Shape, last: dict[int, Shape],
                  names: dict[int, list[str]], module_names: dict[int, str], calls: dict[int, Call], type_of: Any,
                  block: Block, root_name: str) -> CnnCostError:
    """A failed forward pass on the meta device, worded at the module that was running (`culprit`: the
    innermost module called, None before any) and at the line of the call that built it."""
    culprit_call = calls.get(id(culprit)) if culprit is not None else None
    where = (culprit_call.line, culprit_call.column) if culprit_call else (block.line, None)
    row = names.get(id(culprit), [module_names.get(id(culprit), "")])[0] if culprit is not None else ""
    kind = type_of(culprit) if culprit is not None else ""
    label = f"layer {row or root_name} ({'cnn.' + kind if containers.is_container(culprit) else kind})" \
        if culprit is not None else "the model"
    if isinstance(exc, containers.BranchMismatch):  # worded again with the branches' row names, as by formula
        got = [culprit_input if b is None else last.get(id(b), ()) for b in containers.branches(culprit)]
        label = f"layer {row or root_name}, cnn.{kind},"
        try:
            containers.merge_of(culprit, got, row)
        except ShapeMismatch as mismatch:
            return CnnCostError(f"{label} {mismatch}", *where)
        return CnnCostError(f"{label} {exc}", *where)
    text = first_line(exc)
    if any(words in text for words in META_VALUES):
        return CnnCostError(
            f"{label}: its forward needs the values of a tensor ({text}); blocks run models on the meta "
            "device, where tensors have shapes but no values", *where)
    return CnnCostError(f"{label} cannot take an input of shape {format_shape(culprit_input)}: {text}", *where)


def measured(torch: Any, module: Any, in_shapes: tuple[Shape, ...], convention: str) -> tuple[int, int, list[str]]:
    """FLOPs of a leaf the registry does not know, from torch.utils.flop_counter on meta tensors."""
    from torch.utils.flop_counter import FlopCounterMode

    inputs = [torch.empty(s, device="meta") for s in in_shapes]
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(*inputs)
    flops = int(counter.get_total_flops())
    macs = flops // 2
    shown = {"mac": macs, "detailed": flops, "2mac": flops}[convention]
    return macs, shown, [f"FLOPs {flops:,} measured by torch.utils.flop_counter; parameters by numel()"]
