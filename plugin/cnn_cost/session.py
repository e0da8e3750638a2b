"""The per-site session: options, cache, problems found so far, and each page's state.

A `Session` lives as long as a site (across `mkdocs serve` rebuilds its cache and what pages
read are carried over); a `PageState` as long as one page's conversion. Both are independent of
Python-Markdown: the extension in `cnn_cost.markdown` holds one of each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cnn_cost.block import Block, parse_block
from cnn_cost.cache import Cache, key
from cnn_cost.errors import CnnCostError
from cnn_cost.evaluate import evaluate, torch_imported
from cnn_cost.i18n import LOCALES
from cnn_cost.imports import ModuleTracker, tracker
from cnn_cost.lines import LineMap, fence_bodies
from cnn_cost.result import Result

log = logging.getLogger("mkdocs.plugins.cnn_cost")

PREVIEW = "cnn_cost_preview"  # log records of the live preview carry this attribute
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
    locale: str = "en"  # the words around the numbers (cnn_cost.i18n): the page's language
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
        self.report_all(page, [CnnCostError(message, line, column)])

    def report_all(self, page: PageState, errors: Sequence[CnnCostError], label: str = "") -> list[Problem]:
        """Report every problem of one block (or reference), each on a line of its own: `path:line[:col]:
        label: message`. Returns them. With on_error "raise" (the plain extension), one `CnnCostError`
        carrying them all is raised, its text listing each."""
        problems = [Problem(page.where(), p.line, p.column, f"{label}: {p.message}" if label else p.message)
                    for e in errors for p in e.problems]
        if not problems:
            return problems
        if self.on_error == "raise":
            raise CnnCostError.of([CnnCostError(str(p), p.line, p.column) for p in problems])
        for problem in problems:
            self.problems.append(problem)
            text = printable(str(problem))  # block text never writes raw control characters to a terminal
            if self.on_error == "fail":
                log.error(text)
            elif self.on_error == "show":
                # the live preview: a warning for the author, never one that aborts a strict site
                log.warning(text, extra={PREVIEW: True})
            else:
                log.warning(text)
        return problems

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

    def view_key(self, src: str, locale: str | None = None) -> str:
        """The key of a block's rendered HTML: its text, the options, and the locale of its words (`locale`,
        else the session's)."""
        options = (f"{self.convention};shapes={self.shapes};search_tables={self.search_tables};"
                   f"locale={locale or self.locale}")
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
            except CnnCostError as exc:  # every problem it carries, with lines relative to the block
                entry = exc.shifted(-block.line)
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
            raise entry.shifted(block.line)
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
            # the page's blocks as rendered in any language (another edition reads this page too): their results
            for view_key in (self.view_key(body, locale) for locale in dict.fromkeys((self.locale, *LOCALES))):
                view = self.cache.get_view(view_key)
                block_id = view[0] if view is not None else None
                found = self.result_by_key(self.cache.view_results[view_key]) if block_id else None
                if block_id and found is not None:
                    results[block_id] = found
                    break
            else:
                try:
                    block = parse_block(body, first_line, self.imports)
                    if block.id:
                        results[block.id] = self.compute(block)
                except CnnCostError:
                    pass  # that page reports its own problems
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
    snippets: list[tuple[str, LineMap]] = field(default_factory=list)  # files included by pymdownx.snippets
    block_file: str | None = None  # the included file the current block comes from, if not the page
    text: str | None = None  # the text being converted, as the host gave it
    problems_before: int = 0  # the session's problems when this page began
    raise_at_end: bool = False  # fail the page once it is rendered if it has problems (Zensical)

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
        """The file line of the next fence with this body: in the page's file, else in a file it includes
        (then `block_file` names it); None when it is in neither."""
        return self._find(lambda lines: lines.fence(body))

    def reference_line(self, expr: str) -> int | None:
        """The file line of the next `#!cnn` reference with this text, found as `fence_line` finds blocks."""
        return self._find(lambda lines: lines.reference(expr))

    def _find(self, look: Callable[[LineMap], int | None]) -> int | None:
        self.block_file = None
        found = look(self.lines) if self.lines is not None else None
        if found is not None:
            return found
        for path, lines in self.snippets:
            found = look(lines)
            if found is not None:
                self.block_file = path
                return found
        return None

    def where(self) -> str | None:
        """The file problems of the current block are reported in."""
        return self.block_file or self.session.display(self.path)

    def has(self, block_id: str) -> bool:
        return block_id in self.results or block_id in self.pending or block_id in self.failed
