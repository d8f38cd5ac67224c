"""Sentence pairs for translation from a tab-separated file: the user's own, or fra_eng's.

A pairs file has one `source<TAB>target` pair a line, no header; further columns (the
attribution column of newer manythings.org files) are ignored. Pairs with a side longer
than `max_length` pieces (vocab.split: word pieces or characters) are dropped,
`max_pairs` of the rest are drawn with the seed, and the split is by source sentence: a
sentence with several translations lands in one split with all of them, so no test
source is ever seen in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.checks import require_choice, require_int, require_number
from seqlab.data.processed import ProcessedData
from seqlab.data.text_pairs import split_rows, text_pairs
from seqlab.data.user_files import fetched_copy, read_text
from seqlab.data.vocab import LEVELS, split
from seqlab.errors import DataError

MIN_SOURCES = 10  # distinct source sentences: enough for a test, a val and a train split


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """The (source, target) pairs of a tab-separated file; blank lines are skipped.

    Every problem is one DataError naming the file and, for a bad line, its number.
    """
    if not path.read_bytes().strip():
        raise DataError(f"{path} is empty; it needs one source<TAB>target pair a line")
    pairs = []
    # read_text turns old Mac `\r` endings into `\n`, so line numbers are the file's.
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) < 2:
            raise DataError(f"{path}: line {number} has no tab; each line needs a source "
                            "sentence, a tab, and its translation")
        source, target = columns[0].strip(), columns[1].strip()
        if not source or not target:
            side = "source (before the tab)" if not source else "target (after the tab)"
            raise DataError(f"{path}: line {number} has an empty {side}; give both sides "
                            "or remove the line")
        pairs.append((source, target))
    return pairs


def pairs_dataset(name: str, pairs: list[tuple[str, str]], where: Path, *, max_pairs: int | None,
                  max_length: int | None, source_level: str, target_level: str,
                  test_fraction: float, val_fraction: float, seed: int,
                  provenance: dict[str, str], tokenize: bool = False, lowercase: bool = False
                  ) -> ProcessedData:
    """Filter by length, draw a subset, split by source sentence and encode (text_pairs)."""
    if max_length is not None:
        pairs = [(s, t) for s, t in pairs if len(split(s, source_level)) <= max_length
                 and len(split(t, target_level)) <= max_length]
    if max_pairs is not None and len(pairs) > max_pairs:
        # A seeded sample, not the first N: files like fra.txt are sorted by length, so
        # the first N pairs would be only the shortest sentences.
        kept = np.sort(np.random.default_rng(seed).choice(len(pairs), max_pairs, replace=False))
        pairs = [pairs[i] for i in kept]
    sources = [s for s, _ in pairs]
    groups = {s: i for i, s in enumerate(dict.fromkeys(sources))}  # distinct sources
    if len(groups) < MIN_SOURCES:
        limit = "" if max_length is None else f" of at most {max_length} pieces"
        raise DataError(f"{where}: only {len(groups)} distinct source sentences{limit}; at "
                        f"least {MIN_SOURCES} are needed: add pairs or raise max_length")
    group_splits = split_rows(len(groups), test_fraction, val_fraction, seed)
    group_of = np.array([groups[s] for s in sources])
    splits = {part: np.flatnonzero(np.isin(group_of, rows)).astype(np.int64)
              for part, rows in group_splits.items()}
    return text_pairs(name, sources, [t for _, t in pairs], splits, source_level,
                      target_level, provenance, tokenize=tokenize, lowercase=lowercase)


def check_pair_settings(spec: object) -> None:
    """The settings every pairs dataset shares (see TsvPairs)."""
    for key in ("max_pairs", "max_length"):
        if getattr(spec, key) is not None:
            require_int(key, getattr(spec, key), minimum=1)
    require_choice("source_level", spec.source_level, LEVELS)
    require_choice("target_level", spec.target_level, LEVELS)
    require_number("test_fraction", spec.test_fraction, 0, 1, low_open=True, high_open=True)
    require_number("val_fraction", spec.val_fraction, 0, 1, high_open=True)
    require_int("seed", spec.seed, minimum=0)


@dataclass
class TsvPairs:
    """The user's own pairs: `path` is copied into data/raw/<source>/ by the fetch stage."""

    name: str
    path: str
    source: str
    max_pairs: int | None = None  # a seeded sample of this many pairs; null: all
    max_length: int | None = None  # drop pairs with a longer side (pieces); null: none
    lowercase: bool = False
    source_level: str = "word"  # word pieces | char
    target_level: str = "word"
    test_fraction: float = 0.1  # of the distinct source sentences
    val_fraction: float = 0.05  # of the rest
    seed: int = 0  # of the subset and the split

    def __post_init__(self) -> None:
        check_pair_settings(self)

    task = "generation"
    archetype = "many_to_many"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        path = fetched_copy(raw_dir, self.path)
        pairs = read_pairs(path)
        if self.lowercase:
            pairs = [(s.lower(), t.lower()) for s, t in pairs]
        return pairs_dataset(
            self.name, pairs, path, max_pairs=self.max_pairs, max_length=self.max_length,
            source_level=self.source_level, target_level=self.target_level,
            test_fraction=self.test_fraction, val_fraction=self.val_fraction, seed=self.seed,
            provenance={},  # the file itself is versioned by DVC (data/raw/<source>/)
            lowercase=self.lowercase)
