"""Greedy and beam-search decoding, on hand-set step probabilities and on a real decoder."""

from __future__ import annotations

import math

import pytest
import torch

from seqlab.models.decoding import SpecialTokens, beam_search, greedy
from seqlab.models.many_to_many import Seq2Seq

SPECIAL = SpecialTokens(pad=0, bos=1, eos=2)
A, B = 3, 4  # the two word tokens of the hand-set decoder


def table_step(table: dict[tuple[int, ...], dict[int, float]]):
    """A decoder whose next-token probabilities, given the prefix, are set by hand.

    The prefix lives in the state (batch first), so beams reorder it like any state.
    A prefix missing from the table ends (eos) with certainty.
    """
    def step(tokens: torch.Tensor, state: dict[str, torch.Tensor]):
        prefix = torch.cat([state["prefix"], tokens[:, None]], dim=1)
        log_probs = torch.full((len(tokens), 5), -1e9)
        for row, p in enumerate(prefix.tolist()):
            words = tuple(t for t in p if t not in (SPECIAL.pad, SPECIAL.bos, SPECIAL.eos))
            for token, prob in table.get(words, {SPECIAL.eos: 1.0}).items():
                log_probs[row, token] = math.log(prob)
        return log_probs, {"prefix": prefix}

    return step


def start(n: int = 1) -> dict[str, torch.Tensor]:
    return {"prefix": torch.empty(n, 0, dtype=torch.long)}


# Greedy takes A (0.5) and then the best after it, A A eos: 0.5 * 0.4 * 1.0 = 0.20.
# The most likely sequence starts with the less likely B: B eos = 0.4 * 0.9 = 0.36.
TRAP = {
    (): {A: 0.5, B: 0.4, SPECIAL.eos: 0.1},
    (A,): {A: 0.4, B: 0.3, SPECIAL.eos: 0.3},
    (B,): {SPECIAL.eos: 0.9, A: 0.1},
}


def test_beam_search_finds_the_most_likely_sequence_where_greedy_does_not():
    step = table_step(TRAP)
    assert greedy(step, start(), 1, SPECIAL, 10).tolist() == [[A, A, SPECIAL.eos]]
    assert beam_search(step, start(), 1, SPECIAL, 10, beam_size=2).tolist() == \
        [[B, SPECIAL.eos]]


def test_decoding_stops_at_the_end_token_and_pads_rows_that_ended():
    # Row 0 ends after one word; the table says nothing about row 1's longer prefix.
    table = {(): {A: 1.0}, (A,): {SPECIAL.eos: 1.0}}
    for decoded in (greedy(table_step(table), start(2), 2, SPECIAL, 10),
                    beam_search(table_step(table), start(2), 2, SPECIAL, 10, beam_size=3)):
        assert decoded.tolist() == [[A, SPECIAL.eos], [A, SPECIAL.eos]]
    # Rows that start from different prefixes end at different steps; the shorter is padded.
    uneven = {(A,): {SPECIAL.eos: 1.0}, (B,): {B: 1.0}, (B, B): {SPECIAL.eos: 0.9, A: 0.1}}
    state = {"prefix": torch.tensor([[A], [B]])}
    for decoded in (greedy(table_step(uneven), state, 2, SPECIAL, 10),
                    beam_search(table_step(uneven), state, 2, SPECIAL, 10, beam_size=2)):
        assert decoded.tolist() == [[SPECIAL.eos, SPECIAL.pad], [B, SPECIAL.eos]]


@pytest.mark.parametrize("beam_size", [1, 3])
def test_decoding_respects_the_maximum_length(beam_size):
    never_ends = {(A,) * n: {A: 0.9, SPECIAL.eos: 0.1} for n in range(20)}
    step = table_step(never_ends)
    assert greedy(step, start(), 1, SPECIAL, 4).tolist() == [[A, A, A, A]]
    assert beam_search(step, start(), 1, SPECIAL, 4, beam_size).shape == (1, 4)


def test_beam_of_one_is_greedy_on_a_real_decoder():
    torch.manual_seed(0)
    net = Seq2Seq(20, 15, target_steps=8, hidden_size=16, embed_size=8).eval()
    inputs = torch.randint(4, 20, (32, 6))
    state = net.start(inputs)
    expected = greedy(net.decoder.step, state, 32, net.special, 8)
    torch.testing.assert_close(
        beam_search(net.decoder.step, state, 32, net.special, 8, beam_size=1), expected)
    # Wider beams may change a row, but never to a less likely sequence.
    wide = beam_search(net.decoder.step, state, 32, net.special, 8, beam_size=4)
    assert (log_prob(net, state, wide) >= log_prob(net, state, expected) - 1e-5).all()


def log_prob(net: Seq2Seq, state, tokens: torch.Tensor) -> torch.Tensor:
    """Each row's log-probability under teacher forcing, up to and with its end token."""
    scores = net.decoder.teacher_forced(state, tokens).log_softmax(dim=-1)
    picked = scores.gather(2, tokens[:, :, None])[:, :, 0]
    return (picked * (tokens != net.special.pad)).sum(dim=1)
