"""Colour contrast of the plugin's text colours, computed from cnn-cost.css itself.

Each check names a rule of the stylesheet (its exact selector) for the text colour and either a rule
for the background or the page's own background: white for Material's light palette and MkDocs'
theme, Material's `slate` background (hsl(225deg, 15%, 14%) in the installed Material) for the dark
one. WCAG AA asks for 4.5:1 for normal text; every pair here must reach it.
"""

from __future__ import annotations

import colorsys
import re
from pathlib import Path

import pytest

import cnn_cost

CSS = (Path(cnn_cost.__file__).parent / "assets" / "cnn-cost.css").read_text(encoding="utf-8")
WHITE = "#ffffff"
SLATE = "hsl(225, 15%, 14%)"  # Material's --md-default-bg-color in [data-md-color-scheme="slate"]
AA = 4.5
DARK = '[data-md-color-scheme="slate"] '

ERROR = ".cnn-cost .cnn-cost-error.cnn-cost-error"
XFAIL = ".cnn-cost .cnn-cost-xfail.cnn-cost-xfail"
INLINE = ".cnn-cost-ref.cnn-cost-inline-error"
VERIFIED = ".cnn-cost .cnn-cost-verified"
HELD = ".cnn-cost .cnn-cost-mark.cnn-cost-held"
WRONG = ".cnn-cost .cnn-cost-mark.cnn-cost-wrong"
CODE = "#f5f5f5"  # Material's --md-code-bg-color
SLATE_CODE = "hsl(225, 15%, 18%)"  # the same in [data-md-color-scheme="slate"] (hsla(var(--md-hue), 15%, 18%, 1))

# (what, text rule, its property, background rule or a colour)
CHECKS = [
    ("error box text, light", ERROR, "color", ERROR),
    ("error box title, light", ERROR + " > .admonition-title", "color", ERROR),
    ("error box text, dark", DARK + ERROR, "color", DARK + ERROR),
    ("error box title, dark", DARK + ERROR + " > .admonition-title", "color", DARK + ERROR),
    ("xfail box text, light", XFAIL, "color", XFAIL),
    ("xfail box title, light", XFAIL + " > .admonition-title", "color", XFAIL),
    ("xfail box text, dark", DARK + XFAIL, "color", DARK + XFAIL),
    ("xfail box title, dark", DARK + XFAIL + " > .admonition-title", "color", DARK + XFAIL),
    ("inline error, light", INLINE, "color", WHITE),
    ("inline error, dark", DARK + INLINE, "color", SLATE),
    ("verified line, light", VERIFIED, "color", WHITE),
    ("verified line, dark", DARK + VERIFIED, "color", SLATE),
    # the ✓ and ✗ beside each claim in the block's source: on Material's code background
    ("claim held mark, light", HELD, "color", CODE),
    ("claim held mark, dark", DARK + HELD, "color", SLATE_CODE),
    ("claim wrong mark, light", WRONG, "color", CODE),
    ("claim wrong mark, dark", DARK + WRONG, "color", SLATE_CODE),
]


def rules(css: str) -> dict[str, dict[str, str]]:
    """Selector -> its declarations, for every rule (inside @media too; later rules win)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out: dict[str, dict[str, str]] = {}
    for match in re.finditer(r"([^{}]+)\{([^{}]*)\}", css):
        decls = dict((k.strip(), v.strip()) for k, _, v in
                     (d.partition(":") for d in match.group(2).split(";") if ":" in d))
        for selector in match.group(1).split(","):
            out.setdefault(" ".join(selector.split()), {}).update(decls)
    return out


def rgb(colour: str) -> tuple[float, float, float]:
    colour = colour.strip()
    if m := re.fullmatch(r"#([0-9a-fA-F]{6})", colour):
        h = m.group(1)
        return tuple(int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]
    if m := re.fullmatch(r"hsl\((\d+),\s*(\d+)%,\s*(\d+)%\)", colour):
        h, s, lightness = (int(g) for g in m.groups())
        return colorsys.hls_to_rgb(h / 360, lightness / 100, s / 100)
    raise ValueError(f"not a colour this test reads: {colour!r}")


def luminance(colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_formula() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#c62828", SLATE) < AA  # the old inline error colour on the dark palette (issue 11)
    assert contrast("#767676", WHITE) == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize(("what", "text", "prop", "background"), CHECKS, ids=[c[0] for c in CHECKS])
def test_contrast(what: str, text: str, prop: str, background: str) -> None:
    sheet = rules(CSS)
    assert text in sheet and prop in sheet[text], f"{what}: no `{prop}` in a rule `{text}` of cnn-cost.css"
    fg = sheet[text][prop].split()[0]
    bg = background if background in (WHITE, SLATE, CODE, SLATE_CODE) else sheet[background]["background"]
    ratio = contrast(fg, bg)
    assert ratio >= AA, f"{what}: {fg} on {bg} is {ratio:.2f}:1, below {AA}:1"


def test_three_kinds_of_box_look_different() -> None:
    sheet = rules(CSS)
    error, xfail = sheet[ERROR], sheet[XFAIL]
    assert error["background"] != xfail["background"] and error["border-left"] != xfail["border-left"]
    assert "dashed" in xfail["border-left"] and "solid" in error["border-left"]
