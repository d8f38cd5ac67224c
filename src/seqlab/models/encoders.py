"""The recurrent encoder, and the input layers every encoder shares: token embeddings,
character features, real lengths (seqlab.models.cells picks the encoder a cell names)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlab.checks import require_choice, require_int, require_number

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class CharWords(nn.Module):
    """What each word looks like: its characters embedded, a 1-D convolution over them and
    the maximum over the word (N x T x C character ids -> N x T x channels). A tagger
    reads a word its vocabulary lacks from its suffix, capitals, digits and hyphens."""

    def __init__(self, vocab_size: int, embed_size: int = 16, channels: int = 64,
                 width: int = 3) -> None:
        super().__init__()
        for key, value in (("char_vocab_size", vocab_size), ("char_embed_size", embed_size),
                           ("char_channels", channels), ("char_kernel", width)):
            require_int(key, value, minimum=1)
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=0)
        self.conv = nn.Conv1d(embed_size, channels, width, padding=width // 2)
        self.output_size = channels

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        rows, steps, width = chars.shape
        flat = chars.reshape(rows * steps, width)
        found = torch.relu(self.conv(self.embed(flat).transpose(1, 2)))  # words x ch x C
        # The maximum over the word's own characters: a padding word (no character) is 0.
        found = found.masked_fill((flat == 0).unsqueeze(1), 0.0).amax(dim=2)
        return found.reshape(rows, steps, -1)


class RecurrentEncoder(nn.Module):
    """An RNN, LSTM or GRU over a batch of sequences (N x T x F, batch first).

    With `lengths`, padded steps are packed away, so padding never changes a result.
    With `embed_size`, the inputs are token ids (N x T, `input_size` the vocabulary
    size), each embedded in `embed_size` values before the recurrent layers.
    Returns the output at every step (N x T x H*directions) and the final hidden state.
    """

    def __init__(
        self, input_size: int, cell: str = "lstm", hidden_size: int = 32, num_layers: int = 1,
        bidirectional: bool = False, dropout: float = 0.0, embed_size: int | None = None,
        pad_id: int = 0, chars: CharWords | None = None,
    ) -> None:
        super().__init__()
        # Token inputs N x T x (1 + C): each word's id, then its characters (CharWords).
        self.embed, input_size = token_layers(input_size, embed_size, pad_id, chars)
        self.chars = chars
        require_choice("cell", cell, CELLS)
        require_int("hidden_size", hidden_size, minimum=1)
        require_int("num_layers", num_layers, minimum=1)
        require_number("dropout", dropout, 0, 1, high_open=True)
        # torch applies dropout between stacked layers only; one layer would only warn.
        self.rnn = CELLS[cell](
            input_size, hidden_size, num_layers=num_layers, batch_first=True,
            bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0,
        )
        self.output_size = hidden_size * (2 if bidirectional else 1)

    def forward(
        self, inputs: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
        inputs = step_features(inputs, self.embed, self.chars)
        # Packing only pays when there is padding: a packed backward pass is several
        # times slower than a plain one, even over sequences that fill every step.
        if lengths is None or bool((lengths >= inputs.shape[1]).all()):
            return self.rnn(inputs)
        packed = pack_padded_sequence(
            inputs, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        outputs, state = self.rnn(packed)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=inputs.shape[1])
        return outputs, state


def token_layers(input_size: int, embed_size: int | None, pad_id: int,
                 chars: CharWords | None) -> tuple[nn.Embedding | None, int]:
    """The embedding of token inputs (None for values) and the features a step then has."""
    require_int("input_size", input_size, minimum=1)
    if embed_size is None:
        return None, input_size
    require_int("embed_size", embed_size, minimum=1)
    embed = nn.Embedding(input_size, embed_size, padding_idx=pad_id)
    return embed, embed_size + (chars.output_size if chars is not None else 0)


def step_features(inputs: torch.Tensor, embed: nn.Embedding | None,
                  chars: CharWords | None) -> torch.Tensor:
    """N x T x F features: values as given, token ids embedded, words with their
    characters (N x T x (1 + C)) as the word's embedding beside CharWords'."""
    if chars is not None:
        return torch.cat([embed(inputs[..., 0]), chars(inputs[..., 1:])], -1)
    return embed(inputs) if embed is not None else inputs


def channels_first(inputs: torch.Tensor, lengths: torch.Tensor | None,
                   embed: nn.Embedding | None, chars: CharWords | None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """A convolution's view of a batch: the step features N x F x T, and the N x 1 x T
    mask of real steps (ones without `lengths`) that zeroes padding before each layer."""
    found = step_features(inputs, embed, chars).transpose(1, 2)
    steps = found.shape[2]
    mask = (torch.ones(1, 1, steps, device=found.device) if lengths is None else
            real_steps(lengths.to(found.device), steps).unsqueeze(1).to(found.dtype))
    return found, mask


def real_steps(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """N x steps boolean mask, true at each sequence's steps below its length."""
    positions = torch.arange(steps, device=lengths.device)
    return positions[None, :] < lengths[:, None]


def last_step(outputs: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """The output at each sequence's last valid step (N x H)."""
    if lengths is None:
        return outputs[:, -1]
    index = (lengths.to(outputs.device) - 1).view(-1, 1, 1).expand(-1, 1, outputs.shape[2])
    return outputs.gather(1, index).squeeze(1)


# Every encoder an archetype can read its inputs with: `model.cell`.
