"""Content-hash cache of evaluated blocks: in memory, and as JSON files on disk.

Keys cover the block text, the default convention, the configured imports (and the text of
any imported module's file), the torch version and this package's version. Disk entries are
JSON (never pickle), checked field by field on load: a truncated, corrupted or older entry is
a miss, and is rewritten.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from cnn_cost.atomic import write_json
from cnn_cost.errors import CnnCostError
from cnn_cost.evaluate import Result, Row

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
    )


Entry = Result | CnnCostError


class Cache:
    """Results by key, in memory, backed by `directory` when one is given."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory else None
        self.memory: dict[str, Entry] = {}
        self.views: dict[str, tuple[str | None, str]] = {}
        self.view_results: dict[str, str] = {}
        self.hits = self.misses = 0

    def get(self, k: str) -> Entry | None:
        if k in self.memory:
            self.hits += 1
            return self.memory[k]
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
            return self.views[k]
        path = self._view_path(k)
        if path is None or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != k:
                raise ValueError("stale entry")
            block_id = data["id"]
            view = (None if block_id is None else _str(block_id), _str(data["html"]), _str(data["result"]))
        except (OSError, ValueError, KeyError, TypeError, RecursionError, json.JSONDecodeError):
            return None
        self.views[k] = view[:2]
        self.view_results[k] = view[2]
        return view[:2]

    def put_view(self, k: str, block_id: str | None, html: str, result_key: str) -> None:
        self.views[k] = (block_id, html)
        self.view_results[k] = result_key
        self._write(self._view_path(k), {"id": block_id, "html": html, "result": result_key, "key": k})

    def _view_path(self, k: str) -> Path | None:
        return self.directory / "views" / f"{k}.json" if self.directory else None

    def _path(self, k: str) -> Path | None:
        return self.directory / f"{k}.json" if self.directory else None

    def _load(self, k: str) -> Entry | None:
        path = self._path(k)
        if path is None or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != k:
                raise ValueError("stale entry")
            if "error" in data:
                err = data["error"]
                return CnnCostError(_str(err["message"]), _int(err["line"], True), _int(err["column"], True))
            return _result_from_json(data["result"])
        except (OSError, ValueError, KeyError, TypeError, RecursionError, json.JSONDecodeError) as exc:
            log.debug("cnn-cost: ignoring cache entry %s (%s)", path.name, exc)
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

    def _write(self, path: Path | None, payload: dict[str, Any]) -> None:
        if path is None:
            return
        payload["format"] = FORMAT
        try:
            write_json(path, payload)
        except OSError as exc:
            log.debug("cnn-cost: cannot write cache entry %s (%s)", path, exc)
