"""The one-to-many model: one image in, a caption out (image captioning)."""

from __future__ import annotations

from typing import Any

import torch

from seqlab.models.decoder import RecurrentDecoder
from seqlab.models.decoding import State
from seqlab.models.generator import TokenGenerator
from seqlab.models.image_encoder import ImageEncoder


class Captioner(TokenGenerator):
    """An image encoder whose vector starts an RNN decoder over caption tokens.

    Images are N x H x W (H = the data's `steps`, W its `input_size`); the vocabulary
    size is the data's `output_size`.
    """

    def __init__(
        self, input_size: int, output_size: int, steps: int, target_steps: int = 16,
        pad_id: int = 0, bos_id: int = 1, eos_id: int = 2, encoder: str = "conv",
        image_size: int = 128, cell: str = "gru", hidden_size: int = 128, embed_size: int = 32,
        num_layers: int = 1, dropout: float = 0.0, teacher_forcing: float = 1.0,
        decoding: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(target_steps, pad_id, bos_id, eos_id, teacher_forcing, decoding)
        self.encoder = ImageEncoder(steps, input_size, image_size, encoder)
        self.decoder = RecurrentDecoder(output_size, image_size, 0, cell, hidden_size,
                                        embed_size, num_layers, dropout, pad_id)

    def start(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> State:
        return self.decoder.start(self.encoder(inputs))
