"""The registry of layer types: one entry per type, grouped in family modules; `NOT_LAYERS`, the module
classes of torch.nn that are not layers, each with the reason."""

from cnn_cost.layers import activation, attention, conv, linear, norm, pool, recurrent
from cnn_cost.layers.registry import REGISTRY, Cost, LayerSpec, ShapeMismatch, register, register_container
from cnn_cost.layers.unsupported import NOT_LAYERS

register_container("Sequential")

__all__ = ["NOT_LAYERS", "REGISTRY", "Cost", "LayerSpec", "ShapeMismatch", "activation", "attention", "conv",
           "linear", "norm", "pool", "recurrent", "register"]
