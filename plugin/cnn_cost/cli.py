"""The `cnn-cost` command: `check`, `update` and `table`.

- `cnn-cost check [PATHS...]` verifies the blocks of Markdown files without building a site. With no path,
  it reads the site's mkdocs.yml (docs_dir and the cnn-cost plugin's options) and checks every page, as
  `mkdocs build` does, with the same messages.
- `cnn-cost update [PATHS...]` (the same paths and options) rewrites the claimed numbers that do not hold to
  the computed ones (`cnn_cost.update`), printing a unified diff; `--dry-run` writes nothing.
- `cnn-cost table EXPR` prints the per-layer table of one layer expression (`cnn_cost.tables`): in the
  terminal, as `--json` or as `--markdown`.

Exit codes: 0 fine, 1 a problem (a wrong number, a bad block or expression; `update --dry-run`: a change
to make), 2 a usage error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from markdown import Markdown

from cnn_cost.block import CONVENTIONS, DTYPES, Block, parse_block
from cnn_cost.cache import Cache
from cnn_cost.errors import CnnCostError
from cnn_cost.markdown import CnnCostExtension, formatter_config
from cnn_cost.session import Session
from cnn_cost.vocabulary import MODES

# Extensions whose content holds Markdown (admonitions, collapsible notes, tabs, HTML with markdown="1"):
# without them a `#!cnn` claim inside a note would not be read as one
NESTING = ("admonition", "attr_list", "md_in_html", "pymdownx.details", "pymdownx.tabbed")
NOT_IN_CHECK = ("fenced_code", "codehilite", "toc")  # MkDocs' defaults that would only get in the way


def converter(session: Session, site: Sequence[str] = (), site_configs: dict[str, Any] | None = None) -> Markdown:
    """A Python-Markdown converter with the blocks registered as the plugin registers them, with the
    extensions that nest Markdown, and `site`'s own extensions (an MkDocs site's markdown_extensions)."""
    settings = formatter_config()
    names = list(dict.fromkeys([*NESTING, *(n for n in site if isinstance(n, str) and n not in NOT_IN_CHECK)]))
    names = [n for n in names if n not in settings and n != "cnn_cost"]
    configs = {**{n: c for n, c in (site_configs or {}).items() if n in names}, **settings}
    return Markdown(extensions=[*settings, *names, CnnCostExtension(session)], extension_configs=configs)


def site_extensions(config_file: Path | None) -> tuple[list[str], dict[str, Any]]:
    """An MkDocs site's markdown_extensions and their options, as `mkdocs build` reads them ([] without one)."""
    if config_file is None or not config_file.is_file():
        return [], {}
    from mkdocs.config import load_config

    try:
        config = load_config(config_file=str(config_file))
    except Exception:  # reported where the site's options are read
        return [], {}
    return list(config.markdown_extensions), dict(config.mdx_configs)


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


def site_session(config_file: Path | None, *, flops: str | None = None, imports: str | None = None,
                 docs_dir: Path | None = None, cache_dir: Path | None = None) -> Session:
    """The session `cnn-cost check` checks with: the site's options (`config_file`, when it is a file)
    under the ones given here. Its `docs_dir` is the given one, else the site's, else None."""
    site = _site_options(config_file) if config_file is not None and config_file.is_file() else {}
    root = site.get("root", Path.cwd())
    modules = imports.split(",") if imports is not None else list(site.get("imports", []))
    cache = cache_dir or (root / site["cache_dir"] if site.get("cache_dir") else None)
    docs = docs_dir or site.get("docs_dir")
    return Session(
        convention=flops or site.get("flops", "2mac"),
        imports=tuple(m for m in modules if m),
        shapes=site.get("shapes", "formula"),
        on_error="fail",
        cache=Cache(cache),
        site_path=str(root),
        docs_dir=str(docs) if docs else None,
    )


def _markdown_files(paths: Sequence[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        out.extend(sorted(path.rglob("*.md")) if path.is_dir() else [path])
    return out


def display(path: Path) -> str:
    """A path as messages show it: relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _files(args: argparse.Namespace) -> tuple[Session, list[Path]] | None:
    """The session and the Markdown files of `check` and `update`; None when there is nothing to read."""
    if not args.paths and not args.config.is_file():
        print(f"cnn-cost: no paths given and no {args.config}", file=sys.stderr)
        return None
    session = site_session(args.config, flops=args.flops, imports=args.imports, docs_dir=args.docs_dir,
                           cache_dir=args.cache_dir)
    return session, _markdown_files(args.paths or [Path(str(session.docs_dir))])


def _read(path: Path) -> str | None:
    """A file's text exactly as stored (line endings untouched), or None after saying why it cannot be read."""
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{display(path)}: cannot read: {exc}", file=sys.stderr)
        return None


def _progress(args: argparse.Namespace, files: list[Path], number: int | None) -> None:
    """On a terminal, for more than 20 files: the file being read, over the last one; None: done."""
    if args.quiet or len(files) <= 20 or not sys.stderr.isatty():
        return
    if number is None:
        print(file=sys.stderr)
    else:
        print(f"\rcnn-cost: {number}/{len(files)} {display(files[number - 1])[:60]:<60}", end="", file=sys.stderr)


def _texts(args: argparse.Namespace, files: list[Path], unreadable: list[Path]) -> Iterator[tuple[Path, str]]:
    """Each file with its text, the progress shown; a file that cannot be read is said and put in `unreadable`."""
    for number, path in enumerate(files, start=1):
        _progress(args, files, number)
        text = _read(path)
        if text is None:
            unreadable.append(path)
        else:
            yield path, text
    _progress(args, files, None)


def _check(args: argparse.Namespace, session: Session, files: list[Path]) -> int:
    unreadable: list[Path] = []
    extensions, configs = site_extensions(args.config)
    for path, text in _texts(args, files, unreadable):
        text = text.replace("\r\n", "\n").replace("\r", "\n")  # as a text-mode read gives it
        session.current_path = display(path)
        session.current_source = text
        converter(session, extensions, configs).convert(text)
    session.cache.end_build(prune=False)
    count = len(session.problems) + len(unreadable)
    if not args.quiet:
        print(f"cnn-cost: {session.blocks_seen} blocks in {len(files)} files, "
              f"{count} problem{'s' if count != 1 else ''}", file=sys.stderr)
    return 1 if count else 0


def _update(args: argparse.Namespace, session: Session, files: list[Path]) -> int:
    from cnn_cost.atomic import write_text
    from cnn_cost.update import FileUpdate, update_text

    unreadable: list[Path] = []
    updates: list[tuple[Path, FileUpdate]] = [(path, update_text(text, display(path), session))
                                              for path, text in _texts(args, files, unreadable)]
    session.cache.end_build(prune=False)
    failed = len(unreadable)
    for path, update in updates:  # written once every file is worked out: an error on the way writes nothing
        for message in ([] if args.quiet else update.notes) + update.problems:  # quiet: no xfail notes
            print(printable(message), file=sys.stderr)
        if not update.changed:
            continue
        sys.stdout.write(update.diff())
        if not args.dry_run:
            try:
                write_text(path, update.new)
            except OSError as exc:
                print(f"{update.display}: cannot write (left as it was): {exc}", file=sys.stderr)
                failed += 1
    fixed = sum(u.fixed for _, u in updates)
    changed = sum(u.changed for _, u in updates)
    left = sum(len(u.problems) for _, u in updates) + failed
    if not args.quiet:
        verb = "would be updated (dry run: nothing written)" if args.dry_run else "updated"
        print(f"cnn-cost: {fixed} claim{'s' if fixed != 1 else ''} {verb} in {changed} of {len(files)} files, "
              f"{left} problem{'s' if left != 1 else ''} left", file=sys.stderr)
    return 1 if left or (args.dry_run and changed) else 0


class _Usage(Exception):
    """A bad option of `cnn-cost table` (exit code 2)."""


_TABLE_OPTIONS = {"input": "--input", "inputs": "--input", "dtype": "--dtype", "flops": "--flops", "mode": "--mode",
                  "as": "--as", "columns": "--columns"}


def _table_block(args: argparse.Namespace, imports: tuple[str, ...]) -> Block:
    """The block `cnn-cost table` shows: its options read by the block parser itself (so that they mean what
    they mean in a block), its model parsed from the expression as written (columns as typed)."""
    from cnn_cost.expressions import ExprParser, Source

    inputs = args.input or []
    options: dict[str, Any] = {"dtype": args.dtype, "flops": args.flops, "mode": args.mode, "as": args.counters,
                               "columns": args.columns}
    if inputs:
        options.update({"input": inputs[0]} if len(inputs) == 1 else {"inputs": inputs})
    lines = [f"{key}: {json.dumps(value)}" for key, value in options.items() if value is not None]
    try:
        block = parse_block("\n".join([*lines, "model: Identity()"]), 1, imports)
    except CnnCostError as exc:  # an option's problem: the message names the key, the line tells the option
        keys = [line.partition(":")[0] for line in lines] + ["model"]
        raise _Usage("\n".join(f"cnn-cost table: {_TABLE_OPTIONS.get(keys[(p.line or 1) - 1], 'option')}: "
                               f"{p.message}" for p in exc.problems)) from None
    text = args.model
    lead = text[: len(text) - len(text.lstrip())]
    source = Source(text.lstrip(), 1 + lead.count("\n"), 1 + len(lead.rpartition("\n")[2]), indent_rest=True)
    model = ExprParser(source, imports).top()
    return dataclasses.replace(block, source=text, model=model)


def _expression_problem(problem: CnnCostError, text: str) -> str:
    """`expression:1:14: message`, then the expression's line with a caret under the column."""
    if problem.line is None:
        return f"cnn-cost table: {problem.message}"
    where = f"expression:{problem.line}" + (f":{problem.column}" if problem.column else "")
    lines = text.split("\n")
    shown = [f"{where}: {problem.message}"]
    if problem.column and 0 < problem.line <= len(lines):
        shown += [f"  {lines[problem.line - 1]}", "  " + " " * (problem.column - 1) + "^"]
    return "\n".join(shown)


def _table(args: argparse.Namespace) -> int:
    from cnn_cost import tables
    from cnn_cost.evaluate import evaluate
    from cnn_cost.imports import refused

    imports = tuple(m for m in (args.imports or "").split(",") if m)
    try:
        for name in imports:
            reason = refused(name)
            if reason:
                raise _Usage(f"cnn-cost table: --imports: {reason}")
        block = _table_block(args, imports)
        # the working directory is where listed modules are imported from, and only when some are listed
        result = evaluate(block, imports=imports, convention=args.flops,
                          site_path=str(Path.cwd()) if imports else None)
    except _Usage as exc:
        print(exc, file=sys.stderr)
        return 2
    except CnnCostError as exc:
        for problem in exc.problems:
            print(printable(_expression_problem(problem, args.model)), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(tables.as_json(block, result, args.model), indent=2))
    elif args.markdown:
        sys.stdout.write(tables.markdown(result, block.columns))
    else:
        from rich.console import Console

        wide = sys.stdout.isatty() or "COLUMNS" in os.environ
        Console(highlight=False, width=None if wide else 160).print(tables.terminal(result, block.columns))
    return 0


def printable(text: str) -> str:
    """Text for a terminal: every line's control characters escaped (an expression may hold any)."""
    from cnn_cost.session import printable as escape

    return "\n".join(escape(line) for line in text.split("\n"))


def _site_arguments(command: argparse.ArgumentParser) -> None:
    """The paths and site options `check` and `update` share."""
    command.add_argument("paths", nargs="*", type=Path,
                         help="Markdown files or directories (default: every page of the site's docs_dir)")
    command.add_argument("--config", "-f", type=Path, default=Path("mkdocs.yml"),
                         help="the site's mkdocs.yml: its docs_dir and cnn-cost options (default: ./mkdocs.yml)")
    command.add_argument("--flops", choices=CONVENTIONS, default=None, help="default FLOPs convention")
    command.add_argument("--imports", default=None, help="comma-separated modules blocks may import models from")
    command.add_argument("--docs-dir", type=Path, default=None, help="root for `page.md#id` references")
    command.add_argument("--cache-dir", type=Path, default=None, help="disk cache (default: the site's, else memory)")
    command.add_argument("--quiet", "-q", action="store_true", help="print the problems only")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnn-cost", description="Check, update and show cnn-cost blocks.")
    parser.add_argument("--version", action="version", version=f"cnn-cost {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="evaluate every block and claim; exit 1 on any problem")
    _site_arguments(check)
    update = sub.add_parser("update", help="rewrite claimed numbers that do not hold to the computed ones")
    _site_arguments(update)
    update.add_argument("--dry-run", "-n", action="store_true",
                        help="print the diff only; exit 1 if anything would change")
    table = sub.add_parser("table", help="print the per-layer table of a layer expression")
    table.add_argument("model", help='a layer expression as in a block\'s `model:`, e.g. "nn.Conv2d(3, 64, 3)"')
    table.add_argument("--input", action="append", default=None, metavar="SHAPE",
                       help="input shape, e.g. 3x32x32 or [1, 3, 32, 32]; twice or more for `inputs:` "
                            "(without it: parameters only)")
    table.add_argument("--flops", choices=CONVENTIONS, default="2mac", help="FLOPs convention (default: 2mac)")
    table.add_argument("--dtype", choices=tuple(DTYPES), default="float32", help="for memory and activations")
    table.add_argument("--mode", choices=MODES, default="eval", help="the mode the model runs in")
    table.add_argument("--as", dest="counters", default=None, metavar="LIBS",
                       help="comma-separated counting libraries to add a column for (thop,torch,...)")
    table.add_argument("--columns", default=None, help="comma-separated columns, as a block's `columns:`")
    table.add_argument("--imports", default=None, metavar="MODULES",
                       help="comma-separated modules of your own the expression may build models from "
                            "(imported from the working directory)")
    form = table.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="every row and the totals as JSON")
    form.add_argument("--markdown", action="store_true", help="a GitHub Markdown table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(format="%(message)s", level=logging.WARNING, stream=sys.stderr)
    if args.command == "table":
        return _table(args)
    found = _files(args)  # check and update: the site's files and options
    if found is None:
        return 2
    return {"check": _check, "update": _update}[args.command](args, *found)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
