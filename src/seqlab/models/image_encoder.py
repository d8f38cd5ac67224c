"""Encode one image (N x H x W grey levels) into one vector."""

from __future__ import annotations

import torch
from torch import nn

from seqlab.checks import require_choice, require_int

KINDS = ("conv", "dense")


class ImageEncoder(nn.Module):
    """Two 3x3 convolutions and a 2x2 pooling (conv), or two dense layers, then a vector.

    The vector is normalised (no ReLU): saturated or switched-off units would leave the
    decoder blind to the image, stuck on the captions' marginal distribution.
    """

    def __init__(self, height: int, width: int, size: int = 128, kind: str = "conv") -> None:
        super().__init__()
        require_int("steps", height, minimum=2)
        require_int("input_size", width, minimum=2)
        require_int("image_size", size, minimum=1)
        require_choice("encoder", kind, KINDS)
        if kind == "conv":
            self.layers = nn.Sequential(
                nn.Unflatten(1, (1, height)),  # N x H x W -> N x 1 x H x W
                nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                nn.Linear(32 * (height // 2) * (width // 2), size), nn.LayerNorm(size),
            )
        else:
            self.layers = nn.Sequential(
                nn.Flatten(), nn.Linear(height * width, size), nn.ReLU(),
                nn.Linear(size, size), nn.LayerNorm(size),
            )
        self.output_size = size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images)
