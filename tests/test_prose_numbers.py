"""Every count printed in the guide's prose came from the plugin (or sits in code)."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

# digits grouped in thousands (545,098 / 545 098 with thin spaces) or any run of 5+ digits
COUNT = re.compile(r"\d{1,3}(?:[,\u2009\u202f]\d{3})+|\d{5,}")
PLUGIN_AND_CODE = "div.cnn-cost, span.cnn-cost-ref, code, pre, math, script, style, svg"


def stray_counts(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    article = soup.select_one("article")
    if article is None:
        return []
    for node in article.select(PLUGIN_AND_CODE):
        node.decompose()
    text = article.get_text(" ")
    return [text[max(0, m.start() - 40) : m.end() + 10].replace("\n", " ") for m in COUNT.finditer(text)]


def test_stray_counts_are_found():
    html = ("<article><p>It has 545,098 parameters, <span class='cnn-cost-ref'>61,264,904</span>, "
            "<code>46,756,544</code> and 138357544.</p></article>")
    found = stray_counts(html)
    assert len(found) == 2
    assert "545,098" in found[0] and "138357544" in found[1]


def test_guide_counts_come_from_the_plugin(guide):
    assert guide.code == 0, guide.out[-3000:]
    pages = sorted(p for p in guide.site.rglob("index.html") if "search" not in p.parts)
    assert len(pages) >= 11
    problems = {}
    for page in pages:
        found = stray_counts(page.read_text(encoding="utf-8"))
        if found:
            problems[str(page.relative_to(guide.site))] = found
    assert not problems, f"counts in prose that did not come from the plugin: {problems}"
