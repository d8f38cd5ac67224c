"""A fully connected net: the one-to-one archetype, and the course's baseline for sequences."""

from __future__ import annotations

import torch
from torch import nn

from seqlab.checks import require_int, require_number


class FeedForwardNet(nn.Module):
    """Flatten the input (all steps and features) and apply ReLU layers and a linear head."""

    def __init__(
        self, input_size: int, output_size: int, hidden_sizes: list[int] | tuple[int, ...] = (64,),
        dropout: float = 0.0, steps: int = 1,
    ) -> None:
        super().__init__()
        require_int("steps", steps, minimum=1)
        require_number("dropout", dropout, 0, 1, high_open=True)
        layers: list[nn.Module] = [nn.Flatten()]
        width = input_size * steps
        for i, size in enumerate(hidden_sizes):
            require_int(f"hidden_sizes[{i}]", size, minimum=1)
            layers += [nn.Linear(width, size), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, output_size))
        self.layers = nn.Sequential(*layers)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.layers(inputs)
