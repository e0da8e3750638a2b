"""The plugin's own error type: every problem an author can cause is one of these.

One `CnnCostError` may carry several problems of one block (every unknown layer of its expressions,
say): the first is the error itself (`message`, `line`, `column`), the others are in `more`, and
`problems` lists them all, each a `CnnCostError` of its own with its own line and column. Every
reporter (the build log, the page's red box, the plain extension, `cnn-cost check`) shows each
problem on a line of its own.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from pymdownx.inlinehilite import InlineHiliteException
from pymdownx.superfences import SuperFencesException

MAX_PROBLEMS = 50  # problems listed for one block; a block with more says how many are left out


class CnnCostError(SuperFencesException, InlineHiliteException):
    """A bad block, a bad claim, or a wrong number, located in the Markdown source.

    It derives from `SuperFencesException` and `InlineHiliteException` so that, when the
    formatters run in a plain Python-Markdown extension (no MkDocs plugin to collect
    problems), pymdownx does not swallow it and the conversion fails.

    `more`: the block's further problems, in source order. `str()` of an error with further
    problems lists every message, one a line.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None, *,
                 more: Sequence[CnnCostError] = ()) -> None:
        self.message = message
        self.line = line
        self.column = column
        self.more: tuple[CnnCostError, ...] = tuple(p for e in more for p in e.problems)
        super().__init__("\n".join(p.message for p in self.problems))

    @property
    def problems(self) -> tuple[CnnCostError, ...]:
        """Every problem this error carries, each with no further ones: itself first, then `more`."""
        first = self if not self.more else CnnCostError(self.message, self.line, self.column)
        return (first, *self.more)

    @classmethod
    def of(cls, errors: Iterable[CnnCostError]) -> CnnCostError:
        """One error carrying every problem of `errors` (each may carry several), sorted by place; more than
        MAX_PROBLEMS are cut, with a last problem that says how many were left out."""
        problems = sorted((p for e in errors for p in e.problems), key=_place)
        if not problems:
            raise ValueError("CnnCostError.of needs at least one error")
        if len(problems) > MAX_PROBLEMS:
            left = len(problems) - MAX_PROBLEMS + 1
            cut = problems[MAX_PROBLEMS - 1]
            problems = [*problems[: MAX_PROBLEMS - 1],
                        CnnCostError(f"… and {left} more problems of this block, not listed", cut.line, cut.column)]
        first, *rest = problems
        return cls(first.message, first.line, first.column, more=rest)

    def shifted(self, lines: int) -> CnnCostError:
        """The same problems with every line moved by `lines` (lines relative to a block and back)."""
        moved = [CnnCostError(p.message, None if p.line is None else p.line + lines, p.column) for p in self.problems]
        return CnnCostError(moved[0].message, moved[0].line, moved[0].column, more=moved[1:])


class OptionError(CnnCostError, ValueError):
    """A bad option of the extension (`flops: 3mac`): an author's mistake like a bad block, and a ValueError."""


def _place(error: CnnCostError) -> tuple[int, int]:
    """Sort key: by line then column; a problem without a line keeps its place after those with one."""
    return (error.line if error.line is not None else 2**62, error.column or 0)


def suggest(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the choice closest to `word`, or "" when none is close."""
    close = closest(word, choices)
    return f" (did you mean {close!r}?)" if close is not None else ""


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to `word`, or None when none is close.

    Among close choices, one with the same letters in another order (`modle` -> `model`, a
    transposition) is preferred to one with a letter fewer (`mode`); failing any, a choice that
    differs only in case (`relu` -> `ReLU`).
    """
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    same_letters = [c for c in close if sorted(c.lower()) == sorted(word.lower())]
    if same_letters:
        return same_letters[0]
    if close:
        return close[0]
    lowered = {c.lower(): c for c in choices}
    return lowered.get(word.lower())
