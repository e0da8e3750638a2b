"""What the extension needs from the program that runs it, found out rather than configured.

- `cnn-cost` fences and `#!cnn` code are formatted by pymdownx.superfences and pymdownx.inlinehilite:
  `register` loads both when the host lists neither, and `join_fences` / `join_inline` add our
  formatters to the instances that run (the host's own, listed before or after `cnn_cost`, with its
  own custom fences kept). What cannot be joined is named by `join_problems`, for a warning.
- `host_page`: the file a host converts, where it says so: Zensical keeps the page in its
  `rendering_context` preprocessor, `Markdown.convertFile` (and so `python -m markdown`) is given a path.
- `install_excepthook`: an author's mistake that ends a command-line run prints its `path:line: message`
  lines, not a Python traceback (also when Zensical wraps it in a RuntimeError of its own).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from markdown import Markdown
from markdown.util import Registry
from pymdownx.inlinehilite import InlineHilitePattern
from pymdownx.superfences import SuperFencesCodeExtension

from cnn_cost.errors import CnnCostError

log = logging.getLogger("mkdocs.plugins.cnn_cost")

SUPERFENCES = "pymdownx.superfences"
INLINEHILITE = "pymdownx.inlinehilite"
MAX_SOURCE_BYTES = 5_000_000  # a page file read for its line numbers


# ------------------------------------------------------- pymdownx registries ----


def _named(registry: Registry[Any], name: str) -> Any:
    """The item registered under `name`, or None (a Registry has no `get`)."""
    return registry[name] if name in registry else None  # noqa: SIM401


def superfences_of(md: Markdown) -> SuperFencesCodeExtension | None:
    """The SuperFences instance whose preprocessor reads fenced code in `md` (the last one registered)."""
    ext = getattr(_named(md.preprocessors, "fenced_code_block"), "extension", None)
    return ext if isinstance(ext, SuperFencesCodeExtension) else None


def inlinehilite_of(md: Markdown) -> InlineHilitePattern | None:
    """The InlineHilite pattern that reads code spans in `md`."""
    pattern = _named(md.inlinePatterns, "backtick")
    return pattern if isinstance(pattern, InlineHilitePattern) else None


def register(md: Markdown) -> None:
    """Load superfences and inlinehilite into `md` when nothing has yet (a host listing them after
    `cnn_cost` loads its own instances over these, which `join_*` then joins)."""
    if superfences_of(md) is None:  # also over Python-Markdown's `fenced_code`, as listing superfences does
        md.registerExtensions([SUPERFENCES], {})
    if inlinehilite_of(md) is None:
        md.registerExtensions([INLINEHILITE], {})


def _formatter_of(entry: dict[str, Any]) -> Callable[..., Any] | None:
    """The function an entry of pymdownx's registry calls, unwrapped from pymdownx's own partials."""
    fmt = entry.get("formatter")
    while isinstance(fmt, functools.partial):
        inner = fmt.keywords.get("_fmt") or fmt.keywords.get("fmt")
        fmt = inner if inner is not None else fmt.func
    return fmt


def _active(entries: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The entry pymdownx uses for language `name`: the last one whose test accepts it."""
    for entry in reversed(entries):
        if entry["test"](name):
            return entry
    return None


def join_fences(md: Markdown, name: str, formatter: Callable[..., Any], validator: Callable[..., Any],
                ours: tuple[Callable[..., Any], ...]) -> bool:
    """Make `formatter` the one superfences uses for `name` fences; the host's other fences stay.
    False when no superfences reads the fences of `md`."""
    ext = superfences_of(md)
    if ext is None:
        return False
    active = _active(ext.superfences, name)
    if active is None or _formatter_of(active) not in ours:
        try:
            ext.extend_super_fences(name, formatter, validator, None)
        except TypeError:  # pragma: no cover - pymdownx before `reset` entries
            ext.extend_super_fences(name, formatter, validator)  # type: ignore[call-arg]
    return True


def join_inline(md: Markdown, name: str, formatter: Callable[..., Any], ours: tuple[Callable[..., Any], ...]) -> bool:
    """Make `formatter` the one inlinehilite uses for `#!name` code. False when no inlinehilite reads code spans."""
    pattern = inlinehilite_of(md)
    if pattern is None:
        return False
    active = _active(pattern.formatters, name)
    if active is None or _formatter_of(active) not in ours:
        pattern.extend_custom_inline(name, formatter)
    return True


def join_problems(md: Markdown) -> list[str]:
    """Why blocks or references of `md` would render as plain code, each with its fix (none: joined)."""
    problems = []
    if superfences_of(md) is None:
        reader = _named(md.preprocessors, "fenced_code_block")
        who = f"{type(reader).__module__} reads fenced code" if reader is not None else "nothing reads fenced code"
        problems.append(f"`cnn-cost` blocks render as plain code, unchecked: {who}, not pymdownx.superfences; "
                        "remove that extension from `markdown_extensions` (pymdownx.superfences replaces "
                        "`fenced_code`), or list `pymdownx.superfences` after it")
    if inlinehilite_of(md) is None:
        reader = _named(md.inlinePatterns, "backtick")
        who = f"{type(reader).__module__} reads code spans" if reader is not None else "nothing reads code spans"
        problems.append(f"`#!cnn` references render as plain code, unchecked: {who}, not pymdownx.inlinehilite; "
                        "list `pymdownx.inlinehilite` after the extension that replaces it")
    return problems


_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_once(message: str) -> None:
    """Log `message` as a warning the first time this process sees it."""
    with _warned_lock:
        if message in _warned:
            return
        _warned.add(message)
    log.warning("cnn-cost: %s", message)


# ----------------------------------------------------------- the page's file ----


@dataclass
class HostPage:
    """The file a host is converting: its path as shown in messages, and its text where it could be read."""

    host: str  # "zensical" or "file"
    path: str  # as the host names it (Zensical: relative to its docs_dir)
    display_root: str | None = None  # shown before `path` (Zensical: the docs directory)
    docs_dir: str | None = None  # for `page.md#id` references
    source: str | None = None  # the file's text (line numbers are counted in it)
    serving: bool = False  # a live preview (`zensical serve`): show problems, never stop the server
    language: str | None = None  # the site's `theme.language` (Zensical), for the words around the numbers


def host_page(md: Markdown, file: str | None) -> HostPage | None:
    """The page being converted, if the host says: Zensical's rendering context, else the path given to
    `convertFile` (`file`)."""
    context = _named(md.preprocessors, "rendering_context")
    page = getattr(context, "page", None)
    config = getattr(context, "config", None)
    path = getattr(page, "path", None)
    if isinstance(path, str) and path and isinstance(config, dict):
        root = Path(str(config.get("root_dir") or "."))
        docs = root / str(config.get("docs_dir") or "docs")
        shown = _relative(docs)
        theme = config.get("theme")
        language = theme.get("language") if isinstance(theme, dict) else None
        return HostPage("zensical", path, display_root=shown, docs_dir=str(docs.resolve()),
                        source=_read(docs / path), serving=_zensical_serving(),
                        language=language if isinstance(language, str) else None)
    if file is not None:
        return HostPage("file", _relative(Path(file)), source=_read(Path(file)))
    return None


def _zensical_serving() -> bool:
    """`zensical serve` (its command line is the only place that says so: pages render on a thread of
    Zensical's own, outside click's context)."""
    return len(sys.argv) > 1 and sys.argv[1] == "serve"


def _relative(path: Path) -> str:
    """`path` relative to the working directory where it is inside it, else absolute."""
    try:
        shown = os.path.relpath(path.resolve(), Path.cwd().resolve())
    except ValueError:  # pragma: no cover - another drive
        return str(path.resolve())
    return str(path.resolve()) if shown.startswith("..") else shown.replace(os.sep, "/")


def _read(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_SOURCE_BYTES:
            return None
        return path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return None


def track_input_file(md: Markdown, record: Callable[[str | None], None]) -> None:
    """Call `record` with the path `md.convertFile` is given (None after), so that problems name the file."""
    convert_file = md.convertFile
    if getattr(convert_file, "cnn_cost_tracked", False):
        return

    def tracked(input: Any = None, output: Any = None, encoding: str | None = None) -> Markdown:
        record(os.fspath(input) if isinstance(input, (str, os.PathLike)) else None)
        try:
            return convert_file(input, output, encoding)
        finally:
            record(None)

    tracked.cnn_cost_tracked = True  # type: ignore[attr-defined]
    setattr(md, "convertFile", tracked)  # noqa: B010 - an instance attribute, the class stays as it is


# ------------------------------------------------------- the end of a run ----

_problems_logged = 0  # problems logged (not only raised) in this process, for the closing line
_hook_installed = False


def count_logged(n: int) -> None:
    global _problems_logged  # noqa: PLW0603
    _problems_logged += n


# Zensical 0.0.x re-raises an exception of a page's rendering as
# RuntimeError("Python error: CnnCostError: <message>\nTraceback ...")
_WRAPPED = re.compile(r"^Python error: (?:CnnCostError|OptionError): (?P<message>.*?)(?:\nTraceback |\Z)", re.DOTALL)


def _message(kind: type[BaseException], value: BaseException) -> str | None:
    """The problem lines of an author's mistake, or None for any other exception."""
    if isinstance(value, CnnCostError):
        return str(value)
    m = _WRAPPED.match(str(value)) if kind is RuntimeError else None
    return m["message"].rstrip() if m else None


def install_excepthook() -> None:
    """An uncaught `CnnCostError` (an author's mistake) ends the program with its lines, not a traceback.

    Anything else goes to the hook that was there before."""
    global _hook_installed  # noqa: PLW0603
    if _hook_installed:
        return
    _hook_installed = True
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        message = _message(kind, value)
        if message is None:
            previous(kind, value, tb)
        elif not _problems_logged:
            print(message, file=sys.stderr)
        else:  # each problem was logged as it was found
            count = _problems_logged
            print(f"cnn-cost: {count} problem{'s' if count != 1 else ''} in cnn-cost blocks (listed above); "
                  "the build fails", file=sys.stderr)

    sys.excepthook = hook
