"""The in-page calculator (`#!cnn calculator conv2d`, `#!cnn calculator linear`): torch-free.

`javascript()` is the asset the plugin writes at build time. Its arithmetic is the registry's own
source, translated to JavaScript when the asset is written (cnn_cost.jsgen): the Conv2d entry of
`cnn_cost.layers.conv` and the Linear entry of `cnn_cost.layers.linear`, with the registry helpers
they call, so a change to a formula or a refusal there is in the next build's calculator. Written by
hand here are only the wiring (the `m` object nn.Conv2d would be, PyTorch's constructor refusals for
groups) and the form. tests/test_calculator.py runs the emitted code with node on thousands of seeded
random settings against the registry's `Cost` and PyTorch itself, and in Chromium.
"""

from __future__ import annotations

import functools
import html
import json

from cnn_cost import i18n, jsgen

ASSET = "assets/cnn-cost/cnn-cost-calculator.js"
LAYERS = ("conv2d", "linear")

# (name, label, kind, default, minimum): kind "int", "bool" or "dims" (comma-separated ints)
FIELDS: dict[str, list[tuple[str, str, str, int | str, int]]] = {
    "conv2d": [
        ("cin", "C_in (input channels)", "int", 3, 1),
        ("cout", "C_out (output channels)", "int", 64, 1),
        ("k", "kernel size", "int", 3, 0),
        ("stride", "stride", "int", 1, 0),
        ("padding", "padding", "int", 1, 0),
        ("dilation", "dilation", "int", 1, 0),
        ("groups", "groups", "int", 1, 0),
        ("h", "input H", "int", 224, 1),
        ("w", "input W", "int", 224, 1),
        ("bias", "bias", "bool", 1, 0),
    ],
    "linear": [
        ("fin", "in_features", "int", 512, 1),
        ("fout", "out_features", "int", 1000, 1),
        ("lead", "leading dims (comma-separated, may be empty)", "dims", "1", 1),
        ("bias", "bias", "bool", 1, 0),
    ],
}

TITLES = {"conv2d": "Conv2d calculator (batch 1)", "linear": "Linear calculator"}

# The form's words in the page's language (the placeholder's `data-locale`); refusals keep the registry's words.
WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "C_in (input channels)": "C_in（输入通道数）", "C_out (output channels)": "C_out（输出通道数）",
        "kernel size": "卷积核大小", "stride": "步幅", "padding": "填充", "dilation": "空洞率",
        "groups": "分组数", "input H": "输入高 H", "input W": "输入宽 W", "bias": "偏置",
        "leading dims (comma-separated, may be empty)": "前置维度（逗号分隔，可为空）",
        "output shape": "输出形状", "params": "参数量",
        ": whole numbers separated by commas": "：用逗号分隔的整数", ": enter a whole number": "：请输入整数",
        ": too large": "：太大",
        "Conv2d calculator (batch 1)": "Conv2d 计算器（batch 为 1）", "Linear calculator": "Linear 计算器",
    },
}

# What the page shows around the registry's results (the FLOPs line is 2 x MACs, the guide's convention).
_UI_HELPERS = r"""
  function n(v) { return BigInt(v).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  function fmt(shape) { return "[" + shape.map(String).join(", ") + "]"; }
  function equation(expr, result) {
    if (expr === String(result) || expr === n(result)) return n(result);
    return expr + " = " + n(result);
  }
"""

# The calculator's layers, wired as the registry wires them (`register("Conv2d", params=_params(2, False))
# (_conv(2))` in cnn_cost.layers.conv; `@register("Linear", params=...)` in cnn_cost.layers.linear), after the
# checks PyTorch's constructor makes (nn.Conv2d refuses groups that do not divide the channels) and the
# registry's own (`refuse_empty`, then the entry, then its params). The module objects `m` carry what
# nn.Conv2d and nn.Linear keep: tuples for the sizes, None for no bias.
_GLUE = r"""
  function torch_conv2d(v) {
    if (v.groups <= 0n) throw new ShapeMismatch("groups must be a positive integer");
    if (v.cin % v.groups !== 0n) throw new ShapeMismatch("in_channels must be divisible by groups");
    if (v.cout % v.groups !== 0n) throw new ShapeMismatch("out_channels must be divisible by groups");
    return {in_channels: v.cin, out_channels: v.cout, kernel_size: [v.k, v.k], stride: [v.stride, v.stride],
            padding: [v.padding, v.padding], dilation: [v.dilation, v.dilation], groups: v.groups,
            bias: v.bias ? true : null, padding_mode: "zeros"};
  }
  const CONV2D = {cost: _conv(2n), params: _params(2n, false)};
  const LINEAR = {cost: linear, params: LINEAR_PARAMS};
  function run(spec, m, x) {
    refuse_empty(x);
    const cost = spec.cost(m, x, null);
    const counted = spec.params(m);
    return {params: counted[0], params_formula: counted[1], macs: cost.macs, macs_formula: cost.macs_formula,
            extra: cost.extra, extra_formula: cost.extra_formula, shape: cost.shape.map(Number),
            shape_formula: cost.shape_formula};
  }
  const LAYERS = {
    conv2d: function (v) { return run(CONV2D, torch_conv2d(v), [1n, v.cin, v.h, v.w]); },
    linear: function (v) {
      const m = {in_features: v.fin, out_features: v.fout, bias: v.bias ? true : null};
      return run(LINEAR, m, v.lead.concat([v.fin]));
    }
  };
  function compute(layer, values) {
    const v = {};
    Object.keys(values).forEach(function (key) {
      const value = values[key];
      v[key] = typeof value === "number" ? BigInt(value) : Array.isArray(value) ? value.map(BigInt) : value;
    });
    try { return LAYERS[layer](v); }
    catch (e) { if (e instanceof ShapeMismatch) return {refusal: e.message}; throw e; }
  }
"""

# The registry's functions the calculator runs, translated from their source by cnn_cost.jsgen.
REGISTRY_FUNCTIONS = ["refuse_empty", "prod", "n", "dot", "tup", "fmt", "knobs", "expect_rank", "equation"]
CONV_FUNCTIONS = ["split", "positive", "non_negative", "too_small", "kernel", "check_channels", "out_size",
                  "spatial_text", "PAD_LIMITS", "_start", "_conv_outputs", "_params", "_conv"]
LINEAR_FUNCTIONS = ["_weights", "check_features", "linear"]


def registry_js() -> str:
    """`var compute`: the registry's Conv2d and Linear entries, translated, in a scope of their own."""
    from cnn_cost.layers import conv, linear, registry

    parts = [
        jsgen.RUNTIME,
        jsgen.dataclass_js(registry.Cost),
        jsgen.translate(registry, REGISTRY_FUNCTIONS),
        jsgen.translate(conv, CONV_FUNCTIONS),
        jsgen.translate(linear, LINEAR_FUNCTIONS),
        f"  const LINEAR_PARAMS = {jsgen.keyword_of(linear, 'linear', 'register', 'params')};",
        _GLUE,
        "  return compute;",
    ]
    return "  var compute = (function () {\n" + "\n".join(parts) + "\n  })();\n"


_UI = r"""
  var STYLE = ".cnn-calc{display:block;border:1px solid #8886;border-radius:4px;padding:.6rem;margin:1rem 0;"
    + "max-width:100%;box-sizing:border-box}"
    + ".cnn-calc-fields{display:grid;grid-template-columns:repeat(auto-fill,minmax(7rem,1fr));gap:.4rem .8rem;"
    + "margin:0;padding:0;border:0}"
    + ".cnn-calc label{display:flex;flex-direction:column;font-size:.8em;min-width:0}"
    + ".cnn-calc label.cnn-calc-bool{flex-direction:row;align-items:center;gap:.4rem}"
    + ".cnn-calc input[type=number],.cnn-calc input[type=text]{width:100%;box-sizing:border-box;font:inherit;"
    + "min-width:0;border:1px solid #8888;border-radius:3px;padding:.15rem .3rem;background:transparent;"
    + "color:inherit}"
    + ".cnn-calc-out{margin-top:.6rem;overflow-wrap:anywhere;font-size:.85em}"
    + ".cnn-calc-out dt{font-weight:bold}.cnn-calc-out dd{margin:0 0 .3rem 0}"
    + ".cnn-calc-refusal{color:#b00020}";

  function parseDims(text) {
    var t = text.trim();
    if (t === "") return [];
    var parts = t.split(/[\s,]+/).filter(function (p) { return p !== ""; });
    if (!parts.every(function (p) { return /^\d+$/.test(p); })) return null;
    return parts.map(Number);
  }

  function read(root, layer) {
    var values = {};
    for (var i = 0; i < FIELDS[layer].length; i++) {
      var f = FIELDS[layer][i], input = root.querySelector("[data-field='" + f[0] + "']");
      if (f[2] === "bool") { values[f[0]] = input.checked; continue; }
      if (f[2] === "dims") {
        var dims = parseDims(input.value);
        if (dims === null) return {bad: w(f[1]) + w(": whole numbers separated by commas")};
        values[f[0]] = dims;
        continue;
      }
      if (!/^-?\d+$/.test(input.value.trim())) return {bad: w(f[1]) + w(": enter a whole number")};
      values[f[0]] = Number(input.value.trim());
      if (!Number.isSafeInteger(values[f[0]]) || values[f[0]] > 1e9) return {bad: w(f[1]) + w(": too large")};
    }
    return {values: values};
  }

  function show(root, layer) {
    var out = root.querySelector(".cnn-calc-out"), got = read(root, layer);
    var r = got.bad ? {refusal: got.bad} : compute(layer, got.values);
    out.textContent = "";
    if (r.refusal) {
      var p = document.createElement("p");
      p.className = "cnn-calc-refusal";
      p.textContent = "\u26a0 " + r.refusal;
      out.appendChild(p);
      return;
    }
    var dl = document.createElement("dl");
    var rows = [
      ["output shape", fmt(r.shape) + (r.shape_formula ? " (" + r.shape_formula + ")" : "")],
      ["params", n(r.params) + (r.params_formula !== n(r.params) ? " (" + r.params_formula + ")" : "")],
      ["MACs", r.macs_formula || n(r.macs)],
      ["FLOPs (2mac)", equation("2\u00b7" + n(r.macs), 2n * r.macs)]
    ];
    rows.forEach(function (row) {
      var dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = w(row[0]);
      dd.textContent = row[1];
      dd.setAttribute("data-result", row[0]);
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
    out.appendChild(dl);
  }

  function build(root, index) {
    var layer = root.getAttribute("data-cnn-calculator");
    if (!FIELDS[layer]) return;
    var hash = new URLSearchParams(location.hash.replace(/^#/, ""));
    root.textContent = "";
    root.classList.add("cnn-calc");
    root.setAttribute("role", "group");
    LOCALE = root.getAttribute("data-locale") || "en";
    root.setAttribute("aria-label", w(TITLES[layer]));
    var fields = document.createElement("span");
    fields.className = "cnn-calc-fields";
    FIELDS[layer].forEach(function (f) {
      var label = document.createElement("label"), input = document.createElement("input");
      var id = "cnn-calc-" + index + "-" + f[0], given = hash.get(layer + "." + f[0]);
      input.id = id;
      input.setAttribute("data-field", f[0]);
      label.htmlFor = id;
      if (f[2] === "bool") {
        input.type = "checkbox";
        input.checked = given !== null ? given === "1" || given === "true" : !!f[3];
        label.className = "cnn-calc-bool";
        label.appendChild(input);
        label.appendChild(document.createTextNode(w(f[1])));
      } else {
        input.type = f[2] === "int" ? "number" : "text";
        if (f[2] === "int") { input.min = String(f[4]); input.step = "1"; input.inputMode = "numeric"; }
        input.value = given !== null ? given : String(f[3]);
        label.appendChild(document.createTextNode(w(f[1])));
        label.appendChild(input);
      }
      input.addEventListener("input", function () { show(root, layer); });
      fields.appendChild(label);
    });
    var out = document.createElement("span");
    out.className = "cnn-calc-out";
    out.setAttribute("role", "status");
    out.setAttribute("aria-live", "polite");
    out.setAttribute("aria-atomic", "true");
    root.appendChild(fields);
    root.appendChild(out);
    show(root, layer);
  }

  function start() {
    if (!document.getElementById("cnn-calc-style")) {
      var style = document.createElement("style");
      style.id = "cnn-calc-style";
      style.textContent = STYLE;
      document.head.appendChild(style);
    }
    var roots = document.querySelectorAll("[data-cnn-calculator]");
    for (var i = 0; i < roots.length; i++) build(roots[i], i);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
"""


@functools.lru_cache(maxsize=2)  # written on every build and serve rebuild; the source cannot change meanwhile
def javascript(ui: bool = True) -> str:
    """The calculator asset; `ui=False` gives the arithmetic alone, for node (tests), exporting `compute`."""
    head = "// generated by cnn_cost.calculator: do not edit\n"
    if not ui:
        return head + "(function () {\n" + registry_js() + "\n  module.exports = {compute: compute};\n})();\n"
    data = (f"  var FIELDS = {json.dumps(FIELDS)};\n  var TITLES = {json.dumps(TITLES)};\n"
            f"  var WORDS = {json.dumps(WORDS, ensure_ascii=False)};\n  var LOCALE = \"en\";\n"
            "  function w(text) { var t = WORDS[LOCALE]; return (t && t[text]) || text; }\n")
    return head + "(function () {\n  \"use strict\";\n" + data + registry_js() + _UI_HELPERS + _UI + "})();\n"


def placeholder(layer: str) -> str:
    """The element the script fills, with a note for readers without JavaScript."""
    name = html.escape(layer)
    locale = i18n.current()
    note = i18n._("(the {title} needs JavaScript)", title=i18n._(TITLES[layer]))
    return f'<span class="cnn-calc" data-cnn-calculator="{name}" data-locale="{locale}">{html.escape(note)}</span>'


__all__ = ["ASSET", "FIELDS", "LAYERS", "javascript", "placeholder"]
