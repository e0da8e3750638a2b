"""Content-hash cache of evaluated blocks: in memory, and as JSON files on disk.

Keys cover the block text, the default convention, the configured imports (and the text of
any imported module's file), the torch version and this package's version. Disk entries are
JSON (never pickle), checked field by field on load: a truncated, corrupted or older entry is
a miss, and is rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from cnn_cost.atomic import write_json
from cnn_cost.errors import CnnCostError
from cnn_cost.result import Ledger, LedgerLine, Result, Row

FORMAT = 2
log = logging.getLogger("mkdocs.plugins.cnn_cost")


@lru_cache(maxsize=1)
def versions() -> str:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "none"

    shaping = ("torch", "mkdocs-cnn-cost", "Pygments", "Markdown", "pymdown-extensions", "latex2mathml")
    return ";".join(f"{name}={version(name)}" for name in shaping) + f";code={code_hash()};format={FORMAT}"


@lru_cache(maxsize=1)
def code_hash() -> str:
    """A hash of this package's own source: a change to any formula invalidates the cache."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def key(source: str, convention: str, imports: tuple[str, ...],
        fingerprint: Callable[[str], str] | None = None) -> str:
    """The cache key of a block's text: versions, convention, imports, and the current text of
    every project file behind each imported module the block names (`fingerprint(name)`)."""
    parts = [versions(), convention, ",".join(imports), source]
    if fingerprint is not None:
        parts += [f"{name}={fingerprint(name)}" for name in imports if f"{name}." in source]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _result_to_json(result: Result) -> dict[str, Any]:
    return asdict(result)


def _shape(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
        raise ValueError("bad shape")
    return tuple(value)


def _int(value: Any, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("bad integer")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("bad string")
    return value


def _result_from_json(data: dict[str, Any]) -> Result:
    rows = tuple(
        Row(
            name=_str(r["name"]), type=_str(r["type"]), output=_shape(r["output"]), params=_int(r["params"]),
            macs=_int(r["macs"], True), flops=_int(r["flops"], True),
            formula=tuple(_str(f) for f in r["formula"]), note=_str(r["note"]),
            counters=tuple((_str(t), _int(v)) for t, v in r["counters"]),
        )
        for r in data["rows"]
    )
    outputs = tuple((_str(name), _shape(shape)) for name, shape in data["outputs"])
    return Result(
        rows=rows, params=_int(data["params"]), trainable=_int(data["trainable"]), buffers=_int(data["buffers"]),
        memory=_int(data["memory"]), macs=_int(data["macs"], True), flops=_int(data["flops"], True),
        output=_shape(data["output"]), convention=_str(data["convention"]), dtype=_str(data["dtype"]),
        outputs=outputs,  # type: ignore[arg-type]
        counters=tuple((_str(t), _int(v)) for t, v in data["counters"]),
        ledger=_ledger(data.get("ledger")),
    )


def _ledger(data: Any) -> Ledger | None:
    """An imported model's ledger (`cnn_cost.ledger`), checked field by field; None when there is none."""
    if data is None:
        return None
    lines = tuple(
        LedgerLine(op=_str(line["op"]), calls=_int(line["calls"]), flops=_int(line["flops"]),
                   status=_str(line["status"]), words=_str(line["words"]),
                   where=tuple(_str(w) for w in line["where"]))
        for line in data["lines"]
    )
    never = tuple((_str(name), _int(count)) for name, count in data["never_called"])
    if not isinstance(data["uncounted_ok"], bool):
        raise ValueError("bad flag")
    return Ledger(lines=lines, torch_flops=_int(data["torch_flops"]), never_called=never,
                  uncounted_ok=data["uncounted_ok"])


Entry = Result | CnnCostError


def _entry_json(path: str | None, k: str) -> dict[str, Any] | None:
    """A cache entry's JSON, checked to be this key's in this format; None when there is none.
    Raises ValueError for an entry that is not (stale, another key's, or damaged)."""
    data = _read_json(path)
    if data is None:
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != k:
        raise ValueError("stale entry")
    return data


def _read_json(path: str | None) -> Any:
    """The parsed JSON of a cache file; None when there is none. Raises OSError or ValueError."""
    if path is None:
        return None
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        return None
    return json.loads(raw)


class Lru(OrderedDict[str, Any]):
    """A dict that forgets its least recently used items beyond a total weight (a long `serve` stays small)."""

    def __init__(self, budget: int, weigh: Callable[[Any], int]) -> None:
        super().__init__()
        self.budget = budget
        self.weigh = weigh
        self.weight = 0

    def __getitem__(self, k: str) -> Any:
        value = super().__getitem__(k)
        self.move_to_end(k)
        return value

    def __setitem__(self, k: str, value: Any) -> None:
        if k in self:
            self.weight -= self.weigh(super().__getitem__(k))
        super().__setitem__(k, value)
        self.move_to_end(k)
        self.weight += self.weigh(value)
        while self.weight > self.budget and len(self) > 1:
            _, old = self.popitem(last=False)
            self.weight -= self.weigh(old)


def _result_weight(entry: Any) -> int:
    return 1 + len(entry.rows) if isinstance(entry, Result) else 1


MEMORY_ROWS = 500_000  # rows of results kept in memory (about 0.5 GB at the most)
MEMORY_HTML = 200_000_000  # characters of rendered blocks kept in memory
STATE = "state"  # bookkeeping (build stamps, module records): JSON files without the .json of entries
KEEP_BUILDS = 10  # a disk entry unused by this many full builds in a row is deleted
STALE_TMP = 600.0  # seconds after which a temporary file is a leftover of a killed build


class Cache:
    """Results by key, in memory, backed by `directory` when one is given.

    The directory holds JSON only. A symlink in it (or as it) turns the disk cache off: writes
    never leave it. Entries unused by the last few full builds, and temporary files left by a
    killed build, are deleted at the end of a full build (`end_build(prune=True)`).
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory else None
        self.memory: Lru = Lru(MEMORY_ROWS, _result_weight)
        self.views: Lru = Lru(MEMORY_HTML, lambda view: len(view[1]))
        self.view_results: dict[str, str] = {}
        self.hits = self.misses = 0
        self.used: set[str] = set()  # disk entries read or written in this build
        self.warned = False
        if self.directory is not None and self._symlinked():
            log.warning("cnn-cost: the cache directory %s is or holds a symbolic link: the disk cache is off",
                        self.directory)
            self.directory = None
        self._root = str(self.directory) if self.directory is not None else None

    def _symlinked(self) -> bool:
        assert self.directory is not None
        return any(p.is_symlink() for p in (self.directory, self.directory / "views", self.directory / STATE))

    def begin_build(self) -> None:
        self.used = set()
        self.hits = self.misses = 0

    def end_build(self, prune: bool) -> int:
        """Mark the entries this build used; with `prune`, delete the entries no recent full build used
        and stale temporary files. Returns how many files were deleted."""
        if self.directory is None or not self.directory.is_dir() or self._symlinked():
            return 0
        now = time.time()
        for path in self.used:  # the access time says "last used"; the modification time stays the write's
            with contextlib.suppress(OSError):
                os.utime(path, (now, os.stat(path).st_mtime))
        if not prune:
            return 0
        state = self.directory / STATE / "builds"
        try:
            stamps = json.loads(state.read_text(encoding="utf-8"))
            stamps = [float(t) for t in stamps if isinstance(t, (int, float))][-KEEP_BUILDS + 1:]
        except (OSError, ValueError, TypeError, RecursionError):
            stamps = []
        stamps.append(now - 1.0)
        with contextlib.suppress(OSError):
            write_json(state, stamps)
        oldest = stamps[0] if len(stamps) >= KEEP_BUILDS else None
        removed = 0
        for folder, entries_too in ((self.directory, True), (self.directory / "views", True),
                                    (self.directory / STATE, False)):
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if not entry.name.endswith(".json") or not entry.is_file(follow_symlinks=False):
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                    leftover = entry.name.startswith(".tmp-") and info.st_mtime < now - STALE_TMP
                    unused = entries_too and oldest is not None and not entry.name.startswith(".tmp-") \
                        and max(info.st_atime, info.st_mtime) < oldest
                    if leftover or unused:
                        os.unlink(entry.path)
                        removed += 1
                except OSError:
                    continue
        return removed

    def get(self, k: str) -> Entry | None:
        if k in self.memory:
            self.hits += 1
            self._use(self._path(k))
            return self.memory[k]  # type: ignore[no-any-return]
        entry = self._load(k)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self.memory[k] = entry
        return entry

    def put(self, k: str, entry: Entry) -> None:
        self.memory[k] = entry
        self._store(k, entry)

    def get_view(self, k: str) -> tuple[str | None, str] | None:
        """(block id, HTML) of a block that rendered without problems, or None."""
        if k in self.views:
            self._use(self._view_path(k))
            return self.views[k]  # type: ignore[no-any-return]
        path = self._view_path(k)
        try:
            data = _entry_json(path, k)
            if data is None:
                return None
            block_id = data["id"]
            view = (None if block_id is None else _str(block_id), _str(data["html"]), _str(data["result"]))
        except (OSError, ValueError, KeyError, TypeError, RecursionError, json.JSONDecodeError):
            return None
        self.views[k] = view[:2]
        self.view_results[k] = view[2]
        self._use(path)
        return view[:2]

    def put_view(self, k: str, block_id: str | None, html: str, result_key: str) -> None:
        self.views[k] = (block_id, html)
        self.view_results[k] = result_key
        self._write(self._view_path(k), {"id": block_id, "html": html, "result": result_key, "key": k})

    def _use(self, path: str | None) -> None:
        if path is not None:
            self.used.add(path)

    # entry paths as plain strings: thousands per build, and pathlib's objects cost more than the reads
    def _view_path(self, k: str) -> str | None:
        return f"{self._root}{os.sep}views{os.sep}{k}.json" if self._root else None

    def _path(self, k: str) -> str | None:
        return f"{self._root}{os.sep}{k}.json" if self._root else None

    def _load(self, k: str) -> Entry | None:
        path = self._path(k)
        try:
            data = _entry_json(path, k)
            if data is None:
                return None
            self._use(path)
            if "error" in data:
                err = data["error"]
                return CnnCostError(_str(err["message"]), _int(err["line"], True), _int(err["column"], True))
            return _result_from_json(data["result"])
        except (OSError, ValueError, KeyError, TypeError, RecursionError, json.JSONDecodeError) as exc:
            log.debug("cnn-cost: ignoring cache entry %s (%s)", path, exc)
            return None

    def _store(self, k: str, entry: Entry) -> None:
        path = self._path(k)
        if path is None:
            return
        if isinstance(entry, CnnCostError):
            payload: dict[str, Any] = {"error": {"message": entry.message, "line": entry.line, "column": entry.column}}
        else:
            payload = {"result": _result_to_json(entry)}
        payload.update(key=k)
        self._write(path, payload)

    def _write(self, path: str | None, payload: dict[str, Any]) -> None:
        if path is None:
            return
        payload["format"] = FORMAT
        try:
            write_json(Path(path), payload)
        except OSError as exc:
            if not self.warned:  # once per build: an unwritable cache makes every build cold
                self.warned = True
                log.warning("cnn-cost: cannot write the cache in %s (%s): blocks will be evaluated again "
                            "next time", self.directory, exc.strerror or exc)
            return
        self._use(path)
