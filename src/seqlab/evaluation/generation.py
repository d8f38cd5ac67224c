"""Scoring generated token sequences: exact match, token accuracy, BLEU and chrF.

Every metric is computed the same way for the model and for the baseline that predicts
the most frequent training target everywhere.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from seqlab.data.processed import ProcessedData
from seqlab.data.vocab import EOS, Vocab
from seqlab.evaluation import generation_plots
from seqlab.evaluation.metrics import headline
from seqlab.models.decoding import STRATEGIES

SAMPLES = 12  # images in the captions figure
HEAT_MAPS = 4  # pairs in the attention figure


@torch.no_grad()
def generate(net: torch.nn.Module, data: ProcessedData, rows: np.ndarray,
             batch_size: int = 512) -> list[np.ndarray]:
    """The model's token ids for `rows`, one array per row (ragged across batches)."""
    net.eval()
    inputs = torch.from_numpy(data.inputs[rows])
    lengths = (torch.from_numpy(data.lengths[rows]) if data.meta.get("variable_length")
               else None)
    out: list[np.ndarray] = []
    for i in range(0, len(rows), batch_size):
        part = None if lengths is None else lengths[i : i + batch_size]
        out.extend(net(inputs[i : i + batch_size], part).numpy())
    return out


def sequence_metrics(predicted: list[np.ndarray], truth: np.ndarray, vocab: Vocab
                     ) -> dict[str, float]:
    """Exact match of texts, accuracy of tokens at their true positions, BLEU and chrF."""
    import sacrebleu

    guesses = [vocab.decode(p) for p in predicted]
    answers = [vocab.decode(t) for t in truth]
    real = truth != vocab.pad_id
    aligned = np.full_like(truth, -1)
    for row, p in enumerate(predicted):
        n = min(len(p), truth.shape[1])
        aligned[row, :n] = p[:n]
    # Character targets (ISO dates) have no words for BLEU's default tokenizer to count.
    tokenize = "char" if vocab.level == "char" else "13a"
    return {
        "exact": float(np.mean([g == a for g, a in zip(guesses, answers, strict=True)])),
        "token_acc": float((aligned == truth)[real].mean()),
        "bleu": float(sacrebleu.corpus_bleu(guesses, [answers], tokenize=tokenize).score),
        "chrf": float(sacrebleu.corpus_chrf(guesses, [answers]).score),
    }


def most_frequent_target(data: ProcessedData) -> np.ndarray:
    """The training split's most frequent target (first in row order among ties)."""
    train = data.targets[data.splits["train"]]
    counts = Counter(tuple(row) for row in train)
    return np.array(max(counts, key=lambda row: counts[row]), dtype=np.int64)


def score_generation(net: torch.nn.Module, data: ProcessedData, figures: Path, title: str):
    """Test metrics of the configured decoding (and the other one, for comparison)."""
    meta = data.meta
    vocab = Vocab(meta["target_vocab"], meta["target_level"])
    rows = data.splits["test"]
    truth = data.targets[rows]
    predicted = generate(net, data, rows)
    test = sequence_metrics(predicted, truth, vocab)
    chosen = net.decoding
    other = next(s for s in STRATEGIES if s != chosen.strategy)
    net.decoding = replace(chosen, strategy=other)
    try:
        test[f"exact_{other}"] = sequence_metrics(generate(net, data, rows), truth,
                                                  vocab)["exact"]
    finally:
        net.decoding = chosen
    baseline = [most_frequent_target(data)] * len(rows)
    base = {"most_frequent": sequence_metrics(baseline, truth, vocab)}
    _draw(net, data, predicted, vocab, figures, title)
    return test, base, headline(test, base, "exact", "most_frequent", True)


def _draw(net: torch.nn.Module, data: ProcessedData, predicted: list[np.ndarray],
          vocab: Vocab, figures: Path, title: str) -> None:
    rows = data.splits["test"]
    if data.meta["kind"] == "digit_captions":
        shown = rows[:SAMPLES]
        generation_plots.captioned_images(
            data.inputs[shown], [vocab.decode(p) for p in predicted[:SAMPLES]],
            [vocab.decode(t) for t in data.targets[shown]], figures / "captions.png", title)
    if "source_vocab" not in data.meta:
        return
    shown = rows[np.linspace(0, len(rows) - 1, HEAT_MAPS).astype(int)]  # short to long
    lengths = torch.from_numpy(data.lengths[shown])
    maps = net.attention_maps(torch.from_numpy(data.inputs[shown]), lengths)
    if maps is None:  # a model without attention
        return
    tokens, weights = (m.numpy() for m in maps)
    source = Vocab(data.meta["source_vocab"], data.meta["source_level"])
    sources, outputs, cropped = [], [], []
    for row, n in enumerate(data.lengths[shown]):
        out = [vocab.tokens[i] for i in tokens[row]]
        out = out[: out.index(EOS) + 1] if EOS in out else out
        sources.append([source.tokens[i] for i in data.inputs[shown[row], :n]])
        outputs.append(out)
        cropped.append(weights[row, : len(out), :n])
    generation_plots.attention_maps(cropped, sources, outputs, figures / "attention.png", title)
