"""MkDocs hook (bench only): record what the cnn-cost plugin puts into the site, for replay.py.

Listed after the plugin (`hooks:` entries run after all plugins; the events here also run at the
lowest priority). It wraps the formatters that the plugin registered with pymdownx for the
`cnn-cost` fence and the `#!cnn` inline code, and records, page by page and in the order of the
calls, the HTML each call returned; also the stylesheets the plugin added to `extra_css` and the
files it generated. Written to `rendered-html.json` beside the config file, at the end of the build.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority

FENCE, INLINE = "cnn-cost", "cnn"
STATE: dict[str, Any] = {"page": None, "pages": {}, "extra_css": [], "files": [], "out": None}


def _recording(format_fn: Callable[..., Any], kind: str) -> Callable[..., Any]:
    def record(*args: Any, **kwargs: Any) -> Any:
        html = format_fn(*args, **kwargs)
        if not isinstance(html, str):
            raise TypeError(f"the {kind} formatter returned {type(html).__name__}, not HTML text")
        STATE["pages"].setdefault(STATE["page"], {"fences": [], "inline": []})[kind].append(html)
        return html

    return record


@event_priority(-100)
def on_config(config: Any) -> Any:
    STATE["out"] = Path(config.config_file_path).with_name("rendered-html.json")
    mdx = config.mdx_configs
    wrapped = 0
    for fence in mdx.get("pymdownx.superfences", {}).get("custom_fences", []):
        if fence.get("name") == FENCE:
            fence["format"] = _recording(fence["format"], "fences")
            wrapped += 1
    for inline in mdx.get("pymdownx.inlinehilite", {}).get("custom_inline", []):
        if inline.get("name") == INLINE:
            inline["format"] = _recording(inline["format"], "inline")
            wrapped += 1
    if wrapped != 2:
        raise RuntimeError(f"capture hook: found {wrapped} of the plugin's 2 formatters")
    STATE["extra_css"] = [str(css) for css in config.extra_css]
    return config


@event_priority(-100)
def on_files(files: Any, *, config: Any) -> Any:
    STATE["files"] = [{"src_uri": f.src_uri, "content": f.content_string} for f in files
                      if getattr(f, "generated_by", None) and not str(f.generated_by).startswith("hooks")]
    return files


@event_priority(-100)
def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    STATE["page"] = page.file.src_uri
    STATE["pages"][page.file.src_uri] = {"fences": [], "inline": []}
    return markdown


@event_priority(-100)
def on_post_build(*, config: Any) -> None:
    data = {k: STATE[k] for k in ("pages", "extra_css", "files")}
    STATE["out"].write_text(json.dumps(data), encoding="utf-8")
