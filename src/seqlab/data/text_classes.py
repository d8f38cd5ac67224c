"""Text classification: one label per text (many-to-one), from IMDB or the user's own CSV.

Each text becomes lowercase words (`<br />` tags dropped, punctuation dropped), then ids
in a vocabulary built on the training rows only: a word seen only in validation or test
maps to the unknown id, as it would for new text. A text longer than `max_tokens` keeps
its LAST words by default: reviews tend to end with their verdict ("... 8/10, see it"),
and a recurrent net read at its last step remembers the end of its input best. The
inputs are int64 ids padded at the end, with `lengths`, so the padding is packed away;
meta.model_args tells the net to embed them (token_inputs, pad_id).

`train_limit` and `test_limit` keep a seeded subset of each part, every label in
proportion, for training on a CPU in minutes; rows left out are not saved.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.checks import require_choice, require_int, require_number
from seqlab.data.imdb import COLUMNS, REVIEWS_FILE
from seqlab.data.meta import Meta
from seqlab.data.processed import ProcessedData
from seqlab.data.raw_inputs import Encoded, Place, blanks, keys, require_columns, unknown
from seqlab.data.user_files import check_path, fetched_copy, read_table
from seqlab.data.vocab import UNK, Vocab
from seqlab.errors import ConfigError, DataError

KEEPS = ("last", "first")  # which words a truncated text keeps
MIN_ROWS = 10  # fewer rows cannot give a training, a validation and a test part
_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)  # IMDB's line breaks
_WORD = re.compile(r"\w+(?:'\w+)*")  # words, with their apostrophes ("don't")


def words(text: str) -> list[str]:
    """The lowercase words of `text`, without `<br />` tags or punctuation."""
    return _WORD.findall(_TAG.sub(" ", text).lower())


def build_vocab(texts: Sequence[list[str]], max_vocab: int, min_count: int) -> Vocab:
    """The `max_vocab` most frequent words seen at least `min_count` times (ties by
    spelling, so the ids never depend on row order), after the special tokens."""
    counts = Counter(word for text in texts for word in text)
    kept = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
    return Vocab(kept[:max_vocab], "word")


def encode(texts: Sequence[list[str]], vocab: Vocab, max_tokens: int, keep: str
           ) -> tuple[np.ndarray, np.ndarray]:
    """Word lists as an N x T int64 array of ids padded with pad_id, and their lengths."""
    cut = [t[-max_tokens:] if keep == "last" else t[:max_tokens] for t in texts]
    lengths = np.array([len(t) for t in cut], dtype=np.int64)
    ids = np.full((len(cut), int(lengths.max())), vocab.pad_id, dtype=np.int64)
    for row, text in enumerate(cut):
        ids[row, : len(text)] = [vocab.index.get(w, vocab.unk_id) for w in text]
    return ids, lengths


def _quotas(counts: np.ndarray, total: int) -> np.ndarray:
    """`total` shared among labels in proportion to `counts` (largest remainders)."""
    exact = counts * total / counts.sum()
    quotas = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - quotas), kind="stable")
    quotas[order[: total - quotas.sum()]] += 1
    return quotas


def take(rows: np.ndarray, labels: np.ndarray, count: int, rng: np.random.Generator,
         spare_one: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(taken, rest): `count` of `rows` drawn at random, every label in proportion.

    With `spare_one`, each label keeps at least one row in the rest (the training part).
    """
    if count <= 0 or not len(rows):
        return np.array([], dtype=np.int64), rows
    classes, counts = np.unique(labels[rows], return_counts=True)
    quotas = _quotas(counts, count)
    if spare_one:
        quotas = np.minimum(quotas, counts - 1)
    taken = [rng.permutation(rows[labels[rows] == c])[:q] for c, q in zip(classes, quotas,
                                                                            strict=True)]
    chosen = np.sort(np.concatenate(taken)).astype(np.int64)
    return chosen, np.setdiff1d(rows, chosen).astype(np.int64)


@dataclass(kw_only=True)
class TextClasses:
    """The settings every text classification dataset shares."""

    name: str
    source: str
    max_tokens: int = 400  # longer texts are cut to this many words ...
    keep: str = "last"  # ... keeping the last ones (the verdict) or the first
    max_vocab: int = 20000  # the most frequent training words kept; the rest are unknown
    min_count: int = 2  # a word seen fewer times in training is unknown
    train_limit: int | None = None  # a subset of the training part (validation included)
    test_limit: int | None = None  # a subset of the test part; null: every row
    val_fraction: float = 0.1  # of the training part
    seed: int = 0  # of the split and the subsets

    task = "classification"
    archetype = "many_to_one"

    def __post_init__(self) -> None:
        require_int("max_tokens", self.max_tokens, minimum=1)
        require_choice("keep", self.keep, KEEPS)
        require_int("max_vocab", self.max_vocab, minimum=1)
        require_int("min_count", self.min_count, minimum=1)
        for key in ("train_limit", "test_limit"):
            if getattr(self, key) is not None:
                require_int(key, getattr(self, key), minimum=2)
        require_number("val_fraction", self.val_fraction, 0, 1, high_open=True)
        require_int("seed", self.seed, minimum=0)

    def classify(self, path: Path, texts: Sequence[str], labels: Sequence[str],
                 train_part: np.ndarray, test_part: np.ndarray, column: str) -> ProcessedData:
        """Texts and labels (strings, one per row of `path`) as a dataset, given which rows
        form the training and the test part; validation is carved from the training part.

        Errors name the file and the line (the header is line 1), or `column`'s words.
        """
        classes = sorted(set(labels))
        index = {label: i for i, label in enumerate(classes)}
        targets = np.array([index[label] for label in labels], dtype=np.int64)
        rng = np.random.default_rng(self.seed)
        if self.train_limit is not None and self.train_limit < len(train_part):
            train_part = take(train_part, targets, self.train_limit, rng)[0]
        if self.test_limit is not None and self.test_limit < len(test_part):
            test_part = take(test_part, targets, self.test_limit, rng)[0]
        val, train = take(train_part, targets, round(len(train_part) * self.val_fraction),
                          rng, spare_one=True)
        for part, rows in (("test", test_part), ("validation", val)):
            missing = sorted(set(targets[rows]) - set(targets[train]))
            if missing:
                row = int(rows[np.isin(targets[rows], missing)][0])
                raise DataError(
                    f"{path}: line {row + 2}: label {classes[missing[0]]!r} is absent from "
                    f"training (it occurs only in the {part} part); give it training rows"
                    + (", or raise train_limit" if self.train_limit is not None else ""))
        if len(classes) < 2 or not len(test_part):
            what = f"one label ({classes[0]!r})" if len(classes) < 2 else "an empty test part"
            raise DataError(f"{path}: {len(labels)} rows give {what}; classification needs "
                            "rows of at least two labels and some to test on")
        kept = np.concatenate([train, val, test_part])
        order = np.sort(kept)  # kept rows in file order; the splits index into them
        tokens = {int(r): words(texts[r]) for r in order}
        empty = [r for r, t in tokens.items() if not t]
        if empty:
            raise DataError(f"{path}: line {empty[0] + 2}: no words in column {column!r}; "
                            "fill in the text or remove the row")
        vocab = build_vocab([tokens[int(r)] for r in train], self.max_vocab, self.min_count)
        inputs, lengths = encode([tokens[int(r)] for r in order], vocab, self.max_tokens,
                                 self.keep)
        renumber = {int(r): i for i, r in enumerate(order)}
        splits = {name: np.array(sorted(renumber[int(r)] for r in rows), dtype=np.int64)
                  for name, rows in (("train", train), ("val", val), ("test", test_part))}
        return ProcessedData(
            inputs=inputs, targets=targets[order], lengths=lengths, splits=splits,
            meta=Meta(
                name=self.name, task=self.task, archetype=self.archetype,
                input_size=len(vocab), output_size=len(classes), steps=int(inputs.shape[1]),
                variable_length=True, classes=[str(c) for c in classes],
                source_vocab=vocab.tokens, source_level="word",
                model_args={"token_inputs": True, "pad_id": vocab.pad_id},
                raw={"format": "texts", "column": column, "max_tokens": self.max_tokens,
                     "keep": self.keep,
                     "example": {column: [texts[int(r)] for r in np.sort(test_part)[:2]]}},
            ),
        )


@dataclass(kw_only=True)
class ImdbReviews(TextClasses):
    """IMDB's reviews, positive or negative, in their official train/test split."""

    source: str = "imdb"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        path = Path(raw_dir) / REVIEWS_FILE
        if not path.is_file():
            raise DataError(f"{path} is missing; run the fetch stage (dvc repro) first")
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if tuple(frame.columns) != COLUMNS:
            raise DataError(f"{path}: expected the columns {', '.join(COLUMNS)}; it was "
                            "written by another version of seqlab: fetch it again")
        split = frame["split"].to_numpy()
        return self.classify(path, frame["text"].tolist(), frame["label"].tolist(),
                             np.flatnonzero(split == "train"), np.flatnonzero(split == "test"),
                             "text")


@dataclass(kw_only=True)
class CsvText(TextClasses):
    """The user's own CSV of texts and labels: split at random, every label in proportion
    and kept in training, or as its `split_column` says (train or test on each row)."""

    path: str  # the user's file; the fetch stage copies it into data/raw/<source>/
    text_column: str = "text"
    label_column: str = "label"
    split_column: str | None = None  # a column of train/test; null: a random split ...
    test_fraction: float = 0.2  # ... with this share of the rows to test on

    def __post_init__(self) -> None:
        super().__post_init__()
        check_path(self.path)  # a missing file stops the run before any work
        for key in ("text_column", "label_column", "split_column"):
            if key == "split_column" and self.split_column is None:
                continue
            if not isinstance(getattr(self, key), str) or not getattr(self, key):
                raise ConfigError(f"{key}: expected a column name, got {getattr(self, key)!r}")
        require_number("test_fraction", self.test_fraction, 0, 1, low_open=True,
                       high_open=True)

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        path = fetched_copy(raw_dir, self.path)
        columns = [self.text_column, self.label_column, self.split_column]
        frame = read_table(path, [c for c in columns if c is not None])
        if len(frame) < MIN_ROWS:
            raise DataError(f"{path} has only {len(frame)} rows of data; a text classifier "
                            f"needs at least {MIN_ROWS} (a few hundred to learn anything)")
        for column, what in ((self.label_column, "label"), (self.text_column, "text")):
            blank = frame[column].str.strip() == ""
            if blank.any():
                raise DataError(f"{path}: line {int(blank.to_numpy().argmax()) + 2}: empty "
                                f"{what} in column {column!r}; fill it in or remove the row")
        labels = frame[self.label_column].str.strip().tolist()
        if self.split_column is None:
            # Each label keeps a training row, so none is ever absent from training.
            targets = np.unique(labels, return_inverse=True)[1]
            test, train = take(np.arange(len(frame)), targets,
                               round(len(frame) * self.test_fraction),
                               np.random.default_rng(self.seed), spare_one=True)
        else:
            train, test = self._user_split(path, frame[self.split_column])
        return self.classify(path, frame[self.text_column].tolist(), labels, train, test,
                             self.text_column)

    def _user_split(self, path: Path, parts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """The rows the split column marks train and test (any case, spaces ignored)."""
        named = parts.str.strip().str.lower()
        odd = ~named.isin(["train", "test"])
        if odd.any():
            row = int(odd.to_numpy().argmax())
            raise DataError(f"{path}: line {row + 2}: {parts.iloc[row]!r} in column "
                            f"{self.split_column!r} is not train or test (validation rows "
                            "are carved from train)")
        return np.flatnonzero(named == "train"), np.flatnonzero(named == "test")


def encode_raw(frame: pd.DataFrame, meta: Meta, place: Place) -> Encoded:
    """One text per row, lowercased words as in training (text_classes.words), cut to
    `max_tokens`; unknown words are the unknown token."""
    from seqlab.data.text_classes import encode, words

    raw = meta.raw
    column = raw["column"]
    require_columns(frame, [column], place)
    tokens = [words(str(text)) for text in frame[column]]
    blank = blanks(tokens, place, column, "no words to classify")
    vocab = Vocab(meta.source_vocab, "word")
    inputs, lengths = encode([t or [UNK] for t in tokens], vocab, raw["max_tokens"],
                             raw["keep"])
    return Encoded(inputs=inputs, lengths=lengths, keys=keys(frame), blank=blank,
                   unknown=unknown(tokens, vocab))
