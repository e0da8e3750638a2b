"""Build a parsed block in PyTorch on the meta device and compute every row and total.

`import torch` happens here, lazily, the first time a block is evaluated.
"""

from __future__ import annotations

import inspect
import re
import sys
import threading
import warnings
from functools import cache, lru_cache
from typing import Any

from cnn_cost.block import DTYPES, Block, Call
from cnn_cost.claims import format_shape
from cnn_cost.counters import count
from cnn_cost.errors import CnnCostError
from cnn_cost.imports import ModuleTracker, tracker
from cnn_cost.layers import REGISTRY, Cost, LayerSpec, ShapeMismatch
from cnn_cost.result import Result, Row, Shape


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

            # torch leaves a very large number of long-lived objects: move them out of the collector's
            # way so that full collections stay cheap (long serve sessions); no collection first (50 ms)
            gc.freeze()
            cls._mods = (torch, torch.nn)
        return cls._mods


def torch_imported() -> bool:
    return "torch" in sys.modules


def warm_up() -> None:
    """Import torch and build a few modules on the meta device as a block does (for `mkdocs serve`,
    in the background). No forward pass: blocks of registry layers need none, and the lazy imports
    of a first meta forward (torch._dynamo) would hold the interpreter during the author's first edit."""
    torch, nn = _Torch.get()
    with torch.device("meta"), _no_init(torch), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nn.Sequential(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1), nn.ReLU(), nn.Flatten(), nn.Linear(1, 1))


# ------------------------------------------------------------ building ----

def _no_init(torch: Any) -> Any:
    """A torch-function mode in which weight initialisation of meta tensors does nothing.

    A meta tensor holds no values, so `reset_parameters()` has nothing to do; on meta its random
    fills still run through PyTorch's Python decompositions (a third of building VGG-16).
    """
    return _no_init_mode(torch)()


@cache
def _no_init_mode(torch: Any) -> type:
    from torch.overrides import TorchFunctionMode

    init = torch.nn.init
    skip = {getattr(init, name) for name in dir(init) if name.endswith("_") and not name.startswith("_")}
    skip |= {torch.Tensor.uniform_, torch.Tensor.normal_, torch.Tensor.zero_, torch.Tensor.fill_}

    class NoInit(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            if func in skip:
                tensor = args[0] if args else kwargs.get("tensor")
                if getattr(tensor, "is_meta", False):
                    return tensor
            return func(*args, **kwargs)

    return NoInit


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
def _takes_device(cls: type) -> bool:
    try:
        return "device" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


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


MAX_RECURRENT_LAYERS = 1_000  # PyTorch builds stacked recurrent layers in time quadratic in their number
MAX_WORK = 25_000  # estimated modules and stacked layers one block may build


def _work(call: Call, arguments: dict[str, Any]) -> int:
    """Construction work of one registry layer, in modules; refuses a stack too deep to build."""
    layers = arguments.get("num_layers")
    if isinstance(layers, int) and not isinstance(layers, bool):
        if layers > MAX_RECURRENT_LAYERS:
            raise CnnCostError(
                f"nn.{call.name}: num_layers={layers:,} is above the limit of {MAX_RECURRENT_LAYERS:,} stacked "
                "layers per recurrent module", *call.keyword_at("num_layers"),
            )
        return 1 + 2 * max(layers, 0)
    return 5 if call.name == "MultiheadAttention" else 1


def _bind(cls: type, spec: LayerSpec, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """The arguments of a call bound to the layer's signature (raises TypeError), remembered for repeated
    calls (the returned dict is shared: read it only)."""
    try:
        return _bind_cached(cls, args, kwargs)
    except TypeError as exc:
        if "unhashable" not in str(exc):
            raise
        return dict(_signature(cls, spec).bind(*args, **dict(kwargs)).arguments)


@lru_cache(maxsize=4096)
def _bind_cached(cls: type, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    return dict(_signature(cls, REGISTRY[cls.__name__]).bind(*args, **dict(kwargs)).arguments)


class _Builder:
    def __init__(self, imports: tuple[str, ...], site_path: str | None, modules: ModuleTracker | None = None) -> None:
        self.torch, self.nn = _Torch.get()
        self.tracker = modules if modules is not None else tracker(site_path)
        self.work = 0  # estimated construction work so far (see _work)
        self.device = "meta"  # blocks are built on meta; the tests build small ones on "cpu" too
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
            arguments = _bind(getattr(self.nn, call.name), spec, call.args, call.kwargs)
        except TypeError as exc:
            raise CnnCostError(f"nn.{call.name}: {exc}", call.line, call.column) from None
        self.work += _work(call, arguments)
        if self.work > MAX_WORK:
            raise CnnCostError(
                f"this block would build about {self.work:,} modules and layers by the time it reaches "
                f"nn.{call.name}; the limit per block is {MAX_WORK:,}: split it into several blocks",
                call.line, call.column,
            )

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
                if _takes_device(cls):  # cheaper than a device context around every tensor call
                    module = cls(*call.args, **dict(call.kwargs), device=self.device)
                else:
                    with self.torch.device(self.device):
                        module = cls(*call.args, **dict(call.kwargs))
            except Exception as exc:  # PyTorch's own constructor, refusing the author's arguments
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
        if factory is None or not defined_in(factory, mod):
            public = [n for n, v in vars(mod).items() if not n.startswith("_") and defined_in(v, mod)]
            from cnn_cost.block import _suggest

            where = getattr(factory, "__module__", None)
            why = f" (it is imported there from {where!r})" if factory is not None and where else ""
            raise CnnCostError(
                f"module {call.module!r} defines no model {call.name!r}{why}{_suggest(call.name, public)}; "
                f"blocks may call the classes and functions the module itself defines",
                call.line, call.column,
            )
        try:
            with self.torch.device(self.device):
                module = factory(*call.args, **dict(call.kwargs))
        except Exception as exc:  # an author's module can raise anything: report it at the call
            raise CnnCostError(
                f"{call.qualified}(...) raised {type(exc).__name__}: {_first_line(exc)}", call.line, call.column
            ) from None
        if not isinstance(module, self.nn.Module):
            raise CnnCostError(f"{call.qualified}(...) did not return an nn.Module", call.line, call.column)
        self.calls[id(module)] = call
        return module


def defined_in(value: Any, module: Any) -> bool:
    """A class or function written in `module` itself (not one it imported)."""
    return (inspect.isclass(value) or inspect.isfunction(value)) and \
        getattr(value, "__module__", None) == module.__name__


_SET = re.compile(r"\{'[^'{}]*'(?:, '[^'{}]*')*\}")
_LONG_TUPLE = re.compile(r"([(\[])((?:-?\d+, ){8,}-?\d+),?([)\]])")


def shorten(text: str) -> str:
    """Long tuples of numbers in a message cut to their first three values and their length."""

    def cut(m: re.Match[str]) -> str:
        values = m.group(2).split(", ")
        return f"{m.group(1)}{', '.join(values[:3])}, … ({len(values):,} values){m.group(3)}"

    return _LONG_TUPLE.sub(cut, text)


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's text, with Python sets it prints in sorted order (their order
    varies from run to run), at most 300 characters."""
    text = shorten(str(exc).strip().split("\n")[0][:100_000])
    text = _SET.sub(lambda m: "{" + ", ".join(sorted(m.group(0)[1:-1].split(", "))) + "}", text)
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


def _probe_input(module: Any, spec: LayerSpec, size: int) -> Shape | None:
    """A plausible input shape (spatial sides of `size`), used only to write a parameter formula when
    the block has no input: the parameter formula does not depend on the spatial size."""
    for attr, rank in (("in_channels", spec.input_rank), ("num_features", spec.input_rank or 2),
                       ("num_channels", 3), ("in_features", 2), ("in1_features", 2), ("input_size", 3),
                       ("embed_dim", 3), ("num_parameters", 2)):
        value = getattr(module, attr, None)
        if isinstance(value, int):
            rank = rank or 2
            return (2, value, *([size] * (rank - 2))) if rank > 2 and attr != "input_size" and attr != "embed_dim" \
                else ((1, 2, value) if rank == 3 else (2, value))
    if hasattr(module, "normalized_shape"):
        return (2, *module.normalized_shape)
    if hasattr(module, "num_embeddings"):
        return (1, 1)
    return None


def _params_formula(module: Any, spec: LayerSpec) -> tuple[str, ...]:
    """The parameter formula of a layer of a block without input, from a probe input that fits it."""
    for size in (8, 64, 1024):
        probe = _probe_input(module, spec, size)
        if probe is None:
            return ()
        try:
            cost = spec.cost(module, probe)  # type: ignore[misc]
        except ShapeMismatch:
            continue  # a kernel larger than the probe: a larger one
        return (f"params: {cost.params_formula}",) if cost.params_formula else ()
    return ()


def evaluate(block: Block, *, imports: tuple[str, ...] = (), convention: str = "2mac",
             site_path: str | None = None, modules: ModuleTracker | None = None, shapes: str = "formula") -> Result:
    """Evaluate a parsed block. Raises `CnnCostError` at the offending line for any problem.

    `shapes`: "formula" takes output shapes from the registry's formulas and runs PyTorch's meta
    kernels only where no formula applies; "torch" runs the model forward on the meta device.
    Parameters are always `numel()` of the real modules.
    """
    torch, nn = _Torch.get()
    convention = block.flops or convention
    builder = _Builder(imports, site_path, modules)
    if block.model is not None:
        builder.check(block.model)
    for _, call in block.layers or ():
        builder.check(call)
    with _no_init(torch), warnings.catch_warnings():  # registry layers get device="meta" themselves
        warnings.simplefilter("ignore")
        if block.model is not None:
            model = builder.build(block.model)
        else:
            model = nn.Sequential()
            for name, call in block.layers or ():
                layer = builder.build(call)
                try:
                    model.add_module(name, layer)
                except KeyError:  # an attribute of nn.Module: `forward`, `training`, `cuda`, ...
                    raise CnnCostError(
                        f"layer name {name!r} is taken by an attribute of nn.Module: choose another name",
                        call.line, None,
                    ) from None
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
            texts = _params_formula(module, spec) if spec is not None else ()
            rows.append(Row(name or root_name, type_of(module), None, own_params(module), None, None, texts))
        return Result(tuple(rows), params, trainable, buffers, memory, None, None, None, convention, block.dtype)

    # input shape: prepend the batch dimension where the first layer wants one more
    first = next((m for _, m in leaves), None)
    shape = batched_input(block, first, spec_of(first) if first is not None else None)
    dtype = torch.long if first is not None and type_of(first) == "Embedding" else torch.float32
    x = torch.empty(shape, device="meta", dtype=dtype)
    x_shape = tuple(shape)

    module_names = {id(m): n for n, m in model.named_modules()}
    leaf_ids = {id(m) for _, m in leaves}
    model.eval()  # inference: BatchNorm uses running statistics, Dropout is the identity
    refused: list[tuple[Any, Shape, str]] = []
    walk = _by_formula(model, x_shape, spec_of, module_names, refused) if shapes == "formula" else None
    if walk is None:  # an imported model, a layer without a shape formula, or an input a formula refuses
        walk = _by_torch(torch, model, x, shape, leaf_ids, module_names, calls, type_of, block, root_name)
        if refused:  # the meta kernels accepted what PyTorch refuses on a real device (the formulas follow it)
            culprit, culprit_input, reason = refused[0]
            reason = shorten(reason)
            reason = reason if len(reason) <= 300 else reason[:297] + "..."
            located = calls.get(id(culprit))
            raise CnnCostError(
                f"layer {module_names.get(id(culprit)) or root_name} ({type_of(culprit)}) cannot take an input "
                f"of shape {format_shape(culprit_input)}: {reason}",
                *((located.line, located.column) if located else (block.line, None)),
            )
    records, outputs, model_output, costs = walk

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
            cost = costs.get(id(module), {}).get(xin) or spec.cost(module, xin, yout)  # type: ignore[misc]
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


Record = tuple[Any, Shape, tuple[Shape, ...], Any]  # (leaf module, input, all inputs, output) per call
Walk = tuple[list[Record], dict[str, Shape], "Shape | None", dict[int, dict[Shape, Cost]]]


def _by_formula(model: Any, x: Shape, spec_of: Any, module_names: dict[int, str],
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


def _by_torch(torch: Any, model: Any, x: Any, shape: Shape, leaf_ids: set[int], module_names: dict[int, str],
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
            f"{label} cannot take an input of shape {format_shape(culprit_input)}: {_first_line(exc)}", *where
        ) from None
    finally:
        for handle in handles:
            handle.remove()
    final = first_tensor(out)
    return records, outputs, tuple(final.shape) if final is not None else None, {}


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


__all__ = ["Result", "Row", "evaluate", "torch_imported", "warm_up"]
