"""What every token-generating model shares: decode for serving, score for training.

A subclass encodes its input into the decoder's first state (`start`); this class turns
that into generated tokens (`forward`, greedy or beam search), teacher-forced scores
(`scores`, for training) and attention maps (`attention_maps`, for figures).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from seqlab.checks import require_int, require_number
from seqlab.errors import ConfigError
from seqlab.models.decoder import RecurrentDecoder
from seqlab.models.decoding import Decoding, SpecialTokens, State, greedy


def decoding_settings(decoding: dict[str, Any] | None) -> Decoding:
    """conf's model.decoding node as a Decoding, naming the key when a value is wrong."""
    try:
        return Decoding(**dict(decoding or {}))
    except ConfigError as error:
        raise ConfigError(f"decoding.{error}") from None
    except TypeError as error:  # an unknown key
        raise ConfigError(f"decoding: {error}; allowed keys: strategy, beam_size, max_length"
                          ) from None


class TokenGenerator(nn.Module):
    """Base of the one-to-many and encoder-decoder models; subclasses define `start`."""

    decoder: RecurrentDecoder

    def __init__(self, target_steps: int, pad_id: int, bos_id: int, eos_id: int,
                 teacher_forcing: float, decoding: dict[str, Any] | None) -> None:
        super().__init__()
        require_int("target_steps", target_steps, minimum=1)
        require_number("teacher_forcing", teacher_forcing, 0, 1)
        self.target_steps = target_steps
        self.special = SpecialTokens(pad=pad_id, bos=bos_id, eos=eos_id)
        self.teacher_forcing = teacher_forcing
        self.decoding = decoding_settings(decoding)

    def start(self, inputs: torch.Tensor, lengths: torch.Tensor | None) -> State:
        raise NotImplementedError

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Generated token ids N x L (ending in the end token, then padding)."""
        state = self.start(inputs, lengths)
        return self.decoding.run(self.decoder.step, state, len(inputs), self.special,
                                 self.target_steps)

    def scores(self, inputs: torch.Tensor, lengths: torch.Tensor | None,
               targets: torch.Tensor) -> torch.Tensor:
        """Next-token scores N x L x V for targets N x L; teacher forcing while training."""
        ratio = self.teacher_forcing if self.training else 1.0
        return self.decoder.teacher_forced(self.start(inputs, lengths), targets, ratio,
                                           self.special.bos)

    @torch.no_grad()
    def attention_maps(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Greedy tokens N x L and the attention weights N x L x T behind them, if any."""
        if self.decoder.attention is None:
            return None
        weights: list[torch.Tensor] = []
        tokens = greedy(self.decoder.step, self.start(inputs, lengths), len(inputs),
                        self.special, self.decoding.max_length or self.target_steps,
                        on_step=lambda state: weights.append(state["attention"]))
        return tokens, torch.stack(weights, dim=1)
