"""The encoder-decoder model: a token sequence in, another out (translation)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from seqlab.models.cells import sequence_encoder
from seqlab.models.decoder import RecurrentDecoder
from seqlab.models.decoding import State
from seqlab.models.encoders import CELLS, real_steps
from seqlab.models.generator import TokenGenerator


def final_states(state: Any, num_layers: int, directions: int) -> torch.Tensor:
    """The top layer's final hidden state of each direction, side by side (N x H*dirs)."""
    h = state[0] if isinstance(state, tuple) else state  # an LSTM's (h, c)
    top = h.view(num_layers, directions, *h.shape[1:])[-1]  # dirs x N x H
    return torch.cat(list(top), dim=-1)


class Seq2Seq(TokenGenerator):
    """An encoder over source tokens and a recurrent decoder that attends over its outputs.

    `attention: false` leaves the decoder with the encoder's final states only, for
    comparison. Padded source steps are packed away in the encoder and masked in
    attention; without `lengths`, a row's length is where its padding starts. With
    `cell: transformer` or `tcn` the encoder is not recurrent: the decoder, a GRU, starts
    from the mean of the encoder's outputs over the real steps and attends over them.
    """

    def __init__(
        self, input_size: int, output_size: int, target_steps: int = 16, pad_id: int = 0,
        bos_id: int = 1, eos_id: int = 2, cell: str = "gru", hidden_size: int = 64,
        embed_size: int = 32, num_layers: int = 1, bidirectional: bool = True,
        dropout: float = 0.0, attention: bool = True, teacher_forcing: float = 1.0,
        decoding: dict[str, Any] | None = None, heads: int = 4, kernel_size: int = 3,
        steps: int = 1,
    ) -> None:
        super().__init__(target_steps, pad_id, bos_id, eos_id, teacher_forcing, decoding)
        self.embed = nn.Embedding(input_size, embed_size, padding_idx=pad_id)
        self.encoder = sequence_encoder(embed_size, cell, hidden_size, num_layers,
                                        bidirectional, dropout, heads=heads,
                                        kernel_size=kernel_size, steps=steps)
        self.layout = (num_layers, 2 if bidirectional else 1)  # layers, directions
        size = self.encoder.output_size
        self.decoder = RecurrentDecoder(output_size, size, size if attention else 0,
                                        cell if cell in CELLS else "gru", hidden_size,
                                        embed_size, num_layers, dropout, pad_id)

    def start(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> State:
        if lengths is None:
            lengths = (inputs != self.special.pad).sum(dim=1).clamp(min=1)
        outputs, state = self.encoder(self.embed(inputs), lengths)
        mask = real_steps(lengths.to(inputs.device), inputs.shape[1])
        if state is None:  # not recurrent: the mean of its outputs over the real steps
            summary = (outputs * mask.unsqueeze(2)).sum(1) / mask.sum(1, keepdim=True)
        else:
            summary = final_states(state, *self.layout)
        return self.decoder.start(summary, outputs, mask)
