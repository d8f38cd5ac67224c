"""N-BEATS (Oreshkin et al. 2020) in its generic form: a forecast from the window alone.

A stack of fully connected blocks, doubly residual: each block reads what the blocks
before it left unexplained of the window, gives back its own part of the window (the
backcast, subtracted before the next block) and its part of the forecast (the forecasts
are summed). Every step ahead comes out at once (direct multi-horizon). With the dataset's
`normalise: window` (seqlab.models.relative) the net sees the window relative to its last
value, as N-BEATS' scaled inputs do.
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.checks import require_int, require_number


class Block(nn.Module):
    """Fully connected layers, then two linear heads: backcast and forecast."""

    def __init__(self, window: int, horizon: int, width: int, layers: int,
                 dropout: float) -> None:
        super().__init__()
        body: list[nn.Module] = []
        size = window
        for _ in range(layers):
            body += [nn.Linear(size, width), nn.ReLU()]
            if dropout:
                body.append(nn.Dropout(dropout))
            size = width
        self.body = nn.Sequential(*body)
        self.backcast = nn.Linear(width, window)
        self.forecast = nn.Linear(width, horizon)

    def forward(self, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.body(window)
        return self.backcast(hidden), self.forecast(hidden)


class NBeats(nn.Module):
    """Blocks in sequence over the flattened window (steps x features): the forecast is
    the sum of theirs, each reading the residual the ones before it left."""

    def __init__(self, input_size: int, output_size: int, steps: int = 1, blocks: int = 3,
                 layers: int = 2, width: int = 128, dropout: float = 0.0) -> None:
        super().__init__()
        require_int("steps", steps, minimum=1)
        require_int("blocks", blocks, minimum=1)
        require_int("layers", layers, minimum=1)
        require_int("width", width, minimum=1)
        require_number("dropout", dropout, 0, 1, high_open=True)
        window = input_size * steps
        self.blocks = nn.ModuleList(Block(window, output_size, width, layers, dropout)
                                    for _ in range(blocks))

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        residual = inputs.flatten(start_dim=1)
        forecast = 0
        for block in self.blocks:
            backcast, part = block(residual)
            residual = residual - backcast
            forecast = forecast + part
        return forecast
