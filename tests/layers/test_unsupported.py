"""Every module class of torch.nn is a registry layer or in NOT_LAYERS, with a reason (contract 2b).

A new PyTorch release that adds a module class fails here with its name: give it an entry in the
registry (its cost follows from shapes) or a line in cnn_cost/layers/unsupported.py saying why not.
"""

from __future__ import annotations

import inspect

import pytest
import torch
from torch import nn

import cnn_cost.layers
from cnn_cost.layers import NOT_LAYERS, REGISTRY


def torch_nn_modules() -> set[str]:
    """The nn.Module subclasses torch.nn exports (nn.Module itself included)."""
    return {name for name, value in vars(nn).items()
            if inspect.isclass(value) and issubclass(value, nn.Module) and not name.startswith("_")}


def test_every_torch_nn_module_is_a_layer_or_says_why_not() -> None:
    modules = torch_nn_modules()
    assert len(modules) > 150  # torch 2.x exports about 160
    missing = sorted(modules - set(REGISTRY) - set(NOT_LAYERS))
    assert not missing, f"torch {torch.__version__} has module classes the registry neither counts nor lists: " \
                        f"{missing}: register them, or give the reason in cnn_cost/layers/unsupported.py"


def test_not_layers_are_torch_nn_classes_and_not_registry_layers() -> None:
    assert not set(NOT_LAYERS) & set(REGISTRY)
    assert set(NOT_LAYERS) <= torch_nn_modules()
    assert set(REGISTRY) <= torch_nn_modules()  # Sequential included: a container of the registry


def test_every_reason_is_one_short_line() -> None:
    for name, reason in NOT_LAYERS.items():
        assert reason and reason == reason.strip(), name
        assert "\n" not in reason and len(reason) <= 200, name
        assert not reason.endswith("."), name  # it ends a message: 'nn.X is not a layer a block can count: ...'


def test_not_layers_is_exported() -> None:
    assert cnn_cost.layers.NOT_LAYERS is NOT_LAYERS
    assert "NOT_LAYERS" in cnn_cost.layers.__all__


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "LazyConv2d", "MaxUnpool2d", "ModuleList", "TransformerEncoder"])
def test_some_reasons(name: str) -> None:
    words = {"CrossEntropyLoss": "loss", "LazyConv2d": "first call", "MaxUnpool2d": "indices",
             "ModuleList": "no forward", "TransformerEncoder": "TransformerEncoderLayer"}
    assert words[name] in NOT_LAYERS[name]
