"""Results -> HTML: the highlighted block, the per-layer table, the verified claims, problems.

Search indexers (Material's and MkDocs' own search plugins) keep the text of the page and drop
most tags: cells, rows and block parts are therefore separated by whitespace, or their text
would run together into one word ("896884,7361,769,472"). See `search_numbers` for the
digit-only forms, and `search_tables=False` for leaving tables out of the index.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import YamlLexer

from cnn_cost.block import DEFAULT_COLUMNS, DTYPES
from cnn_cost.claims import Claim, format_int, format_shape
from cnn_cost.counters import column as counter_column
from cnn_cost.counters import is_column, printed
from cnn_cost.i18n import _, problem
from cnn_cost.result import Result, Row

HEADERS = {
    "layer": "Layer", "type": "Type", "output": "Output shape", "params": "Params", "macs": "MACs",
    "flops": "FLOPs", "formula": "Formula", "params_share": "Share of params", "flops_share": "Share of FLOPs",
}
NUMERIC = {"params", "macs", "flops", "params_share", "flops_share"}
CONVENTION_TEXT = {
    "2mac": "FLOPs = 2 × MACs",
    "mac": "FLOPs = MACs",
    "detailed": "FLOPs = 2 × MACs + bias, normalisation, pooling and activation operations",
}
_FORMATTER = HtmlFormatter(cssclass="highlight", wrapcode=True)
_LEXER = YamlLexer()
# Material's search skips an element with this attribute (and strips the attribute from the page
# after indexing, which needs a non-empty value); MkDocs' built-in search ignores it.
SEARCH_EXCLUDE = ' data-search-exclude="true"'
_GROUPED = re.compile(r"(?<![\d,.])\d{1,3}(?:,\d{3})+(?![\d,]|\.\d)")
_TAG = re.compile(r"<[^>]*>")


_WHITESPACE_SPAN = re.compile(r'<span class="w">([ \t]*)</span>')


MARKS = {"held": ("✓", "verified at build time"), "wrong": ("✗", "does not hold")}


def code(source: str, marks: Mapping[int, str] | None = None) -> str:
    """The block's own text, highlighted as YAML, in Material's code-block markup (whitespace tokens
    without a span of their own: no theme styles them, and every tag is work for the search index).

    `marks` puts a ✓ (held) or ✗ (wrong) at the end of lines of the source (0-based): the claims under
    `expect:`, each marked where it is written. Pygments keeps the source's newlines and never puts one
    inside a tag, so the mark goes before the line's newline."""
    html = _WHITESPACE_SPAN.sub(r"\1", highlight(source, _LEXER, _FORMATTER))
    if not marks:
        return html
    start = html.index("<code>") + len("<code>")
    end = html.rindex("</code>")
    lines = html[start:end].split("\n")
    for index, kind in marks.items():
        if 0 <= index < len(lines) and kind in MARKS:
            sign, words = MARKS[kind]
            # drawn by the stylesheet (`content: attr(data-mark)`): a copied block is YAML without a ✓ in it
            lines[index] += (f'<span class="cnn-cost-mark cnn-cost-{kind}" data-mark="{sign}" role="img" '
                             f'title="{escape(_(words))}" aria-label="{escape(_(words))}"></span>')
    return html[:start] + "\n".join(lines) + html[end:]


def number(value: int | None) -> str:
    return "–" if value is None else format_int(value)


def human_bytes(n: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"


def share_text(part: int | None, total: int | None) -> str:
    """`12.3%` of the total, or `–` when there is nothing to share."""
    return "–" if part is None or not total else f"{100 * (part / total):.1f}%"


def share_bar(part: int | None, total: int | None) -> str:
    """A static SVG bar with the percentage: a chart that needs no JavaScript."""
    if part is None or not total:
        return "–"
    width = round(100 * (part / total), 1)
    label = share_text(part, total)
    return (
        f'<svg class="cnn-cost-bar" viewBox="0 0 100 10" width="60" height="8" preserveAspectRatio="none" role="img" '
        f'aria-label="{label}"><rect class="cnn-cost-bar-bg" width="100" height="10"/>'
        f'<rect class="cnn-cost-bar-fg" width="{width}" height="10"/></svg> {label}'
    )


def columns_of(result: Result, columns: Sequence[str] = DEFAULT_COLUMNS) -> list[str]:
    """The table's columns: the block's, then one `as:<library>` column per counting library of `as:`."""
    return [*columns, *(f"as:{metric}" for metric, _ in result.counters if is_column(metric))]


def cell_text(column: str, row: Row, result: Result) -> str:
    """One cell of the per-layer table as plain text (a formula: its lines joined by newlines)."""
    if column.startswith("as:"):
        return number(dict(row.counters).get(column[3:]))
    if column == "layer":
        return row.name
    if column == "type":
        return row.type + {"measured": " †", "shared": " ‡"}.get(row.note, "")
    if column == "output":
        return "–" if row.output is None else format_shape(row.output)
    if column in ("params", "macs", "flops"):
        return number(getattr(row, column))
    if column in ("params_share", "flops_share"):
        metric = column.removesuffix("_share")
        return share_text(getattr(row, metric), getattr(result, metric))
    if column == "formula":
        return "\n".join(row.formula)
    return ""  # pragma: no cover


def total_text(column: str, result: Result) -> str:
    """One cell of the table's totals row as plain text."""
    if column.startswith("as:"):
        return number(dict(result.counters).get(column[3:]))
    if column == "layer":
        return _("Total")
    if column == "output":
        return "–" if result.output is None else format_shape(result.output)
    if column in ("params", "macs", "flops"):
        return number(getattr(result, column))
    if column in ("params_share", "flops_share"):
        return "100%" if getattr(result, column.removesuffix("_share")) else "–"
    return ""


def _cell(column: str, row: Row, result: Result) -> str:
    if column == "layer":
        return f"<code>{escape(row.name)}</code>"
    if column in ("params_share", "flops_share"):
        metric = column.removesuffix("_share")
        return share_bar(getattr(row, metric), getattr(result, metric))
    if column == "formula":
        return "\n".join(f'<span class="cnn-cost-formula">{escape(line)}</span>' for line in row.formula)
    return escape(cell_text(column, row, result))


def _total(column: str, result: Result) -> str:
    text = escape(total_text(column, result))
    return f"<strong>{text}</strong>" if column in ("layer", "params", "macs", "flops") or column[:3] == "as:" else text


def table(result: Result, columns: Sequence[str] = DEFAULT_COLUMNS, *, search_tables: bool = True) -> str:
    """The per-layer table with a totals row.

    Cells and rows are separated by newlines (not shown) so that search indexes see one word
    per cell; `search_tables=False` marks the table and its notes `data-search-exclude`.
    """

    columns = columns_of(result, columns)

    def header(column: str) -> str:
        if column.startswith("as:"):
            name, unit, call = counter_column(column[3:])  # `thop 0.1.1`: the version the rules follow
            return f'<span title="{escape(call)}">{escape(name)}<br>\n({escape(unit)})</span>'
        return _(HEADERS[column])

    def attrs(column: str) -> str:
        if column in NUMERIC or column.startswith("as:"):
            return ' class="cnn-cost-num"'
        return {"output": ' class="cnn-cost-shape"', "formula": ' class="cnn-cost-formula-cell"',
                "type": ' class="cnn-cost-type"'}.get(column, "")

    def label(column: str) -> str:  # the header as plain text: the compact (phone) layout shows it before each cell
        text = counter_column(column[3:])[0] if column.startswith("as:") else _(HEADERS[column])
        return f' data-label="{escape(text)}"'

    head = "\n".join(f"<th{attrs(c)}>{header(c)}</th>" for c in columns)
    body = "".join(
        "<tr>\n" + "\n".join(f"<td{attrs(c)}{label(c)}>{_cell(c, row, result)}</td>" for c in columns) + "\n</tr>\n"
        for row in result.rows
    )
    foot = "<tr class=\"cnn-cost-total\">\n" + "\n".join(
        f"<td{attrs(c)}{label(c)}>{_total(c, result)}</td>" for c in columns
    ) + "\n</tr>\n"
    notes = []
    if any(r.note == "measured" for r in result.rows):
        notes.append(_("† not in the registry: parameters by <code>numel()</code>, FLOPs measured by "
                       "<code>torch.utils.flop_counter</code>"))
    if result.counters:
        notes.append(_("The library columns show what each counting library reports for the same model, "
                       "from per-layer rules checked against the libraries (see the reference page)."))
        notes.extend(escape(line) for line in printed(result.counters))  # torchsummary's sizes, torchstat's totals
    if any(r.note == "shared" for r in result.rows):
        notes.append(_("‡ the same module called again: its parameters are counted once"))
    exclude = "" if search_tables else SEARCH_EXCLUDE
    note_html = "".join(f'\n<p class="cnn-cost-note"{exclude}>{n}</p>' for n in notes)
    note_html += ledger_html(result, exclude)  # an imported model's operations; nothing for other blocks
    return (
        f"<table{exclude}>\n<thead>\n<tr>\n{head}\n</tr>\n</thead>\n<tbody>\n{body}{foot}</tbody>\n</table>"
        f"{note_html}"
    )


def ledger_html(result: Result, exclude: str = "") -> str:
    """Under the table of an imported model (a forward pass counted it): the modules it never called, and
    every operation it ran with its count and status, collapsed. Empty for every other block."""
    ledger = result.ledger
    if ledger is None:
        return ""
    never = "".join(
        f'\n<p class="cnn-cost-note"{exclude}>'
        + _("never called: <code>{name}</code> ({count} parameters: in the total, on no row)",
            name=escape(name), count=format_int(count)) + "</p>" for name, count in ledger.never_called)
    body = "".join(
        "<tr>\n"
        f"<td data-label=\"{_('Operation')}\"><code>{escape(line.op)}</code></td>\n"
        f"<td class=\"cnn-cost-num\" data-label=\"{_('Calls')}\">{format_int(line.calls)}</td>\n"
        f"<td class=\"cnn-cost-num\" data-label=\"FLOPs\">"
        f"{format_int(line.flops) if line.status in ('counted', 'rule') else '–'}</td>\n"
        f"<td data-label=\"{_('Status')}\">{escape(line.words)}"
        + (f" (in {escape(', '.join(line.where))})" if line.where else "") + "</td>\n</tr>\n"
        for line in ledger.lines)
    calls = sum(line.calls for line in ledger.lines)
    uncounted = sum(line.status == "uncounted" for line in ledger.lines)
    summary = _("Operations of the forward pass: {kinds} kinds, {calls} calls; torch.utils.flop_counter counts "
                "{flops} FLOPs", kinds=format_int(len(ledger.lines)), calls=format_int(calls),
                flops=format_int(ledger.torch_flops))
    if uncounted:
        summary += _("; {count} not counted (<code>uncounted: ok</code>)", count=uncounted)
    head = (f'<th>{_("Operation")}</th>\n<th class="cnn-cost-num">{_("Calls")}</th>\n'
            f'<th class="cnn-cost-num">FLOPs</th>\n<th>{_("Status")}</th>')
    return (
        f'{never}\n<details class="cnn-cost-ledger"{exclude}>\n<summary>{summary}</summary>\n'
        f"<table>\n<thead>\n<tr>\n{head}\n</tr>\n</thead>\n<tbody>\n{body}</tbody>\n</table>\n</details>"
    )


def search_numbers(*html: str) -> str:
    """The numbers grouped with commas in `html` ("1,792"), once each, without their commas.

    A reader may search for 1792 as well as for 1,792, and to every search tokenizer we know
    (separators of whitespace and hyphens by default) those are different words. The result
    goes into a `hidden` element: indexed, but neither shown, read aloud nor copied.
    """
    seen: dict[str, None] = {}
    for part in html:
        for match in _GROUPED.finditer(_TAG.sub(" ", part)):
            seen.setdefault(match.group(0).replace(",", ""), None)
    if not seen:
        return ""
    return f'<div class="cnn-cost-search" hidden>{" ".join(seen)}</div>'


def summary(result: Result) -> str:
    """One line of totals: parameters, buffers, memory, MACs, FLOPs."""
    parts = [f"{_('Parameters')} <strong>{format_int(result.params)}</strong>"]
    if result.trainable != result.params:
        parts.append(f"{_('trainable')} {format_int(result.trainable)}")
    parts.append(f"{_('buffers')} {format_int(result.buffers)}")
    parts.append(_("memory {bytes} B ({human}) at {dtype}, {size} B per parameter", bytes=format_int(result.memory),
                   human=human_bytes(result.memory), dtype=result.dtype, size=DTYPES[result.dtype]))
    if result.macs is not None:
        parts.append(f"MACs {format_int(result.macs)}")
        parts.append(f"FLOPs {format_int(result.flops or 0)} ({_(CONVENTION_TEXT[result.convention])})")
    else:
        parts.append(_("no <code>input</code>: MACs and FLOPs not computed"))
    return '<p class="cnn-cost-summary">' + " · ".join(parts) + "</p>"


def verified(claims: Sequence[Claim]) -> str:
    if not claims:
        return ""
    items = " · ".join(f"<code>{escape(c.path)}</code> = {escape(c.raw)}" for c in claims)
    return f'<p class="cnn-cost-verified">{_("✓ Verified at build time:")} {items}</p>'


def admonition(kind: str, title: str, lines: Sequence[str], extra: str = "") -> str:
    """A box in Material's admonition markup; `extra` is the plugin's own class and ARIA attributes,
    which style it with any theme (cnn-cost.css) and tell a build error from a deliberate mistake."""
    body = "".join(f"<p>{escape(problem(line))}</p>" for line in lines)
    return f'<div class="admonition {kind}{extra}"><p class="admonition-title">{escape(title)}</p>{body}</div>'


def error_box() -> str:
    return f' cnn-cost-error" role="alert" aria-label="{escape(_("Build error"))}'


def xfail_box() -> str:
    return f' cnn-cost-xfail" role="note" aria-label="{escape(_("A deliberate mistake"))}'


def source_html(source: str, *, open_: bool = False, claims: int = 0, marks: Mapping[int, str] | None = None) -> str:
    """The block's YAML, collapsed under a one-line summary (open when the block has a problem: the reader
    then needs its lines)."""
    lines = len(source.rstrip("\n").splitlines())
    template = f"Block source ({{lines}} line{'s' if lines != 1 else ''}"
    if claims:  # the claims under `expect:` that held: the ✓ line under the table lists them
        template += f"; {{claims}} claim{'s' if claims != 1 else ''} ✓ verified"
    label = _(template + ")", lines=lines, claims=claims)
    return (f'<details class="cnn-cost-source"{" open" if open_ else ""}>\n<summary>{label}</summary>\n'
            f"{code(source, marks)}</details>")


def block_html(
    source: str,
    *,
    block_id: str | None,
    title: str | None,
    result: Result | None,
    columns: Sequence[str] = DEFAULT_COLUMNS,
    claims: Sequence[Claim] = (),
    problems: Sequence[str] = (),
    demonstrations: Sequence[str] = (),
    search_tables: bool = True,
    marks: Mapping[int, str] | None = None,
) -> str:
    """The whole block: title, code (its claims marked ✓ or ✗, `marks`), problems, table, summary, verified
    claims.

    `search_tables=False` leaves the table out of search indexes that honour
    `data-search-exclude` (Material's); the title, code, summary and claims stay searchable.
    """
    anchor = f' id="cnn-cost-{escape(block_id)}"' if block_id else ""
    parts = [f'<div class="cnn-cost"{anchor}>']
    if title:
        parts.append(f'<p class="cnn-cost-title">{escape(title)}</p>')
    parts.append(source_html(source, open_=bool(problems), claims=len(claims) if result is not None else 0,
                             marks=marks))
    if problems:  # one box for the block, every problem a line of its own: `path:line[:col]: block: message`
        title = (_("cnn-cost: this block has a problem") if len(problems) == 1
                 else _("cnn-cost: this block has {count} problems", count=len(problems)))
        parts.append(admonition("failure", title, problems, error_box()))
    if demonstrations:
        one = len(demonstrations) == 1
        parts.append(admonition(
            "warning", _(f"A wrong number, on purpose: this block's claim{'' if one else 's'} (in its source, "
                         f"under expect:) {'does' if one else 'do'} not hold"), demonstrations, xfail_box(),
        ))
    if result is not None:
        table_html, summary_html = table(result, columns, search_tables=search_tables), summary(result)
        parts += [table_html, summary_html, verified(claims)]
        if search_tables:
            parts.append(search_numbers(table_html, summary_html))
    parts.append("</div>")
    return "\n".join(part for part in parts if part)


def inline_html(text: str, tooltip: str, ok: bool = True) -> str:
    cls = "cnn-cost-ref" if ok else "cnn-cost-ref cnn-cost-inline-error"
    return f'<span class="{cls}" title="{escape(tooltip)}">{escape(text)}</span>'
