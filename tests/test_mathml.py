"""The `cnn_cost.mathml` extension: real Markdown in, HTML out."""

from __future__ import annotations

import logging
import textwrap

import markdown
import pytest
from bs4 import BeautifulSoup, Tag

from cnn_cost.mathml import MathError, tex_to_mathml

LOGGER = "mkdocs.plugins.cnn_cost.mathml"


def render(source: str) -> str:
    md = markdown.Markdown(
        extensions=[
            "admonition",
            "tables",
            "pymdownx.superfences",
            "pymdownx.inlinehilite",
            "cnn_cost.mathml",
        ]
    )
    return md.convert(textwrap.dedent(source))


def soup(source: str) -> BeautifulSoup:
    return BeautifulSoup(render(source), "html.parser")


def first(node: Tag, name: str, class_: str | None = None) -> Tag:
    """The first `name` element (of class `class_`) under `node`; fails the test if none."""
    found = node.find(name, class_=class_) if class_ else node.find(name)
    assert isinstance(found, Tag), f"no <{name} class={class_}> in {node}"
    return found


def parent_name(node: Tag) -> str | None:
    return node.parent.name if node.parent is not None else None


def test_inline_math() -> None:
    page = soup(r"A kernel of $k \times k$ costs $\frac{a}{b}$ each.")
    maths = page.find_all("math")
    assert [m["display"] for m in maths] == ["inline", "inline"]
    assert first(maths[0], "mo").text == "×"
    assert maths[1].find("mfrac") is not None
    assert "$" not in page.get_text()


def test_inline_math_is_not_touched_by_emphasis_or_escapes() -> None:
    page = soup(r"Sets $\{a_1 * b_2 * c\}$ and $x_a + y_b$.")
    assert page.find("em") is None
    assert page.find("strong") is None
    assert len(page.find_all("math")) == 2
    assert first(page.find_all("math")[0], "mo").text == "{"


def test_prose_dollars_are_not_math() -> None:
    page = soup(r"It costs $5 and $10, and $ x $ is not math, nor is $$.")
    assert page.find("math") is None
    assert "$5 and $10, and $ x $ is not math, nor is $$." in page.get_text()


def test_escaped_dollar_is_a_literal_dollar() -> None:
    page = soup(r"Prices \$x\$ and \$y$ stay text.")
    assert page.find("math") is None
    assert page.get_text().strip() == "Prices $x$ and $y$ stay text."


def test_escaped_backslash_before_math() -> None:
    page = soup(r"A backslash \\$y$ then math.")
    assert page.find("math") is not None
    assert first(page, "p").get_text().startswith("A backslash \\")


def test_code_spans_are_untouched() -> None:
    page = soup(r"Code `$x$` and `$$y$$` and `#!python a = '$b$'` and $z$.")
    codes = page.find_all("code")
    assert codes[0].text == "$x$"
    assert codes[1].text == "$$y$$"
    assert "'$b$'" in codes[2].text
    assert len(page.find_all("math")) == 1


def test_display_math_multiline() -> None:
    page = soup(
        r"""
        The output height is
        $$
        H_{out} = \left\lfloor \frac{H + 2p - k}{s} \right\rfloor + 1
        $$
        for stride $s$.
        """
    )
    block = first(page, "div", "mathml-display")
    assert parent_name(block) == "[document]"  # not inside a paragraph
    assert first(block, "math")["display"] == "block"
    assert block.find("mfrac") is not None
    paragraphs = [p.get_text() for p in page.find_all("p")]
    assert paragraphs[0] == "The output height is"
    assert paragraphs[1].startswith("for stride")
    assert "$$" not in page.get_text()


def test_display_math_on_one_line() -> None:
    page = soup(r"""
        Before.

        $$ C_{out} \cdot C_{in} \cdot k^2 $$

        After.
        """)
    block = first(page, "div", "mathml-display")
    assert len(first(block, "math").find_all("msub")) == 2
    assert "$" not in page.get_text()


def test_fenced_code_is_untouched() -> None:
    source = r"""
        ```text
        $$
        \frac{a}{b}
        $$
        price = $x$
        ```

        ~~~~
        $$ y $$
        ~~~~
        """
    page = soup(source)
    assert page.find("math") is None
    code = [c.get_text() for c in page.find_all("code")]
    assert code[0] == "$$\n\\frac{a}{b}\n$$\nprice = $x$\n"
    assert code[1] == "$$ y $$\n"


def test_math_in_admonition() -> None:
    page = soup(r"""
        !!! note "Cost"
            One product per $k^2$ window:

            $$
            \text{MACs} = k^2 \cdot C_{in}
            $$

            ```text
            $$ not math $$
            ```
        """)
    admonition = first(page, "div", "admonition")
    assert admonition.find("math", display="inline") is not None
    assert first(first(admonition, "div", "mathml-display"), "math")["display"] == "block"
    assert first(admonition, "code").get_text() == "$$ not math $$\n"


def test_math_in_list() -> None:
    page = soup(r"""
        1. First $a$:

            $$
            a + b
            $$

        2. Second $b$
            $$ b^2 $$
        """)
    items = page.find_all("li")
    assert len(items) == 2
    for item in items:
        assert item.find("math", display="inline") is not None
        assert item.find("div", class_="mathml-display") is not None


def test_math_in_table() -> None:
    page = soup(r"""
        | layer | params |
        |---|---|
        | Conv | $k^2 C_{in} C_{out}$ |
        """)
    assert page.find_all("td")[1].find("math") is not None


def test_bad_tex_is_logged_and_shown_as_code(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        page = soup(r"""
            Bad $x^$ here.

            $$
            \notacommand{x}
            $$
            """)
    assert page.find("math") is None
    errors = page.find_all("code", class_="mathml-error")
    assert [e.get_text() for e in errors] == ["$x^$", "$$\n\\notacommand{x}\n$$"]
    assert parent_name(errors[1]) == "pre"
    records = [r for r in caplog.records if r.name == LOGGER]
    assert len(records) == 2
    assert all(r.levelno == logging.WARNING for r in records)
    messages = " ".join(r.getMessage() for r in records)
    assert '"$x^$"' in messages
    assert r'"$$ \notacommand{x} $$"' in messages
    assert "unknown command \\notacommand" in messages


def test_unclosed_display_math_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        html = render("""
            $$
            x + y

            more
            """)
    assert "<math" not in html
    assert any("no closing $$" in r.getMessage() for r in caplog.records if r.name == LOGGER)


def test_tex_to_mathml() -> None:
    assert tex_to_mathml("x").startswith('<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">')
    assert 'display="block"' in tex_to_mathml("x", display=True)
    with pytest.raises(MathError, match="DoubleSubscriptsError"):
        tex_to_mathml("a_1_2")
