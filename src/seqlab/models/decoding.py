"""Greedy and beam-search decoding over any step function.

A decoder exposes one step: `step(tokens, state) -> (scores, state)`, where `tokens` are
the N previous tokens, `scores` N x V unnormalised log-probabilities of the next token,
and `state` a dict of tensors whose first dimension is the batch (hidden states, encoder
memory, masks), so beams are reordered by indexing rows. Both decoders return N x L
token ids that include the end token and are padded after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from seqlab.checks import require_choice, require_int

State = dict[str, torch.Tensor]
StepFn = Callable[[torch.Tensor, State], tuple[torch.Tensor, State]]
STRATEGIES = ("greedy", "beam")


@dataclass(frozen=True)
class SpecialTokens:
    pad: int = 0
    bos: int = 1
    eos: int = 2


def select(state: State, rows: torch.Tensor) -> State:
    """The rows `rows` of every tensor in `state`."""
    return {name: value.index_select(0, rows) for name, value in state.items()}


def never_special(scores: torch.Tensor, special: SpecialTokens) -> torch.Tensor:
    """`scores` with padding and the start token ruled out: no target contains them."""
    scores = scores.clone()
    scores[:, [special.pad, special.bos]] = float("-inf")
    return scores


@torch.no_grad()
def greedy(step: StepFn, state: State, batch_size: int, special: SpecialTokens,
           max_length: int, on_step: Callable[[State], None] | None = None) -> torch.Tensor:
    """Take the most likely token at every step until each row has ended or max_length."""
    device = next(iter(state.values())).device
    tokens = torch.full((batch_size,), special.bos, dtype=torch.long, device=device)
    ended = torch.zeros(batch_size, dtype=torch.bool, device=device)
    out = []
    for _ in range(max_length):
        scores, state = step(tokens, state)
        if on_step is not None:
            on_step(state)
        tokens = never_special(scores, special).argmax(dim=1).masked_fill(ended, special.pad)
        out.append(tokens)
        ended |= tokens == special.eos
        if ended.all():
            break
    return torch.stack(out, dim=1)


@torch.no_grad()
def beam_search(step: StepFn, state: State, batch_size: int, special: SpecialTokens,
                max_length: int, beam_size: int) -> torch.Tensor:
    """Keep the `beam_size` most likely prefixes per row; return each row's most likely.

    A sequence's score is its log-probability (no length penalty). An ended prefix stays
    in the beam with its score, so a short likely sequence beats long unlikely ones.
    """
    n, k = batch_size, beam_size
    device = next(iter(state.values())).device
    state = select(state, torch.arange(n, device=device).repeat_interleave(k))
    tokens = torch.full((n * k,), special.bos, dtype=torch.long, device=device)
    scores = torch.full((n, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start equal: keep one so the first step is not k copies
    ended = torch.zeros(n * k, dtype=torch.bool, device=device)
    history = torch.empty(n * k, 0, dtype=torch.long, device=device)
    offsets = (torch.arange(n, device=device) * k)[:, None]
    for _ in range(max_length):
        logits, state = step(tokens, state)
        log_probs = never_special(F.log_softmax(logits.float(), dim=1), special)
        vocab = log_probs.shape[1]
        # An ended beam continues only with padding, at no cost.
        finished = torch.full_like(log_probs, float("-inf"))
        finished[:, special.pad] = 0.0
        log_probs = torch.where(ended[:, None], finished, log_probs)
        total = (scores.view(-1, 1) + log_probs).view(n, k * vocab)
        scores, best = total.topk(k, dim=1)
        rows = (offsets + best // vocab).view(-1)
        tokens = (best % vocab).view(-1)
        state = select(state, rows)
        history = torch.cat([history[rows], tokens[:, None]], dim=1)
        ended = ended[rows] | (tokens == special.eos)
        # Scores only fall as a prefix grows: once a row's best ended sequence beats all
        # its live prefixes, nothing can overtake it.
        live = scores.masked_fill(ended.view(n, k), float("-inf")).max(dim=1).values
        done = scores.masked_fill(~ended.view(n, k), float("-inf")).max(dim=1).values
        if (done >= live).all():
            break
    best = history[(offsets[:, 0] + scores.argmax(dim=1))]
    return best[:, : int((best != special.pad).sum(dim=1).max())]  # drop all-pad columns


@dataclass
class Decoding:
    """How a trained generator decodes: greedy or beam search, and the longest output."""

    strategy: str = "greedy"
    beam_size: int = 3
    max_length: int | None = None  # None: the longest training target

    def __post_init__(self) -> None:
        require_choice("strategy", self.strategy, STRATEGIES)
        require_int("beam_size", self.beam_size, minimum=1)
        if self.max_length is not None:
            require_int("max_length", self.max_length, minimum=1)

    def run(self, step: StepFn, state: State, batch_size: int, special: SpecialTokens,
            default_length: int) -> torch.Tensor:
        length = self.max_length or default_length
        if self.strategy == "greedy":
            return greedy(step, state, batch_size, special, length)
        return beam_search(step, state, batch_size, special, length, self.beam_size)
