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
from cnn_cost.imports import ModuleTracker, tracker

log = logging.getLogger("mkdocs.plugins.cnn_cost")

FENCE_NAME = "cnn-cost"
INLINE_NAME = "cnn"
PREVIEW = "cnn_cost_preview"  # log records of the live preview carry this attribute
_FENCE_OPEN = re.compile(r"^(?P<lead>(?:[ \t]*>)*[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w#.+-]*)(?P<rest>.*)$")
_INLINE = re.compile(r"(?<!`)(`+)#!cnn[ \t]+")
_MARK = re.compile(r"^@(\d+)\s+")


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
        if self.on_error == "fail":
            log.error(str(problem))
        elif self.on_error == "show":
            # the live preview: a warning for the author, never one that aborts a strict site
            log.warning(str(problem), extra={PREVIEW: True})
        else:
            log.warning(str(problem))

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
        return key(source, self.convention, self.imports, self._fingerprint(source))

    def view_key(self, src: str) -> str:
        return key("view\x00" + src, self.convention, self.imports, self._fingerprint(src))

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
                                 modules=self.tracker() if uses_modules else None)
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
        results: dict[str, Result] = {}
        self._other_pages[page_path] = results
        text = target.read_text(encoding="utf-8", errors="replace")
        for first_line, body in scan_fences(text):
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

    def has(self, block_id: str) -> bool:
        return block_id in self.results or block_id in self.pending or block_id in self.failed


def scan_fences(text: str) -> list[tuple[int, str]]:
    """(first body line, body) of every `cnn-cost` fence in Markdown text, dedented."""
    out = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if m:
            fence = m["fence"]
            indent = len(m["lead"])
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(fence[0] * len(fence)):
                j += 1
            if m["lang"] == FENCE_NAME:
                body = "\n".join(line[indent:] if line[:indent].strip() in ("", ">") else line.lstrip()
                                 for line in lines[i + 1 : j])
                out.append((i + 2, body))
            i = j + 1
            continue
        i += 1
    return out


class LinePreprocessor(Preprocessor):
    """Tag each `cnn-cost` fence and `#!cnn` reference with its line in the Markdown file."""

    def __init__(self, md: Markdown) -> None:
        super().__init__(md)

    def run(self, lines: list[str]) -> list[str]:
        page = page_state(self.md)
        out = []
        fence: str | None = None
        for index, line in enumerate(lines):
            number = index + 1 + page.offset
            m = _FENCE_OPEN.match(line)
            if fence is None and m and m["fence"]:
                fence = m["fence"]
                if m["lang"] == FENCE_NAME and "cnn_line=" not in m["rest"]:
                    line = f'{m["lead"]}{m["fence"]}{FENCE_NAME} cnn_line="{number + 1}"{m["rest"]}'
            elif fence is not None and line.strip().lstrip(">").strip().startswith(fence) \
                    and not line.strip().lstrip(">").strip().strip(fence[0]):
                fence = None
            elif fence is None and "#!cnn" in line:
                line = _INLINE.sub(lambda mm: f"{mm.group(0)}@{number} ", line)  # noqa: B023 - used at once
            out.append(line)
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
    """Registers the line tracker and the per-page state; fences and inline code come from pymdownx."""

    def __init__(self, session: Session | None = None, **kwargs: Any) -> None:
        self.config = {
            "flops": ["2mac", "Default FLOPs convention: 2mac, mac or detailed"],
            "imports": [[], "Modules that blocks may import models from"],
            "on_error": ["raise", "raise, or warn (log and show in the page)"],
            "docs_dir": ["", "Directory of the Markdown sources, for references to other pages"],
            "cache_dir": ["", "Directory for the disk cache (empty: memory only)"],
        }
        super().__init__(**kwargs)
        if session is None:
            cache_dir = self.getConfig("cache_dir")
            session = Session(
                convention=self.getConfig("flops"),
                imports=tuple(self.getConfig("imports")),
                on_error=self.getConfig("on_error"),
                cache=Cache(cache_dir or None),
                docs_dir=self.getConfig("docs_dir") or None,
                site_path=str(Path.cwd()),
            )
        self.session = session

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
    """Accept only our line tag as an option."""
    for k, v in inputs.items():
        if k != "cnn_line":
            attrs[k] = v
        else:
            options[k] = v
    return True


def fence_format(src: str, language: str, class_name: str, options: dict[str, str], md: Markdown,
                 **kwargs: Any) -> str:
    """The superfences formatter for `cnn-cost` blocks.

    pymdownx swallows any exception that is not its own and shows the block as plain code:
    an unexpected error is therefore reported as a problem here, never let through.
    """
    try:
        return _fence_format(src, options, md)
    except CnnCostError:
        raise
    except Exception as exc:  # an internal error must not hide a block silently
        page = page_state(md)
        line_text = options.get("cnn_line") if options else None
        line = int(line_text) if line_text and line_text.isdigit() else None
        message = f"cnn-cost block: internal error ({type(exc).__name__}: {exc}); please report it"
        page.session.report(page, line, None, message)
        return render.block_html(src, block_id=None, title=None, result=None, problems=[message])


def _fence_format(src: str, options: dict[str, str], md: Markdown) -> str:
    page = page_state(md)
    session = page.session
    session.blocks_seen += 1
    line_text = options.get("cnn_line") if options else None
    first_line = int(line_text) if line_text and line_text.isdigit() else 1
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
        if block is not None and block.id:
            page.failed.add(block.id)
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


def inline_value(page: PageState, expr: str) -> tuple[str, str]:
    """Evaluate an inline expression; returns (text shown, tooltip). Raises CnnCostError."""
    expr, eq, claimed = expr.partition("=")
    expr, claimed = expr.strip(), claimed.strip()
    ratio = re.split(r"\s+/\s+", expr, maxsplit=1)
    if len(ratio) == 2:
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
    line = None
    m = _MARK.match(src)
    if m:
        line = int(m.group(1))
        src = src[m.end():]
    try:
        shown, tooltip = inline_value(page, src.strip())
    except Exception as exc:  # pymdownx would swallow anything else and print the raw code
        message = exc.message if isinstance(exc, CnnCostError) else f"internal error ({type(exc).__name__}: {exc})"
        page.session.report(page, line, None, f"`#!cnn {src.strip()}`: {message}")
        return render.inline_html(f"⚠ {message}", f"#!cnn {src.strip()}", ok=False)
    return render.inline_html(shown, tooltip)


__all__ = ["CnnCostExtension", "Problem", "Session", "fence_format", "fence_validator", "inline_format",
           "makeExtension"]
