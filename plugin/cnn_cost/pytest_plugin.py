"""`pytest --cnn-cost docs/`: every `cnn-cost` block and `#!cnn` reference of the Markdown files collected.

Registered under the `pytest11` entry point as `cnn_cost`. Each block of each `*.md` file under the paths
pytest collects is an item named `path:line`, the line of the block's opening fence; so are the `#!cnn`
references of a line (they can fail a build too), one item a line. A page is checked as `cnn-cost check`
checks it, once, when its first item runs: an item passes when the build would report nothing for it,
fails with the build's messages (`path:line: cnn-cost block 'id': params: expected …, computed …`), and an
`xfail: true` block whose claims are wrong is xfailed (one whose claims all hold fails, as the build does).
`--cnn-cost-config mkdocs.yml` takes the plugin's options (imports, flops, cache_dir) and docs_dir from a
site; without it, a directory among pytest's arguments is the docs directory for `page.md#id` references.

Without `--cnn-cost` the plugin only adds its two options: no file is collected and nothing of the package
is imported (torch is imported by the first block evaluated, never at collection).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from cnn_cost.lines import Fence
    from cnn_cost.session import Session

_SESSION = pytest.StashKey["Session"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cnn-cost")
    group.addoption("--cnn-cost", action="store_true", default=False,
                    help="collect the cnn-cost blocks and #!cnn references of Markdown files (*.md) as tests")
    group.addoption("--cnn-cost-config", metavar="MKDOCS_YML", default=None,
                    help="a site's mkdocs.yml: the cnn-cost plugin's options (imports, flops, cache_dir) and "
                         "docs_dir")


def pytest_configure(config: pytest.Config) -> None:
    site = config.getoption("cnn_cost_config")
    if config.getoption("cnn_cost") and site and not (config.invocation_params.dir / site).is_file():
        raise pytest.UsageError(f"--cnn-cost-config: no file {site}")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> MarkdownFile | None:
    if file_path.suffix == ".md" and parent.config.getoption("cnn_cost"):
        return MarkdownFile.from_parent(parent, path=file_path)
    return None


def _session(config: pytest.Config) -> Session:
    """The one session of the test run (results shared across pages), made on first use."""
    session = config.stash.get(_SESSION, None)
    if session is None:
        from cnn_cost.cli import site_session

        here = config.invocation_params.dir
        site = config.getoption("cnn_cost_config")
        dirs = [here / arg for arg in config.args if (here / arg).is_dir()]
        try:
            session = site_session(here / site if site else None, docs_dir=None if site or not dirs else dirs[0])
        except SystemExit as exc:  # the site's config cannot be read: said once, as a usage error
            raise pytest.UsageError(str(exc)) from None
        config.stash[_SESSION] = session
    return session


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The plugin's log records (one per problem) kept out of the test report: the items report them."""
    log = logging.getLogger("mkdocs.plugins.cnn_cost")
    was, log.disabled = log.disabled, True
    try:
        yield
    finally:
        log.disabled = was


class CnnCostFailure(Exception):
    """An item's problems, as the build states them."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


class MarkdownFile(pytest.File):
    """A Markdown file: an item per block and per `#!cnn` reference; the page is checked once, on demand."""

    text = ""
    display = ""
    items: list[CnnCostItem]
    _outcomes: dict[str, tuple[list[str], str | None]] | None = None  # item name -> (messages, xfail reason)

    def collect(self) -> Iterator[CnnCostItem]:
        from cnn_cost.pages import places

        self.text = self.path.read_text(encoding="utf-8")
        here = str(self.config.invocation_params.dir)
        relative = os.path.relpath(self.path, here)
        self.display = Path(relative).as_posix() if not relative.startswith("..") else str(self.path)
        found = places(self.text)
        self.items = [CnnCostItem.from_parent(self, name=f"{self.display}:{fence.opening + 1}",
                                              first=fence.opening + 1, last=fence.closing + 1, fence=fence)
                      for fence in found.blocks]
        lines = dict.fromkeys(span.line for span in found.references)  # the references of a line: one item
        self.items += [CnnCostItem.from_parent(self, name=f"{self.display}:{line}", first=line, last=line, fence=None)
                       for line in lines]
        yield from self.items

    def outcome(self, item: CnnCostItem) -> tuple[list[str], str | None]:
        if self._outcomes is None:
            self._outcomes = self._check()
        return self._outcomes.get(item.name, ([], None))

    def _check(self) -> dict[str, tuple[list[str], str | None]]:
        """The page converted as `cnn-cost check` converts it; each problem given to the item at its line."""
        from cnn_cost.cli import converter
        from cnn_cost.session import printable

        session = _session(self.config)
        before = len(session.problems)
        session.current_path, session.current_source = self.display, self.text
        with _quiet():
            converter(session).convert(self.text)
        items = self.items  # every item of the file, those deselected too: each problem goes where it is
        outcomes: dict[str, tuple[list[str], str | None]] = {i.name: ([], None) for i in items}
        for problem in session.problems[before:]:
            owner = _owner(items, problem.line)
            outcomes[owner.name][0].append(printable(str(problem)))
        for item in items:
            if item.fence is not None and not outcomes[item.name][0]:
                outcomes[item.name] = ([], _xfail_reason(session, item.fence))
        return outcomes


def _owner(items: list[CnnCostItem], line: int | None) -> CnnCostItem:
    """The item a problem at `line` belongs to: the block or reference there, else the last one before it."""
    if line is not None:
        for item in items:
            if item.first <= line <= item.last:
                return item
        before = [i for i in items if i.first <= line]
        if before:
            return max(before, key=lambda i: i.first)
    return items[0]


def _xfail_reason(session: Session, fence: Fence) -> str | None:
    """For an `xfail: true` block whose claims are wrong (no problem): the wrong numbers, its xfail reason."""
    from cnn_cost.block import parse_block
    from cnn_cost.claims import check
    from cnn_cost.errors import CnnCostError

    try:
        block = parse_block(fence.body, fence.first_line, session.imports)
        if not block.xfail:
            return None
        wrong = check(block.expect, session.compute(block)).wrong  # the page's check computed it: from the cache
    except CnnCostError:  # pragma: no cover - the page's check reported it, at some item
        return None
    return "xfail: true: " + "; ".join(w.message for w in wrong)


class CnnCostItem(pytest.Item):
    """One block (`fence`) or one `#!cnn` reference (no fence), lines `first` to `last` of its file."""

    def __init__(self, *, first: int, last: int, fence: Fence | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.first, self.last, self.fence = first, last, fence

    @property
    def page(self) -> MarkdownFile:
        assert isinstance(self.parent, MarkdownFile)
        return self.parent

    def runtest(self) -> None:
        messages, xfail = self.page.outcome(self)
        if messages:
            raise CnnCostFailure(messages)
        if xfail:
            pytest.xfail(xfail)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CnnCostFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        kind = "cnn-cost block" if self.fence is not None else "#!cnn references of"
        return self.path, self.first - 1, f"{kind} {self.name}"
