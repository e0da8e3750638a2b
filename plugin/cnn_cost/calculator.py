"""The in-page calculator (`#!cnn calculator conv2d`, `#!cnn calculator linear`): torch-free.

`javascript()` is the asset the plugin writes at build time. Its layer functions mirror, step for
step, the registry's arithmetic and texts for a Conv2d on a batched input [1, C_in, H, W]
(`cnn_cost.layers.conv`: `_params`, `_conv`, `out_size`, `too_small`, `positive`, `non_negative`,
`spatial_text`) and a Linear on [*leading, in_features] (`cnn_cost.layers.linear`), plus the
constructor refusals PyTorch gives for groups. tests/test_calculator.py runs the emitted code with
node on thousands of seeded random settings against the registry's `Cost` and PyTorch itself, so
the two cannot drift apart unnoticed. The form's fields are generated from `FIELDS`.
"""

from __future__ import annotations

import html
import json

from cnn_cost import i18n

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

# The arithmetic, as the registry does it; counts are BigInt so no product loses digits.
_CORE = r"""
  function n(v) { return BigInt(v).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  function dot() { return Array.prototype.slice.call(arguments).map(String).join("\u00b7"); }
  function fmt(shape) { return "[" + shape.map(String).join(", ") + "]"; }
  function prod(values) { return values.reduce(function (a, b) { return a * BigInt(b); }, 1n); }
  function equation(expr, result) {
    if (expr === String(result) || expr === n(result)) return n(result);
    return expr + " = " + n(result);
  }
  function floorDiv(a, b) { return Math.floor(a / b); }
  function Refusal(message) { this.message = message; }
  function empty(shape) {
    if (shape.some(function (d) { return d < 1; }))
      throw new Refusal("the input " + fmt(shape) + " has an empty dimension");
  }
  function positive(values, what) {
    if (Math.min.apply(null, values) < 1) throw new Refusal(what + " must be positive, got " + fmt(values));
  }
  function nonNegative(values, what) {
    if (Math.min.apply(null, values) < 0) throw new Refusal(what + " must not be negative, got " + fmt(values));
  }
  function tooSmall(size, k, s, p, d, out) {
    var parts = ["input " + size, "kernel " + k].concat(s !== 1 ? ["stride " + s] : []).concat(["padding " + p]);
    if (d !== 1) parts.push("dilation " + d);
    return new Refusal("output size would be " + out + " (" + parts.join(", ") + ")");
  }
  function outSize(size, k, s, p, d) {
    var span = size + 2 * p - d * (k - 1) - 1;
    var out = floorDiv(span, s) + 1;
    var dil = d !== 1 ? d + "\u00b7(" + k + "\u2212" + "1)" : "(" + k + "\u2212" + "1)";
    return [out, "\u230a(" + size + " + 2\u00b7" + p + " \u2212 " + dil + " \u2212 1)/" + s + "\u230b + 1 = " + n(out)];
  }
  function spatialText(texts) {
    var names = ["H", "W"];
    if (texts.every(function (t) { return t === texts[0]; })) return names.join(",") + ": " + texts[0];
    return texts.map(function (t, i) { return names[i] + ": " + t; }).join("; ");
  }

  function conv2d(v) {
    var g = v.groups, cin = v.cin, cout = v.cout, k = [v.k, v.k];
    if (g <= 0) throw new Refusal("groups must be a positive integer");
    if (cin % g !== 0) throw new Refusal("in_channels must be divisible by groups");
    if (cout % g !== 0) throw new Refusal("out_channels must be divisible by groups");
    var spatial = [v.h, v.w], x = [1, cin, v.h, v.w];
    empty(x);
    var stride = [v.stride, v.stride], dilation = [v.dilation, v.dilation], pads = [v.padding, v.padding];
    positive(k, "kernel_size");
    positive(stride, "stride");
    positive(dilation, "dilation");
    nonNegative(pads, "padding");
    var outs = [], texts = [];
    for (var i = 0; i < 2; i++) {
      var r = outSize(spatial[i], k[i], stride[i], pads[i], dilation[i]);
      if (r[0] < 1) throw tooSmall(spatial[i], k[i], stride[i], pads[i], dilation[i], r[0]);
      outs.push(r[0]);
      texts.push(r[1]);
    }
    var perOut = prod(k) * BigInt(Math.floor(cin / g));
    var positions = prod(outs);
    var macs = perOut * BigInt(cout) * positions;
    var extra = v.bias ? BigInt(cout) * positions : 0n;
    var params = prod(k) * BigInt(Math.floor(cin / g)) * BigInt(cout) + (v.bias ? BigInt(cout) : 0n);
    var weight = "(" + dot(k[0], k[1], cin) + "/" + g + ")\u00b7" + cout;
    return {
      params: params,
      params_formula: equation(weight + (v.bias ? " + " + cout : ""), params),
      macs: macs,
      macs_formula: equation(weight + "\u00b7" + dot(outs[0], outs[1]), macs),
      extra: extra,
      extra_formula: v.bias ? equation(dot(cout, outs[0], outs[1]), extra) + " (bias)" : "",
      shape: [1, cout, outs[0], outs[1]],
      shape_formula: spatialText(texts)
    };
  }

  function linear(v) {
    var fin = v.fin, fout = v.fout, lead = v.lead, x = lead.concat([fin]);
    empty(x);
    var rows = prod(lead);
    var macs = rows * BigInt(fin) * BigInt(fout);
    var head = rows !== 1n ? dot.apply(null, lead) + "\u00b7" : "";
    var params = BigInt(fin) * BigInt(fout) + (v.bias ? BigInt(fout) : 0n);
    return {
      params: params,
      params_formula: equation(dot(fin, fout) + (v.bias ? " + " + fout : ""), params),
      macs: macs,
      macs_formula: equation(head + fin + "\u00b7" + fout, macs),
      extra: v.bias ? rows * BigInt(fout) : 0n,
      extra_formula: v.bias ? equation(head + fout, rows * BigInt(fout)) + " (bias)" : "",
      shape: lead.concat([fout]),
      shape_formula: ""
    };
  }

  var LAYERS = {conv2d: conv2d, linear: linear};
  function compute(layer, values) {
    try { return LAYERS[layer](values); }
    catch (e) { if (e instanceof Refusal) return {refusal: e.message}; throw e; }
  }
"""

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


def javascript(ui: bool = True) -> str:
    """The calculator asset; `ui=False` gives the arithmetic alone, for node (tests), exporting `compute`."""
    head = "// generated by cnn_cost.calculator: do not edit\n"
    if not ui:
        return head + "(function () {\n" + _CORE + "\n  module.exports = {compute: compute, n: n};\n})();\n"
    data = (f"  var FIELDS = {json.dumps(FIELDS)};\n  var TITLES = {json.dumps(TITLES)};\n"
            f"  var WORDS = {json.dumps(WORDS, ensure_ascii=False)};\n  var LOCALE = \"en\";\n"
            "  function w(text) { var t = WORDS[LOCALE]; return (t && t[text]) || text; }\n")
    return head + "(function () {\n  \"use strict\";\n" + data + _CORE + _UI + "})();\n"


def placeholder(layer: str) -> str:
    """The element the script fills, with a note for readers without JavaScript."""
    name = html.escape(layer)
    locale = i18n.current()
    note = i18n._("(the {title} needs JavaScript)", title=i18n._(TITLES[layer]))
    return f'<span class="cnn-calc" data-cnn-calculator="{name}" data-locale="{locale}">{html.escape(note)}</span>'


__all__ = ["ASSET", "FIELDS", "LAYERS", "javascript", "placeholder"]
