"""The many-to-one model: read a whole sequence, emit one output at the end."""

from __future__ import annotations

import torch
from torch import nn

from seqlab.checks import require_choice
from seqlab.models.cells import sequence_encoder
from seqlab.models.encoders import last_step, real_steps

READOUTS = ("last", "mean")


class ManyToOneNet(nn.Module):
    """An encoder read at its last step (or averaged over steps), then a linear head. The
    encoder is recurrent, or with `cell` transformer or tcn not (seqlab.models.nonrecurrent).

    For a bidirectional encoder the last step of the forward direction only sees the
    past, while the backward direction has read the whole sequence by step one; the
    `mean` readout uses every step of both.
    """

    def __init__(
        self, input_size: int, output_size: int, cell: str = "lstm", hidden_size: int = 32,
        num_layers: int = 1, bidirectional: bool = False, dropout: float = 0.0,
        readout: str = "last", embed_size: int = 64, token_inputs: bool = False,
        pad_id: int = 0, heads: int = 4, kernel_size: int = 3, steps: int = 1,
    ) -> None:
        super().__init__()
        require_choice("readout", readout, READOUTS)
        self.encoder = sequence_encoder(
            input_size, cell, hidden_size, num_layers, bidirectional, dropout,
            # A text dataset says its inputs are token ids (meta.model_args).
            embed_size if token_inputs else None, pad_id,
            heads=heads, kernel_size=kernel_size, steps=steps,
        )
        self.readout = readout
        self.head = nn.Linear(self.encoder.output_size, output_size)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        outputs, _ = self.encoder(inputs, lengths)
        if self.readout == "last":
            return self.head(last_step(outputs, lengths))
        if lengths is None:
            return self.head(outputs.mean(dim=1))
        mask = real_steps(lengths.to(outputs.device), outputs.shape[1])
        summed = (outputs * mask.unsqueeze(-1)).sum(dim=1)
        return self.head(summed / lengths.unsqueeze(-1).to(outputs.dtype))


# The name before it ran transformer and TCN cells too: saved configs and model folders
# still load (seqlab.config.instantiate says the new name in one line).
ManyToOneRNN = ManyToOneNet
