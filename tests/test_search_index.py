"""The tables in the search index: one word per cell, for Material's search and MkDocs' own.

Each site is built for real with `mkdocs build --strict`; the tests read
`site/search/search_index.json` and split its text the way each theme's search code does:

- Material (9.x, `material/plugins/search`): the index text keeps a few tags (`<p>`, `<code>`,
  `<pre>`, lists) and drops the others, so text of neighbouring cells runs together unless
  whitespace separates them. Its JavaScript tokenizer splits the text between tags with the
  `separator` of the index (default `[\\s\\-]+`); a query is split at whitespace and with the same
  separator, and every term gets a trailing wildcard (a term matches the words it starts).
- MkDocs' built-in search (theme `mkdocs`, `readthedocs`): the index text is plain text; lunr
  lower-cases it, splits it with the separator and trims non-word characters at both ends of a
  word; a query term must equal a word.

Where `node` is installed, the themes' own JavaScript answers the queries as well.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import mkdocs, write_site

PAGE = """
# Convolution costs

The first convolution of this network is wide and costly.

```cnn-cost
id: net
input: 3x32x32
model: nn.Sequential(nn.Conv2d(3, 64, 3), nn.ReLU(), nn.Conv2d(64, 16, 3))
```

## After the table

Closing words about channels.
"""
# Conv2d(3, 64, 3) on 3x32x32 (output 30x30): 3·3·3·64 + 64 = 1,792 parameters,
# 27·64·30·30 = 1,555,200 MACs, 3,110,400 FLOPs; the second Conv2d has 9,232 parameters.
ROW_NUMBERS = ("1,792", "1,555,200", "3,110,400", "9,232")
PROSE = ("wide", "closing")  # words of the page's prose, before and after the block
# The separator Material's documentation suggests for code-heavy sites: it splits at commas too.
MATERIAL_DOCS_SEPARATOR = r'[\s\u200b\-_,:!=\[\]()"`/]+|\.(?!\d)|&[lg]t;|(?!\b)(?=[A-Z][a-z])'


def plain(number: str) -> str:
    return number.replace(",", "")


@dataclass
class Index:
    root: Path
    out: str
    data: dict[str, Any]

    @property
    def separator(self) -> str:
        return str(self.data["config"]["separator"])

    @property
    def texts(self) -> list[str]:
        return [str(doc["text"]) for doc in self.data["docs"]]

    @property
    def page_html(self) -> str:
        return (self.root / "site" / "index.html").read_text(encoding="utf-8")


def build(root: Path, *, theme: str = "material", search: str = "- search", plugin: str = "- cnn-cost") -> Index:
    write_site(root, {"index.md": PAGE}, plugin=plugin, theme=theme, search=search)
    built = mkdocs(root, "--strict")
    assert built.code == 0, built.out
    data = json.loads((built.site / "search" / "search_index.json").read_text(encoding="utf-8"))
    return Index(root, built.out, data)


# -------------------------------------------------------------- tokenizers ----


def material_words(text: str, separator: str) -> list[str]:
    """Words of one Material index text, as its `tokenize` makes them (text between tags, split)."""
    words = []
    for chunk in re.split(r"<[^>]*>", text):
        words += [w.lower() for w in re.split(separator, chunk) if w]
    return words


def material_finds(index: Index, query: str) -> bool:
    """Whether one section holds every term of `query` (each term with its trailing wildcard)."""
    terms = [t.lower() for part in query.split() for t in re.split(index.separator, part) if t]
    for text in index.texts:
        words = material_words(text, index.separator)
        if all(any(w.startswith(t) for w in words) for t in terms):
            return True
    return False


def lunr_words(text: str, separator: str) -> list[str]:
    """Words of one MkDocs index text, as lunr makes them: lower-cased, split, trimmed."""
    words = (re.sub(r"^\W+|\W+$", "", w) for w in re.split(separator, text.lower()))
    return [w for w in words if w]


def mkdocs_finds(index: Index, query: str) -> bool:
    terms = [t for t in re.split(r"[\s\-]+", query.lower()) if t]
    return any(all(t in lunr_words(text, index.separator) for t in terms) for text in index.texts)


GLUED = re.compile(r"\d,\d{3}\d")  # a grouped number with more digits stuck to it: "1,7921,555,200"


# ------------------------------------------------------------------ sites ----


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> Index:
    return build(tmp_path_factory.mktemp("material"))


@pytest.fixture(scope="module")
def material_commas(tmp_path_factory: pytest.TempPathFactory) -> Index:
    separator = MATERIAL_DOCS_SEPARATOR.replace("'", "''")
    return build(tmp_path_factory.mktemp("material-commas"), search=f"- search:\n    separator: '{separator}'")


@pytest.fixture(scope="module")
def builtin(tmp_path_factory: pytest.TempPathFactory) -> Index:
    return build(tmp_path_factory.mktemp("builtin"), theme="mkdocs")


# ------------------------------------------------------------------ tests ----


def test_material_cells_are_separate_words(material: Index) -> None:
    assert material.separator == r"[\s\-]+"
    words = [w for text in material.texts for w in material_words(text, material.separator)]
    for number in ROW_NUMBERS:
        assert number in words, f"{number} is not a word of the index"
        assert plain(number) in words, f"{plain(number)} is not a word of the index"
    for header in ("layer", "type", "params", "macs", "flops", "formula", "conv2d"):
        assert header in words, header
    assert not [w for w in words if GLUED.search(w)], "numbers of neighbouring cells run together"
    for word in PROSE:
        assert word in words


@pytest.mark.parametrize("query", [*ROW_NUMBERS, *map(plain, ROW_NUMBERS)])
def test_material_query_finds_row_number(material: Index, material_commas: Index, query: str) -> None:
    assert material_finds(material, query)
    assert material_finds(material_commas, query), "with a separator that splits at commas"


def test_material_table_numbers_readers_see_are_unchanged(material: Index) -> None:
    """The digit-only forms are in a `hidden` element; the table cells hold the grouped numbers."""
    html = material.page_html
    assert re.search(r"<td[^>]*>1,792</td>", html)
    assert re.search(r'<div class="cnn-cost-search" hidden>[^<]*\b1792\b', html)
    assert "data-search-exclude" not in html


def test_mkdocs_theme_cells_are_separate_words(builtin: Index) -> None:
    words = [w for text in builtin.texts for w in lunr_words(text, builtin.separator)]
    for number in ROW_NUMBERS:
        assert number in words, number
        assert plain(number) in words, plain(number)
        assert mkdocs_finds(builtin, number) and mkdocs_finds(builtin, plain(number))
    assert not [w for w in words if GLUED.search(w)]
    for word in PROSE:
        assert word in words


# ------------------------------------- render.block_html(search_tables=...) alone ----

BLOCK = PAGE.partition("```cnn-cost\n")[2].partition("```")[0]


@pytest.fixture(scope="module")
def block_html() -> dict[bool, str]:
    """The block rendered both ways, framed by a heading and prose as on a page."""
    from cnn_cost import render
    from cnn_cost.block import parse_block
    from cnn_cost.markdown import Session

    block = parse_block(BLOCK)
    result = Session().compute(block)
    return {
        flag: '<h1 id="costs">Costs</h1><p>Prose before.</p>' + render.block_html(
            BLOCK, block_id=block.id, title=block.title, result=result, columns=block.columns, search_tables=flag
        ) + "<p>Prose after.</p>"
        for flag in (True, False)
    }


def material_index_text(html: str) -> str:
    from material.plugins.search.plugin import Parser

    parser = Parser()
    parser.feed(html)
    parser.close()
    return " ".join("".join(section.text) for section in parser.data)


def mkdocs_index_text(html: str) -> str:
    from mkdocs.contrib.search.search_index import ContentParser

    parser = ContentParser()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(section.text) for section in parser.data)


def test_render_search_tables_false_is_skipped_by_materials_parser(block_html: dict[bool, str]) -> None:
    separator = r"[\s\-]+"
    kept = material_words(material_index_text(block_html[True]), separator)
    left = material_words(material_index_text(block_html[False]), separator)
    for number in ROW_NUMBERS:
        assert number in kept and plain(number) in kept, number
        assert number not in left and plain(number) not in left, number
    assert {"before.", "after.", "3x32x32", "11,024"} <= set(left), "prose, code and the summary stay"
    assert '<table data-search-exclude="true">' in block_html[False]
    assert "<table>" in block_html[True] and "data-search-exclude" not in block_html[True]


def test_render_search_tables_false_is_ignored_by_mkdocs_parser(block_html: dict[bool, str]) -> None:
    """MkDocs' built-in search indexes every text of the page: only the comma-less forms go."""
    left = lunr_words(mkdocs_index_text(block_html[False]), r"[\s\-]+")
    assert "1,792" in left and "1792" not in left



def test_search_tables_false_leaves_tables_out_of_material_search(tmp_path: Path) -> None:
    index = build(tmp_path, plugin="- cnn-cost:\n    search_tables: false")
    words = {w for text in index.texts for w in material_words(text, index.separator)}
    for number in ROW_NUMBERS:
        assert number not in words and plain(number) not in words, number
        assert not material_finds(index, number) and not material_finds(index, plain(number)), number
    for word in PROSE:
        assert word in words, word
    assert "3x32x32" in words, "the block's own code stays searchable"
    html = index.page_html
    assert re.search(r"<td[^>]*>1,792</td>", html), "the table is still on the page"
    assert "cnn-cost-search" not in html
    assert "data-search-exclude" not in html, "Material strips the attribute after indexing"


def test_search_tables_false_is_ignored_by_mkdocs_search(tmp_path: Path) -> None:
    """MkDocs' built-in search has no per-element exclusion: the tables stay in its index."""
    index = build(tmp_path, theme="mkdocs", plugin="- cnn-cost:\n    search_tables: false")
    html = index.page_html
    assert 'data-search-exclude="true"' in html, "the option reached the page"
    assert "cnn-cost-search" not in html
    assert mkdocs_finds(index, "1,792")
    for word in PROSE:
        assert mkdocs_finds(index, word)


# ------------------------------------------------- the themes' own JavaScript ----

MATERIAL_JS = """
const fs = require("fs"), vm = require("vm");
const [worker, indexPath, ...queries] = process.argv.slice(2);
let handler, last;
globalThis.self = globalThis;
globalThis.addEventListener = (type, fn) => { handler = fn; };
globalThis.postMessage = message => { last = message; };
vm.runInThisContext(fs.readFileSync(worker, "utf8"));
const data = JSON.parse(fs.readFileSync(indexPath, "utf8"));
(async () => {
  await handler({data: {type: 0, data: {config: data.config, docs: data.docs, options: {suggest: false}}}});
  const found = {};
  for (const query of queries) {
    await handler({data: {type: 2, data: query}});
    found[query] = last.data.items.flat().filter(item => item.score > 0).map(item => item.location);
  }
  console.log(JSON.stringify(found));
})();
"""

MKDOCS_JS = """
const fs = require("fs"), path = require("path"), vm = require("vm");
const [dir, indexPath, ...queries] = process.argv.slice(2);
globalThis.importScripts = (...urls) => {
  for (const url of urls) vm.runInThisContext(fs.readFileSync(path.join(dir, path.basename(url)), "utf8"));
};
globalThis.postMessage = () => {};
console.log = () => {};
vm.runInThisContext(fs.readFileSync(path.join(dir, "worker.js"), "utf8"));
onJSONLoaded.call({responseText: fs.readFileSync(indexPath, "utf8")});
const found = {};
for (const query of queries) found[query] = search(query).map(doc => doc.location);
process.stdout.write(JSON.stringify(found) + "\\n");
"""

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def run_node(script: str, tmp_path: Path, *args: str) -> dict[str, list[str]]:
    path = tmp_path / "search.js"
    path.write_text(script, encoding="utf-8")
    proc = subprocess.run(["node", str(path), *args], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    found: dict[str, list[str]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return found


@needs_node
def test_material_javascript_finds_row_numbers(material: Index, tmp_path: Path) -> None:
    import material as material_theme

    workers = Path(material_theme.__file__).parent / "templates" / "assets" / "javascripts" / "workers"
    (worker,) = workers.glob("search.*.min.js")
    queries = [*ROW_NUMBERS, *map(plain, ROW_NUMBERS), *PROSE]
    found = run_node(MATERIAL_JS, tmp_path, str(worker), str(material.root / "site/search/search_index.json"),
                     *queries)
    assert {q: bool(found[q]) for q in queries} == dict.fromkeys(queries, True)


@needs_node
def test_mkdocs_javascript_finds_row_numbers(builtin: Index, tmp_path: Path) -> None:
    import mkdocs.contrib.search

    templates = Path(mkdocs.contrib.search.__file__).parent / "templates" / "search"
    queries = [*ROW_NUMBERS, *map(plain, ROW_NUMBERS), *PROSE]
    found = run_node(MKDOCS_JS, tmp_path, str(templates), str(builtin.root / "site/search/search_index.json"),
                     *queries)
    assert {q: bool(found[q]) for q in queries} == dict.fromkeys(queries, True)
