"""The in-page calculator (cnn_cost.calculator): its generated JavaScript against the registry and PyTorch,
a real build that ships it, and a headless browser that uses it at phone and desktop widths."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from cnn_cost import calculator
from cnn_cost.layers.registry import REGISTRY, ShapeMismatch

NODE = shutil.which("node")
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ROOT = Path(__file__).resolve().parent.parent
FIELDS = ("params", "params_formula", "macs", "macs_formula", "extra", "extra_formula", "shape", "shape_formula")


def run_node(tmp_path: Path, layer: str, settings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The generated arithmetic (no UI) run by node on each setting; counts come back as strings."""
    script = tmp_path / "calc.js"
    script.write_text(calculator.javascript(ui=False) + textwrap.dedent(f"""
        const {{compute}} = module.exports;
        const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const out = input.map(v => compute({json.dumps(layer)}, v));
        process.stdout.write(JSON.stringify(out, (k, v) => typeof v === "bigint" ? v.toString() : v));
    """))
    done = subprocess.run([NODE, str(script)], input=json.dumps(settings), capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout)


def conv_settings(rng: random.Random, count: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(count):
        g = rng.choice([1, 1, 1, 1, 1, 2, 3, 4, 0])
        out.append({
            "cin": rng.choice([1, 2, 3, 4, 6, 8, 12, 16, 64]), "cout": rng.choice([1, 2, 3, 4, 6, 8, 32, 128]),
            "k": rng.choice([0, 1, 1, 2, 3, 3, 5, 7, 11]), "stride": rng.choice([0, 1, 1, 1, 2, 2, 3, 4]),
            "padding": rng.choice([-1, 0, 0, 1, 1, 2, 3]), "dilation": rng.choice([0, 1, 1, 1, 1, 2, 3]),
            "groups": g, "h": rng.choice([0, 1, 2, 3, 5, 8, 17, 32, 224, 224]),
            "w": rng.choice([1, 2, 3, 5, 8, 17, 32, 227]), "bias": rng.random() < 0.5,
        })
    return out


def linear_settings(rng: random.Random, count: int) -> list[dict[str, Any]]:
    return [{"fin": rng.choice([1, 3, 64, 512, 4096]), "fout": rng.choice([1, 2, 10, 1000]),
             "lead": [rng.choice([0, 1, 2, 7, 32]) for _ in range(rng.choice([0, 1, 1, 2, 3]))],
             "bias": rng.random() < 0.5} for _ in range(count)]


def build_conv(v: dict[str, Any]) -> Any:
    from torch import nn

    return nn.Conv2d(v["cin"], v["cout"], v["k"], stride=v["stride"], padding=v["padding"],
                     dilation=v["dilation"], groups=v["groups"], bias=v["bias"], device="meta")


def registry_cost(layer: str, v: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(module or None, what the registry says: the Cost's fields, or {"refusal": message})."""
    from torch import nn

    try:
        if layer == "conv2d":
            m, x = build_conv(v), (1, v["cin"], v["h"], v["w"])
        else:
            m = nn.Linear(v["fin"], v["fout"], bias=v["bias"], device="meta")
            x = (*v["lead"], v["fin"])
    except ValueError as exc:  # PyTorch's constructor refusals (groups)
        return None, {"refusal": str(exc)}
    try:
        cost = REGISTRY["Conv2d" if layer == "conv2d" else "Linear"].cost(m, x)
    except ShapeMismatch as exc:
        return m, {"refusal": str(exc)}
    got = {f: getattr(cost, f) for f in FIELDS}
    got["shape"] = list(got["shape"])
    return m, got


def normalised(js: dict[str, Any]) -> dict[str, Any]:
    if "refusal" in js:
        return js
    return {f: (int(js[f]) if f in ("params", "macs", "extra") else js[f]) for f in FIELDS}


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@pytest.mark.parametrize("layer", ["conv2d", "linear"])
def test_generated_js_equals_registry_and_torch(tmp_path: Path, layer: str) -> None:
    import warnings

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    rng = random.Random(11)  # noqa: S311 - reproducible settings
    settings = conv_settings(rng, 3000) if layer == "conv2d" else linear_settings(rng, 2000)
    results = run_node(tmp_path, layer, settings)
    refusals = checked = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-element weights
        for i, (v, js) in enumerate(zip(settings, results, strict=True)):
            m, expected = registry_cost(layer, v)
            assert normalised(js) == expected, v
            if "refusal" in expected:
                refusals += 1
                continue
            if layer == "linear" and i % 10:  # a sample with PyTorch itself (every accepted convolution)
                continue
            checked += 1
            x = torch.empty(*((1, v["cin"], v["h"], v["w"]) if layer == "conv2d" else (*v["lead"], v["fin"])),
                            device="meta")
            assert sum(p.numel() for p in m.parameters()) == expected["params"]
            with FlopCounterMode(display=False) as counter:
                y = m(x)
            assert list(y.shape) == expected["shape"]
            assert counter.get_total_flops() == 2 * expected["macs"]
    assert refusals > 50 and checked > 20  # the settings reach both sides


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_refusal_texts_are_the_registrys(tmp_path: Path) -> None:
    base = {"cin": 4, "cout": 8, "k": 3, "stride": 1, "padding": 0, "dilation": 1, "groups": 1, "h": 8, "w": 8,
            "bias": True}
    cases = [dict(base, h=2), dict(base, groups=3), dict(base, cout=6, groups=4), dict(base, stride=0),
             dict(base, w=2, stride=2, dilation=2)]
    got = run_node(tmp_path, "conv2d", cases)
    assert got[0] == {"refusal": "output size would be 0 (input 2, kernel 3, padding 0)"}
    assert got[1] == {"refusal": "in_channels must be divisible by groups"}
    assert got[2] == {"refusal": "out_channels must be divisible by groups"}
    assert all("NaN" not in json.dumps(r) for r in got)


CALC_PAGES = {
    "index.md": """
        # Calculators

        `#!cnn calculator conv2d`

        `#!cnn calculator linear`
        """,
    "plain.md": "# No calculator\n\nText.\n",
}


def test_build_ships_the_calculator_where_used(site: Any) -> None:
    from conftest import mkdocs

    root = site(CALC_PAGES)
    built = mkdocs(root, "--strict")
    assert built.code == 0, built.out
    html = built.html("index.html")
    assert 'data-cnn-calculator="conv2d"' in html and 'data-cnn-calculator="linear"' in html
    assert '<script src="assets/cnn-cost/cnn-cost-calculator.js" defer></script>' in html
    assert "cnn-cost-calculator.js" not in built.html("plain/index.html")
    asset = (built.site / "assets/cnn-cost/cnn-cost-calculator.js").read_text(encoding="utf-8")
    assert asset == calculator.javascript()


def test_unknown_calculator_is_an_error(site: Any) -> None:
    from conftest import mkdocs

    built = mkdocs(site({"index.md": "# x\n\n`#!cnn calculator conv3d`\n"}), "--strict")
    assert built.code != 0
    assert "`calculator` takes one of conv2d, linear" in built.out


PROBE = """<script>
window.addEventListener("load", function () { setTimeout(function () {
  var out = {width: window.innerWidth, calcs: []};
  document.querySelectorAll("[data-cnn-calculator]").forEach(function (el) {
    var r = el.getBoundingClientRect(), results = {};
    el.querySelectorAll("[data-result]").forEach(function (d) { results[d.dataset.result] = d.textContent; });
    var refusal = el.querySelector(".cnn-calc-refusal");
    out.calcs.push({right: r.right, scroll: el.scrollWidth, client: el.clientWidth, results: results,
                    refusal: refusal ? refusal.textContent : null,
                    labelled: Array.from(el.querySelectorAll("input")).every(function (i) {
                      return i.labels.length === 1; }),
                    live: !!el.querySelector("[aria-live=polite]"),
                    labels: Array.from(el.querySelectorAll("label")).map(function (l) { return l.textContent; }),
                    terms: Array.from(el.querySelectorAll("dt")).map(function (t) { return t.textContent; }),
                    name: el.getAttribute("aria-label")});
  });
  var pre = document.createElement("pre"); pre.id = "probe"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 200); });
</script>"""


FRAME = """<!doctype html><html><body style="margin:0">
<iframe id="f" src="index.html{hash}" style="width:{width}px;height:1000px;border:0"></iframe>
<script>
var waited = 0;
(function poll() {{  // until the page's own probe is written (a loaded machine is slow), at most 7 s
  var doc = document.getElementById("f").contentDocument;
  var inner = doc && doc.getElementById("probe");
  if (!inner && waited < 7000) {{ waited += 100; setTimeout(poll, 100); return; }}
  var pre = document.createElement("pre"); pre.id = "probe"; pre.textContent = inner ? inner.textContent : "";
  document.body.appendChild(pre);
}})();
</script></body></html>"""


def browse(page: Path, hash_: str, width: int) -> dict[str, Any]:
    """The probe's findings on `page` loaded at `hash_`, in an iframe `width` px wide: headless Chromium's
    window is never narrower than 500 px."""
    assert CHROMIUM is not None
    frame = page.parent / f"frame-{width}.html"
    frame.write_text(FRAME.format(hash=hash_, width=width), encoding="utf-8")
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--allow-file-access-from-files", "--window-size=1280,1000", "--virtual-time-budget=10000",
         "--dump-dom", frame.as_uri()],
        capture_output=True, text=True, timeout=90, check=False,
    )
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found and found.group(1), done.stderr[-2000:]
    import html as html_module

    return json.loads(html_module.unescape(found.group(1)))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
@pytest.mark.parametrize("width", [390, 1280])
def test_browser_computes_at_phone_and_desktop_width(site: Any, width: int) -> None:
    from conftest import mkdocs

    built = mkdocs(site(CALC_PAGES), "--strict")
    assert built.code == 0, built.out
    page = built.site / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    got = browse(page, "#conv2d.k=7&conv2d.stride=2&conv2d.padding=3&linear.lead=8,16&linear.bias=0", width)
    assert got["width"] == width  # the window, not a wider minimum
    conv, lin = got["calcs"]
    for calc in (conv, lin):
        assert calc["labelled"] and calc["live"]
        assert calc["right"] <= got["width"] and calc["scroll"] <= calc["client"] + 1, calc  # no sideways scroll
    assert conv["results"] == {
        "output shape": "[1, 64, 112, 112] (H,W: ⌊(224 + 2·3 − (7−1) − 1)/2⌋ + 1 = 112)",
        "params": "9,472 ((7·7·3/1)·64 + 64 = 9,472)",
        "MACs": "(7·7·3/1)·64·112·112 = 118,013,952",
        "FLOPs (2mac)": "2·118,013,952 = 236,027,904",
    }
    assert lin["results"]["output shape"] == "[8, 16, 1000]"
    assert lin["results"]["params"] == "512,000 (512·1000 = 512,000)"
    assert lin["results"]["MACs"] == "8·16·512·1000 = 65,536,000"
    refused = browse(page, "#conv2d.h=2&conv2d.k=3&conv2d.padding=0", width)["calcs"][0]
    assert refused["refusal"] == "⚠ output size would be 0 (input 2, kernel 3, padding 0)"
    assert refused["results"] == {}


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_browser_calculator_in_chinese(site: Any) -> None:
    """A Chinese page's calculator: the form's words in Chinese, the same numbers and formulas."""
    from conftest import mkdocs

    built = mkdocs(site(CALC_PAGES, theme="material\n  language: zh"), "--strict")
    assert built.code == 0, built.out
    page = built.site / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    conv, lin = browse(page, "#conv2d.k=7&conv2d.stride=2&conv2d.padding=3", 390)["calcs"]
    assert conv["name"] == "Conv2d 计算器（batch 为 1）" and lin["name"] == "Linear 计算器"
    assert conv["labels"][:3] == ["C_in（输入通道数）", "C_out（输出通道数）", "卷积核大小"]
    assert conv["terms"] == ["输出形状", "参数量", "MACs", "FLOPs (2mac)"]
    assert conv["results"]["params"] == "9,472 ((7·7·3/1)·64 + 64 = 9,472)"
