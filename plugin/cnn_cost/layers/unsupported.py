"""The module classes of `torch.nn` that are not layers of the registry, each with the reason.

Every `torch.nn.Module` subclass that `torch.nn` exports is either in `REGISTRY` or here
(tests/layers/test_unsupported.py checks it against the installed PyTorch, so a new release's
modules are named). The reference lists these; a block that writes one is told why.
"""

from __future__ import annotations

LOSS = "a loss: takes targets, not a layer of a network"
LAZY = "its parameters are known only after its first call; write the sized layer"

NOT_LAYERS: dict[str, str] = {
    # ----------------------------------------------------------------- losses
    **dict.fromkeys((
        "BCELoss", "BCEWithLogitsLoss", "CTCLoss", "CosineEmbeddingLoss", "CrossEntropyLoss", "GaussianNLLLoss",
        "HingeEmbeddingLoss", "HuberLoss", "KLDivLoss", "L1Loss", "LinearCrossEntropyLoss", "MSELoss",
        "MarginRankingLoss", "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss", "NLLLoss",
        "NLLLoss2d", "PoissonNLLLoss", "SmoothL1Loss", "SoftMarginLoss", "TripletMarginLoss",
        "TripletMarginWithDistanceLoss",
    ), LOSS),
    "AdaptiveLogSoftmaxWithLoss": "a classifier head that takes the targets and returns the loss with its output; "
                                  "write its Linear layers",
    # ----------------------------------------------------------------- lazy modules
    **dict.fromkeys((
        "LazyLinear", *(f"Lazy{kind}{d}d" for kind in ("Conv", "ConvTranspose", "BatchNorm", "InstanceNorm")
                        for d in (1, 2, 3)),
    ), LAZY),
    # ----------------------------------------------------------------- containers and base classes
    "Module": "the base class of every layer: write a layer, or import the project's own model",
    "Container": "a deprecated base of containers: write nn.Sequential",
    "ModuleList": "holds modules but has no forward: write nn.Sequential, or import the model that calls them",
    "ModuleDict": "holds modules but has no forward: write nn.Sequential, or import the model that calls them",
    "ParameterList": "holds parameters but has no forward",
    "ParameterDict": "holds parameters but has no forward",
    "RNNBase": "the base class of RNN, LSTM and GRU: write one of those",
    "RNNCellBase": "the base class of RNNCell, LSTMCell and GRUCell: write one of those",
    "TransformerEncoder": "takes the layer it copies as an argument: write its TransformerEncoderLayer calls (an "
                          "imported model's TransformerEncoder gives one row per layer)",
    "TransformerDecoder": "takes the layer it copies as an argument: write its TransformerDecoderLayer calls (an "
                          "imported model's TransformerDecoder gives one row per layer)",
    # ----------------------------------------------------------------- no cost of their own, or no shape
    "DataParallel": "runs a module on several devices: it adds no layer and no cost; write the module itself",
    **{f"MaxUnpool{d}d": "needs the indices of a MaxPool call (a second, keyword input of integers)"
       for d in (1, 2, 3)},
}

__all__ = ["NOT_LAYERS"]
