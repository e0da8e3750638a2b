"""The project's own Python modules that blocks build models from (`imports:`).

A block's result depends on the source of the listed module and of every project module it
loads (helpers beside it), so this module

- imports a listed module (with the site's directory on `sys.path`, writing no bytecode),
  first dropping every project module whose file changed since it was imported, so that a
  long `mkdocs serve` never builds from stale code;
- records, per listed module, the project files that were loaded when it was imported, and
  keeps that record on disk beside the cache (a fresh process knows the helpers too);
- gives a fingerprint of those files' current text for the cache key, read without
  importing anything (a warm rebuild imports no torch);
- lists the files to watch in `mkdocs serve`.

"Project module": a loaded module whose file lies under the site's directory and outside
the interpreter's prefixes and any `site-packages` (so a virtual environment inside the
project is not the project).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import sys
import threading
from pathlib import Path
from types import ModuleType

from cnn_cost.atomic import write_json

_LOCK = threading.RLock()
_RECORD = "imports"


def _digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "missing"


class ModuleTracker:
    """Imports, dependency records and fingerprints of the listed modules of one site."""

    def __init__(self, site_path: str | None, record_dir: Path | None = None) -> None:
        self.site_path = str(Path(site_path).resolve()) if site_path else None
        self.record_dir = record_dir
        self.deps: dict[str, list[str]] = {}  # listed module -> project files loaded with it
        self.loaded: dict[str, str] = {}  # project file -> digest when its module was imported
        self._stat: dict[str, tuple[int, int, str]] = {}  # file -> (mtime_ns, size, digest)
        self._seen: dict[str, tuple[ModuleType, str | None]] = {}  # module name -> (module, project file)
        self._read_record()

    # ------------------------------------------------------------ record ----

    def _record_path(self) -> Path | None:
        return self.record_dir / "state" / _RECORD if self.record_dir else None

    def _read_record(self) -> None:
        path = self._record_path()
        if path is None or self.site_path is None:
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                return
            for name, files in data.items():
                if isinstance(name, str) and isinstance(files, list) and all(isinstance(f, str) for f in files):
                    # stored relative to the site; anything that would leave it is ignored
                    full = [str(Path(self.site_path, f)) for f in files if not Path(f).is_absolute()
                            and ".." not in Path(f).parts]
                    self.deps[name] = full
        except (OSError, ValueError, RecursionError):
            return

    def _write_record(self) -> None:
        path = self._record_path()
        if path is None or self.site_path is None:
            return
        data = {name: sorted(os.path.relpath(f, self.site_path) for f in files) for name, files in self.deps.items()}
        with contextlib.suppress(OSError):  # no record: the next process finds the helpers again
            write_json(path, data)

    # ------------------------------------------------------------- files ----

    def own_file(self, name: str) -> str | None:
        """The file of a listed module beside mkdocs.yml, found without importing it."""
        if self.site_path is None:
            return None
        base = Path(self.site_path, *name.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return str(candidate)
        return None

    def files(self, name: str) -> list[str]:
        """The project files a listed module's models depend on (as last recorded)."""
        own = self.own_file(name)
        recorded = self.deps.get(name, [])
        return sorted({*recorded, *([own] if own else [])})

    def digest(self, path: str) -> str:
        """The file's text hash, recomputed only when its size or modification time changed."""
        try:
            st = os.stat(path)
        except OSError:
            return "missing"
        seen = self._stat.get(path)
        if seen is not None and seen[:2] == (st.st_mtime_ns, st.st_size):
            return seen[2]
        value = _digest(path)
        self._stat[path] = (st.st_mtime_ns, st.st_size, value)
        return value

    def fingerprint(self, name: str) -> str:
        """A hash of the current text of every file the module depends on."""
        files = self.files(name)
        if not files:
            return f"{name}:not-found"
        parts = [f"{os.path.relpath(f, self.site_path or '/')}={self.digest(f)}" for f in files]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def watched_files(self, names: tuple[str, ...]) -> list[str]:
        return sorted({f for name in names for f in self.files(name) if os.path.isfile(f)})

    def changed(self, names: tuple[str, ...]) -> set[str]:
        """Listed modules some of whose loaded files changed since they were imported."""
        out = set()
        for name in names:
            for f in self.files(name):
                if f in self.loaded and self.digest(f) != self.loaded[f]:
                    out.add(name)
        return out

    # ------------------------------------------------------------ import ----

    def _is_project(self, module: ModuleType) -> str | None:
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not os.path.isabs(path) or self.site_path is None:
            return None  # torch's op namespaces carry relative, made-up file names
        try:
            full = str(Path(path).resolve())
        except (OSError, ValueError):
            return None
        if not full.startswith(self.site_path + os.sep) or not os.path.isfile(full):
            return None
        for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
            if full.startswith(str(Path(prefix).resolve()) + os.sep):
                return None
        if "site-packages" in Path(full).parts or "dist-packages" in Path(full).parts:
            return None
        return full

    def _project_modules(self) -> dict[str, str]:
        """Loaded project modules by name; each module's file is looked at once (thousands after torch)."""
        out = {}
        for mod_name, module in list(sys.modules.items()):
            if module is None:
                continue
            seen = self._seen.get(mod_name)
            if seen is None or seen[0] is not module:
                seen = (module, self._is_project(module))
                self._seen[mod_name] = seen
            if seen[1]:
                out[mod_name] = seen[1]
        return out

    def refresh(self) -> bool:
        """Drop every loaded project module if any of their files changed. True if some were dropped."""
        with _LOCK:
            loaded = self._project_modules()
            stale = any(f in self.loaded and self.digest(f) != self.loaded[f] for f in loaded.values())
            if not stale:
                return False
            for mod_name in loaded:
                sys.modules.pop(mod_name, None)
                self._seen.pop(mod_name, None)
            for f in list(self.loaded):
                self.loaded.pop(f, None)
            importlib.invalidate_caches()
            return True

    def load(self, name: str) -> ModuleType:
        """Import a listed module from the site's directory, never from stale code. Raises ImportError."""
        with _LOCK:
            self.refresh()
            added = False
            if self.site_path and self.site_path not in sys.path:
                sys.path.insert(0, self.site_path)
                added = True
            writes = sys.dont_write_bytecode
            sys.dont_write_bytecode = True  # a build writes nothing beside the author's module
            try:
                module = importlib.import_module(name)
            except ImportError:
                importlib.invalidate_caches()  # a module added later is found on the next build
                raise
            finally:
                sys.dont_write_bytecode = writes
                if added:
                    sys.path.remove(self.site_path)  # type: ignore[arg-type]
            project = self._project_modules()
            for f in project.values():
                self.loaded.setdefault(f, self.digest(f))
            files = sorted(set(project.values()))
            if files and self.deps.get(name) != files:
                self.deps[name] = files
                self._write_record()
            return module


def refused(name: str) -> str | None:
    """Why a module may not be listed in `imports` (standard library, builtins, not a module name), or None."""
    top = name.split(".", maxsplit=1)[0]
    if not name or not all(part.isidentifier() for part in name.split(".")):
        return f"{name!r} is not a module name"
    if top in sys.stdlib_module_names or top in sys.builtin_module_names or top == "builtins":
        return f"{name!r} is a standard-library module: list the project's own model modules"
    return None


_TRACKERS: dict[tuple[str | None, str | None], ModuleTracker] = {}


def tracker(site_path: str | None, record_dir: Path | str | None = None) -> ModuleTracker:
    """The one tracker of a site in this process (sys.modules is per process)."""
    k = (str(Path(site_path).resolve()) if site_path else None, str(record_dir) if record_dir else None)
    with _LOCK:
        found = _TRACKERS.get(k)
        if found is None:
            found = ModuleTracker(site_path, Path(record_dir) if record_dir else None)
            _TRACKERS[k] = found
        return found
