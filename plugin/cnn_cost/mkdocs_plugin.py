"""The MkDocs plugin: wires the fences into Markdown, collects problems, fails the build at the end."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import time
from pathlib import Path
from typing import Any, Literal

from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files
from mkdocs.utils import get_relative_url

from cnn_cost import calculator, i18n, preview
from cnn_cost.cache import Cache
from cnn_cost.config import CnnCostConfig
from cnn_cost.imports import refused
from cnn_cost.markdown import CnnCostExtension, formatter_config
from cnn_cost.session import Session

log = logging.getLogger("mkdocs.plugins.cnn_cost")
CSS = "assets/cnn-cost/cnn-cost.css"
ASSETS = Path(__file__).parent / "assets"


def chinese_site(config: Any, locale: str | None) -> bool:
    """The site has Chinese pages: the plugin's `locale`, `theme.language`, or a language of mkdocs-static-i18n."""
    if locale == "zh" or i18n.resolve(config.theme.get("language")) == "zh":
        return True
    languages = getattr(getattr(config.plugins.get("i18n"), "config", None), "languages", None) or []
    return any(i18n.resolve(getattr(language, "locale", None)) == "zh" for language in languages)


def prepare_jieba(cache: Path | None) -> None:
    """Material's search segments Chinese text with jieba when it is installed. jieba prints four lines to
    stderr at its first use, on every build: they go below the warnings level. It learns the words of this
    subject (参数量, 感受野, ...), which its dictionary splits, so that a search finds them whole. And it
    keeps its dictionary cache in the plugin's `cache_dir` (when writable), not in the system's temp
    directory."""
    if importlib.util.find_spec("jieba") is None:
        return
    import jieba

    jieba.setLogLevel(logging.WARNING)
    if cache is not None and not jieba.dt.initialized:
        with contextlib.suppress(OSError):
            cache.mkdir(parents=True, exist_ok=True)
        if os.access(cache, os.W_OK):
            jieba.dt.tmp_dir = str(cache)
    for word in i18n.SEARCH_WORDS:
        jieba.add_word(word)


class CnnCostPlugin(BasePlugin[CnnCostConfig]):
    """`plugins: [cnn-cost]`: verified cost tables for `cnn-cost` blocks."""

    def __init__(self) -> None:
        self.command: str = "build"
        self.dirty = False
        self.session: Session | None = None
        self.started = 0.0
        self.server: Any = None  # mkdocs' LiveReloadServer, in `mkdocs serve`
        self.watched: set[str] = set()

    def on_startup(self, *, command: Literal["build", "gh-deploy", "serve"], dirty: bool) -> None:
        self.command = command
        self.dirty = dirty

    def on_config(self, config: Any) -> Any:
        if not self.config.enabled:
            return config
        root = Path(config.config_file_path or ".").resolve().parent
        for name in self.config.imports:
            reason = refused(name)
            if reason:
                raise PluginError(f"cnn-cost: imports: {reason}")
        cache_dir = self.config.cache_dir
        directory = root / cache_dir if cache_dir else None
        previous = self.session
        if previous is not None and previous.cache.directory == directory:
            cache = previous.cache  # serve rebuild: keep what is in memory
        else:
            cache = Cache(directory)
        docs = Path(config.docs_dir)
        try:
            display = os.path.relpath(docs, Path.cwd())
        except ValueError:
            display = str(docs)
        self.session = Session(
            convention=self.config.flops,
            imports=tuple(self.config.imports),
            shapes=self.config.shapes,
            search_tables=self.config.search_tables,
            on_error="show" if self.command == "serve" else ("fail" if self.config.on_error == "fail" else "warn"),
            cache=cache,
            site_path=str(root),
            docs_dir=str(docs),
            display_root=None if display.startswith("..") else display,
        )
        if previous is not None:  # what each page read, for `mkdocs serve --dirty`
            self.session.references = previous.references
            self.session.page_imports = previous.page_imports
        extensions = config.markdown_extensions
        for name, settings in formatter_config().items():  # ours replace any earlier entry of the same name
            if name not in extensions:
                extensions.append(name)
            for option, entries in settings.items():
                current = config.mdx_configs.setdefault(name, {}).setdefault(option, [])
                current[:] = [e for e in current if e.get("name") not in {x["name"] for x in entries}] + entries
        extensions[:] = [e for e in extensions if e not in ("cnn_cost", "cnn_cost.markdown")
                         and not isinstance(e, CnnCostExtension)]
        extensions.append(CnnCostExtension(self.session))
        if chinese_site(config, self.config.locale):  # only then: jieba's dictionary takes a second to load
            prepare_jieba(cache.directory)
        if self.config.css and CSS not in config.extra_css:  # on_config runs again per language (static-i18n)
            config.extra_css.append(CSS)
        return config

    def on_pre_build(self, *, config: Any) -> None:
        if self.session is not None:
            self.session.problems.clear()
            self.session._other_pages.clear()
            self.session.blocks_seen = self.session.evaluated = self.session.views_reused = 0
            self.session.cache.begin_build()
            self.session.eval_seconds = 0.0
        self.started = time.perf_counter()
        if self.command == "serve":
            preview.spare_strict_counter()

    def on_serve(self, server: Any, *, config: Any, builder: Any) -> Any:
        """Watch the imported modules' files; import torch in the background for the first edit."""
        self.server = server
        self._watch_modules()
        if self.config.enabled:
            preview.warm_up_in_background()
        return server

    def on_post_build(self, *, config: Any) -> None:
        if self.session is not None:
            # entries used are marked; a full build deletes those no recent full build used
            self.session.cache.end_build(prune=not self.dirty)
        if self.server is not None:
            self._watch_modules()  # modules first imported by this build

    def _watch_modules(self) -> None:
        session = self.session
        if session is None or self.server is None or not session.imports:
            return
        for path in session.tracker().watched_files(session.imports):
            if path not in self.watched:
                self.watched.add(path)
                self.server.watch(path, recursive=False)

    @event_priority(-110)  # after mkdocs-static-i18n (-100), which reads every file's source path
    def on_files(self, files: Files, *, config: Any) -> Files:
        if self.config.enabled and self.config.css:
            files.append(File.generated(config, CSS, abs_src_path=str(ASSETS / "cnn-cost.css")))
        if self.config.enabled:  # the in-page calculator's script, generated (cnn_cost.calculator)
            files.append(File.generated(config, calculator.ASSET, content=calculator.javascript()))
        if self.dirty and self.session is not None:
            preview.rebuild_dependents(files, self.session)
        return files

    def on_page_markdown(self, markdown: str, *, page: Any, config: Any, files: Any) -> str:
        if self.session is not None:
            self.session.current_path = page.file.src_uri
            self.session.references.pop(page.file.src_uri, None)  # recorded again as the page renders
            self.session.page_imports.pop(page.file.src_uri, None)
            raw = page.file.content_string if hasattr(page.file, "content_string") else ""
            offset = 0
            if raw and raw.endswith(markdown) and len(raw) > len(markdown):
                offset = raw[: len(raw) - len(markdown)].count("\n")
            self.session.current_offset = offset
            # lines are read from the file itself when the Markdown is the file's (less its front matter)
            self.session.current_source = raw if raw and raw.endswith(markdown) else None
            self.session.locale = self.config.locale or i18n.resolve(
                getattr(page.file, "locale", None) or config.theme.get("language"))
        return markdown

    def on_page_content(self, html: str, *, page: Any, config: Any, files: Any) -> str:
        """Pages with a `#!cnn calculator` get its script, and only those."""
        if self.config.enabled and "data-cnn-calculator=" in html:
            src = get_relative_url(calculator.ASSET, page.url)
            html += f'\n<script src="{src}" defer></script>\n'
        return html

    def on_env(self, env: Any, *, config: Any, files: Any) -> Any:
        session = self.session
        if session is None:
            return env
        elapsed = time.perf_counter() - self.started
        log.info(
            "cnn-cost: %d blocks, %d evaluated (%.2f s), %d from cache, %d reused as rendered; "
            "pages rendered in %.2f s",
            session.blocks_seen, session.evaluated, session.eval_seconds,
            session.cache.hits, session.views_reused, elapsed,
        )
        if session.problems and session.on_error == "fail":
            count = len(session.problems)
            raise PluginError(
                f"cnn-cost: {count} problem{'s' if count != 1 else ''} in cnn-cost blocks (listed above); "
                "the build fails"
            )
        return env
