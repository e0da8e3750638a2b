"""torch 2.13.0 `torch.utils.flop_counter.FlopCounterMode` on CPU: `get_total_flops()`, in FLOPs.

The counter sees what reaches the dispatcher and counts only matrix products and convolutions (mm,
addmm, bmm, baddbmm, convolution, the attention kernels), 2 per MAC, bias never: by family,
convolutions, linear and recurrent layers count 2 x MACs, and norms, pools and activations 0. Run
as its documentation shows: on CPU, autograd enabled (no `torch.no_grad()`). By name:

* `LSTM` runs on CPU as the fused oneDNN kernel (``aten.mkldnn_rnn_layer``), which the counter does
  not see: 0, except with `proj_size`, which oneDNN lacks, so the LSTM decomposes and counts
  2 x MACs. (On the meta device the counter sees it: 2 x MACs.)
* `MultiheadAttention`: the CPU attention kernel is not registered either, so it counts only its four
  projections. On the meta device the counter adds 2·2·L²·E per batch item, and under
  `torch.no_grad()` a `batch_first` MultiheadAttention in eval mode takes the fused fast path and
  counts 0.
* `Bilinear` (``aten::bilinear``, then ``_trilinear``): not a counted op, 0.

The rules give the CPU, autograd-enabled numbers.
"""

from __future__ import annotations

from typing import Any

from cnn_cost.counters.base import TRANSFORMERS, CounterSpec, by_family, named, parts, projections, two_macs, zero
from cnn_cost.layers.registry import Cost, Shape

VERSION = "2.13.0"  # the torch release these rules follow


def lstm(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # on CPU an LSTM runs as aten.mkldnn_rnn_layer, which the counter does not see (0), except with
    # proj_size, which oneDNN does not support: then it decomposes into counted matmuls
    return 2 * c.macs if getattr(m, "proj_size", 0) else 0


def attention(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return 2 * projections(m, x)  # addmm/mm of the projections; the CPU attention kernel unseen


TORCH = CounterSpec(
    "torch", unit="FLOPs", per_mac=2, version=f"torch {VERSION} torch.utils.flop_counter.FlopCounterMode (CPU)",
    package="torch", release=VERSION,
    call="FlopCounterMode(display=False).get_total_flops()",
    names=named(
        (["LSTM"], lstm),
        (["MultiheadAttention"], attention),
        (["Bilinear"], zero),
        (TRANSFORMERS, parts("torch")),  # its children's products (the CPU attention kernel unseen)
    ),
    families=by_family(two_macs, norm=zero, pool=zero, activation=zero),  # products only
    default=two_macs,
)
