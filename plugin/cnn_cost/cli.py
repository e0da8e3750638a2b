"""`cnn-cost check [PATHS...]`: verify the blocks of Markdown files without building a site.

With no path, it reads the site's mkdocs.yml (docs_dir and the cnn-cost plugin's options) and checks
every page, as `mkdocs build` does, with the same messages.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from markdown import Markdown

from cnn_cost.block import CONVENTIONS
from cnn_cost.cache import Cache
from cnn_cost.markdown import CnnCostExtension, formatter_config
from cnn_cost.session import Session


def converter(session: Session) -> Markdown:
    """A Python-Markdown converter with the blocks registered as the plugin registers them."""
    settings = formatter_config()
    return Markdown(extensions=[*settings, CnnCostExtension(session)], extension_configs=settings)


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("mkdocs-cnn-cost")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _site_options(config_file: Path) -> dict[str, Any]:
    """docs_dir and the cnn-cost plugin's options of an MkDocs site, read as `mkdocs build` reads them."""
    from mkdocs.config import load_config
    from mkdocs.exceptions import ConfigurationError

    try:
        config = load_config(config_file=str(config_file))
    except (ConfigurationError, OSError) as exc:
        raise SystemExit(f"cnn-cost: cannot read {config_file}: {exc}") from None
    plugin = config.plugins.get("cnn-cost")
    options = dict(plugin.config) if plugin is not None else {}
    return {"docs_dir": Path(config.docs_dir), "root": config_file.resolve().parent, **options}


def _markdown_files(paths: Sequence[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        out.extend(sorted(path.rglob("*.md")) if path.is_dir() else [path])
    return out


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cnn-cost", description="Check the cnn-cost blocks of Markdown files.")
    parser.add_argument("--version", action="version", version=f"cnn-cost {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="evaluate every block and claim; exit 1 on any problem")
    check.add_argument("paths", nargs="*", type=Path,
                       help="Markdown files or directories (default: every page of the site's docs_dir)")
    check.add_argument("--config", "-f", type=Path, default=Path("mkdocs.yml"),
                       help="the site's mkdocs.yml: its docs_dir and cnn-cost options (default: ./mkdocs.yml)")
    check.add_argument("--flops", choices=CONVENTIONS, default=None, help="default FLOPs convention")
    check.add_argument("--imports", default=None, help="comma-separated modules blocks may import models from")
    check.add_argument("--docs-dir", type=Path, default=None, help="root for `page.md#id` references")
    check.add_argument("--cache-dir", type=Path, default=None, help="disk cache (default: the site's, else memory)")
    check.add_argument("--quiet", "-q", action="store_true", help="print the problems only")
    args = parser.parse_args(argv)

    logging.basicConfig(format="%(message)s", level=logging.WARNING, stream=sys.stderr)
    site = _site_options(args.config) if args.config.is_file() else {}
    if not args.paths and not site:
        print(f"cnn-cost: no paths given and no {args.config}", file=sys.stderr)
        return 2
    root = site.get("root", Path.cwd())
    imports = args.imports.split(",") if args.imports is not None else list(site.get("imports", []))
    cache_dir = args.cache_dir or (root / site["cache_dir"] if site.get("cache_dir") else None)
    docs_dir = args.docs_dir or site.get("docs_dir")
    session = Session(
        convention=args.flops or site.get("flops", "2mac"),
        imports=tuple(m for m in imports if m),
        shapes=site.get("shapes", "formula"),
        on_error="fail",
        cache=Cache(cache_dir),
        site_path=str(root),
        docs_dir=str(docs_dir) if docs_dir else None,
    )
    files = _markdown_files(args.paths or [Path(str(docs_dir))])
    unreadable = 0
    for number, path in enumerate(files, start=1):
        if not args.quiet and len(files) > 20 and sys.stderr.isatty():
            print(f"\rcnn-cost: {number}/{len(files)} {_display(path)[:60]:<60}", end="", file=sys.stderr)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"{_display(path)}: cannot read: {exc}", file=sys.stderr)
            unreadable += 1
            continue
        session.current_path = _display(path)
        session.current_source = text
        converter(session).convert(text)
    if not args.quiet and len(files) > 20 and sys.stderr.isatty():
        print(file=sys.stderr)
    session.cache.end_build(prune=False)
    count = len(session.problems) + unreadable
    if not args.quiet:
        print(f"cnn-cost: {session.blocks_seen} blocks in {len(files)} files, "
              f"{count} problem{'s' if count != 1 else ''}", file=sys.stderr)
    return 1 if count else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
