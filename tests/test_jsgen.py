"""cnn_cost.jsgen: Python's meaning kept in the JavaScript it writes (checked by running both), and
constructs outside its subset refused with their line."""

from __future__ import annotations

import importlib.util
import json
import random
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from cnn_cost import jsgen

NODE = shutil.which("node")

SOURCE = '''
import math


class ShapeMismatch(Exception):
    pass


LIMITS = {"reflect": "less than", 2: "two"}


def floors(a, b):
    """Docstrings are left out."""
    return [a // b, a % b, -(-a // b), a - b * 3]


def tuples(x, k):
    lead, *_ = (x[0], x[1:])
    grown = (k,) * 3 + tuple(x) + ()
    grown += (len(x),)
    return [grown, x[:-1], x[-1], x[1:-1], lead, x[:]]


def texts(v, name):
    return [f"{v:,}", f"{name!r}", f"{v}", "·".join(str(d) for d in (v, v + 1)), f"[{', '.join(str(d) for d in [v])}]"]


def truth(x, s):
    out = []
    if x:
        out.append("x")
    if not s:
        out.append("empty")
    out.append(1 if x and s else 0)
    out.append(bool([]) if False else len([] or [1]))
    return out


def compare(a, b):
    return [a == b, a != b, (a,) == (b,), [a, b] == [a, b], a < b <= b, a in (1, 2, 3), a not in [b], "re" in "reflect"]


def loops(n):
    total, seen = 0, []
    for i in range(n):
        if i == 2:
            continue
        if i > 5:
            break
        total += i
        seen.append(i)
    pairs = [a * b for a, b in zip(seen, seen[1:], strict=False) if a]
    nested = [a + b for a in range(2) for b in range(3)]
    return [total, seen, pairs, nested, any(p > 4 for p in pairs), all(s >= 0 for s in seen), min(seen or [0]),
            max(3, n), math.prod(seen[1:]) if seen[1:] else 1]


def kinds(v):
    return [isinstance(v, int) and not isinstance(v, bool), isinstance(v, (tuple, list)), isinstance(v, str)]


def lookups(key):
    return [LIMITS.get(key), {1: ["L"], 2: ["H", "W"]}[2], getattr(ShapeMismatch, "nothing", None) is None]


def refuse(v):
    if v < 0:
        raise ShapeMismatch(f"{v} is negative")
    return v


def closure(k):
    def inner(x, y=2):
        return x * k + y

    return inner


def varargs(*items):
    return [len(items), *items]
'''

CALLS: list[tuple[str, list[Any]]] = []
rng = random.Random(5)  # noqa: S311 - reproducible inputs
for _ in range(60):
    a, b = rng.randint(-50, 50), rng.choice([-7, -3, -1, 1, 2, 3, 10])
    CALLS.append(("floors", [a, b]))
    CALLS.append(("compare", [rng.randint(0, 4), rng.randint(0, 4)]))
    CALLS.append(("loops", [rng.randint(0, 9)]))
    CALLS.append(("texts", [rng.randint(-10**9, 10**12), rng.choice(["a", "it's", "卷积"])]))
    CALLS.append(("refuse", [rng.randint(-3, 3)]))
CALLS += [("tuples", [[1, 2, 3], 4]), ("tuples", [[7], 0]), ("truth", [0, ""]), ("truth", [3, "s"]),
          ("truth", [[], "x"]), ("kinds", [3]), ("kinds", [True]), ("kinds", [[1]]), ("kinds", ["s"]),
          ("lookups", ["reflect"]), ("lookups", [2]), ("lookups", ["zeros"]), ("varargs", [1, 2, 3]),
          ("varargs", []), ("floors", [10**20 + 7, 3])]
NAMES = ["LIMITS", "floors", "tuples", "texts", "truth", "compare", "loops", "kinds", "lookups", "refuse", "closure",
         "varargs"]


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("jsgen") / "subset_module.py"
    path.write_text(SOURCE, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("subset_module", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["subset_module"] = mod
    spec.loader.exec_module(mod)
    return mod


def encoded(value: Any) -> Any:
    """Arguments for node: every int as {"int": "digits"} (a JSON number would lose digits beyond 2**53)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return {"int": str(value)}
    return [encoded(v) for v in value]


def python_value(value: Any) -> Any:
    """What the JavaScript side prints for a Python value: ints as strings (BigInt), tuples as lists."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [python_value(v) for v in value]
    raise TypeError(value)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_javascript_means_what_python_means(module: Any, tmp_path: Path) -> None:
    js = jsgen.RUNTIME + jsgen.translate(module, NAMES, classes=("ShapeMismatch",))
    script = tmp_path / "run.js"
    script.write_text(js + textwrap.dedent("""
        const big = (v) => Array.isArray(v) ? v.map(big) : v !== null && typeof v === "object" ? BigInt(v.int) : v;
        const calls = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const fns = {floors, tuples, texts, truth, compare, loops, kinds, lookups, refuse, varargs,
                     closure: (k, x) => closure(k)(x)};
        const out = calls.map(([name, args]) => {
          try { return fns[name](...args.map(big)); }
          catch (e) { if (e instanceof ShapeMismatch) return {raised: e.message}; throw e; }
        });
        process.stdout.write(JSON.stringify(out, (k, v) => typeof v === "bigint" ? v.toString() : v));
    """), encoding="utf-8")
    calls: list[Any] = [*CALLS, ("closure", [3, 5])]
    done = subprocess.run([NODE, str(script)], input=json.dumps(encoded(calls)), capture_output=True, text=True,
                          timeout=60, check=True)
    got = json.loads(done.stdout)
    for (name, args), js_value in zip(calls, got, strict=True):
        try:
            function = (lambda k, x: module.closure(k)(x)) if name == "closure" else getattr(module, name)
            expected = python_value(function(*args))
        except module.ShapeMismatch as exc:
            expected = {"raised": str(exc)}
        assert js_value == expected, f"{name}{tuple(args)}"


@pytest.mark.parametrize(("source", "what"), [
    ("def f(x):\n    return x / 2\n", "Div"),
    ("def f(x):\n    while x:\n        x -= 1\n", "While"),
    ("def f(x):\n    return 1.5\n", "1.5"),
    ("def f(x):\n    return x.upper()\n", ".upper()"),
    ("def f(x):\n    try:\n        return x\n    except Exception:\n        return 0\n", "Try"),
    ("def f(*, x):\n    return x\n", "keyword-only"),
])
def test_outside_the_subset_is_refused_with_its_line(tmp_path: Path, source: str, what: str) -> None:
    path = tmp_path / "outside_subset.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("outside_subset", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with pytest.raises(jsgen.Untranslatable, match=rf"outside_subset:\d+: .*{what}.* is outside the subset"):
        jsgen.translate(mod, ["f"])


def test_missing_name_is_an_error() -> None:
    from cnn_cost.layers import conv

    with pytest.raises(jsgen.Untranslatable, match="no top-level nonexistent"):
        jsgen.translate(conv, ["nonexistent"])


def test_calculator_runs_the_registrys_source() -> None:
    """The asset holds the registry's functions as written there: a formula text of conv.py appears in it."""
    from cnn_cost import calculator

    asset = calculator.javascript()
    for name in (*calculator.REGISTRY_FUNCTIONS, *calculator.CONV_FUNCTIONS, *calculator.LINEAR_FUNCTIONS):
        assert f"function {name}(" in asset or f"const {name} =" in asset, name
    assert "(the last window would start in the padding)" in asset  # out_size's text, from conv.py
