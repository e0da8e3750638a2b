"""The package's version floors, as pip constraints, or checked against what is installed.

`python .ci/floors.py` prints one `name==floor` line for every runtime dependency and every
dependency of the `material` and `guide` extras in pyproject.toml (`name>=floor` there): `make test-floors`
installs with them as constraints, so the floors venv holds exactly the floors.
`python .ci/floors.py --check` (run by the floors venv's Python) fails unless every one of them is
installed at exactly its floor. A dependency without a `>=` floor is an error: every floor is tested.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import tomllib

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
EXTRAS = ("material", "guide")  # the extras whose floors are tested with the package's (the guide's own)
FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*([0-9][0-9A-Za-z.+!-]*)\s*(?:;.*)?$")


def floors(pyproject: Path = PYPROJECT) -> dict[str, str]:
    """{distribution name: floor} of the runtime dependencies and the EXTRAS' dependencies."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra in EXTRAS:
        requirements += project.get("optional-dependencies", {}).get(extra, [])
    out: dict[str, str] = {}
    for requirement in requirements:
        found = FLOOR.match(requirement)
        if found is None:
            raise SystemExit(f"floors: {requirement!r} in pyproject.toml has no `>=` floor to test "
                             "(write `name>=version`, the lowest version that `make test-floors` passes with)")
        out[found.group(1)] = found.group(2)
    return out


def _same(installed: str, floor: str) -> bool:
    """2.13.0+cpu is the floor 2.13; 6.0 is 6.0.0."""
    def parts(version: str) -> list[str]:
        items = version.split("+", 1)[0].split(".")
        while len(items) > 1 and items[-1] == "0":
            items.pop()
        return items

    return parts(installed) == parts(floor)


def check() -> int:
    wrong = []
    for name, floor in floors().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if not _same(installed, floor):
            wrong.append(f"{name}: floor {floor}, installed {installed}")
    if wrong:
        print("floors: the venv does not hold exactly the floors:\n  " + "\n  ".join(wrong), file=sys.stderr)
        return 1
    print("floors: " + ", ".join(f"{name} {floor}" for name, floor in floors().items()))
    return 0


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        return check()
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    for name, floor in floors().items():
        print(f"{name}=={floor}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
