"""LaTeX math to MathML at build time: the Python-Markdown extension `cnn_cost.mathml`.

Authors write TeX; readers get MathML that the browser typesets itself, so the site
needs no JavaScript for math. The conversion is done by the pure-Python `latex2mathml`.

* Inline math: `$...$` on one line or across a wrapped line. The opening `$` must be
  followed by a non-space, the closing `$` preceded by a non-space and not followed by a
  digit (the rules of Pandoc), so "costs $5 and $10" stays prose. `\\$` is a literal
  dollar sign. Code spans are never touched (the backtick pattern runs first).
* Display math: `$$...$$` on lines of its own, on one line or several (no blank line
  inside), at any indentation, so it works inside lists and admonitions. It becomes
  `<div class="mathml-display"><math display="block">...</math></div>`; the stylesheet
  `assets/mathml.css` centres it and lets it scroll sideways when too wide. Fenced code
  blocks are never touched (indented code blocks and blockquotes are not supported).

TeX that `latex2mathml` rejects, or that uses a command it does not know (which it would
otherwise pass through as raw text), does not stop the build: a warning quoting the TeX
goes to the `mkdocs.plugins.cnn_cost.mathml` logger (so `mkdocs build --strict` fails
on it) and the page shows the TeX as code.
"""

from __future__ import annotations

import html
import logging
import re
import xml.etree.ElementTree as etree

from latex2mathml.converter import convert
from markdown import Markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor

from cnn_cost.lines import Opening, closes, opening

__all__ = ["MathError", "MathMLExtension", "makeExtension", "tex_to_mathml"]

log = logging.getLogger("mkdocs.plugins.cnn_cost.mathml")

#: Class of the `<div>` around display math (styled by `assets/mathml.css`).
DISPLAY_CLASS = "mathml-display"
#: Class of the code element that shows TeX which could not be converted.
ERROR_CLASS = "mathml-error"

# An escaped backslash or dollar (skipped, left to the escape pattern), or inline math.
# A TeX "unit" is a backslash pair or one character other than `$` and backslash; the
# first and last units may not be spaces.
_TEX_UNIT = r"(?:\\.|[^\\$])"
_EDGE = r"(?:\\.|[^\\$\s])"
_INLINE_RE = rf"(?P<escape>\\[\\$])|(?<!\$)\$(?P<tex>{_EDGE}(?:{_TEX_UNIT}*?{_EDGE})?)\$(?![$\d])"
_DISPLAY_OPEN_RE = re.compile(r"^(?P<indent>[ \t]*)\$\$")
# Raw TeX that latex2mathml passed through unconverted, such as `<mi>\foo</mi>`.
_UNKNOWN_COMMAND_RE = re.compile(r">(\\[A-Za-z]+)")


class MathError(ValueError):
    """TeX that cannot be turned into MathML."""


def tex_to_mathml(tex: str, display: bool = False) -> str:
    """Convert TeX (without its dollar signs) to a `<math>` element.

    Raises `MathError` when `latex2mathml` fails or leaves a command unconverted.
    """
    try:
        mathml = convert(tex, display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises bare subclasses of Exception
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise MathError(detail) from exc
    unknown = _UNKNOWN_COMMAND_RE.search(mathml)
    if unknown:
        raise MathError(f"unknown command {unknown.group(1)}")
    return mathml


def _render(md: Markdown, tex: str, source: str, display: bool) -> str:
    """Stash the MathML for `tex` (or, on error, `source` as code); return the placeholder."""
    try:
        mathml = tex_to_mathml(tex, display)
    except MathError as exc:
        log.warning(
            'cnn_cost.mathml: cannot convert the TeX "%s" to MathML (%s); it is shown as code',
            " ".join(source.split()),
            exc,
        )
        code = f'<code class="{ERROR_CLASS}">{html.escape(source, quote=False)}</code>'
        return md.htmlStash.store(f"<pre>{code}</pre>" if display else code)
    if display:
        mathml = f'<div class="{DISPLAY_CLASS}">{mathml}</div>'
    return md.htmlStash.store(mathml)


class InlineMathProcessor(InlineProcessor):
    """`$...$` to inline MathML. Runs after code spans and before backslash escapes."""

    def handleMatch(
        self, m: re.Match[str], data: str
    ) -> tuple[str | etree.Element | None, int | None, int | None]:
        if m.group("escape"):
            return None, None, None  # leave `\$` and `\\` to the escape pattern
        return _render(self.md, m.group("tex"), m.group(0), display=False), m.start(0), m.end(0)


class DisplayMathPreprocessor(Preprocessor):
    """`$$...$$` on lines of their own to block MathML, stashed before block parsing.

    It runs after superfences has stashed the fences it recognises, and skips any fence
    still in the text (for example one nested where superfences leaves it for later).
    """

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        fence: Opening | None = None  # the fence that opened the code block we are in
        i = 0
        while i < len(lines):
            line = lines[i]
            if fence is not None:
                if closes(line, fence):
                    fence = None
                out.append(line)
                i += 1
                continue
            opened = opening(line)
            if opened:
                fence = opened
                out.append(line)
                i += 1
                continue
            start = _DISPLAY_OPEN_RE.match(line)
            end = self._closing_line(lines, i) if start else None
            if start is None or end is None:
                if start is not None:
                    log.warning(
                        'cnn_cost.mathml: display math "%s" has no closing $$ before the next '
                        "blank line; it is left as text",
                        line.strip(),
                    )
                out.append(line)
                i += 1
                continue
            source = "\n".join(text.strip() for text in lines[i : end + 1])
            placeholder = _render(self.md, source[2:-2].strip(), source, display=True)
            if out and out[-1].strip():
                out.append("")
            out.append(start.group("indent") + placeholder)
            if end + 1 < len(lines) and lines[end + 1].strip():
                out.append("")
            i = end + 1
        return out

    @staticmethod
    def _closing_line(lines: list[str], first: int) -> int | None:
        """Index of the line whose `$$` closes the display math opened at `lines[first]`."""
        rest = lines[first].strip()[2:]
        if len(rest) >= 2 and rest.endswith("$$") and not rest.endswith("\\$$"):
            return first  # `$$ ... $$` on one line
        for j in range(first + 1, len(lines)):
            text = lines[j].strip()
            if not text or opening(lines[j]):
                return None
            if text.endswith("$$") and not text.endswith("\\$$"):
                return j
        return None


class MathMLExtension(Extension):
    """Register the display-math preprocessor and the inline-math pattern."""

    def extendMarkdown(self, md: Markdown) -> None:
        if "$" not in md.ESCAPED_CHARS:
            md.ESCAPED_CHARS.append("$")  # `\$` is a literal dollar sign
        # After normalize_whitespace (30) and superfences' fenced_code_block (25),
        # before raw HTML blocks are stashed (20).
        md.preprocessors.register(DisplayMathPreprocessor(md), "mathml_display", 24)
        # After code spans (`backtick`, 190), before backslash escapes (`escape`, 180) so
        # that `\{` or `\\` inside math reach latex2mathml unchanged.
        md.inlinePatterns.register(InlineMathProcessor(_INLINE_RE, md), "mathml_inline", 185)
        md.registerExtension(self)


def makeExtension(**kwargs: object) -> MathMLExtension:
    """Entry point used by `markdown_extensions: [cnn_cost.mathml]`."""
    return MathMLExtension(**kwargs)
