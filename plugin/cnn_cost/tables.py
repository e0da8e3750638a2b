"""A block's `Result` as text, for `cnn-cost table`: a terminal table (rich), a GitHub Markdown table, and a
JSON document. The cells are `render`'s plain-text cells, so every form shows what the page's table shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cnn_cost.block import DEFAULT_COLUMNS, Block
from cnn_cost.claims import format_int
from cnn_cost.counters import column as counter_column
from cnn_cost.counters import printed
from cnn_cost.errors import CnnCostError
from cnn_cost.render import CONVENTION_TEXT, HEADERS, NUMERIC, cell_text, columns_of, human_bytes, total_text
from cnn_cost.result import Result, Row

JSON_SCHEMA = 1  # the `schema` of `cnn-cost table --json`; raised when a key changes meaning or goes


def header(column: str) -> str:
    """A column's header: `Params`, or a library's `thop 0.1.1 (MACs)`."""
    if column.startswith("as:"):
        name, unit, _ = counter_column(column[3:])
        return f"{name} ({unit})"
    return HEADERS[column]


def numeric(column: str) -> bool:
    return column in NUMERIC or column.startswith("as:")


def summary(result: Result) -> list[str]:
    """The totals under the table, a line each, and the table's footnotes."""
    trainable = "" if result.trainable == result.params else f" (trainable {format_int(result.trainable)})"
    lines = [f"Parameters {format_int(result.params)}{trainable}, buffers {format_int(result.buffers)}",
             f"Memory {format_int(result.memory)} B ({human_bytes(result.memory)}) at {result.dtype}"]
    if result.macs is None:
        lines.append("No input: MACs, FLOPs and shapes not computed")
    else:
        lines.append(f"MACs {format_int(result.macs)}, FLOPs {format_int(result.flops or 0)} "
                     f"({CONVENTION_TEXT[result.convention]})")
        lines.append(f"Output {total_text('output', result)}")
    if any(r.note == "measured" for r in result.rows):
        lines.append("† not in the registry: parameters by numel(), FLOPs measured by torch.utils.flop_counter")
    if any(r.note == "shared" for r in result.rows):
        lines.append("‡ the same module called again: its parameters are counted once")
    return lines + printed(result.counters)


def markdown(result: Result, columns: Sequence[str] = DEFAULT_COLUMNS) -> str:
    """A GitHub Markdown table with a bold totals row, then the summary lines."""
    shown = columns_of(result, columns)

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", "<br>") for c in cells) + " |"

    rows = [line([header(c) for c in shown]), "|" + "|".join("---:" if numeric(c) else "---" for c in shown) + "|"]
    rows += [line([cell_text(c, row, result) for c in shown]) for row in result.rows]
    rows.append(line([f"**{t}**" if t else "" for t in (total_text(c, result) for c in shown)]))
    return "\n".join(rows) + "\n\n" + "  \n".join(summary(result)) + "\n"


def terminal(result: Result, columns: Sequence[str] = DEFAULT_COLUMNS, title: str | None = None) -> Any:
    """The table as a `rich` renderable (rich is imported here, by `cnn-cost table` only)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    shown = columns_of(result, columns)
    table = Table(title=title, title_justify="left", show_footer=False)
    for c in shown:
        if c == "formula":
            table.add_column(header(c), overflow="fold", ratio=1)
        else:
            table.add_column(header(c), justify="right" if numeric(c) else "left", no_wrap=True)
    for number, row in enumerate(result.rows, start=1):
        table.add_row(*[cell_text(c, row, result) for c in shown], end_section=number == len(result.rows))
    table.add_row(*[total_text(c, result) for c in shown], style="bold")
    return Group(table, Text("\n".join(summary(result))))


def _row(row: Row) -> dict[str, Any]:
    return {"name": row.name, "type": row.type, "output": None if row.output is None else list(row.output),
            "params": row.params, "macs": row.macs, "flops": row.flops, "formula": list(row.formula),
            "note": row.note, "counters": dict(row.counters)}


def as_json(block: Block, result: Result, model: str) -> dict[str, Any]:
    """Every row and the totals, with the options they were computed under (keys: docs/reference.md)."""
    try:
        activations: int | None = int(result.activations(None, "activations"))
    except CnnCostError:  # no input: no shapes
        activations = None
    return {
        "schema": JSON_SCHEMA,
        "model": model,
        "input": None if block.input is None else list(block.input),
        "dtype": result.dtype,
        "flops": result.convention,
        "mode": block.mode,
        "rows": [_row(row) for row in result.rows],
        "totals": {
            "params": result.params, "trainable": result.trainable, "buffers": result.buffers,
            "memory": result.memory, "macs": result.macs, "flops": result.flops,
            "output": None if result.output is None else list(result.output), "activations": activations,
            "counters": dict(result.counters),
        },
    }
