"""A real `mkdocs serve` for tests: started on a free loopback port, polled over HTTP, stopped cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REQUEST_TIMEOUT = 5.0  # seconds per HTTP request
POLL_INTERVAL = 0.05  # seconds between two polls of a page
STARTUP_DEADLINE = 180.0  # the first build may import PyTorch
STOP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    timeouts: int = 0  # requests that hit REQUEST_TIMEOUT
    errors: int = 0  # other failed requests (connection refused, 5xx...)
    requests: int = 0
    last_error: str = ""

    def alive(self) -> None:
        if self.proc.poll() is not None:
            pytest.fail(f"mkdocs serve exited with {self.proc.returncode}; log:\n{self.log_tail()}")

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def get(self, path: str = "") -> str | None:
        """One GET of a page, or None on a timeout or error (counted)."""
        self.requests += 1
        try:
            with urllib.request.urlopen(self.url + path, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310
                return str(response.read().decode("utf-8"))
        except TimeoutError:
            self.timeouts += 1
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                self.timeouts += 1
            else:
                self.errors += 1
                self.last_error = repr(exc)
        except (ConnectionError, OSError) as exc:
            self.errors += 1
            self.last_error = repr(exc)
        return None

    def wait_for(self, marker: str, deadline: float, path: str = "") -> tuple[str, int]:
        """Poll a page until it contains `marker`; returns (html, tries)."""
        end = time.monotonic() + deadline
        tries = 0
        html = None
        while time.monotonic() < end:
            self.alive()
            tries += 1
            html = self.get(path)
            if html is not None and marker in html:
                return html, tries
            time.sleep(POLL_INTERVAL)
        pytest.fail(
            f"/{path} did not show {marker!r} within {deadline:.0f} s ({tries} tries, "
            f"{self.timeouts} timeouts so far); last page: {'none' if html is None else html[-500:]!r}\n"
            f"server log:\n{self.log_tail()}"
        )

    def wait_log(self, text: str, deadline: float, after: int = 0) -> None:
        """Wait until the server's log (from character `after` on) contains `text`."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            self.alive()
            if text in self.log_text()[after:]:
                return
            time.sleep(POLL_INTERVAL)
        pytest.fail(f"the server log did not show {text!r} within {deadline:.0f} s:\n{self.log_tail()}")


@contextlib.contextmanager
def serve(project: Path, tmp: Path, *args: str, first: str, first_path: str = "",
          env: dict[str, str] | None = None) -> Iterator[Server]:
    """`python -m mkdocs serve` in `project` until the page `first_path` shows `first`."""
    port = free_port()
    log = tmp / f"serve-{port}.log"
    # mkdocs serve builds into a mkdtemp() directory, removed only on a clean stop: keep it in tmp
    tmpdir = tmp / f"tmp-{port}"
    tmpdir.mkdir(parents=True)
    full_env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmpdir),
                **(env or {})}
    with log.open("wb") as out:  # a file, not a pipe: an unread pipe would block the server
        proc = subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}", *args],
            cwd=project, env=full_env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    srv = Server(proc, f"http://127.0.0.1:{port}/", log)
    try:
        srv.wait_for(first, STARTUP_DEADLINE, first_path)
        srv.requests = srv.timeouts = srv.errors = 0  # connection refused while starting is normal
        yield srv
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C (a clean stop, which removes the temporary site), then terminate, then kill."""
    for signal_it in (lambda: proc.send_signal(signal.SIGINT), proc.terminate, proc.kill):
        if proc.poll() is not None:
            return
        signal_it()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            continue


def save(path: Path, text: str) -> None:
    """Write a file as an editor does, and make sure its modification time moves on (coarse clocks)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns <= before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))
