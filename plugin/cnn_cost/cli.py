"""`cnn-cost check FILE.md ...`: verify the blocks of Markdown files without building a site."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from markdown import Markdown

from cnn_cost.block import CONVENTIONS
from cnn_cost.cache import Cache
from cnn_cost.markdown import CnnCostExtension, formatter_config
from cnn_cost.session import Session


def converter(session: Session) -> Markdown:
    """A Python-Markdown converter with the blocks registered as the plugin registers them."""
    settings = formatter_config()
    return Markdown(extensions=[*settings, CnnCostExtension(session)], extension_configs=settings)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cnn-cost", description="Check the cnn-cost blocks of Markdown files.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="evaluate every block and claim; exit 1 on any problem")
    check.add_argument("files", nargs="+", type=Path)
    check.add_argument("--flops", choices=CONVENTIONS, default="2mac", help="default FLOPs convention")
    check.add_argument("--imports", default="", help="comma-separated modules blocks may import models from")
    check.add_argument("--docs-dir", type=Path, default=None, help="root for `page.md#id` references")
    check.add_argument("--cache-dir", type=Path, default=None, help="disk cache (default: memory only)")
    args = parser.parse_args(argv)

    logging.basicConfig(format="%(message)s", level=logging.WARNING, stream=sys.stderr)
    session = Session(
        convention=args.flops,
        imports=tuple(m for m in args.imports.split(",") if m),
        on_error="fail",
        cache=Cache(args.cache_dir),
        site_path=str(Path.cwd()),
        docs_dir=str(args.docs_dir) if args.docs_dir else None,
    )
    for path in args.files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"{path}: cannot read: {exc}", file=sys.stderr)
            return 2
        session.current_path = str(path)
        session.current_source = text
        converter(session).convert(text)
    session.cache.end_build(prune=False)
    count = len(session.problems)
    print(f"cnn-cost: {session.blocks_seen} blocks in {len(args.files)} files, "
          f"{count} problem{'s' if count != 1 else ''}", file=sys.stderr)
    return 1 if count else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
