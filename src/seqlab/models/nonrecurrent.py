"""Encoders without a recurrent state, to answer "do I need a recurrent net at all?":
self-attention (`model.cell=transformer`) and dilated convolutions (`model.cell=tcn`).

Both read N x T inputs (values, or token ids embedded as the recurrent encoder does) into
N x T x hidden_size outputs, so an archetype's head reads them as it reads an RNN's. Not
`bidirectional`, a step sees only its past (attention masked causally, convolutions
padded on the left); bidirectional, the whole sequence. Padded steps (beyond `lengths`)
never change a real step's output.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from seqlab.checks import require_int, require_number
from seqlab.models.encoders import (
    CharWords,
    channels_first,
    real_steps,
    step_features,
    token_layers,
)


def positions(steps: int, size: int, device: torch.device) -> torch.Tensor:
    """The sinusoidal position encoding of "Attention is all you need" (steps x size)."""
    where = torch.arange(steps, device=device, dtype=torch.float32)[:, None]
    rates = torch.exp(torch.arange(0, size, 2, device=device, dtype=torch.float32)
                      * (-math.log(10000.0) / size))
    table = torch.zeros(steps, size, device=device)
    table[:, 0::2] = torch.sin(where * rates)
    table[:, 1::2] = torch.cos(where * rates[: size // 2])
    return table


class AttentionEncoder(nn.Module):
    """A Transformer encoder (pre-norm layers, `heads` heads, feed-forward 4 x hidden) over
    the inputs projected to `hidden_size` plus their positions."""

    def __init__(self, input_size: int, hidden_size: int = 32, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0,
                 embed_size: int | None = None, pad_id: int = 0,
                 chars: CharWords | None = None, heads: int = 4, steps: int = 1) -> None:
        super().__init__()
        self.embed, features = token_layers(input_size, embed_size, pad_id, chars)
        self.chars = chars
        for key, value in (("hidden_size", hidden_size), ("num_layers", num_layers),
                           ("heads", heads)):
            require_int(key, value, minimum=1)
        require_number("dropout", dropout, 0, 1, high_open=True)
        if hidden_size % heads:
            from seqlab.errors import ConfigError

            raise ConfigError(f"model.heads: {heads} does not divide model.hidden_size "
                              f"{hidden_size}; attention splits the size among the heads")
        self.project = nn.Linear(features, hidden_size)
        # Positions are learned, starting from the sinusoids: a step's place matters more
        # in short fixed-length inputs (pixels, frames) than a fixed code can say. Steps
        # beyond the training data's `steps` keep the sinusoid.
        self.positions = nn.Parameter(positions(steps, hidden_size, torch.device("cpu")))
        layer = nn.TransformerEncoderLayer(hidden_size, heads, 4 * hidden_size, dropout,
                                           batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden_size)
        self.causal = not bidirectional
        self.output_size = hidden_size

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, None]:
        found = self.project(step_features(inputs, self.embed, self.chars))
        steps = found.shape[1]
        table = self.positions[:steps]
        if steps > len(table):
            table = torch.cat([table, positions(steps, found.shape[2], found.device)[len(table):]])
        found = found + table
        # True where attention is barred: a step's future (one-way) and padded steps.
        mask = (torch.ones(steps, steps, dtype=torch.bool, device=found.device).triu(1)
                if self.causal else None)
        padding = None if lengths is None else ~real_steps(lengths.to(found.device), steps)
        found = self.layers(found, mask=mask, src_key_padding_mask=padding,
                            is_causal=self.causal)
        return self.norm(found), None


class ConvEncoder(nn.Module):
    """A temporal convolutional network (Bai et al. 2018): residual blocks of two dilated
    1-D convolutions, dilation doubling per block, as many blocks as it takes for the
    last step to see all `steps` (at least `num_layers`)."""

    def __init__(self, input_size: int, hidden_size: int = 32, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0,
                 embed_size: int | None = None, pad_id: int = 0,
                 chars: CharWords | None = None, kernel_size: int = 3, steps: int = 1) -> None:
        super().__init__()
        self.embed, features = token_layers(input_size, embed_size, pad_id, chars)
        self.chars = chars
        for key, value in (("hidden_size", hidden_size), ("num_layers", num_layers),
                           ("kernel_size", kernel_size), ("steps", steps)):
            require_int(key, value, minimum=1 if key != "kernel_size" else 2)
        require_number("dropout", dropout, 0, 1, high_open=True)
        # A block of dilation d widens the view by 2 (k - 1) d steps.
        blocks = num_layers
        while 1 + 2 * (kernel_size - 1) * (2**blocks - 1) < steps:
            blocks += 1
        self.blocks = nn.ModuleList(
            TemporalBlock(features if i == 0 else hidden_size, hidden_size, kernel_size,
                          2**i, dropout, causal=not bidirectional) for i in range(blocks))
        self.output_size = hidden_size

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, None]:
        found, mask = channels_first(inputs, lengths, self.embed, self.chars)
        for block in self.blocks:
            found = block(found, mask)
        return found.transpose(1, 2), None


class TemporalBlock(nn.Module):
    """Two dilated convolutions with ReLU and dropout, and a residual connection. Padded
    steps are zeroed before each convolution, so they read as the zeros beyond a sequence."""

    def __init__(self, features: int, channels: int, kernel_size: int, dilation: int,
                 dropout: float, causal: bool) -> None:
        super().__init__()
        self.first = nn.Conv1d(features, channels, kernel_size, dilation=dilation)
        self.second = nn.Conv1d(channels, channels, kernel_size, dilation=dilation)
        self.skip = nn.Conv1d(features, channels, 1) if features != channels else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        width = dilation * (kernel_size - 1)
        self.padding = (width, 0) if causal else (width // 2, width - width // 2)

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        found = self.dropout(F.relu(self.first(F.pad(inputs * mask, self.padding))))
        found = self.dropout(F.relu(self.second(F.pad(found * mask, self.padding))))
        return F.relu(found + self.skip(inputs))
