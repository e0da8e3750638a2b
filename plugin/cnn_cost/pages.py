"""The blocks and `#!cnn` references of a Markdown file that the command line checks, with their places.

`cnn_cost.lines` finds candidates by scanning the text: a fence shown inside another fence (an example
in a ````markdown block) is one too. Tools that edit a file or report per block (`cnn-cost update`, the
pytest plugin) need the real ones: the file is converted once with the formatters `cnn-cost check`
registers, replaced by recorders that only note what they are given (nothing is evaluated, torch is not
imported), and each recorded body or expression is matched to a candidate, top-level candidates first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from markdown import Markdown

from cnn_cost.lines import Fence, Span, fence_places, inline_places, normalize_body
from cnn_cost.markdown import formatter_config


@dataclass(frozen=True)
class Places:
    """The real blocks and references of one file, in document order."""

    blocks: tuple[Fence, ...]
    references: tuple[Span, ...]


class _Recorder:
    """Formatters that note the fence bodies and inline expressions Python-Markdown hands them."""

    def __init__(self) -> None:
        self.bodies: Counter[str] = Counter()
        self.exprs: Counter[str] = Counter()

    def fence(self, src: str, *args: Any, **kwargs: Any) -> str:
        self.bodies[normalize_body(src)] += 1
        return ""

    def inline(self, src: str, *args: Any, **kwargs: Any) -> str:
        self.exprs[src.strip()] += 1
        return ""


def places(text: str) -> Places:
    """Where the blocks and references `cnn-cost check` would read are in `text` (a whole file)."""
    recorder = _Recorder()
    settings = formatter_config()
    settings["pymdownx.superfences"]["custom_fences"][0]["format"] = recorder.fence
    settings["pymdownx.inlinehilite"]["custom_inline"][0]["format"] = recorder.inline
    Markdown(extensions=list(settings), extension_configs=settings).convert(text)
    fences = fence_places(text)
    # a body seen k times is the k first candidates with that body, those inside no other fence first
    chosen: set[int] = set()
    for index, fence in sorted(enumerate(fences), key=lambda item: (item[1].nested, item[0])):
        key = normalize_body(fence.body)
        if recorder.bodies[key] > 0:
            recorder.bodies[key] -= 1
            chosen.add(index)
    references = []
    for span in inline_places(text):
        if recorder.exprs[span.expr] > 0:
            recorder.exprs[span.expr] -= 1
            references.append(span)
    return Places(tuple(f for i, f in enumerate(fences) if i in chosen), tuple(references))
