"""The reference page's list of layer types is generated from the registry at build time: it cannot drift."""

from __future__ import annotations

from bs4 import BeautifulSoup

from cnn_cost.layers import REGISTRY
from conftest import Built


def test_reference_lists_every_registry_layer(guide: Built) -> None:
    assert guide.code == 0, guide.out
    soup = BeautifulSoup(guide.html("reference/index.html"), "html.parser")
    listing = next(s.get_text() for s in soup.select("span.cnn-cost-ref") if "activation:" in s.get_text())
    names = {n.strip() for part in listing.split(";") for n in part.split(":", 1)[1].split(",")}
    assert names == {name for name, spec in REGISTRY.items() if spec.cost is not None}
    assert "Mish" in names
