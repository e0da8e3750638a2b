"""Building a block's layers in PyTorch: torch imported once, each call checked against the real
signature and cost bounds before anything is built, modules made on the meta device without
initialising their (valueless) weights, models from the site's own modules imported safely.
"""

from __future__ import annotations

import inspect
import re
import sys
import threading
import warnings
from functools import cache, lru_cache
from typing import Any

from cnn_cost import containers
from cnn_cost.containers import MAX_REPEAT
from cnn_cost.errors import CnnCostError
from cnn_cost.expressions import Call, suggest
from cnn_cost.imports import ModuleTracker, tracker
from cnn_cost.layers import REGISTRY, LayerSpec


class Torch:
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
    torch, nn = Torch.get()
    with torch.device("meta"), no_init(torch), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nn.Sequential(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1), nn.ReLU(), nn.Flatten(), nn.Linear(1, 1))


# ------------------------------------------------------------ building ----

def no_init(torch: Any) -> Any:
    """A torch-function mode in which weight initialisation of meta tensors does nothing.

    A meta tensor holds no values, so `reset_parameters()` has nothing to do; on meta its random
    fills still run through PyTorch's Python decompositions (a third of building VGG-16).
    """
    return no_init_mode(torch)()


@cache
def no_init_mode(torch: Any) -> type:
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


def wrapped_class(cls: type, how: str) -> type:
    """A subclass whose forward takes the block's inputs, `forward(x, *rest)`, and returns one tensor (for use
    in a Sequential); a missing input is `x` itself (see `LayerSpec.wrap`):

    - "attention": query x, key rest[0] (else x), value rest[1] (else the key); the attention output only;
    - "both-inputs": (x, rest[0]), else (x, x): Bilinear, CosineSimilarity, a decoder's target and memory;
    - "hidden-state": a recurrent cell on x and its state rest (h, or h and c), else zeros; the new h;
    - "first-output": a recurrent layer's output tensor, produced from its shape alone (see below).
    """
    key = (cls, how)
    if key in _WRAPPED:  # type: ignore[comparison-overlap]
        return _WRAPPED[key]  # type: ignore[index]

    if how == "attention":

        def forward(self: Any, x: Any, *rest: Any) -> Any:
            k = rest[0] if rest else x
            v = rest[1] if len(rest) > 1 else k
            return cls.forward(self, x, k, v, need_weights=False)[0]  # type: ignore[attr-defined]

    elif how == "both-inputs":

        def forward(self: Any, x: Any, *rest: Any) -> Any:
            return cls.forward(self, x, rest[0] if rest else x)  # type: ignore[attr-defined]

    elif how == "hidden-state":

        def forward(self: Any, x: Any, *rest: Any) -> Any:
            state = (rest[0] if len(rest) == 1 else tuple(rest)) if rest else None
            out = cls.forward(self, x, state)  # type: ignore[attr-defined]
            return out[0] if isinstance(out, tuple) else out  # LSTMCell: (h, c)

    elif how == "first-output":

        def forward(self: Any, x: Any, *rest: Any) -> Any:
            # A recurrent layer on meta tensors would run step by step (milliseconds per step and layer);
            # its output shape is known from its input shape, so only that is checked and produced.
            if rest:
                raise ValueError(f"{cls.__name__} takes one input, got {1 + len(rest)}")
            if x.dim() not in (2, 3) or x.shape[-1] != self.input_size:
                raise ValueError(
                    f"{cls.__name__} expects an input of shape (L, {self.input_size}) or "
                    f"(N, L, {self.input_size}) / (L, N, {self.input_size}), got {list(x.shape)}"
                )
            shape = REGISTRY[cls.__name__].cost(self, tuple(x.shape)).shape  # type: ignore[misc]
            return x.new_empty(shape)

    else:
        raise ValueError(f"unknown wrap {how!r} for nn.{cls.__name__}")

    new = type(cls.__name__, (cls,), {"forward": forward, "__module__": __name__})
    _WRAPPED[key] = new  # type: ignore[index]
    return new


@cache
def takes_device(cls: type) -> bool:
    try:
        return "device" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


@cache
def signature_of(cls: type, spec: LayerSpec) -> inspect.Signature:
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


def work_of(call: Call, arguments: dict[str, Any]) -> int:
    """Construction work of one registry layer, in modules; refuses a stack too deep to build."""
    layers = arguments.get("num_layers")
    if isinstance(layers, int) and not isinstance(layers, bool):
        if layers > MAX_RECURRENT_LAYERS:
            raise CnnCostError(
                f"nn.{call.name}: num_layers={layers:,} is above the limit of {MAX_RECURRENT_LAYERS:,} stacked "
                "layers per recurrent module", *call.keyword_at("num_layers"),
            )
        return 1 + 2 * max(layers, 0)
    return REGISTRY[call.name].work_of(arguments)  # MultiheadAttention 5; a Transformer by its layer counts


def bind_call(cls: type, spec: LayerSpec, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """The arguments of a call bound to the layer's signature (raises TypeError), remembered for repeated
    calls (the returned dict is shared: read it only)."""
    try:
        return bind_cached(cls, args, kwargs)
    except TypeError as exc:
        if "unhashable" not in str(exc):
            raise
        return dict(signature_of(cls, spec).bind(*args, **dict(kwargs)).arguments)


@lru_cache(maxsize=4096)
def bind_cached(cls: type, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    return dict(signature_of(cls, REGISTRY[cls.__name__]).bind(*args, **dict(kwargs)).arguments)


class Builder:
    def __init__(self, imports: tuple[str, ...], site_path: str | None, modules: ModuleTracker | None = None) -> None:
        self.torch, self.nn = Torch.get()
        self.tracker = modules if modules is not None else tracker(site_path)
        self.work = 0  # estimated construction work so far (see _work)
        self.device = "meta"  # blocks are built on meta; the tests build small ones on "cpu" too
        self.calls: dict[int, Call] = {}  # id(module) -> the call that built it
        self.types: dict[int, str] = {}
        # id(call) -> its module: one call object written once and repeated (`[conv, relu] * 3`) is one
        # module, as in Python; a cnn.Repeat copy starts afresh
        self.built: dict[int, Any] = {}
        self.checked: set[int] = set()

    def check(self, call: Call) -> None:
        """Validate a call tree against the real signatures, before building anything.

        A call object repeated by list repetition is one module: it is checked (and its work counted) once.
        """
        if id(call) in self.checked:
            return
        self.checked.add(id(call))
        if call.name.startswith("cnn."):
            self.check_container(call)
            return
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
        sig = signature_of(getattr(self.nn, call.name), spec)
        allowed = [p.name for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        for key, _ in call.kwargs:
            if key not in allowed:
                raise CnnCostError(
                    f"nn.{call.name} has no argument {key!r}{suggest(key, allowed)}; its arguments are: "
                    f"{', '.join(allowed)}",
                    *call.keyword_at(key),
                )
        try:
            arguments = bind_call(getattr(self.nn, call.name), spec, call.args, call.kwargs)
        except TypeError as exc:
            raise CnnCostError(f"nn.{call.name}: {exc}", call.line, call.column) from None
        self.work += work_of(call, arguments)
        if self.work > MAX_WORK:
            raise CnnCostError(
                f"this block would build about {self.work:,} modules and layers by the time it reaches "
                f"nn.{call.name}; the limit per block is {MAX_WORK:,}: split it into several blocks",
                call.line, call.column,
            )

    def check_container(self, call: Call) -> None:
        """`cnn.Residual(body, shortcut=None)`, `cnn.Add(a, b, …)`, `cnn.Mul(…)`, `cnn.Concat(…, dim=1)`,
        `cnn.Repeat(n, layer, …)`: their arguments are layers, but for the few named here."""
        kind = call.name[4:]
        args, kwargs = list(call.args), dict(call.kwargs)
        allowed = {"Residual": ("shortcut",), "Concat": ("dim",)}.get(kind, ())
        for key, _ in call.kwargs:
            if key not in allowed:
                raise CnnCostError(
                    f"{call.name} has no argument {key!r}"
                    + (f"; its keyword is: {', '.join(allowed)}" if allowed else "; it takes layers only"),
                    *call.keyword_at(key),
                )
        copies = 1
        if kind == "Repeat":
            times = args.pop(0) if args else None
            if not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= MAX_REPEAT:
                raise CnnCostError(
                    f"cnn.Repeat(n, layer, …) needs a number of copies n from 1 to {MAX_REPEAT:,} first, "
                    f"not {times!r:.40}", call.line, call.column,
                )
            copies = times
        if kind == "Residual":
            if len(args) not in (1, 2) or ("shortcut" in kwargs and len(args) != 1):
                raise CnnCostError("cnn.Residual(body, shortcut=None) takes a body and at most one shortcut",
                                   call.line, call.column)
            shortcut = args[1] if len(args) == 2 else kwargs.get("shortcut")
            if shortcut is not None and not isinstance(shortcut, Call):
                raise CnnCostError(f"cnn.Residual: the shortcut is a layer or None, not {shortcut!r:.40}",
                                   *call.keyword_at("shortcut"))
            args = [args[0]] + ([shortcut] if shortcut is not None else [])
        if kind == "Concat" and not (isinstance(kwargs.get("dim", 1), int) and not isinstance(kwargs.get("dim"), bool)):
            raise CnnCostError(f"cnn.Concat: dim is an integer, not {kwargs['dim']!r:.40}", *call.keyword_at("dim"))
        least = 2 if kind in ("Add", "Mul", "Concat") else 1
        if len(args) < least:
            raise CnnCostError(f"{call.name} needs at least {least} layer{'s' if least > 1 else ''} "
                               f"(got {len(args)})", call.line, call.column)
        before = self.work
        for value in args:
            if not isinstance(value, Call):
                raise CnnCostError(f"{call.name} takes layers, not {value!r:.40}", call.line, call.column)
            self.check(value)
        if copies > 1:  # the same layers, built `copies` times: their work too
            self.work += (self.work - before) * (copies - 1)
            if self.work > MAX_WORK:
                raise CnnCostError(
                    f"this block would build about {self.work:,} modules and layers by the time it reaches "
                    f"{call.name}; the limit per block is {MAX_WORK:,}: split it into several blocks",
                    call.line, call.column,
                )

    def build(self, call: Call, wrap: bool = True) -> Any:
        """The module of a call; a call object met again (list repetition) gives the same module."""
        module = self.built.get(id(call))
        if module is None:
            module = self.built[id(call)] = self.build_new(call, wrap)
        return module

    def build_container(self, call: Call) -> Any:
        """A `cnn.` container of built layers (its arguments were checked by `check_container`)."""
        kind = call.name[4:]
        made = containers.classes(self.torch)[kind]
        layers = [c for c in call.args if isinstance(c, Call)]
        if kind == "Repeat":
            times = int(call.args[0])  # type: ignore[arg-type]
            copies = []
            for _ in range(times):  # independent copies: the memory of built calls starts afresh for each
                saved, self.built = self.built, {}
                try:
                    copies.append(self.nn.Sequential(*[self.build(c) for c in layers]))
                finally:
                    self.built = saved
            return made(*copies)
        if kind == "Residual":
            shortcut = dict(call.kwargs).get("shortcut", layers[1] if len(layers) == 2 else None)
            return made(self.build(layers[0]), self.build(shortcut) if isinstance(shortcut, Call) else None)
        branches = [self.build(c) for c in layers]
        return made(*branches, dim=dict(call.kwargs).get("dim", 1)) if kind == "Concat" else made(*branches)

    def build_new(self, call: Call, wrap: bool = True) -> Any:
        if call.name.startswith("cnn."):
            module = self.build_container(call)
            self.calls[id(module)] = call
            return module
        if call.module is not None:
            return self.build_imported(call)
        spec = REGISTRY[call.name]
        cls = getattr(self.nn, call.name)
        if spec.cost is None:
            module = cls(*[self.build(c) for c in call.args if isinstance(c, Call)])
        else:
            if spec.wrap and wrap:
                cls = wrapped_class(cls, spec.wrap)
            try:
                if takes_device(cls):  # cheaper than a device context around every tensor call
                    module = cls(*call.args, **dict(call.kwargs), device=self.device)
                else:
                    with self.torch.device(self.device):
                        module = cls(*call.args, **dict(call.kwargs))
            except Exception as exc:  # PyTorch's own constructor, refusing the author's arguments
                raise CnnCostError(f"nn.{call.name}: {first_line(exc)}", call.line, call.column) from None
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
            where = getattr(factory, "__module__", None)
            why = f" (it is imported there from {where!r})" if factory is not None and where else ""
            raise CnnCostError(
                f"module {call.module!r} defines no model {call.name!r}{why}{suggest(call.name, public)}; "
                f"blocks may call the classes and functions the module itself defines",
                call.line, call.column,
            )
        try:
            with self.torch.device(self.device):
                module = factory(*call.args, **dict(call.kwargs))
        except Exception as exc:  # an author's module can raise anything: report it at the call
            raise CnnCostError(
                f"{call.qualified}(...) raised {type(exc).__name__}: {first_line(exc)}", call.line, call.column
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


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, with Python sets it prints in sorted order (their order
    varies from run to run), at most 300 characters."""
    text = shorten(str(exc).strip().split("\n")[0][:100_000])
    text = _SET.sub(lambda m: "{" + ", ".join(sorted(m.group(0)[1:-1].split(", "))) + "}", text)
    return text[:300] or type(exc).__name__
