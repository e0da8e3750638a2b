"""Writing a file so that a reader never sees half of it (a temporary file beside it, then a rename)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def _replace(path: Path, suffix: str, write: Callable[[IO[str]], object], mode: int | None = None) -> None:
    """Write through `write` into a temporary file beside `path`, then rename it over `path`. Raises OSError
    (and whatever `write` raises); leaves `path` as it was and no temporary file behind on failure."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=suffix)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write(fh)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_json(path: Path, payload: Any) -> None:
    """Write `payload` as JSON to `path` atomically. Raises OSError; leaves no temporary file behind."""
    _replace(path, ".json", lambda fh: json.dump(payload, fh, sort_keys=True))


def write_text(path: Path, text: str) -> None:
    """Replace the text of an existing file atomically, exactly as given (line endings untouched), keeping
    its permissions (a symbolic link: the file it points to). Raises OSError; on failure the file is unchanged
    and no temporary file is left."""
    target = Path(os.path.realpath(path))
    _replace(target, target.suffix or ".txt", lambda fh: fh.write(text), os.stat(target).st_mode & 0o7777)
