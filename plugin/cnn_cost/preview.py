"""What `mkdocs serve` needs beyond a build: a live preview that never stops on a problem.

- MkDocs counts warnings for `strict: true` and aborts the build when there are any; in
  `mkdocs serve` an aborted build leaves every page request waiting. Our problems are shown
  in the page and logged as warnings, marked so that the strict counter passes them by
  (`mkdocs build --strict` still fails on them).
- `mkdocs serve --dirty` rebuilds only the pages whose source changed: a page whose `#!cnn`
  reads a block of a changed page, or whose blocks use a changed imported module, is marked
  for rebuilding too.
- After the first build, torch and its lazily imported parts are imported in a background
  thread, so the author's first edit does not wait for them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from cnn_cost.session import PREVIEW, Session

log = logging.getLogger("mkdocs.plugins.cnn_cost")

# MkDocs' own notice on every `--dirty` build: in `serve` it must not abort a strict site either
_DIRTY_NOTICE = "A 'dirty' build is being performed"


def _spare(record: logging.LogRecord) -> bool:
    """A filter for MkDocs' strict-mode counter: False for what the preview must not be aborted by."""
    if getattr(record, PREVIEW, False):
        return False
    return not (isinstance(record.msg, str) and record.msg.startswith(_DIRTY_NOTICE))


def spare_strict_counter() -> int:
    """Let the live preview's warnings pass MkDocs' strict-mode counter of this build. Returns how many
    counters were found (0 when the site is not strict)."""
    from mkdocs.utils import CountHandler

    found = 0
    for handler in logging.getLogger("mkdocs").handlers:
        if isinstance(handler, CountHandler):
            found += 1
            if _spare not in handler.filters:
                handler.addFilter(_spare)
    return found


def rebuild_dependents(files: Any, session: Session) -> list[str]:
    """In a `--dirty` build, mark for rebuilding every page that depends on a changed page or module.

    MkDocs rebuilds a page when its output is older than its source; the output of a dependent
    page is given an old modification time. Returns the pages marked.
    """
    pages = {f.src_uri: f for f in files.documentation_pages()}
    changed = {uri for uri, f in pages.items() if f.is_modified()}
    modules = session.tracker().changed(session.imports) if session.imports else set()
    if modules:
        changed |= {uri for uri, used in session.page_imports.items() if used & modules}
    marked = set(changed)
    for uri, targets in session.references.items():
        if targets & changed:
            marked.add(uri)
    out = []
    for uri in sorted(marked):
        file = pages.get(uri)
        if file is None or file.is_modified():
            continue
        try:
            os.utime(file.abs_dest_path, (0, 0))
        except OSError:
            continue
        out.append(uri)
    if out:
        log.info("cnn-cost: rebuilding %s (they read changed blocks or modules)", ", ".join(out))
    return out


_warm_started = threading.Event()


def warm_up_in_background() -> threading.Thread | None:
    """Import torch and its lazy parts in a daemon thread (once per process)."""
    if _warm_started.is_set():
        return None
    _warm_started.set()

    def run() -> None:
        started = time.perf_counter()
        try:
            from cnn_cost.evaluate import warm_up

            warm_up()
        except Exception as exc:  # a failed warm-up only costs the first edit its time
            log.debug("cnn-cost: background warm-up failed: %s", exc)
            return
        log.info("cnn-cost: torch imported in the background in %.2f s", time.perf_counter() - started)

    thread = threading.Thread(target=run, name="cnn-cost-warm-up", daemon=True)
    thread.start()
    return thread
