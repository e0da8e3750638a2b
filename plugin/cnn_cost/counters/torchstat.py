"""torchstat 0.0.7: `stat(model, (C, H, W))`, its printout.

torchstat (torchstat/model_hook.py, compute_flops.py, compute_madd.py, compute_memory.py,
reporter.py) wraps the `__call__` of every leaf module's class (a module without children), runs the
model in eval mode on `torch.rand(1, C, H, W)` (batch 1 always: the input size must be 3-D) and
prints per leaf params, memory(MB), MAdd, Flops, MemRead(B), MemWrite(B) and duration, then the sums:

=======================  ==================================================  ==========================
printed                  computed, per leaf, at batch 1                      claim (`as: [torchstat]`)
=======================  ==================================================  ==========================
Total Flops              Conv2d: K·Cin·(Cout/g)·positions + bias per output;  `torchstat`, `N.torchstat`
                         BatchNorm2d 2 per element (1 without affine);
                         MaxPool2d, AvgPool2d, ReLU, ReLU6, PReLU, ELU,
                         LeakyReLU 1 per input element; Linear in·out;
                         Upsample H·W of the output (not its channels)
Total MAdd               Conv2d, ConvTranspose2d: (2·K·Cin/g − 1 + bias)     `torchstat-madd`
                         per output (ConvTranspose: per input position);
                         BatchNorm2d 4 per element; MaxPool2d (k² − 1),
                         AvgPool2d k² per output; ReLU, ReLU6 1 per
                         element; Softmax 3n − 1; Linear out·(2·in − 1);
                         Bilinear out·(2·(in1·in2 + in2) − 1)
Total memory             4 B per output element of every leaf                `torchstat-memory`
Total MemR+W             4 B · (read + written elements): the input and the  `torchstat-memrw`
                         trainable parameters (BatchNorm2d: 2 per channel)
                         read, the output written, for Conv2d, BatchNorm2d,
                         Linear, MaxPool2d, AvgPool2d, ReLU, ReLU6, ELU,
                         LeakyReLU, PReLU
=======================  ==================================================  ==========================

Every other layer counts 0 (torchstat prints "not supported"), 1-D and 3-D layers included; its
memory is still counted. "MB" in its printout is 1024² bytes: the memory claims are in bytes, and
`Total memory: 4.98MB` holds as `torchstat-memory: 4.98 MiB`, `Total MemR+W: 244.14MB` as
`torchstat-memrw: 244.14 MiB`. `Total MAdd: 1.72GMAdd` and `Total Flops: 862.36MFlops` are powers of
ten: `torchstat-madd: 1.72G`, `torchstat: 862.36M`. torchstat's params column is `numel()` of each
leaf's own parameters (the block's `params`).

The rules give torchstat's numbers for batch 1, whatever the block's batch. What torchstat itself
cannot count: an input that is not 3-D (`assert len(input_size) == 3`), a Linear on a 3-D input, a
layer that returns a tuple (the recurrent layers: it raises); a leaf called twice shows its last call
only; a module with children is not counted (MultiheadAttention, the package's containers: 0).
torchstat 0.0.7 uses `DataFrame.append`, which pandas 2 removed: it runs only with pandas < 2 (or
with that method put back, as the tests do).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cnn_cost.counters.base import CounterSpec, by_family, named, numel, zero
from cnn_cost.layers.registry import Cost, Shape, tup

VERSION = "0.0.7"  # the release these rules follow
FLOAT = 4  # the itemsize of its float32 input


def _leaf(m: Any) -> bool:
    children = getattr(m, "children", None)
    return children is None or not any(True for _ in children())


def _trainable(m: Any, c: Cost) -> int:
    parameters = getattr(m, "parameters", None)
    if parameters is None:
        return c.params
    return sum(p.numel() for p in parameters() if p.requires_grad)


def _window(m: Any) -> int:
    k = tup(m.kernel_size, 2)
    return k[0] * k[1]


# ----- Flops (compute_flops.py), batch 1 -----


def conv_flops(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    positions = numel(y[2:])
    products = _window(m) * x[1] * (y[1] // m.groups) * positions
    return products + (y[1] * positions if m.bias is not None else 0)


def bn_flops(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return numel(x[1:]) * (2 if m.affine else 1)


def per_input(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return numel(x[1:])


def upsample_flops(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return numel(y[2:])  # `out[0]` (the first sample), then its shape[1:]: the spatial size only


def linear_flops(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return x[-1] * y[-1]


# ----- MAdd (compute_madd.py) -----


def _conv_madd(m: Any, x: Shape, y: Shape, positions: int) -> int:
    mul = _window(m) * (x[1] // m.groups)
    add = mul - 1 + (0 if m.bias is None else 1)
    return (mul + add) * positions * (y[1] // m.groups) * m.groups


def conv_madd(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return _conv_madd(m, x, y, numel(y[2:]))


def conv_transpose_madd(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return _conv_madd(m, x, y, numel(x[2:]))


def bn_madd(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return 4 * numel(x[1:])


def maxpool_madd(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return (_window(m) - 1) * numel(y[1:])


def avgpool_madd(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return _window(m) * numel(y[1:])


def softmax_madd(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return 3 * numel(x[1:]) - 1  # exp, add (count − 1), divide over the whole sample


def linear_madd(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return y[-1] * (2 * x[-1] - 1)


def bilinear_madd(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    both = m.in1_features * m.in2_features + m.in2_features
    return y[-1] * (2 * both - 1)


# ----- memory(MB) and MemRead/MemWrite (compute_memory.py), in bytes -----


def memory(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return FLOAT * numel(y[1:]) if _leaf(m) else 0


def rw_activation(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return FLOAT * 2 * numel(x[1:])


def rw_weighted(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return FLOAT * (numel(x[1:]) + _trainable(m, c) + numel(y[1:]))  # Conv2d, Linear


def rw_prelu(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return FLOAT * (numel(x[1:]) + _trainable(m, c) + numel(x[1:]))


def rw_bn(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return FLOAT * (numel(x[1:]) + 2 * x[1] + numel(x[1:]))


def rw_pool(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return FLOAT * (numel(x[1:]) + numel(y[1:]))


def printed(values: Mapping[str, int]) -> str:
    """torchstat's totals, as it prints them."""
    return (f"Total memory: {values['torchstat-memory'] / 1024**2:.2f}MB · "
            f"Total MAdd: {round_value(values['torchstat-madd'])}MAdd · "
            f"Total Flops: {round_value(values['torchstat'])}Flops · "
            f"Total MemR+W: {round_value(values['torchstat-memrw'], binary=True)}B")


def round_value(value: int, binary: bool = False) -> str:
    """reporter.round_value: K, M, G, T of 1000 (of 1024 when binary), Python's round to 2 places."""
    divisor = 1024.0 if binary else 1000.0
    for power, suffix in ((4, "T"), (3, "G"), (2, "M"), (1, "K")):
        if value // divisor**power > 0:
            return str(round(value / divisor**power, 2)) + suffix
    return str(value)


def _spec(name: str, unit: str, call: str, names: dict[str, Any], default: Any = zero) -> CounterSpec:
    return CounterSpec(name, unit=unit, per_mac=0, version=f"torchstat {VERSION}", call=call, tool="torchstat",
                       release=VERSION, names=names, families=by_family(default, attention=zero), default=default)


MADD = _spec("torchstat-madd", "MAdd", "Total MAdd", named(
    (["Conv2d"], conv_madd),
    (["ConvTranspose2d"], conv_transpose_madd),
    (["BatchNorm2d"], bn_madd),
    (["MaxPool2d"], maxpool_madd),
    (["AvgPool2d"], avgpool_madd),
    (["ReLU", "ReLU6"], per_input),
    (["Softmax"], softmax_madd),
    (["Linear"], linear_madd),
    (["Bilinear"], bilinear_madd),
))
MEMORY = _spec("torchstat-memory", "memory, B", "Total memory (MB) × 1024²", {}, default=memory)
MEMRW = _spec("torchstat-memrw", "MemR+W, B", "Total MemR+W (MB) × 1024²", named(
    (["ReLU", "ReLU6", "ELU", "LeakyReLU"], rw_activation),
    (["PReLU"], rw_prelu),
    (["Conv2d", "Linear"], rw_weighted),
    (["BatchNorm2d"], rw_bn),
    (["MaxPool2d", "AvgPool2d"], rw_pool),
))

TORCHSTAT = CounterSpec(
    "torchstat", unit="Flops", per_mac=1, version=f"torchstat {VERSION}", call="stat(model, (C, H, W))",
    package="torchstat", release=VERSION,
    names=named(
        (["Conv2d"], conv_flops),
        (["BatchNorm2d"], bn_flops),
        (["MaxPool2d", "AvgPool2d", "ReLU", "ReLU6", "PReLU", "ELU", "LeakyReLU"], per_input),
        (["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"], upsample_flops),  # isinstance
        (["Linear"], linear_flops),
    ),
    families=by_family(zero),  # "not supported"
    default=zero,
    details=(MADD, MEMORY, MEMRW),
    printed=printed,
)
