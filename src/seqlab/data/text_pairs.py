"""Shared steps of the generated text datasets: splitting rows and encoding text pairs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from seqlab.data.meta import Meta
from seqlab.data.processed import ProcessedData
from seqlab.data.raw_inputs import Encoded, Place, blanks, keys, require_columns, unknown
from seqlab.data.vocab import Vocab, split

if TYPE_CHECKING:
    import pandas as pd

TASK = "generation"  # the task of every dataset whose targets are token sequences


# A word (with inner apostrophes: "don't", "aujourd'hui") or one punctuation mark.
_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")


def tokenize(text: str, lowercase: bool = True) -> str:
    """Words and punctuation marks separated by one space ("Va !" and "Va!" alike).

    With the vocabulary's "token" level (vocab.split), words and marks are then tokens
    of their own: "tom" is one entry whether "!" or "." follows it.
    """
    return " ".join(_TOKEN.findall(text.lower() if lowercase else text))


def split_rows(n: int, test_fraction: float, val_fraction: float, seed: int
               ) -> dict[str, np.ndarray]:
    """Shuffle rows 0..n-1 with `seed` and cut test, then val (of the rest), then train."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, int(round(n * test_fraction)))
    n_val = int(round((n - n_test) * val_fraction))
    parts = {"test": order[:n_test], "val": order[n_test : n_test + n_val],
             "train": order[n_test + n_val :]}
    return {name: np.sort(rows).astype(np.int64) for name, rows in parts.items()}


def target_arrays(texts: Sequence[str], train_rows: np.ndarray, level: str
                  ) -> tuple[np.ndarray, np.ndarray, Vocab]:
    """Targets as padded ids ending in the end token; the vocabulary comes from training."""
    vocab = Vocab.from_texts([texts[i] for i in train_rows], level)
    ids, lengths = vocab.encode_all(texts)
    return ids, lengths, vocab


def generation_meta(name: str, archetype: str, vocab: Vocab, target_lengths: np.ndarray,
                    input_size: int, steps: int, **extra: Any) -> Meta:
    """The meta every generation dataset shares: sizes, vocabulary, special ids."""
    return Meta(
        name=name, task=TASK, archetype=archetype, input_size=int(input_size),
        output_size=len(vocab), steps=int(steps), target_vocab=vocab.tokens,
        target_level=vocab.level,
        model_args={"target_steps": int(target_lengths.max()), "pad_id": vocab.pad_id,
                    "bos_id": vocab.bos_id, "eos_id": vocab.eos_id},
        **extra,
    )


def text_pairs(name: str, sources: Sequence[str], targets: Sequence[str],
               splits: dict[str, np.ndarray], source_level: str, target_level: str,
               provenance: dict[str, str], tokenize: bool = False, lowercase: bool = False
               ) -> ProcessedData:
    """Source and target texts as padded token ids, vocabularies built on the train rows.

    Text in, text out: the many-to-many (encoder-decoder) archetype. `tokenize` and
    `lowercase` say how the sources were normalised from raw text (tokenize), so
    that a raw sentence given to the trained model is normalised the same way.
    """
    source_vocab = Vocab.from_texts([sources[i] for i in splits["train"]], source_level)
    inputs, lengths = source_vocab.encode_all(sources)
    target_ids, target_lengths, target_vocab = target_arrays(targets, splits["train"],
                                                             target_level)
    return ProcessedData(
        inputs=inputs, targets=target_ids, lengths=lengths, splits=splits,
        meta=generation_meta(
            name, "many_to_many", target_vocab, target_lengths, input_size=len(source_vocab),
            steps=inputs.shape[1], source_vocab=source_vocab.tokens,
            source_level=source_level, variable_length=True, provenance=provenance,
            raw={"format": "sources", "column": "text", "tokenize": tokenize,
                 "lowercase": lowercase,
                 "example": {"text": [sources[int(i)] for i in splits["test"][:2]]}},
        ),
    )


def encode_raw(frame: pd.DataFrame, meta: Meta, place: Place) -> Encoded:
    """One source text per row, normalised as the training sources were."""
    raw = meta.raw
    column = raw["column"]
    require_columns(frame, [column], place)
    given = [str(text).strip() for text in frame[column]]
    blank = blanks(given, place, column, "empty text")  # read as the end token alone
    if raw["tokenize"]:
        given = [tokenize(t, raw["lowercase"]) for t in given]
    elif raw["lowercase"]:
        given = [t.lower() for t in given]
    vocab = Vocab(meta.source_vocab, meta.source_level)
    inputs, lengths = vocab.encode_all(given)
    return Encoded(inputs=inputs, lengths=lengths, keys=keys(frame), blank=blank,
                   unknown=unknown([split(t, vocab.level) for t in given], vocab))
