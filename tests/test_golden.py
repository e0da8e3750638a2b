"""Golden files: the HTML of whole blocks and references, byte for byte.

Each tests/golden/<case>.md is rendered by the plain Python-Markdown extension (the CLI's
converter, configured as the plugin configures the fences) with `on_error: warn`, so problems
are shown in the page as `mkdocs serve` shows them, and compared exactly with
tests/golden/<case>.html (only a trailing newline is normalised). On a mismatch the test shows a
unified diff.

After a deliberate change of the HTML, `pytest tests/test_golden.py --update-golden` rewrites
the .html files from the current rendering: read their diff before committing it. To add a
case, add a small <case>.md and run with --update-golden once.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from cnn_cost.cli import converter
from cnn_cost.markdown import Session

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = sorted(path.stem for path in GOLDEN.glob("*.md"))


def render(case: str) -> str:
    text = (GOLDEN / f"{case}.md").read_bytes().decode("utf-8")
    return converter(Session(on_error="warn")).convert(text)


def test_the_cases_are_there() -> None:
    assert len(CASES) >= 9, CASES
    orphans = sorted(path.name for path in GOLDEN.glob("*.html") if path.stem not in CASES)
    assert orphans == [], "golden .html files without their .md"


@pytest.mark.parametrize("case", CASES)
def test_golden_html(case: str, request: pytest.FixtureRequest) -> None:
    html = render(case)
    path = GOLDEN / f"{case}.html"
    if request.config.getoption("--update-golden"):
        path.write_bytes((html + "\n").encode("utf-8"))
        return
    if not path.is_file():
        pytest.fail(f"{path.name} is missing: run `pytest tests/test_golden.py --update-golden` once", pytrace=False)
    expected = path.read_bytes().decode("utf-8").removesuffix("\n")  # bytes: no newline translation
    if html != expected:
        diff = difflib.unified_diff(expected.splitlines(keepends=True), html.splitlines(keepends=True),
                                    f"tests/golden/{case}.html", f"tests/golden/{case}.md, rendered now")
        pytest.fail("the rendered HTML differs from the golden file (after a deliberate change: "
                    "pytest tests/test_golden.py --update-golden):\n" + "".join(diff), pytrace=False)
