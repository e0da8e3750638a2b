"""The Python-Markdown side: fence and inline formatters, line tracking, and the per-site session.

Use it without MkDocs (for example under Zensical) as::

    markdown_extensions:
      - cnn_cost
      - pymdownx.superfences:
          custom_fences:
            - {name: cnn-cost, class: cnn-cost, format: !!python/name:cnn_cost.markdown.fence_format,
               validator: !!python/name:cnn_cost.markdown.fence_validator}
      - pymdownx.inlinehilite:
          custom_inline:
            - {name: cnn, class: cnn-cost, format: !!python/name:cnn_cost.markdown.inline_format}

Without the MkDocs plugin, a wrong number raises `CnnCostError` (a `SuperFencesException`),
which stops the conversion.
"""

from __future__ import annotations

import logging
import posixpath
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

from cnn_cost import render
from cnn_cost.block import Block, parse_block
from cnn_cost.cache import Cache, key
from cnn_cost.claims import Claim, format_int, format_shape, parse_claim, split_path
from cnn_cost.errors import CnnCostError
from cnn_cost.evaluate import Result, evaluate, torch_imported
from cnn_cost.imports import ModuleTracker, refused, tracker
from cnn_cost.lines import LineMap, fence_bodies

log = logging.getLogger("mkdocs.plugins.cnn_cost")

FENCE_NAME = "cnn-cost"
INLINE_NAME = "cnn"
UNSUPPORTED = "cnn_unsupported"  # fence-line options, reported at the block
PREVIEW = "cnn_cost_preview"  # log records of the live preview carry this attribute
MAX_INLINE = 500  # characters of one `#!cnn` expression
MAX_PAGE_BYTES = 5_000_000  # a page read for a `page.md#id` reference


def printable(text: str) -> str:
    """The text with every non-printable character (ESC, newlines, C1 controls, bidi overrides) escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


@dataclass
class Problem:
    """One problem found while rendering: where and what."""

    path: str | None
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        where = self.path or "<markdown>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


@dataclass
class Session:
    """State shared by every page of one site: options, cache, and the problems found so far.

    `on_error`: "raise" (plain extension: raise at once), "fail" (plugin, `mkdocs build`:
    log an error now, fail the build at the end), "warn" (log a warning: `--strict` fails),
    "show" (plugin, `mkdocs serve`: warn and show it in the page, never fail).
    """

    convention: str = "2mac"
    imports: tuple[str, ...] = ()
    shapes: str = "formula"  # "torch": every output shape from PyTorch's meta kernels
    search_tables: bool = True  # False: the tables are left out of the search index
    on_error: str = "raise"
    cache: Cache = field(default_factory=Cache)
    site_path: str | None = None  # where configured import modules are looked up
    docs_dir: str | None = None  # for references to blocks on other pages
    display_root: str | None = None  # prefix shown before page paths (e.g. "docs")
    problems: list[Problem] = field(default_factory=list)
    blocks_seen: int = 0
    views_reused: int = 0
    evaluated: int = 0
    eval_seconds: float = 0.0
    current_path: str | None = None
    current_offset: int = 0
    current_source: str | None = None  # the page's whole file, where known (line numbers come from it)
    modules: ModuleTracker | None = None  # the project modules behind `imports` (made on first use)
    references: dict[str, set[str]] = field(default_factory=dict)  # page -> other pages its `#!cnn` read
    page_imports: dict[str, set[str]] = field(default_factory=dict)  # page -> imported modules its blocks use
    _other_pages: dict[str, dict[str, Result]] = field(default_factory=dict)

    def tracker(self) -> ModuleTracker:
        if self.modules is None:
            self.modules = tracker(self.site_path, self.cache.directory)
        return self.modules

    def display(self, path: str | None) -> str | None:
        if path is None:
            return None
        return f"{self.display_root}/{path}" if self.display_root else path

    def report(self, page: PageState, line: int | None, column: int | None, message: str) -> None:
        problem = Problem(self.display(page.path), line, column, message)
        if self.on_error == "raise":
            raise CnnCostError(str(problem), line, column)
        self.problems.append(problem)
        text = printable(str(problem))  # block text never writes raw control characters to a terminal
        if self.on_error == "fail":
            log.error(text)
        elif self.on_error == "show":
            # the live preview: a warning for the author, never one that aborts a strict site
            log.warning(text, extra={PREVIEW: True})
        else:
            log.warning(text)

    def _fingerprint(self, source: str) -> Callable[[str], str] | None:
        if not any(f"{name}." in source for name in self.imports):
            return None
        if self.current_path is not None:
            self.page_imports.setdefault(self.current_path, set()).update(
                name for name in self.imports if f"{name}." in source)
        return self.tracker().fingerprint

    def modules_unchanged(self, source: str) -> bool:
        """No module the block uses changed since it was imported (so a key computed now names that code)."""
        used = tuple(name for name in self.imports if f"{name}." in source)
        return not used or not self.tracker().changed(used)

    def result_key(self, source: str) -> str:
        return key(source, f"{self.convention};shapes={self.shapes}", self.imports, self._fingerprint(source))

    def view_key(self, src: str) -> str:
        options = f"{self.convention};shapes={self.shapes};search_tables={self.search_tables}"
        return key("view\x00" + src, options, self.imports, self._fingerprint(src))

    def result_by_key(self, k: str) -> Result | None:
        entry = self.cache.get(k)
        return entry if isinstance(entry, Result) else None

    def compute(self, block: Block) -> Result:
        """Evaluate a block through the cache; errors are cached too (with lines relative to the block)."""
        k = self.result_key(block.source)
        entry = self.cache.get(k)
        if entry is None:
            started = time.perf_counter()
            first = not torch_imported()
            uses_modules = self._fingerprint(block.source) is not None
            try:
                entry = evaluate(block, imports=self.imports, convention=self.convention, site_path=self.site_path,
                                 modules=self.tracker() if uses_modules else None, shapes=self.shapes)
            except CnnCostError as exc:
                entry = CnnCostError(exc.message, None if exc.line is None else exc.line - block.line, exc.column)
            elapsed = time.perf_counter() - started
            self.evaluated += 1
            self.eval_seconds += elapsed
            if first:
                log.info("cnn-cost: imported torch and evaluated the first block in %.2f s", elapsed)
            if not uses_modules:
                self.cache.put(k, entry)
            elif isinstance(entry, Result) and self.modules_unchanged(block.source):
                # stored under the key of the code that ran (the first import records the helper modules);
                # an error of an imported model is never stored: the module may be fixed or appear later
                self.cache.put(self.result_key(block.source), entry)
        if isinstance(entry, CnnCostError):
            line = None if entry.line is None else entry.line + block.line
            raise CnnCostError(entry.message, line, entry.column)
        return entry

    def other_page(self, page_path: str) -> dict[str, Result]:
        """The results of the blocks with ids on another page (read from its source)."""
        if page_path in self._other_pages:
            return self._other_pages[page_path]
        if not self.docs_dir:
            raise CnnCostError(f"cannot read page {page_path!r}: no docs directory known")
        base = Path(self.docs_dir).resolve()
        target = (base / page_path).resolve()
        if base not in target.parents or not target.is_file():
            raise CnnCostError(f"no page {page_path!r} in the docs directory")
        if target.suffix.lower() not in (".md", ".markdown"):
            raise CnnCostError(f"{page_path!r} is not a Markdown page: references read .md pages only")
        size = target.stat().st_size
        if size > MAX_PAGE_BYTES:
            raise CnnCostError(f"page {page_path!r} is {size:,} bytes; references read pages up to "
                               f"{MAX_PAGE_BYTES:,} bytes")
        results: dict[str, Result] = {}
        self._other_pages[page_path] = results
        text = target.read_text(encoding="utf-8", errors="replace")
        for first_line, body in fence_bodies(text):
            view = self.cache.get_view(self.view_key(body))
            if view is not None and view[0]:
                found = self.result_by_key(self.cache.view_results[self.view_key(body)])
                if found is not None:
                    results[view[0]] = found
                    continue
            try:
                block = parse_block(body, first_line, self.imports)
                if block.id:
                    results[block.id] = self.compute(block)
            except CnnCostError:
                continue  # that page reports its own problems
        return results


@dataclass
class PageState:
    """What one page has computed so far."""

    session: Session
    path: str | None = None
    offset: int = 0
    results: dict[str, Result] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    pending: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (result key, source), loaded on use
    lines: LineMap | None = None  # where each block and reference is in the page's file

    def result(self, block_id: str) -> Result | None:
        if block_id not in self.results and block_id in self.pending:
            k, src = self.pending[block_id]
            found = self.session.result_by_key(k)
            if found is None:  # the stored result is gone or damaged: evaluate the block again
                try:
                    found = self.session.compute(parse_block(src, 1, self.session.imports))
                except CnnCostError:
                    found = None
            if found is not None:
                self.results[block_id] = found
        return self.results.get(block_id)

    def fence_line(self, body: str) -> int | None:
        """The file line of the next fence with this body (None when it is not in the page's file)."""
        return self.lines.fence(body) if self.lines is not None else None

    def has(self, block_id: str) -> bool:
        return block_id in self.results or block_id in self.pending or block_id in self.failed


class LinePreprocessor(Preprocessor):
    """Find where each `cnn-cost` fence and `#!cnn` reference is in the page's file; change nothing."""

    def run(self, lines: list[str]) -> list[str]:
        page = page_state(self.md)
        source = page.session.current_source
        if source is not None:
            page.lines = LineMap.of(source)
        else:
            page.lines = LineMap.of("\n".join(lines), page.offset)
        return lines


def page_state(md: Markdown) -> PageState:
    state = getattr(md, "cnn_cost_page", None)
    if state is None:
        ext = getattr(md, "cnn_cost_session", None)
        session = ext if isinstance(ext, Session) else Session()
        state = PageState(session, session.current_path, session.current_offset)
        md.cnn_cost_page = state  # type: ignore[attr-defined]
    return state


class CnnCostExtension(Extension):
    """Registers the line tracker and the per-page state; fences and inline code come from pymdownx."""

    def __init__(self, session: Session | None = None, **kwargs: Any) -> None:
        self.config = {
            "flops": ["2mac", "Default FLOPs convention: 2mac, mac or detailed"],
            "imports": [[], "Modules that blocks may import models from"],
            "on_error": ["raise", "raise, or warn (log and show in the page)"],
            "docs_dir": ["", "Directory of the Markdown sources, for references to other pages"],
            "cache_dir": ["", "Directory for the disk cache (empty: memory only)"],
            "shapes": ["formula", "Output shapes by the registry's formulas (formula) or meta kernels (torch)"],
        }
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
            )
        self.session = session

    def _check_config(self) -> None:
        """Refuse settings the extension would otherwise ignore or misread, naming the setting."""
        choices = {"flops": ("2mac", "mac", "detailed"), "on_error": ("raise", "warn"), "shapes": ("formula", "torch")}
        for name, allowed in choices.items():
            if self.getConfig(name) not in allowed:
                raise ValueError(f"cnn_cost: {name}: {self.getConfig(name)!r} is not one of {', '.join(allowed)}")
        imports = self.getConfig("imports")
        if not isinstance(imports, (list, tuple)) or not all(isinstance(i, str) for i in imports):
            raise ValueError(f"cnn_cost: imports: a list of module names, not {imports!r:.60}")
        for name in imports:
            reason = refused(name)
            if reason:
                raise ValueError(f"cnn_cost: imports: {reason}")

    def extendMarkdown(self, md: Markdown) -> None:
        md.cnn_cost_session = self.session  # type: ignore[attr-defined]
        md.cnn_cost_page = PageState(self.session, self.session.current_path, self.session.current_offset)  # type: ignore[attr-defined]
        md.registerExtension(self)
        md.preprocessors.register(LinePreprocessor(md), "cnn_cost_lines", 29)

    def reset(self) -> None:
        md = getattr(self, "md", None)
        if md is not None:
            md.cnn_cost_page = PageState(self.session, self.session.current_path, self.session.current_offset)


def makeExtension(**kwargs: Any) -> CnnCostExtension:
    return CnnCostExtension(**kwargs)


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
        return _fence_format(src, options, page, located)
    except CnnCostError:
        raise
    except Exception as exc:  # an internal error must not hide a block silently
        line = located
        message = f"cnn-cost block: internal error ({type(exc).__name__}: {exc}); please report it"
        page.session.report(page, line, None, message)
        return render.block_html(src, block_id=None, title=None, result=None, problems=[message])


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
    except CnnCostError as exc:
        failed_id = block.id if block is not None else _loose_id(src)
        if failed_id:  # a `#!cnn` reference to it says the block has a problem
            page.failed.add(failed_id)
        label = block.label if block is not None else "cnn-cost block"
        session.report(page, exc.line, exc.column, f"{label}: {exc.message}")
        return render.block_html(src, block_id=block.id if block else None, title=block.title if block else None,
                                 result=None, problems=[str(Problem(session.display(page.path), exc.line,
                                                                    exc.column, exc.message))])
    if block.id:
        page.results[block.id] = result
    wrong: list[tuple[Claim, str]] = []
    held: list[Claim] = []
    for claim in block.expect:
        try:
            message = claim.mismatch(result.value(claim.path))  # type: ignore[arg-type]
        except CnnCostError as exc:
            session.report(page, claim.line, None, f"{block.label}: {exc.message}")
            wrong.append((claim, exc.message))
            continue
        if message is None:
            held.append(claim)
        else:
            wrong.append((claim, message))
    problems: list[str] = []
    demonstrations: list[str] = []
    if block.xfail:
        demonstrations = [message for _, message in wrong]
        if not wrong:
            message = "xfail: true, but every claim holds: correct the block or remove `xfail`"
            session.report(page, block.line, None, f"{block.label}: {message}")
            problems.append(message)
    else:
        for claim, message in wrong:
            text = f"{block.label}: {message}"
            if not message.startswith(claim.path + ": expected"):
                problems.append(message)
                continue
            session.report(page, claim.line, None, text)
            problems.append(str(Problem(session.display(page.path), claim.line, None, message)))
    html = render.block_html(src, block_id=block.id, title=block.title, result=result, columns=block.columns,
                             search_tables=session.search_tables,
                             claims=held if not block.xfail else (), problems=problems,
                             demonstrations=demonstrations)
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


def _format_value(value: int | tuple[int, ...], path: str) -> str:
    _, metric = split_path(path)
    if metric == "output":
        return format_shape(value)  # type: ignore[arg-type]
    if metric == "memory":
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


def inline_value(page: PageState, expr: str) -> tuple[str, str]:
    """Evaluate an inline expression; returns (text shown, tooltip). Raises CnnCostError."""
    if len(expr) > MAX_INLINE:
        raise CnnCostError(f"a `#!cnn` expression of {len(expr):,} characters; the limit is {MAX_INLINE}")
    expr, eq, claimed = expr.partition("=")
    expr, claimed = expr.strip(), claimed.strip()
    ratio = _split_ratio(expr)
    if ratio is not None:
        left, right = ratio
        ra, pa = _lookup(page, left.strip())
        rb, pb = _lookup(page, right.strip())
        a, b = ra.value(pa), rb.value(pb)
        if not isinstance(a, int) or not isinstance(b, int) or b == 0:
            raise CnnCostError(f"`{expr}`: a ratio needs two non-zero counts")
        value: Fraction | int | tuple[int, ...] = Fraction(a, b)
        shown = f"{float(Fraction(a, b)):.2f}×"
        tooltip = f"{format_int(a)} / {format_int(b)}, computed at build time"
        claim: Claim | None = parse_claim(expr, claimed, kind="ratio") if eq else None
        if claim is not None:
            shown = f"{claim.raw}×"
    else:
        result, path = _lookup(page, expr)
        value = result.value(path)
        shown = _format_value(value, path)
        tooltip = f"{shown}, computed at build time ({expr})"
        claim = parse_claim(path, claimed) if eq else None
        if claim is not None:
            shown = claim.raw
    if claim is not None:
        message = claim.mismatch(value)  # type: ignore[arg-type]
        if message is not None:
            raise CnnCostError(message.replace(claim.path, expr, 1))
        tooltip = "verified: " + tooltip
    return shown, tooltip


def inline_format(src: str, language: str, class_name: str, md: Markdown) -> str:
    """The inlinehilite formatter for `#!cnn ...`."""
    page = page_state(md)
    line = page.lines.reference(src) if page.lines is not None else None
    try:
        shown, tooltip = inline_value(page, src.strip())
    except Exception as exc:  # pymdownx would swallow anything else and print the raw code
        message = exc.message if isinstance(exc, CnnCostError) else f"internal error ({type(exc).__name__}: {exc})"
        page.session.report(page, line, None, f"`#!cnn {src.strip()}`: {message}")
        return render.inline_html(f"⚠ {message}", f"#!cnn {src.strip()}", ok=False)
    return render.inline_html(shown, tooltip)


__all__ = ["CnnCostExtension", "Problem", "Session", "fence_format", "fence_validator", "inline_format",
           "makeExtension"]
