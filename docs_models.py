"""Models that the guide's ``cnn-cost`` blocks build and that are not a plain ``nn.Sequential``.

The site's ``mkdocs.yml`` lists this module under ``imports:``, so a block may say
``model: docs_models.ResidualBlock(64)``. Every constructor takes only ints and bools, and
every submodule is called exactly once per forward pass, in the order it is registered, so
that the per-layer table of a block lists each layer once and in the order it runs.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Bottleneck", "ResidualBlock"]


def _shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """The identity when shapes match, otherwise a strided 1x1 projection followed by BatchNorm."""
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class ResidualBlock(nn.Module):
    """The basic block of ResNet-18 and ResNet-34.

    ``conv3x3 -> BN -> ReLU -> conv3x3 -> BN``, plus a shortcut, then ReLU after the addition.
    The convolutions have no bias (the BatchNorm after each one makes it redundant).

    Args:
        channels: input channels.
        stride: stride of the first 3x3 convolution (1 or 2).
        out_channels: output channels; ``0`` (the default) keeps ``channels`` when
            ``stride`` is 1 and doubles it otherwise, as ResNet does when it halves the
            resolution.

    The shortcut is the identity when input and output shapes agree; otherwise it is a 1x1
    convolution with the same stride followed by BatchNorm (ResNet's "option B").
    """

    def __init__(self, channels: int, stride: int = 1, out_channels: int = 0) -> None:
        super().__init__()
        if out_channels == 0:
            out_channels = channels if stride == 1 else 2 * channels
        self.conv1 = nn.Conv2d(channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = _shortcut(channels, out_channels, stride)
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``."""
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """The bottleneck block of ResNet-50/101/152.

    ``conv1x1 (reduce) -> BN -> ReLU -> conv3x3 -> BN -> ReLU -> conv1x1 (expand) -> BN``,
    plus a shortcut, then ReLU after the addition. The stride sits on the 3x3 convolution
    (torchvision's "ResNet v1.5").

    Args:
        channels: input channels.
        width: channels of the reduced 1x1 and 3x3 convolutions (64 in the first stage
            of ResNet-50).
        stride: stride of the 3x3 convolution (1 or 2).
        expansion: output channels are ``expansion * width`` (4 in ResNet).

    The shortcut is the identity when input and output shapes agree, otherwise a strided
    1x1 projection followed by BatchNorm.
    """

    def __init__(self, channels: int, width: int, stride: int = 1, expansion: int = 4) -> None:
        super().__init__()
        out_channels = expansion * width
        self.conv1 = nn.Conv2d(channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.shortcut = _shortcut(channels, out_channels, stride)
        self.relu3 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``relu(bn3(conv3(...)) + shortcut(x))``."""
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu3(out + self.shortcut(x))
