"""The block parser (`cnn_cost.block`): good blocks, and the exact place of every error.

Locations are Markdown lines: the body's first line is `FIRST` (10) throughout, so an error on
the third line of a body is at line 12. Columns are 1-based, as an editor shows them.
"""

from __future__ import annotations

import textwrap

import pytest

from cnn_cost.block import (
    BLOCK_KEYS,
    DEFAULT_COLUMNS,
    MAX_INT,
    MAX_LAYERS,
    Block,
    Call,
    parse_block,
    parse_shape,
)
from cnn_cost.claims import Claim
from cnn_cost.errors import CnnCostError
from conftest import cifar_block

FIRST = 10

CIFAR = cifar_block()  # id, title, input; model on body lines 3-7, four claims on lines 9-12 (0-based)


def parse(body: str, **kwargs: object) -> Block:
    return parse_block(textwrap.dedent(body), FIRST, **kwargs)  # type: ignore[arg-type]


def error(body: str, **kwargs: object) -> CnnCostError:
    with pytest.raises(CnnCostError) as info:
        parse(body, **kwargs)
    return info.value


def at(body: str, line_index: int, needle: str) -> tuple[int, int]:
    """The Markdown (line, column) of `needle` on the body's line `line_index` (0-based)."""
    line = textwrap.dedent(body).split("\n")[line_index]
    assert needle in line, (needle, line)
    return FIRST + line_index, line.index(needle) + 1


def shape_of(call: Call) -> object:
    """A call tree without locations: (name, args, kwargs)."""

    def strip(v: object) -> object:
        if isinstance(v, Call):
            return shape_of(v)
        if isinstance(v, tuple):
            return tuple(strip(x) for x in v)
        return v

    return (call.name, tuple(strip(a) for a in call.args), tuple((k, strip(v)) for k, v in call.kwargs))


# ------------------------------------------------------------ good blocks ----


def test_the_design_example_parses_in_full() -> None:
    block = parse_block(CIFAR, FIRST)
    assert block.id == "cifar-net"
    assert block.title == "A small CIFAR-10 net"
    assert block.label == "cnn-cost block 'cifar-net'"
    assert block.input == (3, 32, 32)
    assert block.input_has_batch is False
    assert block.layers is None
    assert block.line == FIRST
    assert block.source == CIFAR
    assert block.dtype == "float32"
    assert block.flops is None
    assert block.columns == DEFAULT_COLUMNS
    assert block.xfail is False
    model = block.model
    assert model is not None
    assert model.name == "Sequential"
    assert [c.name for c in model.args] == [  # type: ignore[union-attr]
        "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "ReLU", "Linear",
    ]
    assert model.count_layers() == 11
    linear = model.args[7]
    assert isinstance(linear, Call)
    assert linear.args == (4096, 128)  # 64 * 8 * 8, folded
    conv = model.args[0]
    assert isinstance(conv, Call)
    assert conv.args == (3, 32, 3)
    assert conv.kwargs == (("padding", 1),)
    # locations: the Sequential on body line 4 (Markdown 14), column 3; the Linear on line 7
    assert (model.line, model.column) == (14, 3)
    assert (conv.line, conv.column) == (15, 7)
    assert (linear.line, linear.column) == at(CIFAR, 7, "nn.Linear(64")
    assert conv.keyword_at("padding") == at(CIFAR, 5, "padding=1")
    assert [(c.path, c.raw, c.line) for c in block.expect] == [
        ("params", "545,098", 19), ("0.params", "896", 20), ("7.params", "524,416", 21),
        ("output", "[1, 10]", 22),
    ]
    assert all(isinstance(c, Claim) for c in block.expect)
    assert block.expect[3].shape == (1, 10)


def test_layers_form_keeps_order_names_and_lines() -> None:
    body = """\
    input: 3x32x32
    layers:
      conv1: Conv2d(3, 32, 3, padding=1)
      pool1: MaxPool2d(2, 2)
      "2": nn.ReLU()
      fc_out-1: torch.nn.Flatten()
    expect:
      conv1.params: 896
      conv1.output: [1, 32, 32, 32]
    """
    block = parse(body)
    assert block.model is None
    assert block.layers is not None
    assert [name for name, _ in block.layers] == ["conv1", "pool1", "2", "fc_out-1"]
    assert [call.name for _, call in block.layers] == ["Conv2d", "MaxPool2d", "ReLU", "Flatten"]
    conv = block.layers[0][1]
    assert (conv.line, conv.column) == (12, 10)
    assert block.layers[3][1].line == 15
    assert [(c.path, c.line) for c in block.expect] == [("conv1.params", 17), ("conv1.output", 18)]


@pytest.mark.parametrize(
    ("text", "shape", "has_batch"),
    [
        ("3x32x32", (3, 32, 32), False),
        ("3 x 32 x 32", (3, 32, 32), False),
        ("3×32×32", (3, 32, 32), False),
        ("[1, 3, 32, 32]", (1, 3, 32, 32), True),
        ("[1,3,32,32]", (1, 3, 32, 32), True),
        ("'[1, 3, 32, 32]'", (1, 3, 32, 32), True),
        ("'3x32x32'", (3, 32, 32), False),
        ("[2, 100]", (2, 100), True),
        ("100", (100,), False),
        ("[1, 3, 224, 224, 1, 1]", (1, 3, 224, 224, 1, 1), True),
    ],
)
def test_input_forms(text: str, shape: tuple[int, ...], has_batch: bool) -> None:
    block = parse(f"input: {text}\nmodel: nn.ReLU()\n")
    assert block.input == shape
    assert block.input_has_batch is has_batch


def test_input_as_block_sequence() -> None:
    block = parse("input:\n  - 1\n  - 3\n  - 8\nmodel: nn.ReLU()\n")
    assert block.input == (1, 3, 8)
    assert block.input_has_batch is True


def test_no_input_is_allowed() -> None:
    block = parse("model: nn.Linear(10, 5)\n")
    assert block.input is None


def test_parse_shape_helper() -> None:
    assert parse_shape("3x32x32") == (3, 32, 32)
    assert parse_shape(" [1, 10] ") == (1, 10)
    assert parse_shape("[1, x]") is None
    assert parse_shape("banana") is None
    assert parse_shape("3x") is None
    assert parse_shape("[1, ²]") is None  # str.isdigit() would say yes; int() would then fail
    assert parse_shape("١x٢") is None  # Arabic-Indic digits are not shape digits


@pytest.mark.parametrize("prefix", ["nn.", "torch.nn.", ""])
def test_prefixes_mean_the_same_layer(prefix: str) -> None:
    block = parse(f"model: {prefix}Sequential({prefix}Conv2d(3, 8, 3, bias=False), {prefix}ReLU())\n")
    assert block.model is not None
    assert shape_of(block.model) == (
        "Sequential", (("Conv2d", (3, 8, 3), (("bias", False),)), ("ReLU", (), ())), ()
    )
    assert block.model.module is None
    inner = block.model.args[1]
    assert isinstance(inner, Call)
    offset = len("model: ") + 1
    assert inner.column == offset + len(f"{prefix}Sequential({prefix}Conv2d(3, 8, 3, bias=False), ")


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("64 * 8 * 8", 4096),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("2 ** 10", 1024),
        ("2 ** 40", MAX_INT),
        ("3 ** 25", 3**25),
        ("(2 ** 20) ** 2", 2**40),
        ("2 ** -1", 0.5),
        ("2.5 ** 3", 15.625),
        ("0 ** 100", 0),
        ("(-1) ** 1000001", -1),
        ("10 - 3 + 1", 8),
        ("+5", 5),
        ("-(2 + 3)", -5),
        ("1 / 4", 0.25),
        ("1.5e3", 1500.0),
        ("1_000", 1000),
        ("0x10", 16),
        ("True", True),
        ("None", None),
        ("'same'", "same"),
        ('"bilinear"', "bilinear"),
        ("(1, 2)", (1, 2)),
        ("[3, 3]", (3, 3)),
        ("(1, 2) + (3,)", (1, 2, 3)),
        ("[1] * 3", (1, 1, 1)),
        ("2 * [0]", (0, 0)),
        ("[1, 2] * 0", ()),
        ("((1, 2), [3, (4,)])", ((1, 2), (3, (4,)))),
    ],
)
def test_arithmetic_and_literals(expr: str, value: object) -> None:
    block = parse(f"model: |\n  nn.Upsample(size={expr})\n")
    assert block.model is not None
    assert block.model.kwargs == (("size", value),)


def test_list_repetition_and_unpacking_in_sequential() -> None:
    block = parse(
        """\
        model: |
          nn.Sequential(
              *[nn.Linear(4, 4), nn.ReLU()] * 3,
              *([nn.Dropout(0.1)] + [nn.Identity()]),
              nn.Linear(4, 1))
        """
    )
    model = block.model
    assert model is not None
    names = [c.name for c in model.args]  # type: ignore[union-attr]
    assert names == ["Linear", "ReLU"] * 3 + ["Dropout", "Identity", "Linear"]
    assert model.count_layers() == 10


def test_nested_sequential() -> None:
    block = parse(
        """\
        input: [1, 3, 8, 8]
        model: |
          nn.Sequential(
              nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()),
              nn.Sequential(
                  nn.Sequential(nn.Conv2d(4, 4, 1)),
                  *[nn.Sequential(nn.BatchNorm2d(4), nn.ReLU())] * 2),
              nn.AdaptiveAvgPool2d(1))
        expect:
          1.1.params: 16
          1.0.0.params: 20
        """
    )
    model = block.model
    assert model is not None
    assert [c.name for c in model.args] == ["Sequential", "Sequential", "AdaptiveAvgPool2d"]  # type: ignore[union-attr]
    second = model.args[1]
    assert isinstance(second, Call)
    assert shape_of(second) == (
        "Sequential",
        (
            ("Sequential", (("Conv2d", (4, 4, 1), ()),), ()),
            ("Sequential", (("BatchNorm2d", (4,), ()), ("ReLU", (), ())), ()),
            ("Sequential", (("BatchNorm2d", (4,), ()), ("ReLU", (), ())), ()),
        ),
        (),
    )
    assert model.count_layers() == 1 + 3 + (1 + 2 + 3 + 3) + 1
    assert (second.line, second.column) == (14, 7)
    assert [c.path for c in block.expect] == ["1.1.params", "1.0.0.params"]


def test_sequential_of_exactly_max_layers_is_allowed() -> None:
    block = parse(f"model: nn.Sequential(*[nn.ReLU()] * {MAX_LAYERS - 1})\n")
    assert block.model is not None
    assert block.model.count_layers() == MAX_LAYERS


def test_every_key() -> None:
    block = parse(
        """\
        id: all_keys-1
        title: "Every key: at once"
        input: 3x16x16
        model: nn.Conv2d(3, 8, 3)
        dtype: bfloat16
        flops: detailed
        columns: [layer, params, flops, params_share]
        xfail: true
        expect:
          params: ~200
          trainable: 224
          buffers: 0
          memory: 448 B
          macs: 1.6M
          flops: ≈3.3M
          output: 1x8x14x14
        """
    )
    assert block.id == "all_keys-1"
    assert block.title == "Every key: at once"
    assert block.dtype == "bfloat16"
    assert block.flops == "detailed"
    assert block.columns == ("layer", "params", "flops", "params_share")
    assert block.xfail is True
    assert [c.path for c in block.expect] == [
        "params", "trainable", "buffers", "memory", "macs", "flops", "output",
    ]
    assert [c.kind for c in block.expect] == ["count"] * 3 + ["memory", "count", "count", "shape"]
    assert block.expect[-1].shape == (1, 8, 14, 14)
    assert {"id", "title", "input", "model", "layers", "dtype", "flops", "columns", "xfail",
            "expect"} <= set(BLOCK_KEYS)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64", "int8"])
def test_dtypes(dtype: str) -> None:
    assert parse(f"dtype: {dtype}\nmodel: nn.ReLU()\n").dtype == dtype


@pytest.mark.parametrize("convention", ["2mac", "mac", "detailed"])
def test_flops_conventions(convention: str) -> None:
    assert parse(f"flops: {convention}\nmodel: nn.ReLU()\n").flops == convention


def test_columns_as_comma_string_and_xfail_false() -> None:
    block = parse("columns: layer, type, macs\nxfail: False\nmodel: nn.ReLU()\n")
    assert block.columns == ("layer", "type", "macs")
    assert block.xfail is False


def test_comments_and_key_order_do_not_matter() -> None:
    block = parse(
        """\
        # a comment line
        expect:           # claims first
          params: 0
        model: nn.ReLU()  # trailing comment
        input: 4
        """
    )
    assert block.model is not None
    assert block.model.name == "ReLU"
    assert block.expect[0].line == FIRST + 2


def test_crlf_line_ends_parse_like_lf() -> None:
    lf = parse_block(CIFAR, FIRST)
    crlf = parse_block(CIFAR.replace("\n", "\r\n"), FIRST)
    assert crlf.model == lf.model
    assert crlf.expect == lf.expect
    assert crlf.input == lf.input


def test_imported_model_only_with_configured_module() -> None:
    block = parse("model: docs_models.ResidualBlock(64, stride=2)\n", imports=("docs_models",))
    assert block.model is not None
    assert block.model.module == "docs_models"
    assert block.model.qualified == "docs_models.ResidualBlock"
    assert block.model.args == (64,)
    assert block.model.kwargs == (("stride", 2),)
    exc = error("model: docs_models.ResidualBlock(64)\n")
    assert "imports" in exc.message
    assert (exc.line, exc.column) == (FIRST, 8)


def test_block_scalar_variants_keep_lines() -> None:
    for header in ("|", "|-", "|+", ">", ">-", "|2"):
        body = f"model: {header}\n\n  nn.Sequential(\n    nn.ReLU(),\n    nn.Tanh())\ninput: 4\n"
        block = parse_block(body, FIRST)
        assert block.model is not None, header
        assert (block.model.line, block.model.column) == (FIRST + 2, 3), header
        tanh = block.model.args[1]
        assert isinstance(tanh, Call)
        assert (tanh.line, tanh.column) == (FIRST + 4, 5), header


def test_quoted_scalars() -> None:
    single = parse("model: 'nn.Conv2d(3, 8, 3, padding=''same'')'\n")
    assert single.model is not None
    assert single.model.kwargs == (("padding", "same"),)
    double = parse('model: "nn.Conv2d(3, 8, 3, padding=\\"same\\")"\n')
    assert double.model is not None
    assert double.model.kwargs == (("padding", "same"),)
    multi = parse('model: "nn.Sequential(\n    nn.ReLU(),\n    nn.Tanh())"\n')
    assert multi.model is not None
    tanh = multi.model.args[1]
    assert isinstance(tanh, Call)
    assert (tanh.line, tanh.column) == (FIRST + 2, 5)


def test_plain_multiline_scalar_outside_brackets_uses_folding() -> None:
    # YAML folds the line break to a space; Python would not join these lines by itself
    block = parse("model: nn.Linear\n  (2 ** 3, 4)\n")
    assert block.model is not None
    assert block.model.args == (8, 4)


# ------------------------------------------------------- error locations ----


BAD_KEYWORD = """\
id: kw
model: |
  nn.Sequential(
      nn.Conv2d(3, 8, 3),
      nn.Conv2d(8, 8, 3, _weight=1),
      nn.ReLU())
"""


def test_bad_keyword_on_line_3_of_block_scalar() -> None:
    exc = error(BAD_KEYWORD)
    assert "_weight" in exc.message
    # body line 4 is the third line of the scalar: Markdown line 14, the keyword at column 26
    assert (exc.line, exc.column) == (14, 26)
    assert (exc.line, exc.column) == at(BAD_KEYWORD, 4, "_weight=1")


@pytest.mark.parametrize(
    ("keyword", "needle"),
    [("device='cuda'", "device="), ("dtype=None", "dtype="), ("__class__=1", "__class__"),
     ("**{'a': 1}", "**{")],
)
def test_forbidden_keywords_are_located_at_the_keyword(keyword: str, needle: str) -> None:
    body = f"model: |\n  nn.Sequential(\n      nn.ReLU(),\n      nn.Linear(3, 4, {keyword}))\n"
    exc = error(body)
    assert (exc.line, exc.column) == at(body, 3, needle)
    assert (exc.line, exc.column) == (13, 23)


def test_bad_value_inside_keyword_of_block_scalar() -> None:
    body = "model: |\n  nn.Sequential(\n      nn.ReLU(),\n      nn.Linear(3, 4, bias=open('x')))\n"
    exc = error(body)
    assert "open" in exc.message
    assert (exc.line, exc.column) == (13, 28)
    assert (exc.line, exc.column) == at(body, 3, "open(")


def test_unknown_keyword_found_by_evaluation_is_located_at_the_keyword() -> None:
    """The parser records each keyword's place; evaluation checks keywords against the signature."""
    from cnn_cost.evaluate import evaluate

    body = "model: |\n  nn.Sequential(\n      nn.ReLU(),\n      nn.Conv2d(3, 8, 3, paddin=1))\n"
    block = parse(body)
    conv = block.model.args[1]  # type: ignore[union-attr]
    assert isinstance(conv, Call)
    assert conv.keyword_at("paddin") == (13, 26)
    with pytest.raises(CnnCostError) as info:
        evaluate(block)
    exc = info.value
    assert "paddin" in exc.message
    assert "'padding'" in exc.message  # the suggestion
    assert exc.line == 13
    assert exc.column == 26, (
        "BUG in evaluate.py (_Builder.check): an unknown keyword is reported at the layer call "
        f"(column {exc.column}), not at the keyword (column 26); `Call.keyword_at(key)` gives its place"
    )


LAYERS_BAD_NAME = """\
input: 3x32x32
layers:
  conv1: Conv2d(3, 32, 3, padding=1)
  pool1: MaxPool2d(two, 2)
  relu: ReLU()
"""


def test_bad_name_in_layers_entry() -> None:
    exc = error(LAYERS_BAD_NAME)
    assert "'two'" in exc.message
    assert (exc.line, exc.column) == (13, 20)
    assert (exc.line, exc.column) == at(LAYERS_BAD_NAME, 3, "two")


def test_unknown_layer_in_layers_entry_suggests() -> None:
    body = "input: 3x32x32\nlayers:\n  conv1: Conv2d(3, 32, 3)\n  conv2: nn.Conv2D(32, 64, 3)\n"
    exc = error(body)
    assert "did you mean 'Conv2d'" in exc.message
    assert (exc.line, exc.column) == (13, 10)


def test_bad_layer_name_key() -> None:
    exc = error("layers:\n  ok: ReLU()\n  not ok: ReLU()\n")
    assert (exc.line, exc.column) == (12, 3)


PLAIN_MULTILINE = """\
input: 3x32x32
model: nn.Sequential(
    nn.Conv2d(3, 8, 3),
    nn.ReLu(),
    nn.Flatten())
"""


def test_plain_multiline_scalar() -> None:
    exc = error(PLAIN_MULTILINE)
    assert "unknown layer 'nn.ReLu'" in exc.message
    assert "did you mean 'ReLU'" in exc.message
    assert (exc.line, exc.column) == (13, 5)


def test_plain_multiline_scalar_in_layers_entry() -> None:
    body = "layers:\n  block: nn.Sequential(nn.ReLU(),\n          nn.Linear(4, x=lambda:1))\n"
    exc = error(body)
    assert "lambda" in exc.message
    assert (exc.line, exc.column) == (12, 26)
    assert (exc.line, exc.column) == at(body, 2, "lambda")


def test_plain_multiline_syntax_error() -> None:
    exc = error("model: nn.Sequential(\n    nn.ReLU(),\n    nn.ReLU(]\n")
    assert "invalid layer expression" in exc.message
    assert exc.line == 12
    assert exc.column == 13


def test_block_scalar_with_leading_blank_lines() -> None:
    body = "model: |\n\n\n  nn.Sequential(\n    nn.Nope())\n"
    exc = error(body)
    assert (exc.line, exc.column) == (14, 5)


def test_folded_block_scalar() -> None:
    body = "model: >\n  nn.Sequential(\n    nn.ReLU(),\n    os.system('x'))\n"
    exc = error(body)
    assert (exc.line, exc.column) == (13, 5)


def test_quoted_multiline_scalar() -> None:
    body = "model: 'nn.Sequential(\n    nn.ReLU(),\n    getattr(nn, \"ReLU\"))'\n"
    exc = error(body)
    assert (exc.line, exc.column) == (12, 5)
    # with a doubled quote inside, the raw text is not Python: YAML's folded value is parsed instead
    body = "model: 'nn.Sequential(\n    nn.ReLU(),\n    getattr(nn, ''ReLU''))'\n"
    exc = error(body)
    assert "getattr" in exc.message
    assert FIRST <= exc.line <= FIRST + 2


def test_single_line_quoted_scalar() -> None:
    exc = error('model: "nn.Linear(1, eval)"\n')
    assert (exc.line, exc.column) == (10, 22)


@pytest.mark.parametrize(
    ("body", "line", "column", "fragment"),
    [
        ("model: nn.ReLU()\nbogus: 1\n", 11, 1, "unknown key 'bogus'"),
        ("model: nn.ReLU()\nmodle: 1\n", 11, 1, "did you mean 'model'"),
        ("model: nn.ReLU()\ninput: 3x32x\n", 11, 8, "`input` must be a shape"),
        ("model: nn.ReLU()\ninput: [1, 0.5]\n", 11, 12, "positive integers"),
        ("model: nn.ReLU()\ninput: 0x3\n", 11, 8, "at least 1"),
        ("model: nn.ReLU()\ndtype: float8\n", 11, 8, "unknown dtype"),
        ("model: nn.ReLU()\nflops: macs\n", 11, 8, "FLOPs convention"),
        ("model: nn.ReLU()\ncolumns: [layer, parms]\n", 11, 18, "did you mean 'params'"),
        ("model: nn.ReLU()\nxfail: maybe\n", 11, 8, "`xfail`"),
        ("model: nn.ReLU()\nid: no spaces\n", 11, 5, "`id`"),
        ("model: nn.ReLU()\nlayers:\n  a: ReLU()\n", 11, 1, "exactly one of"),
        ("layers:\n  a: ReLU()\nmodel: nn.ReLU()\n", 12, 1, "exactly one of"),
        ("input: 3x32x32\n", 10, None, "exactly one of"),
        ("model: nn.ReLU()\nmodel: nn.Tanh()\n", 11, 1, "duplicate key"),
        ("model: nn.ReLU(\n", 10, 15, "'(' was never closed"),
        ("model: [nn.ReLU()]\n", 10, 8, "must be a layer expression"),
        ("model: nn.ReLU()\n  bad indent: 1\n", 11, 13, "invalid YAML"),
        ("model: nn.ReLU()\n\tinput: 3\n", 11, 1, "invalid YAML"),
        ("model: nn.ReLU()\ninput: 3\x00\n", 11, 9, "not allowed"),
        ("- model: nn.ReLU()\n", 10, 1, "one YAML mapping"),
        ("model: !!python/name:os.system\n", 10, 8, "YAML tags"),
        ("model: &a nn.ReLU()\n", 10, 8, "anchors"),
    ],
)
def test_error_locations(body: str, line: int, column: int | None, fragment: str) -> None:
    exc = error(body)
    assert fragment in exc.message
    assert (exc.line, exc.column) == (line, column)


def test_a_value_written_wrongly_is_kept_with_its_problem() -> None:
    """`params: lots` does not stop the block: the claim is kept, and checking it reports the problem."""
    (claim,) = parse("model: nn.ReLU()\nexpect:\n  params: lots\n").expect
    assert (claim.kind, claim.line) == ("unknown", 12)
    assert claim.problem.startswith("params: expected a number")


def test_location_text_for_editors() -> None:
    from cnn_cost.session import Problem

    exc = error(PLAIN_MULTILINE)
    text = str(Problem("docs/guide/page.md", exc.line, exc.column, exc.message))
    assert text.startswith("docs/guide/page.md:13:5: unknown layer")


def test_tabs_and_crlf_errors_keep_lines() -> None:
    body = "input: 3x32x32\r\nmodel: |\r\n  nn.Sequential(\r\n      nn.Relu())\r\n"
    exc = error(body)
    assert (exc.line, exc.column) == (13, 7)
