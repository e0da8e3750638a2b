"""The Chinese edition: the words around the numbers in the reader's language, Unicode ids, and the guide's
two editions built together (mkdocs-static-i18n), in step block for block.

Small sites are built for real with `mkdocs build`; the guide is the session's build of the project's
own mkdocs.yml (both languages, --strict).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import markdown
import pytest
from bs4 import BeautifulSoup

from cnn_cost import i18n
from cnn_cost.block import parse_block
from cnn_cost.errors import CnnCostError, OptionError
from cnn_cost.lines import fence_bodies
from conftest import ROOT, cifar_block, mkdocs, write_site

DOCS = ROOT / "docs"

PAGE = f"""\
# 测试

```cnn-cost
{cifar_block("卷积网络")}```

参数量 `#!cnn 卷积网络.params`，是第一层的 `#!cnn 卷积网络.params / 卷积网络.0.params = 608.37` 。

```cnn-cost
id: 故意写错
xfail: true
model: nn.Linear(10, 10)
input: [1, 10]
expect:
  params: 100
```

```cnn-cost
id: 层名
layers:
  主干: nn.Conv2d(3, 8, 3)
  分类: nn.Sequential(nn.Flatten(), nn.Linear(8 * 30 * 30, 10))
input: [1, 3, 32, 32]
expect:
  主干.params: 224
  分类.1.params: 72,010
```

`#!cnn figure 卷积网络 conv 0`

`#!cnn calculator conv2d`
"""


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", BeautifulSoup(html, "html.parser").get_text(" "))


@pytest.fixture(scope="module")
def zh_site(tmp_path_factory: pytest.TempPathFactory):
    root = write_site(tmp_path_factory.mktemp("zh"), {"index.md": PAGE}, theme="material\n  language: zh")
    built = mkdocs(root, "--strict")
    assert built.code == 0, built.out[-3000:]
    return built


def test_theme_language_zh_gives_chinese_labels(zh_site) -> None:
    html = zh_site.html("index.html")
    soup = BeautifulSoup(html, "html.parser")
    block = soup.select_one("#cnn-cost-卷积网络")  # a Unicode id is an id, and the page's anchor
    assert block is not None
    heads = [th.get_text(" ", strip=True) for th in block.select("table thead th")]
    assert heads == ["层", "类型", "输出形状", "参数量", "MACs", "FLOPs", "公式"]
    cells = block.select("table tbody tr.cnn-cost-total td")
    assert cells[0].get_text(strip=True) == "合计" and cells[3].get_text(strip=True) == "545,098"
    assert [td["data-label"] for td in cells][:4] == ["层", "类型", "输出形状", "参数量"]  # the phone cards
    summary = block.select_one(".cnn-cost-summary").get_text(" ", strip=True)
    assert summary.startswith("参数量 545,098 · 缓冲区 0 · 内存 2,180,392 B"), summary
    source = block.select_one("details.cnn-cost-source summary").get_text(strip=True)
    assert source == "块源码（13 行；4 项断言 ✓ 已验证）"
    assert block.select_one(".cnn-cost-verified").get_text(" ", strip=True).startswith("✓ 构建时已验证：")
    # numbers in prose: the value, and a ratio in Chinese ("倍", not "×")
    refs = [s.get_text() for s in soup.select("span.cnn-cost-ref")]
    assert refs[:2] == ["545,098", "608.37 倍"]
    assert "构建时算出" in soup.select("span.cnn-cost-ref")[0]["title"]


def test_deliberate_mistake_box_in_chinese(zh_site) -> None:
    soup = BeautifulSoup(zh_site.html("index.html"), "html.parser")
    box = soup.select_one("#cnn-cost-故意写错 .cnn-cost-xfail")
    assert box is not None and box["aria-label"] == "故意写错的示例"
    assert box.select_one(".admonition-title").get_text() == "故意写错的数字：这个块的断言（见块源码的 expect:）不成立"
    assert box.select("p")[1].get_text() == "params：应为 100，计算得 110"


def test_unicode_layer_names(zh_site) -> None:
    soup = BeautifulSoup(zh_site.html("index.html"), "html.parser")
    block = soup.select_one("#cnn-cost-层名")
    names = [td.get_text(strip=True) for td in block.select("tbody tr:not(.cnn-cost-total) td:first-child")]
    assert names == ["主干", "分类.0", "分类.1"]
    assert "主干.params = 224" in block.select_one(".cnn-cost-verified").get_text(" ", strip=True)


def test_figure_and_calculator_in_chinese(zh_site) -> None:
    soup = BeautifulSoup(zh_site.html("index.html"), "html.parser")
    texts = [t.get_text() for t in soup.select("svg text")]
    assert "输入 32×32，填充 1" in texts and "输出 32×32" in texts, texts
    assert soup.select_one("svg title").get_text() == "卷积网络.0 的卷积运算"
    calc = soup.select_one("[data-cnn-calculator]")
    assert calc["data-locale"] == "zh" and "需要 JavaScript" in calc.get_text()


def test_problem_box_in_chinese(tmp_path: Path) -> None:
    """A wrong number in a Chinese page: the log keeps one language (greppable), the box is Chinese."""
    page = PAGE.replace("  0.params: 896", "  0.params: 900")
    root = write_site(tmp_path, {"index.md": page}, {"on_error": "warn"}, theme="material\n  language: zh")
    built = mkdocs(root)
    assert built.code == 0, built.out[-2000:]
    assert "0.params: expected 900, computed 896" in built.out
    soup = BeautifulSoup(built.html("index.html"), "html.parser")
    box = soup.select_one("#cnn-cost-卷积网络 .cnn-cost-error")
    assert box["aria-label"] == "构建错误"
    assert box.select_one(".admonition-title").get_text() == "cnn-cost：这个块有一个问题"
    assert box.select("p")[1].get_text().endswith("0.params：应为 900，计算得 896")


def test_locale_option_wins_over_theme_language(tmp_path: Path) -> None:
    root = write_site(tmp_path, {"index.md": PAGE}, {"locale": "en"}, theme="material\n  language: zh")
    built = mkdocs(root, "--strict")
    assert built.code == 0, built.out[-2000:]
    soup = BeautifulSoup(built.html("index.html"), "html.parser")
    assert soup.select_one("#cnn-cost-卷积网络 table thead th").get_text(strip=True) == "Layer"
    assert [s.get_text() for s in soup.select("span.cnn-cost-ref")][1] == "608.37×"


def test_locale_option_refuses_unknown(tmp_path: Path) -> None:
    root = write_site(tmp_path, {"index.md": "# x\n"}, {"locale": "fr"})
    built = mkdocs(root)
    assert built.code != 0
    assert "locale" in built.out and "'fr'" in built.out and "Traceback" not in built.out


def test_extension_locale() -> None:
    md = markdown.Markdown(extensions=["cnn_cost"], extension_configs={"cnn_cost": {"locale": "zh-CN"}})
    html = md.convert(f"```cnn-cost\n{cifar_block()}```\n")
    assert "<th>层</th>" in html and "合计" in html
    english = markdown.Markdown(extensions=["cnn_cost"]).convert(f"```cnn-cost\n{cifar_block()}```\n")
    assert "<th>Layer</th>" in english and "合计" not in english
    with pytest.raises(OptionError, match="locale: 'klingon' is not one of en, zh"):
        markdown.Markdown(extensions=["cnn_cost"], extension_configs={"cnn_cost": {"locale": "klingon"}})


@pytest.mark.parametrize(("language", "locale"), [
    ("zh", "zh"), ("zh-CN", "zh"), ("zh_TW", "zh"), ("zh-Hans", "zh"), ("ZH", "zh"), ("en", "en"), ("en-GB", "en"),
    ("fr", "en"), ("", "en"), (None, "en"), ("zhx", "en"),
])
def test_resolve(language: str | None, locale: str) -> None:
    assert i18n.resolve(language) == locale


@pytest.mark.parametrize("block_id", ["卷积", "conv_1", "resnet-18", "Ünïcode", "層", "x" * 64])
def test_unicode_ids_accepted(block_id: str) -> None:
    assert parse_block(f"id: {block_id}\nmodel: nn.ReLU()\n", 1).id == block_id


@pytest.mark.parametrize("block_id", ["a b", "a.b", "卷积。", "x" * 65, "a/b", "a\u200bb"])
def test_bad_ids_refused(block_id: str) -> None:
    with pytest.raises(CnnCostError, match="may hold only letters, digits"):
        parse_block(f"id: '{block_id}'\nmodel: nn.ReLU()\n", 1)


# ------------------------------------------------------------------ the guide's two editions ----

ENGLISH = sorted(p for p in DOCS.rglob("*.md") if ".zh" not in p.suffixes)


def _blocks(path: Path) -> list[tuple[str | None, str]]:
    """(id, body without `title:` lines and comments) of every block of a page, in order."""
    out = []
    for _, body in fence_bodies(path.read_text(encoding="utf-8")):
        lines = [re.sub(r"\s+#.*$", "", line) for line in body.splitlines()
                 if not line.lstrip().startswith(("title:", "#"))]
        found = re.search(r"^id:\s*(\S+)", body, re.M)
        out.append((found.group(1) if found else None, "\n".join(line for line in lines if line.strip())))
    return out


@pytest.mark.parametrize("english", ENGLISH, ids=[str(p.relative_to(DOCS)) for p in ENGLISH])
def test_every_page_has_a_chinese_edition_with_the_same_blocks(english: Path) -> None:
    chinese = english.with_suffix(".zh.md")
    assert chinese.is_file(), f"{chinese.relative_to(ROOT)} is missing"
    assert _blocks(chinese) == _blocks(english), "the Chinese edition's blocks differ from the English"
    refs = re.compile(r"`#!cnn ([^`]*)`")
    assert sorted(refs.findall(chinese.read_text(encoding="utf-8"))) == sorted(
        refs.findall(english.read_text(encoding="utf-8"))), "the Chinese edition's `#!cnn` references differ"
    heading_ids = re.compile(r"^#+ .*\{#([\w-]+)\}\s*$", re.M)
    assert heading_ids.findall(chinese.read_text(encoding="utf-8")), "Chinese headings keep the English anchors"


def test_guide_builds_both_editions(guide) -> None:
    assert guide.code == 0, guide.out[-3000:]
    for english in ENGLISH:
        page = english.relative_to(DOCS).with_suffix("")
        url = Path("index.html") if page.name == "index" else page / "index.html"
        en, zh = guide.html(str(url)), guide.html(str("zh" / url))
        assert '<html lang="en"' in en and '<html lang="zh"' in zh
        zh_soup = BeautifulSoup(zh, "html.parser")
        # Material's language switch, on every page, to the same page in the other edition
        links = {a["hreflang"]: a["href"] for a in zh_soup.select("a[hreflang]")}
        assert set(links) == {"en", "zh"}, links
        heads = {th.get_text(strip=True) for th in zh_soup.select(".cnn-cost table thead th")}
        assert "层" in heads and "Layer" not in heads, f"{url}: English table headers in the Chinese edition"
        tables_en = BeautifulSoup(en, "html.parser").select(".cnn-cost table tr.cnn-cost-total")
        tables_zh = zh_soup.select(".cnn-cost table tr.cnn-cost-total")
        # the same totals, number for number: one set of blocks, two languages
        numbers = [[td.get_text(strip=True) for td in tr.select("td")[1:]] for tr in tables_en]
        assert numbers == [[td.get_text(strip=True) for td in tr.select("td")[1:]] for tr in tables_zh], url
        assert not zh_soup.select(".cnn-cost-error"), f"{url}: a build error box in the Chinese edition"


def test_chinese_search_is_segmented(guide) -> None:
    """Material's search splits Chinese text into words with jieba (zero-width spaces between them), so that
    a search for 参数量 finds the pages that use it inside a sentence."""
    index = json.loads((guide.site / "search" / "search_index.json").read_text(encoding="utf-8"))
    docs = [d for d in index["docs"] if d["location"].startswith("zh/")]
    assert docs, "no Chinese page in the search index"
    text = " ".join(d["text"] for d in docs)
    assert "\u200b指南\u200b" in text, "Chinese text not segmented into words"
    assert "\u200b参数量\u200b" in text and "\u200b感受野\u200b" in text, "the subject's words split by jieba"
    # the search splits the text at the index's separator (a JavaScript regex; Python reads it alike):
    # 参数量 must come out a word of its own, as a reader types it
    words = set(re.split(index["config"]["separator"], re.sub(r"<[^>]+>", " ", text)))
    assert {"参数量", "感受野", "卷积", "指南"} <= words, "Chinese words are not separate search terms"


def test_each_claim_marked_on_its_line(zh_site) -> None:
    """✓ beside every claim that held, ✗ beside one that does not, drawn by CSS: the code's text (what the
    copy button copies) is the block's YAML, unchanged."""
    soup = BeautifulSoup(zh_site.html("index.html"), "html.parser")
    code = soup.select_one("#cnn-cost-卷积网络 details.cnn-cost-source code")
    lines = code.decode_contents().split("\n")
    held = [i for i, line in enumerate(lines) if 'data-mark="✓"' in line]
    text_lines = code.get_text().split("\n")
    assert [text_lines[i].strip() for i in held] == ["params: 545,098", "0.params: 896", "7.params: 524,416",
                                                     "output: [1, 10]"]
    assert code.get_text() == cifar_block("卷积网络"), "the marks changed the block's text"
    assert code.select_one(".cnn-cost-mark")["aria-label"] == "构建时已验证"
    wrong = soup.select("#cnn-cost-故意写错 code .cnn-cost-mark")
    assert [(m["data-mark"], m["aria-label"]) for m in wrong] == [("✗", "不成立")]


def test_chinese_navigation_names_each_page_by_its_title() -> None:
    """The Chinese navigation (mkdocs.yml's nav_translations) gives each page the title its page has."""
    from mkdocs.utils.yaml import yaml_load

    with (ROOT / "mkdocs.yml").open("rb") as fh:
        config = yaml_load(fh)
    i18n_options = next(p["i18n"] for p in config["plugins"] if isinstance(p, dict) and "i18n" in p)
    zh = next(lang for lang in i18n_options["languages"] if lang["locale"] == "zh")
    names = zh["nav_translations"]

    def pages(nav: list) -> list[tuple[str, str]]:
        out = []
        for item in nav:
            for title, value in item.items():
                out += pages(value) if isinstance(value, list) else [(title, value)]
        return out

    for title, page in pages(config["nav"]):
        if page == "index.md":
            continue  # "Home" in the navigation, the site's name as the page's title
        heading = re.search(r"^# (.+?)(?: \{#[\w-]+\})?\s*$", (DOCS / page).with_suffix(".zh.md").read_text(
            encoding="utf-8"), re.M)
        assert heading and names.get(title) == heading.group(1), (page, names.get(title))


def test_one_edition_for_a_faster_preview(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make serve ONLY=zh` sets CNN_COST_ONLY: the guide's mkdocs.yml then builds the Chinese edition alone,
    at the site's root, still --strict with every block verified."""
    from conftest import build_guide

    monkeypatch.setenv("CNN_COST_ONLY", "zh")  # build_guide reads mkdocs.yml's !ENV here, then builds
    built = build_guide(tmp_path, env={"CNN_COST_ONLY": "zh"})
    assert built.code == 0, built.out[-3000:]
    assert '<html lang="zh"' in built.html("index.html")
    assert not (built.site / "zh").exists()
    heads = {th.get_text(strip=True) for th in BeautifulSoup(built.html("guide/convolution/index.html"),
                                                            "html.parser").select(".cnn-cost table thead th")}
    assert "层" in heads
    assert "ONLY=" in (ROOT / "Makefile").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_chinese_search_with_materials_own_worker(guide) -> None:
    """The search a reader runs: Material's worker (lunr with its zh and multi languages) on the built index
    finds Chinese terms on the Chinese pages, and English ones and numbers on both editions."""
    queries = ["参数量", "感受野", "深度可分离卷积", "Conv2d", "1792"]
    done = subprocess.run(["node", str(ROOT / "tests" / "material_search.js"), str(guide.site), json.dumps(queries)],
                          capture_output=True, text=True, timeout=120, check=True)
    found = json.loads(done.stdout)
    assert "Invalid query" not in done.stderr, done.stderr[-2000:]
    for word in ("参数量", "感受野", "深度可分离卷积"):
        assert any(loc.startswith("zh/guide/") for loc in found[word]), (word, found[word])
    assert "zh/guide/convolution/#parameters" in found["参数量"]
    assert any(loc.startswith("guide/") for loc in found["Conv2d"]) and any(
        loc.startswith("zh/guide/") for loc in found["Conv2d"])
    assert "guide/convolution/#parameters" in found["1792"] and "zh/guide/convolution/#parameters" in found["1792"]
