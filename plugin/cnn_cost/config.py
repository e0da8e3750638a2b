"""The plugin's options, declared with `mkdocs.config`."""

from __future__ import annotations

from mkdocs.config import base
from mkdocs.config import config_options as c

from cnn_cost.i18n import LOCALES
from cnn_cost.vocabulary import CONVENTIONS, ON_ERROR, SHAPES


class CnnCostConfig(base.Config):
    enabled = c.Type(bool, default=True)
    """Turn the plugin off (blocks then render as plain code)."""
    flops = c.Choice(CONVENTIONS, default="2mac")
    """Default FLOPs convention of every block (a block's `flops:` wins)."""
    on_error = c.Choice(ON_ERROR, default="fail")
    """`fail`: a wrong number fails `mkdocs build`; `warn`: it is logged as a warning."""
    imports = c.ListOfItems(c.Type(str), default=[])
    """Modules (found beside mkdocs.yml or installed) that blocks may import models from."""
    cache_dir = c.Type(str, default=".cache/cnn-cost")
    """Disk cache, relative to mkdocs.yml; an empty string keeps the cache in memory only."""
    shapes = c.Choice(SHAPES, default="formula")
    """Output shapes from the registry's formulas (PyTorch's meta kernels only where none applies),
    or `torch`: run every layer's meta kernel (slower; the same tables)."""
    css = c.Type(bool, default=True)
    """Add the plugin's stylesheet to the site."""
    search_tables = c.Type(bool, default=True)
    """Index the per-layer tables for search; `false` marks them `data-search-exclude` (Material's search)."""
    locale = c.Optional(c.Choice(LOCALES))
    """The words around the numbers (headers, totals, notes, box titles): `en` or `zh`. Unset, each page
    follows its own language (mkdocs-static-i18n), else `theme.language`."""
