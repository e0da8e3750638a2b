"""`python tests/link_torch.py DIR`: DIR holds links to this environment's torch and numpy (and what they
need), for a `.pth` file of another virtual environment of the same Python to put on its path.

`make hosts` uses it so that the venvs of the other site generators (.venv-hosts/zensical,
.venv-hosts/properdocs) share .venv's torch instead of installing it again (a venv's
`--system-site-packages` reaches the system Python's packages, not another venv's). Only these
distributions are linked, never mkdocs or this package: each host venv installs its own.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

ROOTS = ("torch", "numpy")
SKIP = {"setuptools", "pip"}  # a venv has its own


def closure(roots: tuple[str, ...] = ROOTS) -> list[metadata.Distribution]:
    """The installed distributions `roots` need, themselves included (extras left out)."""
    todo, seen, out = list(roots), set(), []
    while todo:
        name = re.split(r"[^A-Za-z0-9._-]", todo.pop().strip(), maxsplit=1)[0].lower().replace("_", "-")
        if name in seen or name in SKIP:
            continue
        seen.add(name)
        dist = metadata.distribution(name)
        out.append(dist)
        todo += [req for req in dist.requires or [] if "extra ==" not in req]
    return out


def link(target: Path) -> list[str]:
    """Link every top-level file and folder of the closure's distributions into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    names = []
    for dist in closure():
        base = Path(str(dist.locate_file("")))
        tops = {f.parts[0] for f in dist.files or [] if f.parts and f.parts[0] not in ("..", "__pycache__")}
        for top in sorted(tops):
            if top.endswith(".pth"):
                continue
            entry = target / top
            if not entry.exists() and not entry.is_symlink():
                entry.symlink_to(base / top)
        names.append(f"{dist.metadata['Name']}=={dist.version}")
    return names


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print("linked:", ", ".join(link(Path(sys.argv[1]))))
