"""An autoregressive RNN decoder over tokens, started from a summary vector.

Each step embeds the previous token, advances the RNN, optionally attends over the
encoder's outputs (Luong style: attention reads the new state) and scores the next
token. The state is a dict of batch-first tensors, so greedy and beam search
(models/decoding.py) can drive `step` without knowing what is inside.
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.checks import require_choice, require_int, require_number
from seqlab.models.attention import Attention
from seqlab.models.decoding import State
from seqlab.models.encoders import CELLS


class RecurrentDecoder(nn.Module):
    """RNN/LSTM/GRU decoder; with memory_size > 0 it attends over an encoder's outputs."""

    def __init__(
        self, vocab_size: int, summary_size: int, memory_size: int = 0, cell: str = "gru",
        hidden_size: int = 64, embed_size: int = 32, num_layers: int = 1, dropout: float = 0.0,
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        require_int("output_size", vocab_size, minimum=1)
        require_choice("cell", cell, CELLS)
        require_int("hidden_size", hidden_size, minimum=1)
        require_int("embed_size", embed_size, minimum=1)
        require_int("num_layers", num_layers, minimum=1)
        require_number("dropout", dropout, 0, 1, high_open=True)
        self.cell, self.layers, self.hidden_size = cell, num_layers, hidden_size
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=pad_id)
        self.rnn = CELLS[cell](embed_size, hidden_size, num_layers=num_layers, batch_first=True,
                               dropout=dropout if num_layers > 1 else 0.0)
        # The summary (image code, encoder's final states) becomes every layer's first state.
        self.bridge = nn.Linear(summary_size, hidden_size * num_layers)
        self.attention = Attention(hidden_size, memory_size) if memory_size else None
        self.combine = (nn.Linear(hidden_size + memory_size, hidden_size) if memory_size
                        else None)
        self.out = nn.Linear(hidden_size, vocab_size)

    def start(self, summary: torch.Tensor, memory: torch.Tensor | None = None,
              mask: torch.Tensor | None = None) -> State:
        """The first state from a summary N x S, and the memory N x T x M to attend over."""
        h = torch.tanh(self.bridge(summary)).view(-1, self.layers, self.hidden_size)
        state = {"h": h}
        if self.cell == "lstm":
            state["c"] = torch.zeros_like(h)
        if self.attention is not None:
            if memory is None:
                raise ValueError("this decoder attends: start() needs the encoder's memory")
            state["memory"] = memory
            state["mask"] = (mask if mask is not None else
                             torch.ones(memory.shape[:2], dtype=torch.bool, device=memory.device))
        return state

    def _run(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Advance over tokens N x L; returns scores N x L x V and the new state."""
        hidden = state["h"].transpose(0, 1).contiguous()
        if self.cell == "lstm":
            hidden = (hidden, state["c"].transpose(0, 1).contiguous())
        outputs, hidden = self.rnn(self.embed(tokens), hidden)
        h, c = hidden if self.cell == "lstm" else (hidden, None)
        new = {**state, "h": h.transpose(0, 1)}
        if c is not None:
            new["c"] = c.transpose(0, 1)
        if self.attention is not None:
            context, weights = self.attention(outputs, state["memory"], state["mask"])
            outputs = torch.tanh(self.combine(torch.cat([outputs, context], dim=-1)))
            new["attention"] = weights[:, -1]  # the last step's weights, N x T
        return self.out(outputs), new

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Scores N x V of the token after `tokens` (N), and the next state."""
        scores, state = self._run(tokens[:, None], state)
        return scores[:, 0], state

    def teacher_forced(self, state: State, targets: torch.Tensor, ratio: float = 1.0,
                       bos_id: int = 1) -> torch.Tensor:
        """Scores N x L x V for targets N x L, feeding the true previous token.

        With ratio < 1 each row feeds, at each step, the true token with probability
        `ratio` and its own most likely token otherwise (scheduled sampling).
        """
        previous = torch.cat([torch.full_like(targets[:, :1], bos_id), targets[:, :-1]], dim=1)
        if ratio >= 1.0:  # every input is known: one RNN call over the whole sequence
            return self._run(previous, state)[0]
        scores, token = [], previous[:, 0]
        for t in range(targets.shape[1]):
            step_scores, state = self.step(token, state)
            scores.append(step_scores)
            if t + 1 < targets.shape[1]:
                own = step_scores.argmax(dim=1)
                use_true = torch.rand(len(own), device=own.device) < ratio
                token = torch.where(use_true, previous[:, t + 1], own)
        return torch.stack(scores, dim=1)
