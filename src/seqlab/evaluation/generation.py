"""The generation task's own parts: sequence metrics, the other decoding, its figures.

Every metric is computed the same way for the model and for the baselines.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from seqlab.data.meta import Meta
from seqlab.data.vocab import EOS, Vocab
from seqlab.evaluation.predict import tokens
from seqlab.models.decoding import STRATEGIES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from seqlab.evaluation.outcome import Outcome

SAMPLES = 12  # images in the captions figure
HEAT_MAPS = 4  # pairs in the attention figure


def target_vocab(meta: Meta) -> Vocab:
    return Vocab(meta.target_vocab, meta.target_level)


def sequence_metrics(truth: np.ndarray, answers: list[np.ndarray], meta: Meta
                     ) -> dict[str, float]:
    """Exact match of texts, accuracy of tokens at their true positions, BLEU and chrF."""
    import sacrebleu

    vocab = target_vocab(meta)
    guesses = [vocab.decode(p) for p in answers]
    references = [vocab.decode(t) for t in truth]
    real = truth != vocab.pad_id
    aligned = np.full_like(truth, -1)
    for row, p in enumerate(answers):
        n = min(len(p), truth.shape[1])
        aligned[row, :n] = p[:n]
    # Character targets (ISO dates) have no words for BLEU's default tokenizer to count.
    tokenize = "char" if vocab.level == "char" else "13a"
    return {
        "exact": float(np.mean([g == r for g, r in zip(guesses, references, strict=True)])),
        "token_acc": float((aligned == truth)[real].mean()),
        "bleu": float(sacrebleu.corpus_bleu(guesses, [references], tokenize=tokenize).score),
        "chrf": float(sacrebleu.corpus_chrf(guesses, [references]).score),
    }


def other_decoding(outcome: Outcome) -> dict[str, float]:
    """Exact match with the decoding strategy not configured (greedy vs beam), to compare."""
    net = outcome.net
    chosen = net.decoding
    other = next(s for s in STRATEGIES if s != chosen.strategy)
    net.decoding = replace(chosen, strategy=other)
    try:
        answers = tokens(net, outcome.data, "test")
    finally:
        net.decoding = chosen
    return {f"exact_{other}": sequence_metrics(outcome.truth, answers,
                                               outcome.data.meta)["exact"]}


def captions(outcome: Outcome) -> dict[str, Figure]:
    """Test images with their generated captions, where the inputs are images."""
    from seqlab.evaluation import generation_plots

    data = outcome.data
    if data.inputs.dtype.kind != "f":  # token inputs: nothing to show as an image
        return {}
    vocab = target_vocab(data.meta)
    shown = data.splits["test"][:SAMPLES]
    return {"captions": generation_plots.captioned_images(
        data.inputs[shown], [vocab.decode(p) for p in outcome.answers[:SAMPLES]],
        [vocab.decode(t) for t in outcome.truth[:SAMPLES]], outcome.title)}


def attention(outcome: Outcome) -> dict[str, Figure]:
    """Attention heat maps of a few test pairs, short to long, for a net that attends."""
    from seqlab.evaluation import generation_plots

    data, net = outcome.data, outcome.net
    if data.meta.source_vocab is None or getattr(net.decoder, "attention", None) is None:
        return {}
    rows = data.splits["test"]
    shown = rows[np.linspace(0, len(rows) - 1, HEAT_MAPS).astype(int)]
    ids, weights = (m.numpy() for m in net.attention_maps(
        torch.from_numpy(data.inputs[shown]), torch.from_numpy(data.lengths[shown])))
    vocab, source = target_vocab(data.meta), Vocab(data.meta.source_vocab,
                                                   data.meta.source_level)
    sources, outputs, cropped = [], [], []
    for row, n in enumerate(data.lengths[shown]):
        out = [vocab.tokens[i] for i in ids[row]]
        out = out[: out.index(EOS) + 1] if EOS in out else out
        sources.append([source.tokens[i] for i in data.inputs[shown[row], :n]])
        outputs.append(out)
        cropped.append(weights[row, : len(out), :n])
    return {"attention": generation_plots.attention_maps(cropped, sources, outputs,
                                                         outcome.title)}
