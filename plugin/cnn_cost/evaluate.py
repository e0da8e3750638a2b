"""Build a parsed block in PyTorch on the meta device and compute every row and total.

`import torch` happens here, lazily, the first time a block is evaluated.
"""

from __future__ import annotations

import inspect
import sys
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

from cnn_cost.block import DTYPES, Block, Call, Value
from cnn_cost.claims import COUNTER_METRICS, format_shape, split_path
from cnn_cost.counters import count
from cnn_cost.errors import CnnCostError
from cnn_cost.imports import ModuleTracker, tracker
from cnn_cost.layers import REGISTRY, Cost, LayerSpec

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Row:
    """One call of one leaf layer."""

    name: str
    type: str
    output: Shape | None
    params: int
    macs: int | None
    flops: int | None
    formula: tuple[str, ...]
    note: str = ""  # "measured": FLOPs from torch.utils.flop_counter; "shared": parameters counted once
    counters: tuple[tuple[str, int], ...] = ()  # `as:` what each counting library reports for this row


@dataclass(frozen=True)
class Result:
    """Everything computed for one block."""

    rows: tuple[Row, ...]
    params: int
    trainable: int
    buffers: int
    memory: int
    macs: int | None
    flops: int | None
    output: Shape | None
    convention: str
    dtype: str
    outputs: tuple[tuple[str, Shape], ...] = ()  # output shape of every named module, containers too
    counters: tuple[tuple[str, int], ...] = ()  # `as:` each counting library's total

    def value(self, path: str) -> int | Shape:
        """The computed value of a claim path (`params`, `conv1.macs`, `output`, ...)."""
        layer, metric = split_path(path)
        if metric in COUNTER_METRICS and metric not in dict(self.counters):
            raise CnnCostError(f"{path}: the block needs `as: [{metric}]` to count as {metric} does")
        if layer is None and metric in COUNTER_METRICS:
            return dict(self.counters)[metric]
        if layer is None:
            value = getattr(self, metric)
            if value is None:
                raise CnnCostError(f"{path}: needs `input:` (only parameters are computed without it)")
            return value  # type: ignore[no-any-return]
        rows = [r for r in self.rows if r.name == layer or r.name.startswith(layer + ".")]
        if not rows:
            names = ", ".join(dict.fromkeys(r.name for r in self.rows))
            raise CnnCostError(f"{path}: no layer named {layer!r}; rows are: {names[:300]}")
        if metric == "params":
            return sum(r.params for r in rows)
        if metric == "output":
            outputs = dict(self.outputs)
            if layer in outputs:
                return outputs[layer]
            if rows[-1].output is None:
                raise CnnCostError(f"{path}: needs `input:` (only parameters are computed without it)")
            return rows[-1].output
        if metric in COUNTER_METRICS:
            return sum(dict(r.counters)[metric] for r in rows)
        values = [getattr(r, metric) for r in rows]
        if any(v is None for v in values):
            raise CnnCostError(f"{path}: needs `input:` (only parameters are computed without it)")
        return sum(values)


class _Torch:
    """The torch modules, imported once per process on first use."""

    _mods: tuple[Any, Any] | None = None
    _lock = threading.Lock()

    @classmethod
    def get(cls) -> tuple[Any, Any]:
        if cls._mods is not None:
            return cls._mods
        with cls._lock:  # the serve warm-up thread and a build may ask at once
            if cls._mods is not None:
                return cls._mods
            import gc

            import torch
            import torch.nn

            # torch leaves a very large number of long-lived objects: move them out of the
            # collector's way so that full collections stay cheap and happen (long serve sessions)
            gc.collect()
            gc.freeze()
            cls._mods = (torch, torch.nn)
        return cls._mods


def torch_imported() -> bool:
    return "torch" in sys.modules


def warm_up() -> None:
    """Import torch and the parts it imports lazily on the first meta-device calls (torch._dynamo
    for activations, sympy for convolutions), and the flop counter; for `mkdocs serve`."""
    torch, nn = _Torch.get()
    with torch.device("meta"), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = nn.Sequential(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1), nn.ReLU(), nn.Flatten(), nn.Linear(1, 1))
        model.eval()
        model(torch.empty(1, 1, 1, 1))
    from torch.utils import flop_counter  # noqa: F401 - imported for its side effect (the module cache)


# ------------------------------------------------------------ building ----

_WRAPPED: dict[type, type] = {}


def _wrapped_class(cls: type, how: str) -> type:
    """A subclass whose forward takes one tensor and returns one tensor (for use in a Sequential)."""
    key = (cls, how)
    if key in _WRAPPED:  # type: ignore[comparison-overlap]
        return _WRAPPED[key]  # type: ignore[index]

    if how == "self-attention":

        def forward(self: Any, x: Any) -> Any:
            return cls.forward(self, x, x, x, need_weights=False)[0]  # type: ignore[attr-defined]

    elif how == "both-inputs":

        def forward(self: Any, x: Any) -> Any:
            return cls.forward(self, x, x)  # type: ignore[attr-defined]

    else:

        def forward(self: Any, x: Any) -> Any:
            # A recurrent layer on meta tensors would run step by step (milliseconds per step and layer);
            # its output shape is known from its input shape, so only that is checked and produced.
            if x.dim() not in (2, 3) or x.shape[-1] != self.input_size:
                raise ValueError(
                    f"{cls.__name__} expects an input of shape (L, {self.input_size}) or "
                    f"(N, L, {self.input_size}) / (L, N, {self.input_size}), got {list(x.shape)}"
                )
            shape = REGISTRY[cls.__name__].cost(self, tuple(x.shape), ()).shape  # type: ignore[misc]
            return x.new_empty(shape)

    new = type(cls.__name__, (cls,), {"forward": forward, "__module__": __name__})
    _WRAPPED[key] = new  # type: ignore[index]
    return new


@cache
def _signature(cls: type, spec: LayerSpec) -> inspect.Signature:
    if spec.keywords is not None:
        params = [inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None) for k in spec.keywords]
        # the first two (input/hidden size, or the like) are required
        params[:2] = [p.replace(default=inspect.Parameter.empty) for p in params[:2]]
        return inspect.Signature(params)
    sig = inspect.signature(cls)
    keep = [p for p in sig.parameters.values() if p.name not in ("device", "dtype")]
    return sig.replace(parameters=keep)


class _Builder:
    def __init__(self, imports: tuple[str, ...], site_path: str | None, modules: ModuleTracker | None = None) -> None:
        self.torch, self.nn = _Torch.get()
        self.tracker = modules if modules is not None else tracker(site_path)
        self.calls: dict[int, Call] = {}  # id(module) -> the call that built it
        self.types: dict[int, str] = {}

    def check(self, call: Call) -> None:
        """Validate a call tree against the real signatures, before building anything."""
        if call.module is not None:
            for value in call.args + tuple(v for _, v in call.kwargs):
                if isinstance(value, Call):
                    raise CnnCostError(
                        f"{call.qualified}: arguments of an imported model must be literals", call.line, call.column
                    )
            return
        spec = REGISTRY[call.name]
        if spec.cost is None:  # Sequential
            if call.kwargs:
                raise CnnCostError("nn.Sequential takes layers only, no keywords", call.line, call.column)
            for value in call.args:
                if not isinstance(value, Call):
                    raise CnnCostError(
                        f"nn.Sequential takes layers only, not {value!r:.40}", call.line, call.column
                    )
                self.check(value)
            return
        for value in call.args + tuple(v for _, v in call.kwargs):
            if isinstance(value, Call):
                raise CnnCostError(
                    f"nn.{call.name} takes numbers and strings, not a layer", value.line, value.column
                )
        sig = _signature(getattr(self.nn, call.name), spec)
        allowed = [p.name for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        for key, _ in call.kwargs:
            if key not in allowed:
                from cnn_cost.block import _suggest

                raise CnnCostError(
                    f"nn.{call.name} has no argument {key!r}{_suggest(key, allowed)}; its arguments are: "
                    f"{', '.join(allowed)}",
                    *call.keyword_at(key),
                )
        try:
            sig.bind(*call.args, **dict(call.kwargs))
        except TypeError as exc:
            raise CnnCostError(f"nn.{call.name}: {exc}", call.line, call.column) from None

    def build(self, call: Call, wrap: bool = True) -> Any:
        if call.module is not None:
            return self.build_imported(call)
        spec = REGISTRY[call.name]
        cls = getattr(self.nn, call.name)
        if spec.cost is None:
            module = cls(*[self.build(c) for c in call.args if isinstance(c, Call)])
        else:
            if spec.wrap and wrap:
                cls = _wrapped_class(cls, spec.wrap)
            try:
                module = cls(*call.args, **dict(call.kwargs))
            except (TypeError, ValueError, RuntimeError, AssertionError, AttributeError) as exc:
                raise CnnCostError(f"nn.{call.name}: {_first_line(exc)}", call.line, call.column) from None
        self.calls[id(module)] = call
        self.types[id(module)] = call.name
        return module

    def build_imported(self, call: Call) -> Any:
        assert call.module is not None
        try:
            mod = self.tracker.load(call.module)
        except ImportError as exc:
            raise CnnCostError(f"cannot import {call.module!r}: {exc}", call.line, call.column) from None
        factory = getattr(mod, call.name, None)
        if factory is None or not callable(factory):
            public = [n for n in dir(mod) if not n.startswith("_") and callable(getattr(mod, n))]
            from cnn_cost.block import _suggest

            raise CnnCostError(
                f"module {call.module!r} has no model {call.name!r}{_suggest(call.name, public)}",
                call.line, call.column,
            )
        try:
            module = factory(*call.args, **dict(call.kwargs))
        except Exception as exc:  # an author's module can raise anything: report it at the call
            raise CnnCostError(
                f"{call.qualified}(...) raised {type(exc).__name__}: {_first_line(exc)}", call.line, call.column
            ) from None
        if not isinstance(module, self.nn.Module):
            raise CnnCostError(f"{call.qualified}(...) did not return an nn.Module", call.line, call.column)
        self.calls[id(module)] = call
        return module


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().split("\n")[0]
    return text[:300] or type(exc).__name__


# ---------------------------------------------------------- evaluation ----


def _leaves(model: Any) -> list[tuple[str, Any]]:
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


def _probe_input(module: Any, spec: LayerSpec) -> Shape | None:
    """A plausible input shape, used only to write a parameter formula when the block has no input."""
    for attr, rank in (("in_channels", spec.input_rank), ("num_features", spec.input_rank or 2),
                       ("num_channels", 3), ("in_features", 2), ("in1_features", 2), ("input_size", 3),
                       ("embed_dim", 3), ("num_parameters", 2)):
        value = getattr(module, attr, None)
        if isinstance(value, int):
            rank = rank or 2
            return (1, value, *([8] * (rank - 2))) if rank > 2 and attr != "input_size" and attr != "embed_dim" \
                else ((1, 1, value) if rank == 3 else (1, value))
    if hasattr(module, "normalized_shape"):
        return (1, *module.normalized_shape)
    if hasattr(module, "num_embeddings"):
        return (1, 1)
    return None


def evaluate(block: Block, *, imports: tuple[str, ...] = (), convention: str = "2mac",
             site_path: str | None = None, modules: ModuleTracker | None = None) -> Result:
    """Evaluate a parsed block. Raises `CnnCostError` at the offending line for any problem."""
    torch, nn = _Torch.get()
    convention = block.flops or convention
    builder = _Builder(imports, site_path, modules)
    if block.model is not None:
        builder.check(block.model)
    for _, call in block.layers or ():
        builder.check(call)
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if block.model is not None:
            model = builder.build(block.model)
        else:
            model = nn.Sequential(OrderedDict((name, builder.build(call)) for name, call in block.layers or ()))
    leaves = _leaves(model)
    root_name = "model"
    names = {id(m): (n or root_name) for n, m in leaves}
    calls = builder.calls

    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    buffers = sum(b.numel() for b in model.buffers())
    memory = params * DTYPES[block.dtype]

    def type_of(module: Any) -> str:
        return builder.types.get(id(module), type(module).__name__)

    def spec_of(module: Any) -> LayerSpec | None:
        spec = REGISTRY.get(type_of(module))
        return spec if spec is not None and spec.cost is not None else None

    def own_params(module: Any) -> int:
        recurse = not (list(module.children()) and not (spec_of(module) and spec_of(module).atomic))  # type: ignore[union-attr]
        return sum(p.numel() for p in module.parameters(recurse=recurse))

    if block.input is None:
        rows = []
        for name, module in leaves:
            spec = spec_of(module)
            formula: list[str] = []
            if spec is not None:
                probe = _probe_input(module, spec)
                try:
                    cost = spec.cost(module, probe, probe) if probe else Cost()  # type: ignore[misc]
                    formula = [f"params: {cost.params_formula}"] if cost.params_formula else []
                except Exception:
                    formula = []
            rows.append(Row(name or root_name, type_of(module), None, own_params(module), None, None, tuple(formula)))
        return Result(tuple(rows), params, trainable, buffers, memory, None, None, None, convention, block.dtype)

    # input shape: prepend the batch dimension where the first layer wants one more
    shape = block.input
    first = next((m for _, m in leaves), None)
    first_spec = spec_of(first) if first is not None else None
    rank = first_spec.input_rank if first_spec else None
    if (rank is not None and len(shape) == rank - 1) or (rank is None and not block.input_has_batch):
        # sequence-first layers (RNN, LSTM, GRU, MultiheadAttention with batch_first=False) take the batch second
        at = 1 if getattr(first, "batch_first", None) is False and len(shape) >= 1 else 0
        shape = (*shape[:at], 1, *shape[at:])
    dtype = torch.long if first is not None and type_of(first) == "Embedding" else torch.float32
    x = torch.empty(shape, device="meta", dtype=dtype)

    records: list[tuple[Any, Shape, tuple[Shape, ...], Any]] = []
    outputs: dict[str, Shape] = {}
    module_names = {id(m): n for n, m in model.named_modules()}
    leaf_ids = {id(m) for _, m in leaves}
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

    model.eval()  # inference: BatchNorm uses running statistics, Dropout is the identity
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
            f"{label} cannot take an input of shape {format_shape(culprit_input)}: {_first_line(exc)}", *where
        ) from None
    finally:
        for handle in handles:
            handle.remove()
    final = first_tensor(out)
    model_output = tuple(final.shape) if final is not None else None

    rows = []
    seen: set[int] = set()
    total_macs = total_flops = 0
    for module, xin, in_shapes, yout in records:
        name = names.get(id(module), module_names.get(id(module), root_name))
        spec = spec_of(module)
        n_params = own_params(module) if id(module) not in seen else 0
        note = "" if id(module) not in seen else "shared"
        seen.add(id(module))
        if spec is not None:
            cost = spec.cost(module, xin, yout)  # type: ignore[misc]
            formula = list(cost.formula_lines(convention))
            tools = tuple((tool, count(tool, type_of(module), module, xin, yout or (), cost))
                          for tool in block.counters)
            if cost.params != n_params and note != "shared":
                formula.append(f"note: the formula gives {cost.params:,}; PyTorch counts {n_params:,}")
            if cost.shape is not None and yout is not None and tuple(cost.shape) != tuple(yout):
                formula.append(f"note: the formula gives {format_shape(cost.shape)}; PyTorch gives "
                               f"{format_shape(yout)}")
            macs, flops = cost.macs, cost.flops(convention)
        else:
            macs, flops, formula = _measured(torch, module, in_shapes, convention)
            note = note or "measured"
            tools = tuple((tool, count(tool, type_of(module), module, xin, yout or (), Cost(macs=macs)))
                          for tool in block.counters)
        total_macs += macs
        total_flops += flops
        rows.append(Row(name, type_of(module), yout, n_params, macs, flops, tuple(formula), note, tools))
    totals = tuple((tool, sum(dict(r.counters)[tool] for r in rows)) for tool in block.counters)
    return Result(tuple(rows), params, trainable, buffers, memory, total_macs, total_flops, model_output,
                  convention, block.dtype, tuple(outputs.items()), totals)


def _measured(torch: Any, module: Any, in_shapes: tuple[Shape, ...], convention: str) -> tuple[int, int, list[str]]:
    """FLOPs of a leaf the registry does not know, from torch.utils.flop_counter on meta tensors."""
    from torch.utils.flop_counter import FlopCounterMode

    inputs = [torch.empty(s, device="meta") for s in in_shapes]
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(*inputs)
    flops = int(counter.get_total_flops())
    macs = flops // 2
    shown = {"mac": macs, "detailed": flops, "2mac": flops}[convention]
    return macs, shown, [f"FLOPs {flops:,} measured by torch.utils.flop_counter; parameters by numel()"]


def ratio(a: int, b: int) -> Fraction:
    return Fraction(a, b) if b else Fraction(0)


__all__ = ["Result", "Row", "Value", "evaluate", "ratio", "torch_imported"]
