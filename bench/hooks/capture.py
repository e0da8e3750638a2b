"""MkDocs hook (bench only): record what the cnn-cost plugin puts into the site, for replay.py.

Listed after the plugin (`hooks:` entries run after all plugins; the events here also run at the
lowest priority). It wraps the plugin's formatters for the `cnn-cost` fence and the `#!cnn` inline
code, and records, page by page (by output path) and in the order of the calls, the HTML each call
returned; also the stylesheets the plugin added to `extra_css` and the
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

    record.recording = True  # type: ignore[attr-defined]
    return record


@event_priority(-100)
def on_config(config: Any) -> Any:
    STATE["out"] = Path(config.config_file_path).with_name("rendered-html.json")
    # The extension joins its own formatters to superfences and inlinehilite (replacing any other function
    # registered under its names), and they call `fence_format` and `inline_format` through the module: those
    # are wrapped, once (on_config runs again for each language of mkdocs-static-i18n).
    from cnn_cost import markdown as ours

    if not getattr(ours.fence_format, "recording", False):
        ours.fence_format = _recording(ours.fence_format, "fences")  # type: ignore[method-assign]
        ours.inline_format = _recording(ours.inline_format, "inline")  # type: ignore[method-assign]
    STATE["extra_css"] = [str(css) for css in config.extra_css]
    return config


@event_priority(-120)  # after the plugin's own on_files (-110: after mkdocs-static-i18n)
def on_files(files: Any, *, config: Any) -> Any:
    STATE["files"] = [{"src_uri": f.src_uri, "content": f.content_string} for f in files
                      if getattr(f, "generated_by", None) and not str(f.generated_by).startswith("hooks")]
    return files


@event_priority(-100)
def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    STATE["page"] = page.file.dest_uri  # per edition: a page and its translation share a src_uri's stem
    STATE["pages"][page.file.dest_uri] = {"fences": [], "inline": []}
    return markdown


@event_priority(-100)
def on_post_build(*, config: Any) -> None:
    data = {k: STATE[k] for k in ("pages", "extra_css", "files")}
    STATE["out"].write_text(json.dumps(data), encoding="utf-8")
