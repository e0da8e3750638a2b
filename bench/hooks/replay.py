"""MkDocs hook (bench only): the floor any cnn-cost plugin could reach on a warm rebuild.

A site WITHOUT the plugin, with this hook: each `cnn-cost` fence and `#!cnn` inline code is
replaced, through the same pymdownx formatter mechanism the plugin uses, by the HTML a real build
of ours produced for it (recorded by capture.py into `rendered-html.json` beside the config file,
looked up by page and position); the plugin's stylesheet and generated files are added alike. No
parsing, no cache key, no disk cache: a dictionary look-up per block.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

FENCE, INLINE = "cnn-cost", "cnn"
DATA: dict[str, Any] = {}
CURRENT: dict[str, Iterator[str]] = {}


def _fence(src: str, language: str, class_name: str, options: dict[str, str], md: Any, **kwargs: Any) -> str:
    return next(CURRENT["fences"])


def _inline(src: str, language: str, class_name: str, md: Any) -> str:
    return next(CURRENT["inline"])


def on_config(config: Any) -> Any:
    path = Path(config.config_file_path).with_name("rendered-html.json")
    DATA.update(json.loads(path.read_text(encoding="utf-8")))
    for name in ("pymdownx.superfences", "pymdownx.inlinehilite"):
        if name not in config.markdown_extensions:
            config.markdown_extensions.append(name)
    mdx = config.mdx_configs
    mdx.setdefault("pymdownx.superfences", {}).setdefault("custom_fences", []).append(
        {"name": FENCE, "class": FENCE, "format": _fence})
    mdx.setdefault("pymdownx.inlinehilite", {}).setdefault("custom_inline", []).append(
        {"name": INLINE, "class": FENCE, "format": _inline})
    from cnn_cost.mkdocs_plugin import chinese_site, prepare_jieba

    if chinese_site(config, None):  # the plugin's words for Chinese search: part of the site it makes
        prepare_jieba(None)
    for css in DATA["extra_css"]:
        if css not in [str(c) for c in config.extra_css]:
            config.extra_css.append(css)
    return config


@event_priority(-120)  # as the plugin's: after mkdocs-static-i18n, which reads every file's source path
def on_files(files: Any, *, config: Any) -> Any:
    for f in DATA["files"]:
        files.append(File.generated(config, f["src_uri"], content=f["content"]))
    return files


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    recorded = DATA["pages"].get(page.file.dest_uri, {"fences": [], "inline": []})
    CURRENT["fences"], CURRENT["inline"] = iter(recorded["fences"]), iter(recorded["inline"])
    return markdown


def on_page_content(html: str, *, page: Any, config: Any, files: Any) -> str:
    """As the plugin does: a page with a calculator links its script."""
    if "data-cnn-calculator=" in html:
        from mkdocs.utils import get_relative_url

        src = get_relative_url("assets/cnn-cost/cnn-cost-calculator.js", page.url)
        html += f'\n<script src="{src}" defer></script>\n'
    return html
