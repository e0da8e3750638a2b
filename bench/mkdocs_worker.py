"""Run the `mkdocs` command line in this process and record, at exit, whether torch was imported.

    python bench/mkdocs_worker.py OUT.json build -f mkdocs.yml ...

Writes {"torch_imported", "dynamo_imported", "seconds", "maxrss_kb", "exit"} to OUT.json when the
process exits (also after `mkdocs serve` is stopped with SIGINT).
"""

from __future__ import annotations

import atexit
import json
import resource
import sys
import time

STARTED = time.perf_counter()
OUT = sys.argv[1]
EXIT: list[object] = [None]


def _report() -> None:
    data = {
        "torch_imported": "torch" in sys.modules,
        "dynamo_imported": "torch._dynamo" in sys.modules,
        "seconds": time.perf_counter() - STARTED,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "exit": EXIT[0],
    }
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump(data, fh)


def main() -> None:
    atexit.register(_report)
    from mkdocs.__main__ import cli

    sys.argv = ["mkdocs", *sys.argv[2:]]
    try:
        cli()
    except SystemExit as exc:
        EXIT[0] = exc.code
        raise
    except KeyboardInterrupt:
        EXIT[0] = "interrupted"


if __name__ == "__main__":
    main()
