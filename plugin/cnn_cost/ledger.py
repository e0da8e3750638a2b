"""Counting an imported model as PyTorch counts it: one forward pass on the meta device under one
dispatch-level counter, every aten operation attributed to the innermost module running, and a
ledger of every operation seen (contract 2b).

Where attribution happens: `run` registers forward pre- and post-hooks on the model's modules (a
module stack), and `Counting`, a `TorchDispatchMode` made the way `torch.utils.flop_counter` makes
its own (metadata queries skipped, every operation first offered its CompositeImplicit
decomposition, then run and counted with `flop_registry`, PyTorch's per-operation FLOP
formulas), gives each operation to the module on top of the stack. So the operations a
module's own `forward` runs (a hand-written `q @ k.transpose(-2, -1)`, `F.relu`, a functional
pool) go to that module, the operations of its children to them, and each operation to exactly
one module: nothing is counted twice, and the sum over modules is what `FlopCounterMode` counts
for the whole model.

Not every module is stepped into: a registry layer (its formula gives its row), a TorchScript
module (its insides run in the TorchScript interpreter, where no Python hook runs; the
operations still reach the dispatcher) and the merge of a `cnn.` container take every operation
below them.

The ledger's categories, and where the lists live (here, below):

- counted: the operation has a formula in `torch.utils.flop_counter.flop_registry` (matrix
  products, convolutions, attention kernels): 2 FLOPs per multiply-accumulate, as PyTorch counts;
- zero by definition: data movement (`MOVEMENT`: views, reshapes, transposes, copies, `cat`,
  `expand`, `empty`, indexing, padding, nearest-neighbour resampling) under every convention; and,
  under `flops: mac` and `flops: 2mac`, arithmetic that is not a multiply-accumulate
  (`POINTWISE`, `SOFTMAX`, `REDUCTIONS`, `NORMS`, the pools, `UPSAMPLING`), which
  `flops: detailed` counts by the rules of `detailed_rule` (the registry's rules per element);
- not counted: arithmetic nobody counts (`NOT_COUNTED`: sorting, scans, FFTs, linear algebra,
  a matrix-vector product that PyTorch's counter does not know, ...) and any operation these
  lists do not know. Outside a registry layer (whose formula counts the layer) such an operation
  fails the block, unless the block says `uncounted: ok`.

Nothing here imports torch at import time: the dispatch mode is made on first use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cnn_cost.result import LedgerLine, Shape

MOVEMENT = frozenset({
    # views and reshapes
    "view", "_unsafe_view", "reshape", "_reshape_alias", "as_strided", "expand", "expand_as", "permute", "transpose",
    "t", "numpy_T", "mT", "squeeze", "unsqueeze", "flatten", "unflatten", "select", "slice", "narrow", "diagonal",
    "alias", "detach", "lift_fresh", "lift_fresh_copy", "view_as", "unfold", "movedim", "swapaxes", "swapdims",
    # copies, joins and splits
    "clone", "copy", "copy_", "_to_copy", "to", "contiguous", "cat", "stack", "hstack", "vstack", "split",
    "split_with_sizes", "unsafe_split", "unsafe_split_with_sizes", "chunk", "unbind", "repeat", "tile", "roll",
    "flip", "repeat_interleave", "_unsafe_index", "index", "index_select", "gather", "take", "scatter", "index_put",
    "_index_put_impl", "masked_fill", "masked_select", "masked_scatter", "where", "embedding", "max_unpool2d",
    "max_unpool3d", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle", "im2col",
    # creation
    "empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "zeros", "zeros_like", "ones",
    "ones_like", "full", "full_like", "new_zeros", "new_ones", "new_full", "fill", "zero", "arange", "linspace",
    "scalar_tensor", "rand", "randn", "randint", "rand_like", "randn_like", "bernoulli", "uniform", "normal", "eye",
    "tril", "triu", "resize", "set", "_pack_padded_sequence", "_pad_packed_sequence", "_local_scalar_dense", "item",
    # padding and nearest-neighbour resampling
    "constant_pad_nd", "reflection_pad1d", "reflection_pad2d", "reflection_pad3d", "replication_pad1d",
    "replication_pad2d", "replication_pad3d", "_pad_circular", "upsample_nearest1d", "upsample_nearest2d",
    "upsample_nearest3d", "_upsample_nearest_exact1d", "_upsample_nearest_exact2d", "_upsample_nearest_exact3d",
})

POINTWISE = frozenset({  # elementwise arithmetic: detailed, one FLOP per output element
    "add", "sub", "rsub", "mul", "div", "neg", "abs", "relu", "relu6", "hardtanh", "leaky_relu", "rrelu_with_noise",
    "elu", "celu", "selu", "gelu", "silu", "mish", "sigmoid", "log_sigmoid_forward", "tanh", "hardswish",
    "hardsigmoid", "softplus", "softshrink", "hardshrink", "threshold", "_prelu_kernel", "exp", "exp2", "expm1",
    "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "pow", "reciprocal", "square", "clamp", "clamp_min",
    "clamp_max", "clip", "minimum", "maximum", "fmax", "fmin", "sin", "cos", "tan", "asin", "acos", "atan", "atan2",
    "sinh", "cosh", "asinh", "acosh", "atanh", "erf", "erfc", "erfinv", "sign", "sgn", "floor", "ceil", "round",
    "trunc", "frac", "remainder", "fmod", "lerp", "addcmul", "addcdiv", "eq", "ne", "lt", "le", "gt", "ge",
    "logical_and", "logical_or", "logical_not", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_not",
    "bitwise_xor", "isnan", "isinf", "isfinite", "nan_to_num", "native_dropout", "glu", "xlogy", "hypot",
    "scatter_add", "index_add", "scatter_reduce", "_masked_softmax_dummy",
})
SOFTMAX = frozenset({"_softmax", "_log_softmax", "_safe_softmax", "_masked_softmax"})  # detailed: 3 per element
REDUCTIONS = frozenset({  # detailed: one FLOP per input element
    "sum", "mean", "amax", "amin", "max", "min", "aminmax", "prod", "var", "std", "var_mean", "std_mean", "norm",
    "linalg_vector_norm", "logsumexp", "argmax", "argmin", "all", "any", "count_nonzero",
})
NORMS = frozenset({  # detailed: 4 per element (normalise, scale, shift), the registry's normalisation rule
    "native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
    "_native_batch_norm_legit_functional", "native_layer_norm", "native_group_norm", "_fused_rms_norm",
    "_batch_norm_with_update", "_batch_norm_no_update",
})
WINDOW_POOLS = frozenset({  # detailed: one per output element per window element
    "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
    "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d",
})
ADAPTIVE_POOLS = frozenset({  # detailed: one per input element
    "_adaptive_avg_pool2d", "_adaptive_avg_pool3d", "adaptive_avg_pool1d", "adaptive_max_pool1d",
    "adaptive_max_pool2d", "adaptive_max_pool3d",
})
UPSAMPLING = {  # detailed: per output element, the registry's rule for nn.Upsample
    "upsample_linear1d": 2, "upsample_bilinear2d": 4, "_upsample_bilinear2d_aa": 4, "upsample_bicubic2d": 16,
    "_upsample_bicubic2d_aa": 16, "upsample_trilinear3d": 8,
}
NOT_COUNTED = frozenset({  # arithmetic that no counter counts (listed for the ledger's wording)
    "sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode", "cumsum", "cumprod", "cummax",
    "cummin", "logcumsumexp", "_fft_r2c", "_fft_c2r", "_fft_c2c", "mv", "dot", "vdot", "addmv", "addbmm", "ger",
    "outer", "_trilinear", "cholesky", "cholesky_solve", "cholesky_inverse", "triangular_solve", "qr", "svd",
    "lu_solve", "histc", "bincount", "unique", "_unique2", "searchsorted", "bucketize", "cdist", "_cdist_forward",
    "_euclidean_dist", "matrix_exp", "det", "logdet", "slogdet", "inverse", "pinverse", "trace", "kron",
})


def base_name(op: str) -> str:
    """`aten.add_` -> `add`: the name the lists use (an in-place variant is its operation)."""
    name = op.rsplit(".", 1)[-1]
    if name.endswith("_") and not name.endswith("__") and len(name) > 1:
        name = name[:-1]
    return name


def numel(shape: Shape | None) -> int:
    return math.prod(shape) if shape is not None else 0


def detailed_rule(op: str) -> tuple[str, Callable[[Shape | None, Shape | None, tuple[Any, ...]], int]] | None:
    """`flops: detailed`'s rule for an operation that is not a multiply-accumulate: (its words, the
    FLOPs of one call from its first input's shape, its output's shape and its other arguments)."""
    name = base_name(op)
    if name in POINTWISE:
        per = 2 if name == "glu" else 1
        return ("one per output element" if per == 1 else "2 per output element"), lambda x, y, a: per * numel(y)
    if name in SOFTMAX:
        return "3 per element (exp, sum, divide)", lambda x, y, a: 3 * numel(y)
    if name in REDUCTIONS:
        return "one per input element", lambda x, y, a: numel(x)
    if name in NORMS:
        return "4 per element (normalise, scale, shift)", lambda x, y, a: 4 * numel(x)
    if name in WINDOW_POOLS:
        def window(x: Shape | None, y: Shape | None, args: tuple[Any, ...]) -> int:
            kernel = args[1] if len(args) > 1 else 1
            size = math.prod(kernel) if isinstance(kernel, (list, tuple)) else int(kernel)
            if isinstance(kernel, (list, tuple)) and len(kernel) == 1 and x is not None:
                dims = 3 if "3d" in name else 2 if "2d" in name else 1
                size = int(kernel[0]) ** dims
            return numel(y) * size

        return "one per window element", window
    if name in ADAPTIVE_POOLS:
        return "one per input element", lambda x, y, a: numel(x)
    if name in UPSAMPLING:
        per = UPSAMPLING[name]
        return f"{per} per output element", lambda x, y, a: per * numel(y)
    return None


ZERO, COUNTED, RULE, UNCOUNTED, FORMULA = "zero", "counted", "rule", "uncounted", "formula"


def classify(op: str, counted: bool, convention: str) -> tuple[str, str]:
    """(status, words) of an operation under a convention: see the module's docstring."""
    name = base_name(op)
    if counted:
        return COUNTED, "counted by torch.utils.flop_counter (2 per MAC)"
    if name in MOVEMENT:
        return ZERO, "0: data movement"
    rule = detailed_rule(op)
    if rule is not None:
        if convention == "detailed":
            return RULE, f"flops: detailed, {rule[0]}"
        return ZERO, "0: not a multiply-accumulate"
    if name in NOT_COUNTED:
        return UNCOUNTED, "not counted: arithmetic that no counter counts"
    return UNCOUNTED, "not counted: an operation cnn-cost's lists do not know"


# ----------------------------------------------------------------- counting ----


@dataclass
class Called:
    """One call of one module, with the operations given to it (not to its children)."""

    module: Any
    name: str  # its place in the model ("" for the root)
    kind: str  # "layer" (registry), "merge" (a cnn. container), "script" (TorchScript), "leaf", "own"
    inputs: tuple[Shape, ...] = ()
    output: Shape | None = None
    ops: dict[str, list[int]] = field(default_factory=dict)  # op -> [calls, counted FLOPs, detailed FLOPs]
    counted: int = 0  # FLOPs by torch's flop_registry
    detailed: int = 0  # FLOPs of `flops: detailed`'s rules

    def add(self, op: str, flops: int, extra: int) -> None:
        entry = self.ops.setdefault(op, [0, 0, 0])
        entry[0] += 1
        entry[1] += flops
        entry[2] += extra
        self.counted += flops
        self.detailed += extra


# kinds whose modules take every operation below them (no hooks inside)
WHOLE = ("layer", "script")


@cache
def counting_mode(torch: Any) -> type:
    """The dispatch mode: `torch.utils.flop_counter`'s, with each operation handed to `sink`."""
    from torch._ops import HigherOrderOperator
    from torch.utils._python_dispatch import TorchDispatchMode

    aten = torch.ops.aten
    metadata = {  # FlopCounterMode's list: queries, not operations
        aten.sym_is_contiguous.default, aten.is_contiguous.default, aten.is_contiguous.memory_format,
        aten.is_strides_like_format.default, aten.is_non_overlapping_and_dense.default, aten.size.default,
        aten.sym_size.default, aten.stride.default, aten.sym_stride.default, aten.storage_offset.default,
        aten.sym_storage_offset.default, aten.numel.default, aten.sym_numel.default, aten.dim.default,
        torch.ops.prim.layout.default,
    }
    device = torch.ops.prim.device.default

    class Counting(TorchDispatchMode):  # type: ignore[misc]
        def __init__(self, sink: Callable[[Any, tuple[Any, ...], dict[str, Any], Any], None]) -> None:
            super().__init__()
            self.sink = sink

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            if func in metadata:
                return func(*args, **kwargs)
            if isinstance(func, HigherOrderOperator):
                self.sink(func, args, kwargs, None)
                return NotImplemented
            if func is not device:  # as FlopCounterMode: an operation with a decomposition is counted by its parts
                with self:
                    decomposed = func.decompose(*args, **kwargs)
                if decomposed is not NotImplemented:
                    return decomposed
            out = func(*args, **kwargs)
            self.sink(func, args, kwargs, out)
            return out

    return Counting


def first_tensor(torch: Any, value: Any) -> Any:
    """The first tensor of a value (a PackedSequence: its data; a dict: of its values), or None."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (tuple, list)) and value:
        for item in value:
            found = first_tensor(torch, item)
            if found is not None:
                return found
    return None


def tensor_shapes(torch: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> tuple[Shape, ...]:
    """Shapes of the tensor inputs of a call, positional then keyword (a PackedSequence: its data's)."""
    out = []
    for value in (*args, *(kwargs or {}).values()):
        tensor = value if isinstance(value, torch.Tensor) else (
            first_tensor(torch, value) if type(value).__name__ == "PackedSequence" else None)
        if tensor is not None:
            out.append(tuple(tensor.shape))
    return tuple(out)


def scripted(torch: Any, module: Any) -> bool:
    return isinstance(module, torch.jit.ScriptModule)


class Forward:
    """What `run` saw: the calls in row order, each module's output shape by name, the model's output,
    every operation with the calls it ran in, and the modules called."""

    def __init__(self) -> None:
        self.calls: list[Called] = []
        self.outputs: dict[str, Shape] = {}
        self.output: Shape | None = None
        self.ops: dict[str, list[Any]] = {}  # op -> [calls, counted FLOPs, detailed FLOPs, {Called ids}]
        self.called: set[int] = set()  # id(module) of every module called
        self.registered: set[str] = set()  # operations with a formula in torch's flop_registry


def run(torch: Any, root: Any, x: Any, more: tuple[Any, ...], kind_of: Callable[[Any], str], convention: str,
        on_error: Callable[[BaseException, Any, Shape, dict[int, Shape]], BaseException],
        quiet: Callable[[], Any], first_call: Callable[[Any, Any, tuple[Any, ...]], Any]) -> Forward:
    """The forward pass of `root` on `x` (meta tensors), every operation given to the innermost module.

    `kind_of(module)` says how a module is counted (see `Called.kind`); `on_error(exc, module, its input
    shape, last outputs)` words a failure of the forward pass (returns the exception to raise);
    `quiet()` is the context the pass runs in; `first_call(root, x, more)` runs it.
    """
    from torch.utils.flop_counter import flop_registry

    forward = Forward()
    names: dict[int, list[str]] = {}
    stack: list[Called] = []
    seen: dict[int, int] = {}
    last: dict[int, Shape] = {}
    kinds: dict[int, str] = {}
    rule_cache: dict[str, Any] = {}

    def visit(name: str, module: Any) -> None:
        names.setdefault(id(module), []).append(name)
        for key, child in module._modules.items():
            if child is not None:
                visit(f"{name}.{key}" if name else key, child)

    visit("", root)
    root_call = Called(root, "", "own")

    def sink(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
        packet = getattr(func, "_overloadpacket", func)
        op = str(packet) if hasattr(func, "_overloadpacket") else f"higher_order.{getattr(func, '__name__', func)}"
        flops = 0
        if packet in flop_registry:
            forward.registered.add(op)
            try:
                flops = int(flop_registry[packet](*args, **kwargs, out_val=out))
            except Exception:  # a formula refusing its arguments: the operation stays uncounted
                forward.registered.discard(op)
                op = f"{op} (its FLOP formula failed)"
        extra = 0
        if convention == "detailed" and packet not in flop_registry:
            if op not in rule_cache:
                rule_cache[op] = detailed_rule(op)
            rule = rule_cache[op]
            if rule is not None:
                x_in = first_tensor(torch, args)
                y_out = first_tensor(torch, out)
                extra = rule[1](tuple(x_in.shape) if x_in is not None else None,
                                tuple(y_out.shape) if y_out is not None else None, tuple(args))
        target = stack[-1] if stack else root_call
        target.add(op, flops, extra)
        entry = forward.ops.setdefault(op, [0, 0, 0, {}])
        entry[0] += 1
        entry[1] += flops
        entry[2] += extra
        entry[3][id(target)] = target

    def pre_hook(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> None:
        kind = kinds.get(id(module))
        if kind is None or kind == "pending":  # decided at the first call (a lazy module has become itself)
            kind = kinds[id(module)] = kind_of(module)
        called = seen.get(id(module), 0)
        seen[id(module)] = called + 1
        forward.called.add(id(module))
        placed = names.get(id(module), [""])
        call = Called(module, placed[min(called, len(placed) - 1)], kind, tensor_shapes(torch, args, kwargs))
        if kind != "merge":
            forward.calls.append(call)
        stack.append(call)

    def post_hook(module: Any, args: tuple[Any, ...], *rest: Any) -> None:
        out = rest[-1]
        if not any(c.module is module for c in stack):  # pragma: no cover - hooks pair
            return
        call = stack.pop()
        while call.module is not module:  # a call that raised inside a forward that caught it
            call = stack.pop()
        tensor = first_tensor(torch, out)
        if tensor is not None:
            call.output = tuple(tensor.shape)
            last[id(module)] = call.output
            if call.name:
                forward.outputs.setdefault(call.name, call.output)
        if call.kind == "merge":
            from cnn_cost import containers

            call.inputs = tuple(call.inputs[0] if b is None else last.get(id(b), ())
                                for b in containers.branches(module))
            forward.calls.append(call)

    handles: list[Any] = []
    hooked: set[int] = set()

    def hook(module: Any) -> None:
        if id(module) in hooked:  # a module placed twice is hooked once (each call is one call)
            return
        hooked.add(id(module))
        if scripted(torch, module):  # a ScriptModule refuses register_forward_*hook; its hook tables still work
            key = -len(handles) - 1  # RemovableHandle ids are positive
            module._forward_pre_hooks[key] = pre_hook
            module._forward_hooks[key] = post_hook
            handles.append((module, key))
            kinds[id(module)] = "script"
            return
        handles.append(module.register_forward_pre_hook(pre_hook, with_kwargs=True))
        handles.append(module.register_forward_hook(post_hook, with_kwargs=True))
        kind = kind_of(module)
        kinds[id(module)] = "pending" if kind == "leaf" else kind  # a lazy leaf may become a registry layer
        if kind in WHOLE:
            return
        for child in module._modules.values():
            if child is not None:
                hook(child)

    mode = counting_mode(torch)(sink)
    try:
        hook(root)
        with quiet(), mode:
            out = first_call(root, x, more)
    except Exception as exc:  # the model's own code can raise anything: worded at the module running
        culprit = stack[-1] if stack else None
        raise on_error(exc, culprit.module if culprit else None,
                       culprit.inputs[0] if culprit and culprit.inputs else tuple(x.shape), last) from None
    finally:
        for handle in handles:
            if isinstance(handle, tuple):
                module, key = handle
                module._forward_pre_hooks.pop(key, None)
                module._forward_hooks.pop(key, None)
            else:
                handle.remove()
    if root_call.ops:  # operations outside every hooked call (none, in practice)
        forward.calls.insert(0, root_call)
    final = first_tensor(torch, out)
    forward.output = tuple(final.shape) if final is not None else None
    return forward


def is_lazy(torch: Any, module: Any) -> bool:
    """A module whose parameters are not yet known: a lazy module (nn.LazyLinear, ...) before its first call,
    or one holding an UninitializedParameter (or buffer) of its own."""
    from torch.nn.modules.lazy import LazyModuleMixin
    from torch.nn.parameter import is_lazy as uninitialized

    if isinstance(module, LazyModuleMixin) and module.has_uninitialized_params():  # type: ignore[misc]
        return True
    return any(uninitialized(t) for t in (*module.parameters(recurse=False), *module.buffers(recurse=False)))


# ------------------------------------------------------------------- rows ----

STATUS_ORDER = {UNCOUNTED: 0, FORMULA: 1, COUNTED: 2, RULE: 3, ZERO: 4}
MAX_LISTED = 6  # operations named on one formula line


def short(op: str) -> str:
    return op.removeprefix("aten.")


def op_lines(call: Called, registered: set[str], convention: str) -> list[str]:
    """A measured row's formula lines: its operations, counted, by rule, zero or not counted."""
    lines, zeros, uncounted = [], [], []
    for op, (calls, flops, extra) in call.ops.items():
        status, words = classify(op, op in registered, convention)
        if status == COUNTED:
            lines.append(f"{short(op)} ×{calls}: {flops:,} FLOPs")
        elif status == RULE:
            lines.append(f"{short(op)} ×{calls}: {extra:,} FLOPs ({words.removeprefix('flops: detailed, ')})")
        elif status == ZERO:
            zeros.append(f"{short(op)} ×{calls}")
        else:
            uncounted.append(f"{short(op)} ×{calls}")
    if zeros:
        shown = ", ".join(zeros[:MAX_LISTED]) + (f", … ({len(zeros) - MAX_LISTED} more)" if len(zeros) > MAX_LISTED
                                                 else "")
        lines.append(f"0 FLOPs: {shown} (data movement{'' if convention == 'detailed' else ', not MACs'})")
    if uncounted:
        lines.append(f"not counted: {', '.join(uncounted)}")
    return lines


def measured_counts(call: Called, convention: str) -> tuple[int, int]:
    """(MACs, FLOPs) of a measured row: torch's count is 2 per MAC; `detailed` adds its rules' FLOPs."""
    macs = call.counted // 2
    flops = {"mac": macs, "2mac": call.counted, "detailed": call.counted + call.detailed}[convention]
    return macs, flops


def tally(forward: Forward, model: Any, root: Any, convention: str, counters: tuple[str, ...], lazy: set[int],
          root_name: str) -> tuple[list[Any], tuple[LedgerLine, ...], tuple[tuple[str, int], ...],
                                   list[tuple[str, str, list[Called]]]]:
    """The rows of a counted forward pass, its ledger lines, the modules never called (with their
    parameters), and the operations nobody counts that ran outside a registry layer: (op, words, calls).

    `model` gives `type_of(module)` and `spec_of(module)` (see evaluate._Model). A row per call of a
    registry layer (its formula; the operations it ran checked against it), of a merge (its formula),
    of an unknown leaf or a TorchScript module (its operations, measured), and of a module whose own
    forward ran operations that count, or that holds parameters of its own. Each parameter is counted
    once, on the first row that holds it.
    """
    from cnn_cost import containers
    from cnn_cost.builder import first_line
    from cnn_cost.claims import format_shape
    from cnn_cost.counters import counts
    from cnn_cost.layers import Cost
    from cnn_cost.result import Row

    counted_params: set[int] = set()
    seen: set[int] = set()
    rows: list[Row] = []
    row_of: dict[int, str] = {}  # id(Called) -> "row (type)", for the ledger's words
    for call in forward.calls:
        module = call.module
        shared = id(module) in seen
        seen.add(id(module))
        own_only = call.kind in ("own", "merge")
        held = list(module.parameters(recurse=not own_only))
        fresh = [p for p in held if id(p) not in counted_params]
        n_params = sum(p.numel() for p in fresh)
        uncounted = any(classify(op, op in forward.registered, convention)[0] == UNCOUNTED for op in call.ops)
        if call.kind == "own" and not (n_params or call.counted or (convention == "detailed" and call.detailed)
                                       or uncounted):
            continue  # a container whose own forward only moves data or adds (0 under mac and 2mac)
        counted_params.update(id(p) for p in fresh)
        name = call.name or root_name
        xin = call.inputs[0] if call.inputs else ()
        yout = call.output
        note = "shared" if shared else ""
        formula: list[str] = []
        cost: Any = None
        type_name = model.type_of(module)
        tool_type = type_name
        if call.kind == "layer":
            spec = model.spec_of(module)
            rest = call.inputs[1:spec.inputs] if spec is not None else ()
            try:
                cost = spec.cost(module, xin, yout, rest) if rest else spec.cost(module, xin, yout)
            except Exception as exc:  # the formula refuses what PyTorch ran: measured instead, and said so
                formula.append(f"note: the formula refuses this call ({first_line(exc)}); its operations as counted")
        elif call.kind == "merge":
            try:
                cost = containers.merge_of(module, call.inputs, call.name)
            except Exception as exc:
                formula.append(f"note: the merge formula refuses this call ({first_line(exc)})")
        if cost is not None:
            formula[:0] = list(cost.formula_lines(convention))
            if id(module) in lazy:
                formula.append(f"nn.Lazy{type_name}: parameters as materialised by the forward pass")
            if cost.params != n_params and not shared:
                also = " (the rest are counted on an earlier row)" if len(fresh) < len(held) else ""
                formula.append(f"note: the formula gives {cost.params:,}; PyTorch counts {n_params:,}{also}")
            if cost.shape is not None and yout is not None and tuple(cost.shape) != tuple(yout):
                formula.append(f"note: the formula gives {format_shape(cost.shape)}; PyTorch gives "
                               f"{format_shape(yout)}")
            if call.kind == "layer" and call.counted != 2 * cost.macs:
                formula.append(f"note: torch.utils.flop_counter counts {call.counted:,} FLOPs in this call; the "
                               f"formula's 2 × MACs is {2 * cost.macs:,}")
            macs, flops = cost.macs, cost.flops(convention)
        else:
            macs, flops = measured_counts(call, convention)
            if call.kind == "own":
                type_name = f"{type_name} (own forward)"
                formula.append("its own forward (its children have rows of their own):")
            elif call.kind == "script":
                formula.append("TorchScript: parameters by numel(), operations as torch.utils.flop_counter counts")
            else:
                formula.append("not in the registry: parameters by numel(), operations as "
                               "torch.utils.flop_counter counts")
            formula += op_lines(call, forward.registered, convention) or ["no operations"]
            note = note or "measured"
            cost = Cost(macs=macs)
        tools = counts(counters, tool_type, module, xin, yout or (), cost)
        rows.append(Row(name, type_name, yout, n_params, macs, flops, tuple(formula), note, tools))
        row_of[id(call)] = f"{name} ({type_name})"

    lines, problems = [], []
    for op, (calls, flops, extra, targets) in forward.ops.items():
        status, words = classify(op, op in forward.registered, convention)
        where: tuple[str, ...] = ()
        if status == UNCOUNTED:
            outside = [c for c in targets.values() if c.kind not in ("layer",)]
            if not outside:
                status = FORMULA
                kinds = sorted({model.type_of(c.module) for c in targets.values()})
                words = f"not counted by PyTorch; inside {', '.join(kinds)}, whose formula counts the layer"
            else:
                where = tuple(dict.fromkeys(row_of.get(id(c), f"{c.name or root_name}") for c in outside))
                problems.append((op, words, outside))
        shown = flops if status == COUNTED else extra if status == RULE else 0
        lines.append(LedgerLine(op, calls, shown, status, words, where))
    lines.sort(key=lambda line: STATUS_ORDER[line.status])

    never: dict[str, int] = {}
    for pname, param in root.named_parameters():
        if id(param) not in counted_params:
            owner = pname.rpartition(".")[0] or root_name
            never[owner] = never.get(owner, 0) + param.numel()
    return rows, tuple(lines), tuple(never.items()), problems
