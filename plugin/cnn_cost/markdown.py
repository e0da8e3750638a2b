"""The Python-Markdown side: fence and inline formatters, line tracking, and the per-site session.

Use it without MkDocs (Zensical, ProperDocs without the plugin, `python -m markdown`, a program) as::

    markdown_extensions:
      - cnn_cost

or `markdown.Markdown(extensions=["cnn_cost"])`: the extension registers its `cnn-cost` fence with
pymdownx.superfences and its `#!cnn` code with pymdownx.inlinehilite itself, loading them when the
host lists neither and joining the host's own (with its other custom fences) when it lists them,
before or after `cnn_cost`. Where a host's set-up leaves fences or code spans to another extension,
a warning (once) says so and how to fix it (`cnn_cost.hosts`).

Without the MkDocs plugin, a wrong number raises `CnnCostError` (a `SuperFencesException`),
which stops the conversion; under Zensical every problem of a page is logged first and the page
then fails (see `PageEnd`).
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

from markdown import Markdown
from markdown.extensions import Extension
from markdown.postprocessors import Postprocessor
from markdown.preprocessors import Preprocessor

from cnn_cost import calculator, hosts, i18n, render
from cnn_cost.block import Block, parse_block
from cnn_cost.cache import Cache
from cnn_cost.claims import (
    Claim,
    Unverifiable,
    check,
    format_int,
    format_shape,
    layer_names,
    metric_kind,
    parse_claim,
    path_problem,
    split_path,
)
from cnn_cost.errors import CnnCostError, OptionError, suggest
from cnn_cost.imports import refused
from cnn_cost.lines import LineMap, snippet_names
from cnn_cost.result import Result
from cnn_cost.session import MAX_PAGE_BYTES, PageState, Problem, Session
from cnn_cost.vocabulary import CONVENTIONS, EXTENSION_ON_ERROR, SHAPES

log = logging.getLogger("mkdocs.plugins.cnn_cost")

FENCE_NAME = "cnn-cost"
INLINE_NAME = "cnn"
UNSUPPORTED = "cnn_unsupported"  # fence-line options, reported at the block
MAX_INLINE = 500  # characters of one `#!cnn` expression


class SourcePreprocessor(Preprocessor):
    """Keep the text being converted as it was given (before whitespace is normalized or snippets are
    inserted): where the host names the page's file, lines are counted in the file when the text is its tail."""

    def run(self, lines: list[str]) -> list[str]:
        page_state(self.md).text = "\n".join(lines)
        return lines


class LinePreprocessor(Preprocessor):
    """Find where each `cnn-cost` fence and `#!cnn` reference is in the page's file; change nothing.

    It also joins the fence and inline formatters to the superfences and inlinehilite that run (a host may
    list them after `cnn_cost`), and asks the host which file it converts when no plugin said so."""

    def __init__(self, md: Markdown, extension: CnnCostExtension) -> None:
        super().__init__(md)
        self.extension = extension

    def run(self, lines: list[str]) -> list[str]:
        page = page_state(self.md)
        session = page.session
        page.problems_before = len(session.problems)
        source = session.current_source
        if session.current_path is None and page.path is None:
            source = self._host_page(page) or source
        if source is not None:
            page.lines = LineMap.of(source)
        else:
            page.lines = LineMap.of("\n".join(lines), page.offset)
            source = "\n".join(lines)
        page.snippets = self._snippets(source)
        problems = self.extension.join(self.md)
        if problems and (page.lines.fences or page.lines.inline):
            for problem in problems:
                hosts.warn_once(problem)
        return lines

    def _host_page(self, page: PageState) -> str | None:
        """The page's file as the host names it (Zensical, `convertFile`); returns its text when the
        converted text is that file's (less its front matter)."""
        found = hosts.host_page(self.md, self.extension.input_file)
        if found is None:
            return None
        session = page.session
        page.path = found.path
        if found.display_root is not None:
            session.display_root = found.display_root
        if found.language is not None and not self.extension.getConfig("locale"):  # Zensical's theme.language
            session.locale = i18n.resolve(found.language)
        if found.docs_dir is not None and not session.docs_dir:
            session.docs_dir = found.docs_dir
        if found.host == "zensical" and found.serving:
            session.on_error = "show"  # a page that raised would stop `zensical serve`
        elif found.host == "zensical" and session.on_error in ("raise", "fail"):
            # Zensical stops at the first page that raises and shows only that error: every problem is
            # logged as it is found (the page keeps its red boxes), and the page fails at its end
            session.on_error = "fail"
            page.raise_at_end = True
        text = page.text
        if found.source is not None and text and found.source.endswith(text):
            return found.source
        return None

    def _snippets(self, source: str) -> list[tuple[str, LineMap]]:
        """Line maps of the files the page includes with pymdownx.snippets (blocks in them are reported
        at their own file and line)."""
        names = snippet_names(source)
        if not names or "snippet" not in self.md.preprocessors:
            return []
        bases = getattr(self.md.preprocessors["snippet"], "base_path", None) or ["."]
        out = []
        for name in names:
            for base in bases:
                path = os.path.join(str(base), name)
                try:
                    if not os.path.isfile(path) or os.path.getsize(path) > MAX_PAGE_BYTES:
                        continue
                    with open(path, encoding="utf-8", errors="replace") as fh:
                        text = fh.read()
                except OSError:
                    continue
                out.append((os.path.relpath(path), LineMap.of(text)))
                break
        return out


def page_state(md: Markdown) -> PageState:
    state = getattr(md, "cnn_cost_page", None)
    if state is None:
        ext = getattr(md, "cnn_cost_session", None)
        session = ext if isinstance(ext, Session) else Session()
        state = PageState(session, session.current_path, session.current_offset)
        md.cnn_cost_page = state  # type: ignore[attr-defined]
    return state


class CnnCostExtension(Extension):
    """Registers the line tracker, the per-page state, and the fence and inline formatters with pymdownx."""

    def __init__(self, session: Session | None = None, **kwargs: Any) -> None:
        self.config = {
            "flops": ["2mac", "Default FLOPs convention: 2mac, mac or detailed"],
            "imports": [[], "Modules that blocks may import models from"],
            "on_error": ["raise", "raise, or warn (log and show in the page)"],
            "docs_dir": ["", "Directory of the Markdown sources, for references to other pages"],
            "cache_dir": ["", "Directory for the disk cache (empty: memory only)"],
            "shapes": ["formula", "Output shapes by the registry's formulas (formula) or meta kernels (torch)"],
            "locale": ["", "The words around the numbers: en or zh (zh-CN and the like are zh); empty: the "
                           "host's theme.language (Zensical), else en"],
        }
        if session is None:  # a command line run ends on an author's mistake without a traceback
            hosts.install_excepthook()
        super().__init__(**kwargs)
        if session is None:
            self._check_config()
            cache_dir = self.getConfig("cache_dir")
            session = Session(
                convention=self.getConfig("flops"),
                imports=tuple(self.getConfig("imports")),
                shapes=self.getConfig("shapes"),
                on_error=self.getConfig("on_error"),
                cache=Cache(cache_dir or None),
                docs_dir=self.getConfig("docs_dir") or None,
                site_path=str(Path.cwd()),
                locale=i18n.resolve(self.getConfig("locale")),
            )
        self.session = session
        self.input_file: str | None = None  # the path `convertFile` was given, while it converts

    def setConfig(self, key: str, value: Any) -> None:
        if key not in self.config:
            raise OptionError(f"cnn_cost: unknown option {key!r}{suggest(key, self.config)}; the options are "
                              f"{', '.join(self.config)}")
        super().setConfig(key, value)

    def _check_config(self) -> None:
        """Refuse settings the extension would otherwise ignore or misread, naming the setting."""
        choices = {"flops": CONVENTIONS, "on_error": EXTENSION_ON_ERROR, "shapes": SHAPES}
        for name, allowed in choices.items():
            if self.getConfig(name) not in allowed:
                raise OptionError(f"cnn_cost: {name}: {self.getConfig(name)!r} is not one of {', '.join(allowed)}")
        locale = self.getConfig("locale")
        if locale and not i18n.known(locale):
            raise OptionError(f"cnn_cost: locale: {locale!r:.40} is not one of {', '.join(i18n.LOCALES)}")
        imports = self.getConfig("imports")
        if not isinstance(imports, (list, tuple)) or not all(isinstance(i, str) for i in imports):
            raise OptionError(f"cnn_cost: imports: a list of module names, not {imports!r:.60}")
        for name in imports:
            reason = refused(name)
            if reason:
                raise OptionError(f"cnn_cost: imports: {reason}")

    def extendMarkdown(self, md: Markdown) -> None:
        md.cnn_cost_session = self.session  # type: ignore[attr-defined]
        md.cnn_cost_page = PageState(self.session, self.session.current_path, self.session.current_offset)  # type: ignore[attr-defined]
        self.md = md  # for reset(): a reused Markdown instance starts each document with a fresh page
        md.registerExtension(self)
        md.preprocessors.register(SourcePreprocessor(md), "cnn_cost_source", 35)  # before snippets (32)
        md.preprocessors.register(LinePreprocessor(md, self), "cnn_cost_lines", 29)  # before superfences (25)
        md.postprocessors.register(PageEnd(md), "cnn_cost_page_end", 0)
        hosts.register(md)
        self.join(md)
        hosts.track_input_file(md, self._record_input)

    def _record_input(self, path: str | None) -> None:
        self.input_file = path

    def join(self, md: Markdown) -> list[str]:
        """Join the formatters to the superfences and inlinehilite of `md`; what could not be joined."""
        fences = hosts.join_fences(md, FENCE_NAME, superfences_format, superfences_validate,
                                   (superfences_format, fence_format))
        inline = hosts.join_inline(md, INLINE_NAME, inlinehilite_format, (inlinehilite_format, inline_format))
        return [] if fences and inline else hosts.join_problems(md)

    def reset(self) -> None:
        md = getattr(self, "md", None)
        if md is not None:
            md.cnn_cost_page = PageState(self.session, self.session.current_path, self.session.current_offset)


def formatter_config() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The pymdownx settings that register the `cnn-cost` fence and the `#!cnn` inline code: the one
    definition used by the MkDocs plugin, the command line and the tests. The extension joins its
    formatters by itself (`CnnCostExtension.join`); a host that lists these settings as well still works."""
    return {
        "pymdownx.superfences": {"custom_fences": [
            {"name": FENCE_NAME, "class": FENCE_NAME, "format": fence_format, "validator": fence_validator}]},
        "pymdownx.inlinehilite": {"custom_inline": [
            {"name": INLINE_NAME, "class": FENCE_NAME, "format": inline_format}]},
    }


def makeExtension(**kwargs: Any) -> CnnCostExtension:
    return CnnCostExtension(**kwargs)


class PageEnd(Postprocessor):
    """Under Zensical: after the page is rendered (every problem logged), fail it if it had any."""

    def run(self, text: str) -> str:
        page = page_state(self.md)
        if not page.raise_at_end:
            return text
        problems = page.session.problems[page.problems_before:]
        if not problems:
            return text
        hosts.count_logged(len(problems))
        hosts.install_excepthook()
        raise CnnCostError.of([CnnCostError(str(p), p.line, p.column) for p in problems])


# ----------------------------------------------- pymdownx's calling conventions ----


def superfences_format(src: str = "", language: str = "", options: dict[str, str] | None = None,
                       md: Markdown | None = None, **kwargs: Any) -> str:
    """`fence_format` as superfences calls a formatter it was given by `extend_super_fences`."""
    assert md is not None
    return fence_format(src, language, FENCE_NAME, options if options is not None else {}, md, **kwargs)


def superfences_validate(language: str, inputs: dict[str, str], options: dict[str, str], attrs: dict[str, str],
                         md: Markdown) -> bool:
    return fence_validator(language, inputs, options, attrs, md)


def inlinehilite_format(src: str = "", language: str = "", md: Markdown | None = None) -> str:
    """`inline_format` as inlinehilite calls a formatter it was given by `extend_custom_inline`."""
    assert md is not None
    return inline_format(src, language, FENCE_NAME, md)


# ------------------------------------------------------------- fences ----


def fence_validator(language: str, inputs: dict[str, str], options: dict[str, str], attrs: dict[str, str],
                    md: Markdown) -> bool:
    """Every `cnn-cost` fence is a block: options on the fence line are reported at the block, never
    a reason to leave it unchecked (pymdownx would show a fence it does not accept as plain text)."""
    if inputs:
        options[UNSUPPORTED] = ", ".join(sorted(inputs))[:200]
    return True


def fence_format(src: str, language: str, class_name: str, options: dict[str, str], md: Markdown,
                 **kwargs: Any) -> str:
    """The superfences formatter for `cnn-cost` blocks.

    pymdownx swallows any exception that is not its own and shows the block as plain code:
    an unexpected error is therefore reported as a problem here, never let through.
    """
    page = page_state(md)
    located = page.fence_line(src)
    try:
        with i18n.using(i18n.resolve(page.session.locale)):
            return _fence_format(src, options, page, located)
    except CnnCostError:
        raise
    except Exception as exc:  # an internal error must not hide a block silently
        line = located
        message = f"cnn-cost block: internal error ({type(exc).__name__}: {exc}); please report it"
        page.session.report(page, line, None, message)
        return render.block_html(src, block_id=None, title=None, result=None, problems=[message])
    finally:
        page.block_file = None


_ID_LINE = re.compile(r"^id:[ \t]*[\"']?([\w.-]{1,100})", re.MULTILINE)


def _loose_id(src: str) -> str | None:
    """The `id:` of a block that could not be parsed, read from its text as well as can be."""
    m = _ID_LINE.search(src)
    return m.group(1) if m else None


def _fence_format(src: str, options: dict[str, str], page: PageState, located: int | None) -> str:
    session = page.session
    session.blocks_seen += 1
    first_line = located if located is not None else 1
    if options.get(UNSUPPORTED):
        unsupported = (f"options on the fence line are not supported ({options[UNSUPPORTED]}): write `title:` "
                       "and the other settings inside the block")
        session.report(page, None if located is None else located - 1, None, f"cnn-cost block: {unsupported}")
        return render.block_html(src, block_id=None, title=None, result=None, problems=[unsupported])
    view_key = session.view_key(src)
    view = session.cache.get_view(view_key)
    if view is not None and not (view[0] and page.has(view[0])):
        # rendered before without problems: same text, same options, same HTML (no parsing, no torch)
        if view[0]:
            page.pending[view[0]] = (session.cache.view_results[view_key], src)
        session.views_reused += 1
        return view[1]
    block: Block | None = None
    try:
        block = parse_block(src, first_line, session.imports)
        if block.id and page.has(block.id):
            raise CnnCostError(f"duplicate block id {block.id!r} on this page", first_line)
        result = session.compute(block)
    except CnnCostError as exc:  # every problem it carries is listed: the log, and the box at the block
        failed_id = block.id if block is not None else _loose_id(src)
        if failed_id:  # a `#!cnn` reference to it says the block has a problem
            page.failed.add(failed_id)
        errors = [exc]
        if block is not None:  # claims whose path names nothing are problems too, evaluated or not
            errors += [CnnCostError(path_problem(claim.path, ()) or claim.problem, claim.line)
                       for claim in block.expect if claim.kind == "unknown"]
        if block is not None:
            label = block.label
        else:  # the id read from the text, so that every line names the block
            label = f"cnn-cost block '{failed_id}'" if failed_id else "cnn-cost block"
        reported = session.report_all(page, errors, label)
        return render.block_html(src, block_id=block.id if block else failed_id, title=block.title if block else None,
                                 result=None, problems=[str(p) for p in reported])
    if block.id:
        page.results[block.id] = result
    checked = check(block.expect, result)
    # every failing claim, in claim order: a claim that cannot be checked is a problem, xfail or not; a wrong
    # number is one unless the block is an xfail demonstration
    errors = [CnnCostError(failure.message, failure.claim.line) for failure in checked.failures
              if isinstance(failure, Unverifiable) or not block.xfail]
    demonstrations = [failure.message for failure in checked.wrong] if block.xfail else []
    if block.xfail and not checked.failures:
        errors.append(CnnCostError("xfail: true, but every claim holds: correct the block or remove `xfail`",
                                   block.line))
    problems = [str(p) for p in session.report_all(page, errors, block.label)]
    held = checked.held
    # each claim marked on its own line of the source: ✓ held, ✗ does not (a wrong number, on purpose or not)
    marks = {claim.line - first_line: "held" for claim in held if claim.line is not None}
    marks.update({failure.claim.line - first_line: "wrong" for failure in checked.failures
                  if failure.claim.line is not None})
    html = render.block_html(src, block_id=block.id, title=block.title, result=result, columns=block.columns,
                             search_tables=session.search_tables,
                             claims=held if not block.xfail else (), problems=problems,
                             demonstrations=demonstrations, marks=marks)
    if not problems and session.modules_unchanged(src):  # not if an imported module changed meanwhile
        session.cache.put_view(session.view_key(src), block.id, html, session.result_key(block.source))
    return html


# -------------------------------------------------------------- inline ----


def _lookup(page: PageState, ref: str) -> tuple[Result, str]:
    """`id.path` or `page.md#id.path` -> (result, path)."""
    page_path = None
    if "#" in ref:
        page_path, ref = ref.split("#", 1)
    block_id, dot, path = ref.partition(".")
    if not dot or not block_id or not path:
        raise CnnCostError(f"`{ref}`: write a block id and a path, e.g. `cifar-net.params`")
    if page_path:
        if page.path is not None:  # `mkdocs serve --dirty` rebuilds this page when that one changes
            page.session.references.setdefault(page.path, set()).add(posixpath.normpath(page_path))
        results = page.session.other_page(page_path)
        where = f"page {page_path!r}"
    else:
        page.result(block_id)
        results = page.results
        where = "this page"
    if block_id not in results:
        if block_id in page.failed and not page_path:
            raise CnnCostError(f"block {block_id!r} has a problem (reported at the block)")
        known = ", ".join(sorted(set(results) | set(page.pending))) or "none"
        raise CnnCostError(f"no block with id {block_id!r} on {where} (ids: {known})")
    return results[block_id], path


def _value(result: Result, path: str) -> int | tuple[int, ...]:
    """The value a reference's path names, or an error that says (with "did you mean") why it names none."""
    problem = path_problem(path, layer_names(result))
    if problem is not None:
        raise CnnCostError(problem)
    return result.value(path)


def _format_value(value: int | tuple[int, ...], path: str) -> str:
    _, metric = split_path(path)
    if metric == "output":
        return format_shape(value)  # type: ignore[arg-type]
    if metric_kind(metric) == "memory":  # memory, activations, the counters' sizes: bytes
        return f"{format_int(value)} B"  # type: ignore[arg-type]
    return format_int(value)  # type: ignore[arg-type]


def _split_ratio(expr: str) -> tuple[str, str] | None:
    """`a.params / b.params` -> (a, b): the first slash with whitespace on both sides (page paths have
    slashes without). A scan, not a regex: linear in the length of the text."""
    at = expr.find("/")
    while at >= 0:
        if 0 < at < len(expr) - 1 and expr[at - 1].isspace() and expr[at + 1].isspace():
            return expr[:at].strip(), expr[at + 1 :].strip()
        at = expr.find("/", at + 1)
    return None


def registry_listing() -> str:
    """`activation: ELU, GELU, ...; conv: Conv1d, ...`: every registry layer type, grouped by family."""
    from cnn_cost.counters import family
    from cnn_cost.layers import REGISTRY

    groups: dict[str, list[str]] = {}
    for name, spec in REGISTRY.items():
        if spec.cost is not None:
            groups.setdefault(family(name) or "other", []).append(name)
    return "; ".join(f"{group}: {', '.join(sorted(names))}" for group, names in sorted(groups.items()))


def not_layers_listing() -> str:
    """`CrossEntropyLoss, MSELoss, ... (a loss: ...); LazyLinear, ... (...)`: every torch.nn module class that
    is not a layer, grouped by the reason."""
    from cnn_cost.layers import NOT_LAYERS

    groups: dict[str, list[str]] = {}
    for name, reason in NOT_LAYERS.items():
        groups.setdefault(reason, []).append(name)
    return "; ".join(f"{', '.join(sorted(names))} ({reason})" for reason, names in groups.items())


def inline_value(page: PageState, expr: str) -> tuple[str, str]:
    """Evaluate an inline expression; returns (text shown, tooltip). Raises CnnCostError."""
    if expr.strip() == "layers":  # the registry's layer types, by family: generated, so the docs cannot drift
        return registry_listing(), "every layer type the registry has a formula for, computed at build time"
    if expr.strip() == "not-layers":  # the torch.nn module classes that are not layers, with the reasons
        return not_layers_listing(), "every torch.nn module class a block cannot count, and why, computed at build time"
    if expr.split()[:1] == ["calculator"]:  # a valid one is a placeholder element (inline_format)
        raise CnnCostError(f"`calculator` takes one of {', '.join(calculator.LAYERS)}, got {expr.strip()!r}")
    if len(expr) > MAX_INLINE:
        raise CnnCostError(f"a `#!cnn` expression of {len(expr):,} characters; the limit is {MAX_INLINE}")
    expr, eq, claimed = expr.partition("=")
    expr, claimed = expr.strip(), claimed.strip()
    ratio = _split_ratio(expr)
    if ratio is not None:
        left, right = ratio
        ra, pa = _lookup(page, left.strip())
        rb, pb = _lookup(page, right.strip())
        a, b = _value(ra, pa), _value(rb, pb)
        if not isinstance(a, int) or not isinstance(b, int) or b == 0:
            raise CnnCostError(f"`{expr}`: a ratio needs two non-zero counts")
        value: Fraction | int | tuple[int, ...] = Fraction(a, b)
        shown = i18n._("{ratio}×", ratio=f"{float(Fraction(a, b)):.2f}")  # zh: "2.00 倍"
        tooltip = f"{format_int(a)} / {format_int(b)}" + i18n._(", computed at build time")
        claim: Claim | None = parse_claim(expr, claimed, kind="ratio") if eq else None
        if claim is not None:
            shown = i18n._("{ratio}×", ratio=claim.raw)
    else:
        result, path = _lookup(page, expr)
        value = _value(result, path)
        shown = _format_value(value, path)
        tooltip = shown + i18n._(", computed at build time") + f" ({expr})"
        claim = parse_claim(path, claimed) if eq else None
        if claim is not None:
            shown = claim.raw
    if claim is not None:
        message = claim.mismatch(value)  # type: ignore[arg-type]
        if message is not None:
            raise CnnCostError(message.replace(claim.path, expr, 1))
        tooltip = "verified: " + tooltip
    return shown, tooltip


def figure_html(page: PageState, words: list[str]) -> str:
    """`#!cnn figure <block-id> <kind> <args>`: the block (on this page) drawn as an inline SVG."""
    from cnn_cost import figures

    if len(words) < 2 or "#" in words[0] or words[1] not in figures.KINDS:
        raise CnnCostError(f"write `figure <block-id> {'|'.join(figures.KINDS)} ...` (a block on this page)")
    result, _ = _lookup(page, f"{words[0]}.params")
    return figures.figure(result, words[0], words[1], words[2:])


def inline_format(src: str, language: str, class_name: str, md: Markdown) -> str:
    """The inlinehilite formatter for `#!cnn ...`."""
    page = page_state(md)
    with i18n.using(i18n.resolve(page.session.locale)):
        return _inline_format(src, page)


def _inline_format(src: str, page: PageState) -> str:
    line = page.reference_line(src)
    words = src.split()
    if len(words) == 2 and words[0] == "calculator" and words[1] in calculator.LAYERS:
        return calculator.placeholder(words[1])  # filled in the browser by the calculator's script
    try:
        if words[:1] == ["figure"]:  # an SVG drawn from a block's result: `figure <block-id> conv <row>`, ...
            return figure_html(page, words[1:])
        shown, tooltip = inline_value(page, src.strip())
    except Exception as exc:  # pymdownx would swallow anything else and print the raw code
        message = exc.message if isinstance(exc, CnnCostError) else f"internal error ({type(exc).__name__}: {exc})"
        page.session.report(page, line, None, f"`#!cnn {src.strip()}`: {message}")
        return render.inline_html(f"⚠ {message}", f"#!cnn {src.strip()}", ok=False)
    return render.inline_html(shown, tooltip)


__all__ = ["CnnCostExtension", "Problem", "Session", "fence_format", "fence_validator", "formatter_config",
           "inline_format",
           "makeExtension"]
