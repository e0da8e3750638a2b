"""Figures generated from a block's `Result`, so they cannot drift from the numbers they illustrate.

`#!cnn figure <block-id> conv <row>`: the padded input grid, the kernel's footprint at its first two
positions and the output grid of a Conv2d row (the row may be left out of a one-layer block);
`#!cnn figure <block-id> groups <row> [<row> ...]`: how a convolution's input channels are split into
groups and connected to its outputs; `#!cnn figure <block-id> bars params|flops|macs`: a per-layer bar
chart of a block's rows. Torch-free: the sizes are read from the row's output shape and from the formulas
the registry wrote for it (`out: H,W: ⌊(32 + 2·1 − (3−1) − 1)/2⌋ + 1 = 16`, `params: (3·3·16/1)·32 + 32
= 4,640`). Colours are `currentColor` only, so the figures have the text's contrast in light and dark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from cnn_cost.errors import CnnCostError
from cnn_cost.i18n import _ as tr
from cnn_cost.result import Result, Row

KINDS = ("conv", "groups", "bars")
METRICS = ("params", "flops", "macs")

# `⌊(32 + 2·1 − 2·(3−1) − 1)/2⌋ + 1 = 16`: input, padding, dilation (optional), kernel, stride, output
_OUT = re.compile(r"⌊\((\d+) \+ 2·(\d+) − (?:(\d+)·)?\((\d+)−1\) − 1\)/(\d+)⌋ \+ 1 = ([\d,]+)")
# `(3·3·16/1)·32 + 32 = 4,640`: kernel factors and C_in, groups, C_out, the bias (optional), the count
_PARAMS = re.compile(r"^params: \(([\d·]+)/(\d+)\)·(\d+)(?: \+ (\d+))? = ([\d,]+)")


@dataclass(frozen=True)
class Axis:
    size: int
    padding: int
    dilation: int
    kernel: int
    stride: int
    out: int


@dataclass(frozen=True)
class Conv:
    """What a Conv2d row's formulas say about the layer."""

    name: str
    h: Axis
    w: Axis
    cin: int
    groups: int
    cout: int
    params: int


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def find_row(result: Result, name: str) -> Row:
    for row in result.rows:
        if row.name == name:
            return row
    names = ", ".join(dict.fromkeys(r.name for r in result.rows))
    raise CnnCostError(f"no row named {name!r}; rows are: {names[:300]}")


def conv_of(row: Row) -> Conv:
    """The hyper-parameters of a Conv2d row, from the formulas the registry computed for it."""
    if row.type != "Conv2d":
        raise CnnCostError(f"row {row.name!r} is a {row.type}, not a Conv2d")
    out_line = next((f for f in row.formula if f.startswith("out: ")), None)
    params_line = next((f for f in row.formula if f.startswith("params: ")), None)
    if out_line is None or row.output is None:
        raise CnnCostError(f"row {row.name!r} has no output size: the block needs `input:`")
    axes = [Axis(_int(m[1]), _int(m[2]), _int(m[3] or "1"), _int(m[4]), _int(m[5]), _int(m[6]))
            for m in _OUT.finditer(out_line)]
    if len(axes) == 1 and out_line.startswith("out: H,W: "):
        axes *= 2
    found = _PARAMS.match(params_line or "")
    if len(axes) != 2 or found is None:
        raise CnnCostError(f"row {row.name!r}: cannot draw this convolution ({out_line[5:60]}); "
                           "padding='same' and other paddings than zero on both sides are not drawn")
    factors = [int(f) for f in found[1].split("·")]
    conv = Conv(row.name, axes[0], axes[1], cin=factors[-1], groups=int(found[2]), cout=int(found[3]),
                params=_int(found[5]))
    if (conv.h.out, conv.w.out) != tuple(row.output[-2:]) or conv.cout != row.output[-3] or \
            conv.params != row.params:
        raise CnnCostError(f"row {row.name!r}: its formulas do not match its output {row.output}")
    return conv


def _svg(width: float, height: float, title: str, desc: str, body: list[str], slug: str) -> str:
    """An inline SVG in viewBox units (it scales down on narrow screens), titled for screen readers."""
    tid = f"cnn-fig-{slug}"
    return (f'<svg class="cnn-figure" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" '
            f'width="{width:g}" style="max-width:100%;height:auto" role="img" '
            f'aria-labelledby="{tid}-t {tid}-d" font-family="sans-serif" font-size="13" fill="currentColor">'
            f'<title id="{tid}-t">{escape(title)}</title><desc id="{tid}-d">{escape(desc)}</desc>'
            + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", cls: str = "", weight: str = "") -> str:
    extra = f' class="{cls}"' if cls else ""
    extra += f' font-weight="{weight}"' if weight else ""
    return f'<text x="{x:g}" y="{y:g}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _grid(x: float, y: float, rows: int, cols: int, cell: float) -> list[str]:
    """The outline of a rows × cols grid and, if the cells are big enough to see, its lines."""
    w, h = cols * cell, rows * cell
    out = [f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" fill="none" stroke="currentColor"/>']
    if cell >= 3:
        path = "".join(f"M{x + i * cell:g} {y:g}v{h:g}" for i in range(1, cols))
        path += "".join(f"M{x:g} {y + j * cell:g}h{w:g}" for j in range(1, rows))
        out.append(f'<path d="{path}" stroke="currentColor" stroke-opacity="0.35" stroke-width="0.5"/>')
    return out


def conv_figure(result: Result, block_id: str, name: str) -> str:
    """The padded input grid, the kernel's taps at the first two output positions, and the output grid."""
    c = conv_of(find_row(result, name))
    h, w = c.h, c.w
    ph, pw = h.size + 2 * h.padding, w.size + 2 * w.padding
    cell = max(1.0, min(14.0, 400 / max(ph, pw)))
    x0, y0 = 10.0, 44.0
    padding = f"{h.padding}" if h.padding == w.padding else f"{h.padding}×{w.padding}"
    body = [_text(x0, 18, tr("input {h}×{w}, padding {p}", h=h.size, w=w.size, p=padding), weight="bold"),
            _text(x0, 34, tr("padded: {h}×{w}", h=ph, w=pw))]
    if h.padding or w.padding:  # the padding ring, shaded
        body.append(f'<path d="M{x0:g} {y0:g}h{pw * cell:g}v{ph * cell:g}h{-pw * cell:g}z'
                    f'M{x0 + w.padding * cell:g} {y0 + h.padding * cell:g}v{h.size * cell:g}h{w.size * cell:g}'
                    f'v{-h.size * cell:g}z" fill="currentColor" fill-opacity="0.18" fill-rule="evenodd"/>')
    body += _grid(x0, y0, ph, pw, cell)
    # the kernel's taps at output (0, 0) (solid) and (0, 1) (dashed): `stride` cells apart
    positions = [(0, 0)] + ([(0, 1)] if w.out > 1 else [])
    for i, (_, oc) in enumerate(positions):
        dash = ' stroke-dasharray="3 2"' if i else ""
        left = x0 + oc * w.stride * cell
        span_w = (w.dilation * (w.kernel - 1) + 1) * cell
        span_h = (h.dilation * (h.kernel - 1) + 1) * cell
        body.append(f'<rect x="{left:g}" y="{y0:g}" width="{span_w:g}" height="{span_h:g}" fill="none" '
                    f'stroke="currentColor" stroke-width="{2.5 - i:g}"{dash}/>')
        if i == 0:
            taps = "".join(f'<rect x="{left + b * w.dilation * cell + cell * 0.2:g}" '
                           f'y="{y0 + a * h.dilation * cell + cell * 0.2:g}" width="{cell * 0.6:g}" '
                           f'height="{cell * 0.6:g}"/>' for a in range(h.kernel) for b in range(w.kernel))
            body.append(f'<g fill="currentColor" fill-opacity="0.75">{taps}</g>')
    gy = y0 + ph * cell + 22
    kernel = tr("kernel {h}×{w}", h=h.kernel, w=w.kernel)
    for label, a, b in (("stride", h.stride, w.stride), ("dilation", h.dilation, w.dilation)):
        kernel += tr(", ") + tr(label) + (f" {a}" if a == b else f" {a}×{b}")
    body += [_text(x0, gy, kernel),
             _text(x0, gy + 16, tr("solid: the first position; dashed: the next, one stride on"))]
    # the output grid, below (a narrow figure stays legible on a phone), at the same cell size when it fits
    ox, oy = x0, gy + 46
    ocell = max(1.0, min(cell, 200 / max(h.out, w.out)))
    body += [_text(ox, oy, tr("output {h}×{w}", h=h.out, w=w.out), weight="bold"),
             _text(ox, oy + 16, f"⌊({h.size} + 2·{h.padding} − {h.dilation}·({h.kernel}−1) − 1)/{h.stride}⌋ + 1"
                   f" = {h.out}")]
    gy0 = oy + 26
    body += _grid(ox, gy0, h.out, w.out, ocell)
    body.append(f'<rect x="{ox:g}" y="{gy0:g}" width="{ocell:g}" height="{ocell:g}" fill="currentColor" '
                f'fill-opacity="0.75"/>')
    if w.out > 1:
        body.append(f'<rect x="{ox + ocell:g}" y="{gy0:g}" width="{ocell:g}" height="{ocell:g}" fill="none" '
                    f'stroke="currentColor" stroke-width="1.5" stroke-dasharray="3 2"/>')
    width = max(x0 + pw * cell, ox + w.out * ocell, 430) + 10
    height = gy0 + h.out * ocell + 10
    title = tr("Convolution arithmetic of {name}", name=f"{block_id}.{name}")
    desc = tr("A {h}×{w} input padded by {p} to {ph}×{pw}; a {kh}×{kw} kernel with stride {s} and dilation {d} "
              "gives a {oh}×{ow} output.", h=h.size, w=w.size, p=h.padding, ph=ph, pw=pw, kh=h.kernel,
              kw=w.kernel, s=h.stride, d=h.dilation, oh=h.out, ow=w.out)
    return _svg(width, height, title, desc, body, f"{block_id}-conv-{name}")


def groups_figure(result: Result, block_id: str, names: list[str]) -> str:
    """One panel per row: C_in channels in `groups` groups, each connected only to its C_out/groups outputs."""
    if not names:
        raise CnnCostError("`groups` needs one or more Conv2d rows")
    convs = [conv_of(find_row(result, name)) for name in names]
    pw, body = 300.0, []
    for i, c in enumerate(convs):
        x, y = 10.0, i * 212.0  # one panel under the other: the same widths, easy to compare
        kind = "standard" if c.groups == 1 else ("depthwise" if c.groups == c.cin else "grouped")
        heading = f"{c.name}{'' if c.name == kind else f' ({kind})'}: groups = {c.groups}"
        body += [_text(x + pw / 2, y + 18, heading, "middle", weight="bold"),
                 _text(x + pw / 2, y + 36, f"C_in = {c.cin}", "middle")]
        top, bottom, bar = y + 44.0, y + 124.0, 14.0
        seg_in, seg_out = pw / c.groups, pw / c.groups
        gap = 1.0 if c.groups <= 150 else 0.0
        shapes = []
        for g in range(c.groups):
            a = x + g * seg_in
            shapes.append(f'<rect x="{a + gap / 2:g}" y="{top:g}" width="{max(seg_in - gap, 0.3):g}" '
                          f'height="{bar:g}"/>')
            shapes.append(f'<rect x="{a + gap / 2:g}" y="{bottom:g}" width="{max(seg_out - gap, 0.3):g}" '
                          f'height="{bar:g}"/>')
        body.append(f'<g fill="currentColor" fill-opacity="0.8">{"".join(shapes)}</g>')
        # every group's inputs reach its own outputs only (one group: every input reaches every output)
        links = "".join(f"M{x + g * seg_in + gap / 2:g} {top + bar:g}H{x + (g + 1) * seg_in - gap / 2:g}"
                        f"L{x + (g + 1) * seg_out - gap / 2:g} {bottom:g}H{x + g * seg_out + gap / 2:g}z"
                        for g in range(c.groups))
        body.append(f'<path d="{links}" fill="currentColor" fill-opacity="0.2"/>')
        body += [_text(x + pw / 2, bottom + bar + 18, f"C_out = {c.cout}", "middle"),
                 _text(x + pw / 2, bottom + bar + 36,
                       tr(f"{{groups}} group{'s' if c.groups > 1 else ''} of {{cin}} in → {{cout}} out",
                          groups=c.groups, cin=c.cin // c.groups, cout=c.cout // c.groups), "middle"),
                 _text(x + pw / 2, bottom + bar + 54, tr("params {n}", n=f"{c.params:,}"), "middle")]
    width = pw + 20
    title = tr("Channel groups of {name}", name=block_id) + f": {', '.join(names)}"
    desc = "; ".join(tr("{name}: {cin} input channels in {groups} groups connected to {cout} outputs, "
                        "{params} parameters", name=c.name, cin=c.cin, groups=c.groups, cout=c.cout,
                        params=f"{c.params:,}") for c in convs)
    return _svg(width, 212 * len(convs), title, desc, body, f"{block_id}-groups-{'-'.join(names)}")


def bars_figure(result: Result, block_id: str, metric: str) -> str:
    """A horizontal bar per row on one axis; the rows whose value is 0 folded into one line."""
    if metric not in METRICS:
        raise CnnCostError(f"`bars` takes one of {', '.join(METRICS)}, got {metric!r}")
    values = [(row.name, getattr(row, metric)) for row in result.rows]
    if any(v is None for _, v in values):
        raise CnnCostError(f"bars {metric}: the block needs `input:` (only parameters are computed without it)")
    shown = [(name, int(v)) for name, v in values if v]
    zeros = len(values) - len(shown)
    if not shown:
        raise CnnCostError(f"bars {metric}: every row has 0 {metric}")
    top = max(v for _, v in shown)
    total = sum(v for _, v in shown)
    label_w, bar_w, step, y0 = 70.0, 230.0, 18.0, 30.0
    body = [_text(10, 18, tr("{name}: {metric} per layer (total {total})", name=block_id, metric=tr(metric),
                             total=f"{total:,}"), weight="bold")]
    for i, (name, v) in enumerate(shown):
        y = y0 + i * step
        length = max(bar_w * v / top, 0.5)
        body += [_text(label_w, y + 12, name, "end"),
                 f'<rect x="{label_w + 6:g}" y="{y + 2:g}" width="{length:g}" height="{step - 5:g}"/>',
                 _text(label_w + 12 + length, y + 12, f"{v:,} ({100 * v / total:.1f}%)")]
    y = y0 + len(shown) * step
    if zeros:
        body.append(_text(label_w + 12, y + 12, tr(f"{{count}} layer{'s' if zeros != 1 else ''} with 0 {{metric}}",
                                                   count=zeros, metric=tr(metric)),
                          cls="cnn-figure-zeros"))
        y += step
    body.append(f'<path d="M{label_w + 6:g} {y0 - 2:g}V{y:g}" stroke="currentColor"/>')
    title = tr("{metric} per layer of {name}", metric=tr(metric), name=block_id)
    desc = "; ".join(f"{name} {v:,}" for name, v in shown) + (f"; {zeros} layers with 0" if zeros else "")
    return _svg(label_w + bar_w + 165, y + 8, title, desc, body, f"{block_id}-bars-{metric}")


def figure(result: Result, block_id: str, kind: str, args: list[str]) -> str:
    """The figure `kind` of a block's result: `conv <row>`, `groups <row>...`, `bars <metric>`."""
    if kind in ("conv", "groups") and not args and len(result.rows) == 1:  # a one-layer block: its row
        args = [result.rows[0].name]
    if kind == "conv" and len(args) == 1:
        return conv_figure(result, block_id, args[0])
    if kind == "groups":
        return groups_figure(result, block_id, args)
    if kind == "bars" and len(args) == 1:
        return bars_figure(result, block_id, args[0])
    raise CnnCostError("write `figure <block-id> conv <row>`, `figure <block-id> groups <row> [<row> ...]` "
                       "or `figure <block-id> bars params|flops|macs`")
