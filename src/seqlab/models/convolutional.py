"""Convolutional classifiers over time: `model.cell=fcn` and `model.cell=resnet`.

The strongest simple nets of the time-series classification review of Fawaz et al.
(2019): the fully convolutional network of Wang et al. (2017), three convolutions of
widths 8, 5 and 3 with batch norm and ReLU, read by global average pooling
(`model.readout=mean`); and its residual version, blocks of those three convolutions
with a shortcut. `hidden_size` is the channels (a ResNet block after the first has
twice as many), `num_layers` the convolutions (fcn) or residual blocks (resnet).

Like the TCN (seqlab.models.nonrecurrent), padded steps are zeroed before every
convolution, so they read as the zeros beyond a sequence and change no real step (batch
norm is a per-channel affine map at evaluation). Not `bidirectional`, the convolutions
are padded on the left and a step sees only its past; bidirectional, they are centred,
as in the papers.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from seqlab.checks import require_int, require_number
from seqlab.models.encoders import CharWords, channels_first, token_layers

WIDTHS = (8, 5, 3)  # each block's convolutions, as in Wang et al. 2017


class ConvNorm(nn.Module):
    """A convolution of `width` steps, batch norm and (unless `last`) ReLU."""

    def __init__(self, features: int, channels: int, width: int, causal: bool,
                 dropout: float, relu: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv1d(features, channels, width)
        self.norm = nn.BatchNorm1d(channels)
        self.padding = (width - 1, 0) if causal else ((width - 1) // 2, width // 2)
        self.relu, self.dropout = relu, nn.Dropout(dropout)

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        found = self.norm(self.conv(F.pad(inputs * mask, self.padding)))
        return self.dropout(F.relu(found)) if self.relu else found


class ResidualBlock(nn.Module):
    """Three ConvNorms (widths 8, 5, 3) plus a shortcut (a 1 x 1 convolution and batch
    norm where the channels change), then ReLU."""

    def __init__(self, features: int, channels: int, causal: bool, dropout: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            ConvNorm(features if i == 0 else channels, channels, width, causal, dropout,
                     relu=i < len(WIDTHS) - 1) for i, width in enumerate(WIDTHS))
        self.shortcut = (ConvNorm(features, channels, 1, causal, 0.0, relu=False)
                         if features != channels else None)

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        found = inputs
        for layer in self.layers:
            found = layer(found, mask)
        skip = inputs if self.shortcut is None else self.shortcut(inputs, mask)
        return F.relu(found + skip)


class FullyConvEncoder(nn.Module):
    """FCN (`residual=False`) or ResNet (`residual=True`) over N x T inputs, returning
    N x T x channels outputs (and no state), as every encoder does."""

    def __init__(self, input_size: int, hidden_size: int = 64, num_layers: int = 3,
                 bidirectional: bool = False, dropout: float = 0.0,
                 embed_size: int | None = None, pad_id: int = 0,
                 chars: CharWords | None = None, residual: bool = False) -> None:
        super().__init__()
        self.embed, features = token_layers(input_size, embed_size, pad_id, chars)
        self.chars = chars
        require_int("hidden_size", hidden_size, minimum=1)
        require_int("num_layers", num_layers, minimum=1)
        require_number("dropout", dropout, 0, 1, high_open=True)
        causal = not bidirectional
        if residual:  # channels h, then 2h, as the paper's 64, 128, 128
            sizes = [hidden_size * (1 if i == 0 else 2) for i in range(num_layers)]
            self.blocks = nn.ModuleList(
                ResidualBlock(features if i == 0 else sizes[i - 1], size, causal, dropout)
                for i, size in enumerate(sizes))
        else:  # widths 8, 5, 3, 8, ...; the middle layer twice as wide (128, 256, 128)
            sizes = [hidden_size * (2 if i % 3 == 1 else 1) for i in range(num_layers)]
            self.blocks = nn.ModuleList(
                ConvNorm(features if i == 0 else sizes[i - 1], size, WIDTHS[i % 3], causal,
                         dropout) for i, size in enumerate(sizes))
        self.output_size = sizes[-1]

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, None]:
        found, mask = channels_first(inputs, lengths, self.embed, self.chars)
        for block in self.blocks:
            found = block(found, mask)
        return (found * mask).transpose(1, 2), None
