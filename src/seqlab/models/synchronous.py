"""Synchronous many-to-many models: one output at every input step.

`SynchronousNet` reads each step with the state it carries from the steps before;
`FrameByFrame` applies the one-to-one feed-forward net to each step on its own, the
stateless comparison that shows what the state is worth.
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.models.cells import sequence_encoder
from seqlab.models.encoders import CharWords
from seqlab.models.feedforward import FeedForwardNet


class SynchronousNet(nn.Module):
    """An encoder (recurrent, or transformer / tcn) with a linear head applied at every
    step (N x T x output_size).

    Unidirectional by default, so the output at step t depends only on steps up to t;
    `bidirectional` lets every output see the whole sequence (no longer causal).
    """

    def __init__(
        self, input_size: int, output_size: int, cell: str = "lstm", hidden_size: int = 32,
        num_layers: int = 1, bidirectional: bool = False, dropout: float = 0.0,
        embed_size: int = 64, token_inputs: bool = False, pad_id: int = 0,
        char_vocab_size: int | None = None, chars_per_word: int = 0,
        char_embed_size: int = 16, char_channels: int = 64, heads: int = 4,
        kernel_size: int = 3, steps: int = 1,
    ) -> None:
        super().__init__()
        # A text dataset says its inputs are token ids, and whether each word's characters
        # follow its id (meta.model_args: char_vocab_size, chars_per_word).
        chars = (CharWords(char_vocab_size, char_embed_size, char_channels)
                 if char_vocab_size else None)
        self.encoder = sequence_encoder(
            input_size, cell, hidden_size, num_layers, bidirectional, dropout,
            embed_size if token_inputs else None, pad_id, chars, heads=heads,
            kernel_size=kernel_size, steps=steps,
        )
        self.head = nn.Linear(self.encoder.output_size, output_size)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        outputs, _ = self.encoder(inputs, lengths)
        return self.head(outputs)


class FrameByFrame(nn.Module):
    """The one-to-one FeedForwardNet applied to every step independently (no state)."""

    def __init__(
        self, input_size: int, output_size: int, hidden_sizes: list[int] | tuple[int, ...] = (64,),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.frame_net = FeedForwardNet(input_size, output_size, hidden_sizes, dropout, steps=1)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        batch, steps, features = inputs.shape
        frames = inputs.reshape(batch * steps, 1, features)
        return self.frame_net(frames).reshape(batch, steps, -1)


# The name before it ran transformer and TCN cells too: saved configs and model folders
# still load (seqlab.config.instantiate says the new name in one line).
SynchronousRNN = SynchronousNet
