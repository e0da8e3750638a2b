"""torchsummary and torchstat, the libraries that print several numbers each, and the merge rows of the
package's containers (`cnn.Residual`, `cnn.Add`, `cnn.Mul`, `cnn.Concat`) in every library.

Every number is compared with what the installed library itself computes on the same real CPU model:
torchsummary's per-layer output shapes and Param # (the sizes it prints are sums of those, checked
exactly from them and as printed, to two places), torchstat's per-leaf Flops, MAdd, output sizes and
MemRead/MemWrite (the integers it keeps per leaf; its printed totals checked as printed). The helpers
(models, cases, `measure`, the row hooks) are tests/test_counters.py's.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from torch import nn

from cnn_cost import containers
from cnn_cost.counters import COUNTERS, METRICS, count, counts, printed, totals
from cnn_cost.layers import REGISTRY
from cnn_cost.layers.registry import Cost
from test_counters import (
    ALL_CASES,
    LIBRARIES,
    TOOLS,
    Shape,
    _first,
    _input,
    _is_row,
    _library,
    _quiet,
    cifar_net,
    measure,
)

MIB = 1024**2


class SeedAlexNet(nn.Module):
    """The AlexNet of the seeds that quote torchsummary and torchstat (no biases in its convolutions, a
    `view` in its forward): they print 61,264,904 params, pass size 9.96 MB, 862.36 MFlops, 1.72 GMAdd."""

    def __init__(self) -> None:
        super().__init__()
        self.feature_extraction = nn.Sequential(
            nn.Conv2d(3, 96, 11, 4, 2, bias=False), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 0),
            nn.Conv2d(96, 192, 5, 1, 2, bias=False), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 0),
            nn.Conv2d(192, 384, 3, 1, 1, bias=False), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, 1, 1, bias=False), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, 1, 1, bias=False), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 0))
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Linear(4096, 1000))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.feature_extraction(x)
        return self.classifier(x.view(x.size(0), 256 * 6 * 6))  # type: ignore[no-any-return]


# ------------------------------------------------------------ the package's containers ----

C = containers.classes(torch)


def _branches() -> dict[str, Callable[[], nn.Module]]:
    def conv(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Module:
        return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)

    return {
        "residual": lambda: nn.Sequential(
            C["Residual"](nn.Sequential(conv(8, 8), nn.BatchNorm2d(8), nn.ReLU(), conv(8, 8), nn.BatchNorm2d(8))),
            nn.ReLU()),
        "residual_shortcut": lambda: nn.Sequential(
            C["Residual"](nn.Sequential(conv(8, 16, stride=2), nn.BatchNorm2d(16), nn.ReLU(), conv(16, 16)),
                          shortcut=nn.Sequential(conv(8, 16, 1, stride=2), nn.BatchNorm2d(16))),
            nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10)),
        "add3": lambda: nn.Sequential(C["Add"](conv(8, 8), conv(8, 8, 1), nn.Identity()), nn.ReLU()),
        "squeeze_excite": lambda: nn.Sequential(
            conv(8, 8), C["Mul"](nn.Identity(), nn.Sequential(
                nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 2, 1), nn.ReLU(), nn.Conv2d(2, 8, 1), nn.Sigmoid()))),
        "inception": lambda: nn.Sequential(
            C["Concat"](conv(8, 4, 1), nn.Sequential(conv(8, 4, 1), nn.ReLU(), conv(4, 6)),
                        nn.Sequential(nn.MaxPool2d(3, 1, 1), conv(8, 2, 1))),
            nn.BatchNorm2d(12), nn.ReLU(), nn.MaxPool2d(2)),
        "unet_skip": lambda: nn.Sequential(
            C["Concat"](nn.Identity(), nn.Sequential(nn.MaxPool2d(2), conv(8, 8), nn.Upsample(scale_factor=2))),
            conv(16, 4)),
        "repeat": lambda: nn.Sequential(C["Repeat"](
            nn.Sequential(C["Residual"](nn.Sequential(conv(8, 8), nn.ReLU()))),
            nn.Sequential(C["Residual"](nn.Sequential(conv(8, 8), nn.ReLU())))), nn.Flatten(), nn.Linear(8 * 36, 4)),
    }


MERGE_CASES = [(name, make, (1, 8, 6, 6)) for name, make in _branches().items()]


# ------------------------------------------------------------ the rules' numbers ----


def rule_numbers(model: nn.Module, x: torch.Tensor, tools: tuple[str, ...] = TOOLS) -> dict[str, int]:
    """Every number of `as: tools` by the rules, as a block computes them: one row per call of a registry
    leaf and per merge of a container (its output), summed, then the numbers of the whole model only."""
    rows: list[tuple[str, nn.Module, Shape, Shape]] = []

    def hook(module: nn.Module, args: tuple[Any, ...], out: Any) -> None:
        xin, yout = _first(args), _first(out)
        assert xin is not None
        assert yout is not None
        rows.append((type(module).__name__, module, tuple(xin.shape), tuple(yout.shape)))

    handles = [m.register_forward_hook(hook) for m in model.modules() if _is_row(m) or containers.merges(m)]
    try:
        with torch.no_grad():
            model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    assert rows
    per_row = []
    for kind, module, xin, yout in rows:
        cost = Cost() if containers.merges(module) else REGISTRY[kind].cost(module, xin, yout)  # type: ignore[misc]
        per_row.append(counts(tools, kind, module, xin, yout, cost))
    return dict(totals(tools, per_row, [tuple(x.shape)]))


def _rules(make: Callable[[], nn.Module], shape: Shape) -> dict[str, int]:
    torch.manual_seed(0)
    model = make()
    return rule_numbers(model, _input(shape, model))


# ------------------------------------------------------------ torchsummary ----


_SIZES = {
    "torchsummary-input": "Input size (MB)",
    "torchsummary-pass": "Forward/backward pass size (MB)",
    "torchsummary-params-size": "Params size (MB)",
    "torchsummary-total": "Estimated Total Size (MB)",
}


def run_torchsummary(make: Callable[[], nn.Module], shape: Shape) -> tuple[dict[str, int], dict[str, str], str]:
    """torchsummary's numbers for a fresh model in eval mode, exact where its lines allow: (Total params,
    the pass size in bytes from its printed output shapes), its printed sizes, and its whole printout."""
    torchsummary = _library("torchsummary")
    torch.manual_seed(0)
    model = make().eval()
    out = io.StringIO()
    finished = True
    with _quiet(), contextlib.redirect_stdout(out):
        try:
            torchsummary.summary(model, tuple(shape[1:]), batch_size=shape[0], device="cpu")
        except AttributeError as error:  # no weight or bias anywhere: `total_params.numpy()` on the int 0
            if "numpy" not in str(error):
                raise
            finished = False
    text = out.getvalue()
    elements = 0
    params = 0
    for line in text.splitlines():
        m = re.match(r"^\s*\S+-\d+\s+(\[.*\])\s+([\d,]+)$", line)
        if m:
            elements += math.prod(int(d) for d in re.findall(r"-?\d+", m[1]))
            params += int(m[2].replace(",", ""))
    total = re.search(r"^Total params: ([\d,]+)$", text, re.M)
    assert (total is not None) == finished, text
    assert total is None or int(total[1].replace(",", "")) == params
    sizes = {metric: re.search(rf"^{re.escape(label)}: ([\d.]+)$", text, re.M)[1]  # type: ignore[index]
             for metric, label in _SIZES.items()} if finished else {}
    return {"torchsummary": params, "torchsummary-pass": 2 * 4 * abs(elements)}, sizes, text


# What torchsummary cannot run: a tuple in its output tuple (LSTM), None in it (MultiheadAttention with
# need_weights=False), an index input (it feeds torch.rand to the model)
TORCHSUMMARY_RAISES = ("lstm", "lstm_seqfirst", "lstm_bi2", "lstm_proj", "lstm_nobias", "LSTM", "mha",
                       "mha_seqfirst", "mha_nobias", "mha_bias_kv", "embedding", "embeddingbag",
                       "embeddingbag_max", "encoder", "encoder_bf_gelu_normfirst", "encoder_nobias", "decoder",
                       "decoder_bf_gelu", "transformer", "transformer_bf")  # transformers: their attention's None
SEQUENCE_FIRST = ("rnn_relu_2",)  # torchsummary's batch of 2 is their sequence length (see torchsummary.py)
SUMMARY_CASES = [c for c in ALL_CASES + MERGE_CASES if c[0] not in TORCHSUMMARY_RAISES + SEQUENCE_FIRST] + [
    ("seed_alexnet", SeedAlexNet, (1, 3, 224, 224))]


@pytest.mark.parametrize(("make", "shape"), [pytest.param(m, s, id=i) for i, m, s in SUMMARY_CASES])
def test_torchsummary(make: Callable[[], nn.Module], shape: Shape) -> None:
    exact, sizes, _ = run_torchsummary(make, shape)
    rules = _rules(make, shape)
    assert rules["torchsummary"] == exact["torchsummary"]
    assert rules["torchsummary-pass"] == exact["torchsummary-pass"]
    for metric, shown in sizes.items():
        assert f"{rules[metric] / MIB:0.2f}" == shown, metric


@pytest.mark.parametrize("cid", ["cifar_net", "small_cnn", "residual_shortcut"])
def test_torchsummary_at_batch_2(cid: str) -> None:
    _, make, shape = next(c for c in ALL_CASES + MERGE_CASES if c[0] == cid)
    test_torchsummary(make, (2, *shape[1:]))


@pytest.mark.parametrize("cid", TORCHSUMMARY_RAISES)
def test_torchsummary_raises(cid: str) -> None:
    """Why those rows count 0 or are not tested: torchsummary itself fails on them."""
    _, make, shape = next(c for c in ALL_CASES if c[0] == cid)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nn.Transformer's advice about nested tensors
        with pytest.raises((AttributeError, RuntimeError, TypeError, IndexError)):
            run_torchsummary(make, shape)


def test_torchsummary_seed_printout() -> None:
    """The seed's printout, line for line, from the rules: 61,264,904 params, 0.57 / 9.96 / 233.71 / 244.24 MB."""
    _, _, text = run_torchsummary(SeedAlexNet, (1, 3, 224, 224))
    values = _rules(SeedAlexNet, (1, 3, 224, 224))
    for part in printed(values.items())[0].split(": ", 1)[1].split(" · "):
        assert part in text, part
    assert printed(values.items())[0].startswith("torchsummary 1.5.1: Total params: 61,264,904 · Input size (MB): "
                                                 "0.57 · Forward/backward pass size (MB): 9.96 · Params size (MB): "
                                                 "233.71 · Estimated Total Size (MB): 244.24")


# ------------------------------------------------------------ torchstat ----


@contextlib.contextmanager
def _torchstat_environment(model: nn.Module) -> Iterator[Any]:
    """torchstat as it runs, and everything it changes put back.

    It replaces `__call__` of every leaf module's class for good (which would break every later test):
    saved and restored here. Its report uses `DataFrame.append`, which pandas 2 removed: put back for
    the call as `pd.concat` of the row, the one thing that method did there.
    """
    torchstat = _library("torchstat")
    pd = _library("pandas")
    classes = {type(m) for m in model.modules()}
    saved = {cls: cls.__dict__.get("__call__") for cls in classes}
    shim = not hasattr(pd.DataFrame, "append")
    if shim:
        pd.DataFrame.append = lambda self, row: pd.concat([self, row.to_frame().T])
    try:
        yield torchstat
    finally:
        if shim:
            del pd.DataFrame.append
        for cls, call in saved.items():
            if call is None:
                if "__call__" in cls.__dict__:
                    delattr(cls, "__call__")
            else:
                cls.__call__ = call


def run_torchstat(make: Callable[[], nn.Module], shape: Shape) -> tuple[dict[str, int], str]:
    """torchstat's exact per-leaf numbers summed (the integers it keeps on each leaf), and its printout."""
    torch.manual_seed(0)
    model = make().eval()
    out = io.StringIO()
    with _torchstat_environment(model) as torchstat, _quiet(), contextlib.redirect_stdout(out):
        torchstat.stat(model, tuple(shape[1:]))
    numbers = dict.fromkeys(("torchstat", "torchstat-madd", "torchstat-memory", "torchstat-memrw"), 0)
    for module in model.modules():
        if any(True for _ in module.children()):
            continue
        numbers["torchstat"] += int(module.Flops.item())
        numbers["torchstat-madd"] += int(module.MAdd.item())
        numbers["torchstat-memory"] += 4 * math.prod(int(d) for d in module.output_shape.tolist())
        numbers["torchstat-memrw"] += int(module.Memory.sum().item())
    return numbers, out.getvalue()


# torchstat takes a C x H x W input size only: the cases on 4-D inputs (a Linear on a 3-D input and the
# recurrent layers, which return tuples, make it raise: test_torchstat_raises)
STAT_CASES = [c for c in ALL_CASES + MERGE_CASES if len(c[2]) == 4] + [
    ("seed_alexnet", SeedAlexNet, (1, 3, 224, 224))]


@pytest.mark.parametrize(("make", "shape"), [pytest.param(m, s, id=i) for i, m, s in STAT_CASES])
def test_torchstat(make: Callable[[], nn.Module], shape: Shape) -> None:
    exact, text = run_torchstat(make, shape)
    rules = _rules(make, shape)
    assert {metric: rules[metric] for metric in exact} == exact
    for part in printed(rules.items())[-1].split(": ", 1)[1].split(" · "):
        assert part in text, part


def test_torchstat_counts_batch_1() -> None:
    """torchstat runs at batch 1 whatever the block's batch: the rules read the shapes past the batch."""
    assert _rules(cifar_net, (3, 3, 32, 32))["torchstat"] == run_torchstat(cifar_net, (1, 3, 32, 32))[0]["torchstat"]


def test_torchstat_seed_printout() -> None:
    """The seed's totals: 4.98 MB memory, 1.72 GMAdd, 862.36 MFlops, 244.14 MB MemR+W."""
    values = _rules(SeedAlexNet, (1, 3, 224, 224))
    assert printed(values.items())[-1] == ("torchstat 0.0.7: Total memory: 4.98MB · Total MAdd: 1.72GMAdd · "
                                           "Total Flops: 862.36MFlops · Total MemR+W: 244.14MB")
    assert (values["torchstat"], values["torchstat-madd"]) == (862_364_896, 1_723_494_744)


@pytest.mark.parametrize("cid", ["linear_3d", "lstm", "gru", "rnn"])
def test_torchstat_raises(cid: str) -> None:
    _, make, shape = next(c for c in ALL_CASES if c[0] == cid)
    with pytest.raises((AssertionError, AttributeError, RuntimeError, ValueError)):
        run_torchstat(make, shape if len(shape) == 4 else (1, *shape[1:3], 1))


# ------------------------------------------------------------ the merges, every library ----


@pytest.mark.parametrize("tool", LIBRARIES)
@pytest.mark.parametrize(("make", "shape"), [pytest.param(m, s, id=i) for i, m, s in MERGE_CASES])
def test_merge_rows_match_library(tool: str, make: Callable[[], nn.Module], shape: Shape) -> None:
    """`a + b`, `a * b` and `torch.cat` in a module's forward, as each library counts them (none does)."""
    assert _rules(make, shape)[tool] == measure(tool, make, shape)


@pytest.mark.parametrize("kind", ["Residual", "Add", "Mul", "Concat"])
def test_merge_rule_table(kind: str) -> None:
    """The merge rows: 0 in every library but torchsummary's pass size (it hooks the container: its output)."""
    with torch.device("meta"):
        module = C[kind](nn.Identity()) if kind == "Residual" else C[kind](nn.Identity(), nn.Identity())
    x, y = (1, 4, 3, 3), ((1, 8, 3, 3) if kind == "Concat" else (1, 4, 3, 3))
    got = {metric: count(metric, kind, module, x, y, Cost()) for metric in METRICS}
    assert got == {metric: (2 * 4 * math.prod(y) if metric == "torchsummary-pass" else 0) for metric in METRICS}
    assert all(COUNTERS[tool].rule(kind) is (COUNTERS[tool].merge or COUNTERS[tool].rule(kind)) for tool in TOOLS)


def test_a_project_module_named_like_a_merge_is_not_one() -> None:
    """A project's own leaf named `Add` is a type outside the registry (each library's default)."""

    class Add(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + x

    cost = Cost(macs=5)
    assert count("fvcore", "Add", Add(), (1, 4), (1, 4), cost) == 5
    assert count("fvcore", "Add", C["Add"](nn.Identity(), nn.Identity()), (1, 4), (1, 4), cost) == 0


# ------------------------------------------------------------ a block ----

SEED_SEQUENTIAL = """nn.Sequential(
      nn.Conv2d(3, 96, 11, 4, 2, bias=False), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 0),
      nn.Conv2d(96, 192, 5, 1, 2, bias=False), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 0),
      nn.Conv2d(192, 384, 3, 1, 1, bias=False), nn.ReLU(inplace=True),
      nn.Conv2d(384, 256, 3, 1, 1, bias=False), nn.ReLU(inplace=True),
      nn.Conv2d(256, 256, 3, 1, 1, bias=False), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 0),
      nn.Flatten(), nn.Dropout(0.5), nn.Linear(9216, 4096), nn.ReLU(inplace=True),
      nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Linear(4096, 1000))"""


def test_a_block_claims_what_the_libraries_print() -> None:
    """The seed's AlexNet as a block (`nn.Flatten` for its `view`): every number torchsummary, torchstat and
    ultralytics-thop print for the same nn.Sequential, claimed as printed (their "MB" as MiB), holds; the
    table shows each library's version and the notes their summary lines."""
    from cnn_cost.block import parse_block
    from cnn_cost.claims import check
    from cnn_cost.evaluate import evaluate
    from cnn_cost.render import table

    def make() -> nn.Module:
        return eval(SEED_SEQUENTIAL, {"nn": nn})  # type: ignore[no-any-return]  # noqa: S307 - our own text

    _, sizes, summary_text = run_torchsummary(make, (1, 3, 224, 224))
    stat, stat_text = run_torchstat(make, (1, 3, 224, 224))
    uthop = round(measure("ultralytics-thop", make, (1, 3, 224, 224)))
    shown = {name: re.search(rf"^Total {re.escape(name)}: ([\d.]+[KMGT]?)", stat_text, re.M)[1]  # type: ignore[index]
             for name in ("memory", "MAdd", "Flops", "MemR+W")}
    body = (f"input: 3x224x224\nmodel: |\n  {SEED_SEQUENTIAL}\nas: [torchsummary, torchstat, ultralytics-thop]\n"
            "expect:\n  torchsummary: 61,264,904\n"
            + "".join(f"  {metric}: {value} MiB\n" for metric, value in sizes.items())
            + f"  torchstat: {shown['Flops']}\n  torchstat-madd: {shown['MAdd']}\n"
            f"  torchstat-memory: {shown['memory'].rstrip('M')} MiB\n"
            f"  torchstat-memrw: {shown['MemR+W'].rstrip('M')} MiB\n"
            f"  0.torchstat-madd: 210,540,000\n  3.torchsummary: 460,800\n  ultralytics-thop: {uthop:,}\n")
    block = parse_block(body)
    result = evaluate(block)
    checked = check(block.expect, result)
    assert not checked.failures, [f.message for f in checked.failures]
    assert len(checked.held) == 12
    assert dict(result.counters)["torchstat"] == stat["torchstat"]
    assert sizes["torchsummary-pass"] == "10.03"  # the seed's 9.96 and the Flatten's 9,216 outputs x 8 B
    html = table(result)
    for header in ("torchsummary 1.5.1<br>\n(Param #)", "torchsummary 1.5.1<br>\n(pass size, B)",
                   "torchstat 0.0.7<br>\n(Flops)", "torchstat 0.0.7<br>\n(MAdd)", "ultralytics-thop 2.2.3<br>\n(MACs)"):
        assert header in html
    assert "Forward/backward pass size (MB): 10.03" in html and "Forward/backward pass size (MB): 10.03" in summary_text
    assert "Total Flops: 862.36MFlops" in html


def test_claims_need_their_library() -> None:
    from cnn_cost.block import parse_block
    from cnn_cost.claims import check
    from cnn_cost.evaluate import evaluate

    block = parse_block("input: 3x8x8\nmodel: nn.Conv2d(3, 4, 3)\nas: [thop]\n"
                        "expect:\n  torchstat-madd: 1\n  model.torchsummary-input: 1 B\n  torchsummary-pass: 1 MiB\n")
    messages = [f.message for f in check(block.expect, evaluate(block)).failures]
    assert "needs `as: [torchstat]`" in messages[0]
    assert "needs `as: [torchsummary]`" in messages[1]
    block = parse_block("input: 3x8x8\nmodel: nn.Conv2d(3, 4, 3)\nas: [torchsummary]\n"
                        "expect:\n  model.torchsummary-input: 1 B\n  torchsummary-pass: 1,152 B\n")
    messages = [f.message for f in check(block.expect, evaluate(block)).failures]
    assert messages == ["model.torchsummary-input: torchsummary-input is a number of the whole model only; "
                        "claim it as `torchsummary-input`"]
