"""mkdocs-cnn-cost: verified parameter, shape, MAC and FLOP tables for PyTorch layers in Markdown."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cnn_cost.block import Block, Call, parse_block
    from cnn_cost.claims import Checked, Claim, Unverifiable, WrongNumber, check, parse_claim
    from cnn_cost.errors import CnnCostError

# The public names are imported when first asked for: importing a submodule alone (the pytest plugin, which
# pytest loads in every run of an environment that has the package) imports nothing more.
_HOMES = {"Block": "block", "Call": "block", "parse_block": "block", "Checked": "claims", "Claim": "claims",
          "Unverifiable": "claims", "WrongNumber": "claims", "check": "claims", "parse_claim": "claims",
          "CnnCostError": "errors"}


def _version() -> str:
    """The installed distribution's version; in a source tree that is not installed, pyproject.toml's."""
    from importlib import metadata

    try:
        return metadata.version("mkdocs-cnn-cost")
    except metadata.PackageNotFoundError:
        import re
        from pathlib import Path

        try:
            text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
        except OSError:
            return "0+unknown"
        found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
        return found.group(1) if found else "0+unknown"


def __getattr__(name: str) -> Any:
    """The public names, imported on first use; `cnn_cost.__version__`, read from the package metadata when
    first asked for (not at import)."""
    if name == "__version__":
        globals()["__version__"] = version = _version()
        return version
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value = getattr(importlib.import_module(f"cnn_cost.{home}"), name)
    return value


__all__ = ["Block", "Call", "Checked", "Claim", "CnnCostError", "Unverifiable", "WrongNumber", "check",
           "parse_block", "parse_claim"]
