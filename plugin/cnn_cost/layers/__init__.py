"""The registry of layer types: one entry per type, grouped in family modules."""

from cnn_cost.layers import activation, attention, conv, linear, norm, pool, recurrent
from cnn_cost.layers.registry import REGISTRY, Cost, LayerSpec, ShapeMismatch, register, register_container

register_container("Sequential")

__all__ = ["REGISTRY", "Cost", "LayerSpec", "ShapeMismatch", "activation", "attention", "conv", "linear", "norm",
           "pool", "recurrent", "register"]
