"""Which encoder a `model.cell` names: recurrent (seqlab.models.encoders), attention or
dilated convolutions (seqlab.models.nonrecurrent), or a convolutional classifier
(seqlab.models.convolutional). The archetypes' nets build their encoder here."""

from __future__ import annotations

from torch import nn

from seqlab.checks import require_choice
from seqlab.models import convolutional, nonrecurrent
from seqlab.models.encoders import CELLS, CharWords, RecurrentEncoder

ENCODER_CELLS = (*CELLS, "transformer", "tcn", "fcn", "resnet")


def sequence_encoder(input_size: int, cell: str = "lstm", hidden_size: int = 32,
                     num_layers: int = 1, bidirectional: bool = False, dropout: float = 0.0,
                     embed_size: int | None = None, pad_id: int = 0,
                     chars: CharWords | None = None, heads: int = 4, kernel_size: int = 3,
                     steps: int = 1) -> nn.Module:
    """The encoder of `cell`: recurrent (rnn, lstm, gru) or not (transformer, tcn: see
    seqlab.models.nonrecurrent; fcn, resnet: seqlab.models.convolutional). Each maps N x T
    inputs to N x T x `output_size` outputs (and a state: a recurrent one's, else None);
    `bidirectional` lets a step see the steps after it (a transformer unmasked,
    convolutions centred), else it sees its past."""
    require_choice("cell", cell, ENCODER_CELLS)
    if cell in CELLS:
        return RecurrentEncoder(input_size, cell, hidden_size, num_layers, bidirectional,
                                dropout, embed_size, pad_id, chars)
    if cell == "transformer":
        return nonrecurrent.AttentionEncoder(input_size, hidden_size, num_layers, bidirectional,
                                             dropout, embed_size, pad_id, chars, heads,
                                             steps)
    if cell in ("fcn", "resnet"):
        return convolutional.FullyConvEncoder(input_size, hidden_size, num_layers,
                                              bidirectional, dropout, embed_size, pad_id,
                                              chars, residual=cell == "resnet")
    return nonrecurrent.ConvEncoder(input_size, hidden_size, num_layers, bidirectional, dropout,
                                    embed_size, pad_id, chars, kernel_size, steps)
