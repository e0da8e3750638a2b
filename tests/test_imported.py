"""Imported models are counted as PyTorch counts them (contract 2b, issue 12).

Held-out models, written here into a module of a temporary site that blocks list under `imports:`:
a tiny ViT (class token, position embedding, hand-written attention), a module doing its work in
its own forward (`F.relu`, `F.adaptive_avg_pool2d`, `torch.matmul`), `F.scaled_dot_product_attention`,
a TorchScript child, `nn.LazyLinear`, an LSTM over a `PackedSequence` and over a tensor,
`MaxUnpool2d(indices=...)`,
an unused submodule, and `torch.sort`/`torch.cumsum` (arithmetic nobody counts).

For each, against PyTorch itself: the total FLOPs equal `FlopCounterMode` around the real module's
forward (on the CPU with real weights; on the meta device where a CPU kernel is one the counter does
not see: the fused CPU attention kernel and the oneDNN LSTM, both counted 0 there), the parameters
equal `numel()` after a real forward, the output shape is the real forward's, the rows sum to the
totals, and each operation is on one row only (a module's own-forward row holds what FlopCounterMode
gives the module minus what it gives its children). Then a real `mkdocs build`.
"""

from __future__ import annotations

import ast
import json
import math
import re
import textwrap
import warnings
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from cnn_cost import ledger as ops
from cnn_cost.block import parse_block
from cnn_cost.cache import _result_from_json
from cnn_cost.errors import CnnCostError
from cnn_cost.evaluate import evaluate
from cnn_cost.imports import tracker
from cnn_cost.result import Result
from conftest import mkdocs, write_site

MODULE = "held_out_models"
IMPORTS = (MODULE,)

MODELS = '''
"""Held-out models for tests/test_imported.py."""

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class Attention(nn.Module):
    """Multi-head self-attention written by hand: its products are in its own forward."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1)) * (d // self.heads) ** -0.5
        out = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, d)
        return self.proj(out)


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TinyViT(nn.Module):
    """A class token and a position embedding: parameters of its own beside its children."""

    def __init__(self, size=16, patch=4, dim=32, depth=2, heads=4, classes=10):
        super().__init__()
        self.embed = nn.Conv2d(3, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (size // patch) ** 2 + 1, dim))
        self.blocks = nn.Sequential(*[Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])


class Functional(nn.Module):
    """Work done in its own forward: F.relu, F.adaptive_avg_pool2d, torch.matmul on its own weight."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.weight = nn.Parameter(torch.zeros(8, 5))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(F.relu(self.conv(x)), 1).flatten(1)
        return torch.matmul(x, self.weight)


class SdpaAttention(nn.Module):
    """Attention by F.scaled_dot_product_attention."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        return F.scaled_dot_product_attention(q, k, v)


class Scripted(nn.Module):
    """A TorchScript child (no Python hooks inside it)."""

    def __init__(self):
        super().__init__()
        self.features = torch.jit.script(nn.Sequential(nn.Linear(6, 12), nn.ReLU()))
        self.out = nn.Linear(12, 3)

    def forward(self, x):
        return self.out(self.features(x))


class Lazy(nn.Module):
    """nn.LazyLinear: its parameters exist after its first call."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.LazyLinear(16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class Packed(nn.Module):
    """An LSTM fed a PackedSequence made in the model's own forward (batch of 3, lengths 6, 5, 4)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 7, batch_first=True)
        self.fc = nn.Linear(7, 2)

    def forward(self, x):
        lengths = torch.tensor([x.shape[1] - i for i in range(x.shape[0])])
        out, _ = self.lstm(pack_padded_sequence(x, lengths, batch_first=True))
        out, _ = pad_packed_sequence(out, batch_first=True)
        return self.fc(out)


class Recurrent(nn.Module):
    """An LSTM on a tensor: on the CPU, oneDNN's kernel (aten.mkldnn_rnn_layer)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 7, batch_first=True)
        self.fc = nn.Linear(7, 2)

    def forward(self, x):
        return self.fc(self.lstm(x)[0][:, -1])


class Unpool(nn.Module):
    """MaxUnpool2d called with a keyword input, the indices of a MaxPool2d."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2)

    def forward(self, x):
        y, indices = self.pool(self.conv(x))
        return self.unpool(y, indices=indices)


class Unused(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(8, 8)
        self.unused = nn.Linear(32, 32)

    def forward(self, x):
        return self.used(x)


class Sorter(nn.Module):
    """Sorting and a running sum: arithmetic that no counter counts."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        values, _ = torch.sort(self.fc(x), dim=-1)
        return torch.cumsum(values, dim=-1)


class Pairwise(nn.Module):
    """nn.Bilinear: aten._trilinear, which PyTorch's counter does not count; the registry's formula does."""

    def __init__(self):
        super().__init__()
        self.bilinear = nn.Bilinear(4, 4, 3)

    def forward(self, x):
        return self.bilinear(x, x)


class Unsorted(nn.Module):
    """pad_packed_sequence after enforce_sorted=False reads index values: impossible on meta."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 7, batch_first=True)

    def forward(self, x):
        lengths = torch.tensor([2] + [x.shape[1]] * (x.shape[0] - 1))
        out, _ = self.lstm(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        return pad_packed_sequence(out, batch_first=True)[0]
'''


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("imported")
    (root / f"{MODULE}.py").write_text(textwrap.dedent(MODELS).lstrip(), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def models(site_dir: Path) -> ModuleType:
    """The held-out module, imported as the plugin imports it (the same module object)."""
    return tracker(str(site_dir)).load(MODULE)


def run(site_dir: Path, body: str) -> Result:
    return evaluate(parse_block(body, 1, IMPORTS), imports=IMPORTS, site_path=str(site_dir))


def flop_counter(model: Any, x: Any) -> tuple[int, dict[str, int], Any]:
    """FlopCounterMode around one forward: the total, the per-module totals (children included), the output."""
    with FlopCounterMode(display=False) as counter, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = model(x)
    per_module = {name: sum(counts.values()) for name, counts in counter.get_flop_counts().items()}
    return counter.get_total_flops(), per_module, out


def real(models: ModuleType, expr: str, device: str) -> Any:
    """`Name(1, 2)` of the held-out module, built on `device`."""
    name, _, rest = expr.partition("(")
    args = ast.literal_eval(f"({rest.removesuffix(')')},)") if rest.removesuffix(")") else ()
    with torch.device(device), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.script's deprecation
        model = getattr(models, name)(*args)
    return model.eval()


def first(value: Any) -> Any:
    while isinstance(value, (tuple, list)):
        value = value[0]
    return value


# (model, input with its batch, where FlopCounterMode counts what the model runs)
CASES = [
    ("TinyViT()", [1, 3, 16, 16], "cpu"),
    ("Functional()", [1, 3, 8, 8], "cpu"),
    ("SdpaAttention(16, 4)", [2, 5, 16], "meta"),  # CPU: the fused attention kernel, which it counts 0
    ("Scripted()", [1, 4, 6], "cpu"),
    ("Lazy()", [1, 4, 10], "cpu"),
    ("Packed()", [3, 6, 5], "cpu"),  # a packed LSTM decomposes on the CPU too
    ("Recurrent()", [1, 6, 5], "meta"),  # CPU: the oneDNN LSTM kernel, which it counts 0
    ("Unpool()", [1, 3, 8, 8], "cpu"),
    ("Unused()", [1, 2, 8], "cpu"),
    ("Sorter()", [1, 2, 8], "cpu"),
]


@pytest.mark.parametrize(("expr", "shape", "where"), CASES, ids=[c[0].split("(")[0] for c in CASES])
def test_counted_as_pytorch_counts(site_dir: Path, models: ModuleType, expr: str, shape: list[int],
                                   where: str) -> None:
    result = run(site_dir, f"input: {shape}\nmodel: {MODULE}.{expr}\nuncounted: ok\n")
    assert result.ledger is not None

    # PyTorch on the CPU, real weights: parameters after a real forward, output shape, FLOPs
    model = real(models, expr, "cpu")
    cpu_flops, cpu_modules, out = flop_counter(model, torch.randn(shape))
    assert result.params == sum(p.numel() for p in model.parameters())
    assert result.trainable == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert result.buffers == sum(b.numel() for b in model.buffers())
    assert result.output == tuple(first(out).shape)

    # the same forward on the meta device
    meta = real(models, expr, "meta")
    with torch.no_grad():
        meta_flops, _, _ = flop_counter(meta, torch.empty(shape, device="meta"))
    assert result.ledger.torch_flops == meta_flops
    assert result.flops == (cpu_flops if where == "cpu" else meta_flops)
    if where == "cpu":
        assert cpu_flops == meta_flops
    else:
        assert cpu_flops < meta_flops  # the CPU kernel the counter does not see
    assert result.macs * 2 == result.flops

    # the rows sum to the totals; parameters never called are the rest
    assert sum(r.macs or 0 for r in result.rows) == result.macs
    assert sum(r.flops or 0 for r in result.rows) == result.flops
    assert sum(r.params for r in result.rows) + sum(n for _, n in result.ledger.never_called) == result.params

    # each operation on one row: a module's own row holds what FlopCounterMode gives it beyond its children
    if where == "cpu":
        root = type(model).__name__
        for row in result.rows:
            if not row.type.endswith("(own forward)"):
                continue
            name = root if row.name == "model" else f"{root}.{row.name}"
            module = model if row.name == "model" else model.get_submodule(row.name)
            children = sum(cpu_modules.get(f"{name}.{key}", 0) for key in module._modules)
            assert row.flops == cpu_modules.get(name, 0) - children, row.name


def test_vit_counts_its_class_token_once_and_its_attention_products(site_dir: Path, models: ModuleType) -> None:
    """The ViT of the issue: 3× FlopCounterMode before; now its own row holds the class token and the
    position embedding (parameters only), and each hand-written attention's q·kᵀ and attn·v."""
    result = run(site_dir, f"input: [1, 3, 16, 16]\nmodel: {MODULE}.TinyViT()\n")
    rows = {r.name: r for r in result.rows}
    own = rows["model"]
    assert own.type == "TinyViT (own forward)"
    assert own.params == 1 * 1 * 32 + 1 * 17 * 32  # cls_token + pos_embed
    assert own.macs == 0
    tokens, heads, head_dim = 17, 4, 8
    for block in ("blocks.0", "blocks.1"):
        attention = rows[f"{block}.attn"]
        assert attention.type == "Attention (own forward)"
        assert attention.params == 0  # its projections have rows of their own
        assert attention.macs == 2 * heads * tokens * tokens * head_dim  # q @ kᵀ and attn @ v
        assert rows[f"{block}.attn.qkv"].macs == tokens * 32 * 96
        assert f"{block}" not in rows  # a residual add only: no row under 2mac
    model = real(models, "TinyViT()", "cpu")
    total, _, _ = flop_counter(model, torch.randn(1, 3, 16, 16))
    assert result.flops == total


def test_functional_work_in_a_modules_own_forward(site_dir: Path) -> None:
    """F.relu and F.adaptive_avg_pool2d are not MACs (0 under 2mac, listed in the ledger); torch.matmul is;
    under `flops: detailed` the relu and the pool count one per element."""
    result = run(site_dir, f"input: 3x8x8\nmodel: {MODULE}.Functional()\n")
    own = result.rows[0]
    assert (own.name, own.type, own.params, own.macs, own.flops) == ("model", "Functional (own forward)", 40, 40, 80)
    status = {line.op: line.status for line in result.ledger.lines}  # type: ignore[union-attr]
    assert status["aten.mm"] == "counted"
    assert status["aten.relu"] == status["aten.mean"] == "zero"
    detailed = run(site_dir, f"input: 3x8x8\nflops: detailed\nmodel: {MODULE}.Functional()\n")
    assert detailed.rows[0].flops == 80 + 8 * 8 * 8 + 8 * 8 * 8  # mm, relu per element, mean per input element
    assert detailed.flops == sum(r.flops or 0 for r in detailed.rows)


def test_scaled_dot_product_attention_on_meta_is_counted(site_dir: Path, models: ModuleType) -> None:
    """On the CPU, F.scaled_dot_product_attention runs aten._scaled_dot_product_flash_attention_for_cpu,
    which FlopCounterMode counts 0; on the meta device it takes the math path (two bmm), which it counts:
    the row holds q·kᵀ and attn·v, as the CPU forward computes them."""
    batch, tokens, dim, heads = 2, 5, 16, 4
    result = run(site_dir, f"input: [{batch}, {tokens}, {dim}]\nmodel: {MODULE}.SdpaAttention({dim}, {heads})\n")
    own = result.rows[0]
    head_dim = dim // heads
    products = batch * heads * tokens * tokens * head_dim  # q @ kᵀ; attn @ v the same
    assert own.macs == 2 * products
    lines = {line.op: line for line in result.ledger.lines}  # type: ignore[union-attr]
    assert lines["aten.bmm"].calls == 2 and lines["aten.bmm"].flops == 4 * products
    assert not any("for_cpu" in op for op in lines)

    model = real(models, f"SdpaAttention({dim}, {heads})", "cpu")
    x = torch.randn(batch, tokens, dim)
    cpu_flops, _, out = flop_counter(model, x)
    assert cpu_flops == 2 * batch * tokens * dim * 3 * dim  # the projection only: the attention kernel unseen
    assert result.flops == cpu_flops + 4 * products
    # the math of the real forward: the same products, the same output
    q, k, v = model.qkv(x).reshape(batch, tokens, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
    with FlopCounterMode(display=False) as counter:
        by_hand = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(head_dim), dim=-1) @ v
    assert counter.get_total_flops() == 4 * products
    torch.testing.assert_close(by_hand, out, rtol=1e-4, atol=1e-5)


def test_torchscript_child_has_its_row(site_dir: Path) -> None:
    result = run(site_dir, f"input: 4x6\nmodel: {MODULE}.Scripted()\n")
    rows = {r.name: r for r in result.rows}
    assert rows["features"].type == "Sequential (TorchScript)"
    assert (rows["features"].params, rows["features"].macs) == (6 * 12 + 12, 4 * 6 * 12)
    assert rows["features"].output == (1, 4, 12)
    assert list(rows) == ["features", "out"]  # nothing inside the scripted module is a row, or "never called"
    assert result.ledger is not None and result.ledger.never_called == ()
    without = run(site_dir, f"model: {MODULE}.Scripted()\n")
    assert [(r.name, r.params) for r in without.rows] == [("features", 84), ("out", 39)]


def test_lazy_module(site_dir: Path) -> None:
    result = run(site_dir, f"input: 4x10\nmodel: {MODULE}.Lazy()\n")
    assert result.params == 10 * 16 + 16 + 16 * 4 + 4
    assert result.rows[0].type == "Linear" and result.rows[0].params == 176
    assert any("LazyLinear" in line for line in result.rows[0].formula)
    with pytest.raises(CnnCostError) as info:
        run(site_dir, f"model: {MODULE}.Lazy()\n")
    assert info.value.message == ("nn.LazyLinear's parameters are known only after its first call: give the block "
                                  "an `input:` (layer fc1)")
    assert info.value.line == 1


def test_packed_sequence(site_dir: Path) -> None:
    """The LSTM's row: the PackedSequence's data (6 + 5 + 4 = 15 steps), its MACs those of 15 steps."""
    result = run(site_dir, f"input: [3, 6, 5]\nmodel: {MODULE}.Packed()\n")
    lstm = {r.name: r for r in result.rows}["lstm"]
    assert lstm.output == (15, 7)
    assert lstm.macs == 15 * 4 * 7 * (5 + 7)
    assert not any(line.startswith("note:") for line in lstm.formula)  # the formula and the counter agree


def test_keyword_inputs_come_from_the_one_forward_pass(site_dir: Path) -> None:
    result = run(site_dir, f"input: 3x8x8\nmodel: {MODULE}.Unpool()\n")
    rows = {r.name: r for r in result.rows}
    assert rows["unpool"].note == "measured" and rows["unpool"].output == (1, 4, 8, 8)
    assert rows["pool"].output == (1, 4, 4, 4)


def test_never_called(site_dir: Path) -> None:
    result = run(site_dir, f"input: 2x8\nmodel: {MODULE}.Unused()\n")
    assert result.ledger is not None and result.ledger.never_called == (("unused", 32 * 32 + 32),)
    assert [r.name for r in result.rows] == ["used"]


def test_uncounted_operations_fail_unless_allowed(site_dir: Path) -> None:
    body = f"id: sorter\ninput: 2x8\nmodel: {MODULE}.Sorter()\n"
    with pytest.raises(CnnCostError) as info:
        run(site_dir, body)
    messages = [p.message for p in info.value.problems]
    assert len(messages) == 2
    assert messages[0].startswith("aten.sort in model (Sorter, its own forward) is arithmetic that no counter counts")
    assert "aten.cumsum" in messages[1]
    assert all("`uncounted: ok`" in m for m in messages)
    assert {p.line for p in info.value.problems} == {3}  # the model's line
    allowed = run(site_dir, body + "uncounted: ok\n")
    assert allowed.ledger is not None and allowed.ledger.uncounted_ok
    uncounted = [line for line in allowed.ledger.lines if line.status == "uncounted"]
    assert [line.op for line in uncounted] == ["aten.sort", "aten.cumsum"]
    assert uncounted[0].where == ("model (Sorter (own forward))",)


def test_a_registry_layer_keeps_its_formula_and_notes_the_counter(site_dir: Path, models: ModuleType) -> None:
    """A registry layer's row is its formula; where PyTorch's counter counts otherwise (Bilinear runs
    aten._trilinear, which it does not count), the row says so, and the operation is not an error."""
    result = run(site_dir, f"input: 2x4\nmodel: {MODULE}.Pairwise()\n")
    row = result.rows[0]
    assert (row.name, row.type) == ("bilinear", "Bilinear") and row.macs
    assert f"note: torch.utils.flop_counter counts 0 FLOPs in this call; the formula's 2 × MACs is {2 * row.macs}" \
        in row.formula
    lines = {line.op: line for line in result.ledger.lines}  # type: ignore[union-attr]
    assert lines["aten._trilinear"].status == "formula"
    total, _, _ = flop_counter(real(models, "Pairwise()", "cpu"), torch.randn(1, 2, 4))
    assert (total, result.ledger.torch_flops) == (0, 0)  # type: ignore[union-attr]


def test_a_forward_that_needs_values_is_a_clear_error(site_dir: Path) -> None:
    with pytest.raises(CnnCostError) as info:
        run(site_dir, f"input: [3, 6, 5]\nmodel: {MODULE}.Unsorted()\n")
    assert info.value.message.startswith("layer model (Unsorted): its forward needs the values of a tensor")
    assert "internal error" not in str(info.value)


def test_registry_blocks_have_no_ledger(site_dir: Path) -> None:
    result = run(site_dir, "input: 3x8x8\nmodel: nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())\n")
    assert result.ledger is None


def test_the_ledger_survives_the_cache(site_dir: Path) -> None:
    result = run(site_dir, f"input: 2x8\nmodel: {MODULE}.Sorter()\nuncounted: ok\n")
    assert _result_from_json(json.loads(json.dumps(asdict(result)))) == result


def test_the_op_lists_do_not_overlap() -> None:
    arithmetic = ops.POINTWISE | ops.SOFTMAX | ops.REDUCTIONS | ops.NORMS | ops.WINDOW_POOLS | ops.ADAPTIVE_POOLS \
        | set(ops.UPSAMPLING)
    assert not ops.MOVEMENT & arithmetic
    assert not ops.NOT_COUNTED & (arithmetic | ops.MOVEMENT)
    assert ops.classify("aten.add_", False, "2mac") == ("zero", "0: not a multiply-accumulate")
    assert ops.classify("aten.add_", False, "detailed")[0] == "rule"
    assert ops.classify("aten.some_new_op", False, "2mac")[0] == "uncounted"


def test_mkdocs_build(tmp_path: Path, site_dir: Path, models: ModuleType) -> None:
    """A real build: the ledger under the table, the module never called, the claims checked; then a block
    with an uncounted operation fails the build at its file and line."""
    model = real(models, "TinyViT()", "cpu")
    total, _, _ = flop_counter(model, torch.randn(1, 3, 16, 16))
    params = sum(p.numel() for p in model.parameters())
    root = tmp_path / "good"
    root.mkdir()
    (root / f"{MODULE}.py").write_text((site_dir / f"{MODULE}.py").read_text(encoding="utf-8"), encoding="utf-8")
    page = f"""\
        # Imported

        ```cnn-cost
        id: vit
        input: 3x16x16
        model: {MODULE}.TinyViT()
        expect:
          params: {params:,}
          flops: {total:,}
          model.params: 576
        ```

        ```cnn-cost
        id: unused
        input: 2x8
        model: {MODULE}.Unused()
        ```
        """
    write_site(root, {"index.md": page}, {"imports": [MODULE]})
    built = mkdocs(root)
    assert built.code == 0, built.out
    html = built.html("index.html")
    assert html.count('<details class="cnn-cost-ledger">') == 2
    assert "TinyViT (own forward)" in html
    assert "never called: <code>unused</code> (1,056 parameters" in html
    assert "<code>aten.bmm</code>" in html

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / f"{MODULE}.py").write_text((site_dir / f"{MODULE}.py").read_text(encoding="utf-8"), encoding="utf-8")
    write_site(bad, {"index.md": f"# Sorting\n\n```cnn-cost\nid: sorter\ninput: 2x8\nmodel: {MODULE}.Sorter()\n```\n"},
               {"imports": [MODULE]})
    failed = mkdocs(bad)
    assert failed.code != 0
    assert re.search(r"docs/index\.md:6:8: cnn-cost block 'sorter': aten\.sort in model \(Sorter, its own forward\)",
                     failed.out), failed.out
    assert "Traceback" not in failed.out and "internal error" not in failed.out


def test_as_columns_of_an_imported_model_with_own_operations(site_dir: Path, models: ModuleType) -> None:
    """`as: [torch]` is torch.utils.flop_counter on the real model; a library whose count of a module's own
    operations the plugin does not model is refused with the rows that run them, not shown as a guess."""
    result = run(site_dir, f"input: 3x16x16\nmodel: {MODULE}.TinyViT()\nas: [torch]\n")
    total, _, _ = flop_counter(real(models, "TinyViT()", "cpu"), torch.randn(1, 3, 16, 16))
    assert dict(result.counters)["torch"] == total == result.flops
    for tool in ("thop", "ptflops", "fvcore"):
        with pytest.raises(CnnCostError) as info:
            run(site_dir, f"input: 3x16x16\nmodel: {MODULE}.TinyViT()\nas: [{tool}, torch]\n")
        assert info.value.message.startswith(f"`as: [{tool}]` cannot be shown for an imported model whose rows ")
        assert "TinyViT (own forward)" in info.value.message
