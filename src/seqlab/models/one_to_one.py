"""The one-to-one archetype: one image in, one label out, no recurrence.

Its default model is the fully connected FeedForwardNet (models/feedforward.py), which
also serves as the course's baseline for sequence models; this module adds a small
convolutional net for images.
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.checks import require_int


class ImageCNN(nn.Module):
    """Two 3x3 convolutions, global pooling and a linear head over a square image.

    The input arrives as N x 1 x (side*side) (one step holding the flattened image).
    """

    def __init__(self, input_size: int, output_size: int, channels: int = 32,
                 steps: int = 1) -> None:
        super().__init__()
        require_int("channels", channels, minimum=1)
        self.side = int(round((input_size * steps) ** 0.5))
        if self.side * self.side != input_size * steps:
            raise ValueError(f"ImageCNN needs a square image, got {input_size * steps} values")
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(2), nn.Flatten(),
        )
        self.head = nn.Linear(channels * 4, output_size)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        images = inputs.reshape(len(inputs), 1, self.side, self.side)
        return self.head(self.features(images))
