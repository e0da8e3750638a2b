"""Propagating a block's input through its model: every leaf call with its input and output shapes,
from the registry's formulas (no PyTorch kernel) or from a forward pass on the meta device.
"""

from __future__ import annotations

import warnings
from typing import Any

from cnn_cost.block import Block
from cnn_cost.builder import first_line
from cnn_cost.claims import format_shape
from cnn_cost.errors import CnnCostError
from cnn_cost.expressions import Call
from cnn_cost.layers import REGISTRY, Cost, LayerSpec, ShapeMismatch
from cnn_cost.result import Shape


def leaves_of(model: Any) -> list[tuple[str, Any]]:
    """(name, module) of every row-producing module: registry-atomic modules and modules without children."""
    out: list[tuple[str, Any]] = []

    def visit(name: str, module: Any) -> None:
        type_name = type(module).__name__
        spec = REGISTRY.get(type_name)
        children = list(module.named_children())
        if (spec is not None and spec.atomic) or not children:
            out.append((name, module))
            return
        own = list(module.named_parameters(recurse=False))
        if own:
            out.append((name, module))  # its own parameters get a row
        for child_name, child in children:
            visit(f"{name}.{child_name}" if name else child_name, child)

    visit("", model)
    return out


def batched_input(block: Block, first: Any, first_spec: LayerSpec | None) -> Shape:
    """The block's input with a batch dimension of 1 put in where the first layer wants one more."""
    assert block.input is not None
    shape = block.input
    rank = first_spec.input_rank if first_spec else None
    if (rank is not None and len(shape) == rank - 1) or (rank is None and not block.input_has_batch):
        # sequence-first layers (RNN, LSTM, GRU, MultiheadAttention with batch_first=False) take the batch second
        at = 1 if getattr(first, "batch_first", None) is False and len(shape) >= 1 else 0
        shape = (*shape[:at], 1, *shape[at:])
    return tuple(shape)


Record = tuple[Any, Shape, tuple[Shape, ...], Any]  # (leaf module, input, all inputs, output) per call
Walk = tuple[list[Record], dict[str, Shape], "Shape | None", dict[int, dict[Shape, Cost]]]


def by_formula(model: Any, x: Shape, spec_of: Any, module_names: dict[int, str],
                refused: list[tuple[Any, Shape, str]]) -> Walk | None:
    """Output shapes from the registry's formulas, calling the modules as nn.Sequential does.

    None when a module is neither a plain nn.Sequential nor a registry layer, when an entry gives
    no shape formula, or when a formula refuses the input (then appended to `refused`): PyTorch then
    decides, and words the error.
    """
    records: list[Record] = []
    outputs: dict[str, Shape] = {}
    costs: dict[int, dict[Shape, Cost]] = {}

    def call(module: Any, shape: Shape) -> Shape | None:
        spec = spec_of(module)
        if spec is None:
            if type(module).__name__ != "Sequential" or type(module).__module__ != "torch.nn.modules.container":
                return None
            for child in module._modules.values():  # as Sequential.forward: repeated modules called again
                found = call(child, shape)
                if found is None:
                    return None
                shape = found
            out = shape
        else:
            if spec.index_input and records:  # shapes carry no dtype: indices after a float layer, PyTorch decides
                return None
            try:
                cost = spec.cost(module, shape, None)
            except ShapeMismatch as exc:
                refused.append((module, shape, str(exc)))
                return None
            if cost.shape is None:
                return None
            out = tuple(cost.shape)
            costs.setdefault(id(module), {})[shape] = cost
            records.append((module, shape, (shape,), out))
        name = module_names.get(id(module), "")
        if name:
            outputs[name] = out
        return out

    final = call(model, x)
    if final is None:
        return None
    return records, outputs, final, costs


def by_torch(torch: Any, model: Any, x: Any, shape: Shape, leaf_ids: set[int], module_names: dict[int, str],
              calls: dict[int, Call], type_of: Any, block: Block, root_name: str) -> Walk:
    """Output shapes from a forward pass on the meta device, recorded by hooks."""
    records: list[tuple[Any, Shape, tuple[Shape, ...], Any]] = []
    outputs: dict[str, Shape] = {}
    current: list[tuple[Any, Shape]] = []

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
        name = module_names.get(id(module), "")
        if tensor is not None and name:
            outputs[name] = tuple(tensor.shape)
        if id(module) in leaf_ids:
            in_shapes = tuple(tuple(a.shape) for a in args if isinstance(a, torch.Tensor))
            records.append((module, in_shapes[0] if in_shapes else (), in_shapes,
                            tuple(tensor.shape) if tensor is not None else None))

    handles = []
    for module in model.modules():
        handles.append(module.register_forward_pre_hook(pre_hook))
        handles.append(module.register_forward_hook(post_hook))
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's advice about real runs does not apply on meta
            out = model(x)
    except Exception as exc:  # torch reports shape mismatches as RuntimeError, ValueError, ...
        culprit, culprit_input = current[-1] if current else (None, shape)
        culprit_call = calls.get(id(culprit)) if culprit is not None else None
        where = (culprit_call.line, culprit_call.column) if culprit_call else (block.line, None)
        label = f"layer {module_names.get(id(culprit)) or root_name} ({type_of(culprit)})" if culprit is not None \
            else "the model"
        raise CnnCostError(
            f"{label} cannot take an input of shape {format_shape(culprit_input)}: {first_line(exc)}", *where
        ) from None
    finally:
        for handle in handles:
            handle.remove()
    final = first_tensor(out)
    return records, outputs, tuple(final.shape) if final is not None else None, {}


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
