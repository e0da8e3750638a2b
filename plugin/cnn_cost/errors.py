"""The plugin's own error type: every problem an author can cause is one of these."""

from __future__ import annotations

from pymdownx.inlinehilite import InlineHiliteException
from pymdownx.superfences import SuperFencesException


class CnnCostError(SuperFencesException, InlineHiliteException):
    """A bad block, a bad claim, or a wrong number, located in the Markdown source.

    It derives from `SuperFencesException` and `InlineHiliteException` so that, when the
    formatters run in a plain Python-Markdown extension (no MkDocs plugin to collect
    problems), pymdownx does not swallow it and the conversion fails.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
