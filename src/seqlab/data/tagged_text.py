"""The user's own tagged text for tagging (part of speech, named entities, anything per word).

Two formats: `conllu` (Universal Dependencies; the UPOS column is the tag) and
`token_tag`, one `token<TAB>tag` a line with a blank line between sentences (further
columns ignored). The fetch stage copies the file into data/raw/<source>/; the sentences
are split with the seed and encoded as in treebank.tagging_data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seqlab.checks import require_choice, require_number
from seqlab.data.processed import SPLITS, ProcessedData
from seqlab.data.text_pairs import split_rows
from seqlab.data.treebank import (
    Sentence,
    blocks,
    check_tagging_settings,
    nonempty_text,
    read_conllu,
    tagging_data,
)
from seqlab.data.user_files import fetched_copy
from seqlab.errors import DataError

FORMATS = ("conllu", "token_tag")
MIN_SENTENCES = 10  # enough for a test, a val and a train split


def read_token_tag(path: Path) -> list[Sentence]:
    """Sentences of `token<TAB>tag` lines, separated by blank lines."""
    text = nonempty_text(path, "one token<TAB>tag a line, a blank line between sentences")
    sentences = []
    for start, lines in blocks(text):
        words, tags = [], []
        for number, line in enumerate(lines, start=start):
            columns = line.split("\t")
            if len(columns) < 2:
                raise DataError(f"{path}: line {number} has no tab; each line needs a token, "
                                "a tab and its tag (a blank line between sentences)")
            word, tag = columns[0].strip(), columns[1].strip()
            if not word or not tag:
                side = "token (before the tab)" if not word else "tag (after the tab)"
                raise DataError(f"{path}: line {number} has an empty {side}")
            words.append(word)
            tags.append(tag)
        sentences.append((words, tags, start))
    return sentences


@dataclass
class TaggedText:
    """Sentences tagged word by word, from the user's file, split by the seed."""

    name: str
    path: str
    source: str
    format: str = "token_tag"  # conllu | token_tag
    lowercase: bool = False
    min_count: int = 2  # rarer training words become unk
    max_length: int | None = None  # drop longer training sentences (words); null: none
    max_train_sentences: int | None = None  # a seeded sample of them; null: all
    test_fraction: float = 0.1  # of the sentences
    val_fraction: float = 0.1  # of the rest
    seed: int = 0  # of the split and the sample
    chars_per_word: int | None = None  # each word's characters too (treebank.tagging_data)

    def __post_init__(self) -> None:
        require_choice("format", self.format, FORMATS)
        check_tagging_settings(self)
        require_number("test_fraction", self.test_fraction, 0, 1, low_open=True, high_open=True)
        require_number("val_fraction", self.val_fraction, 0, 1, high_open=True)

    task = "tagging"
    archetype = "synchronous"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        path = fetched_copy(raw_dir, self.path)
        sentences = read_conllu(path) if self.format == "conllu" else read_token_tag(path)
        if len(sentences) < MIN_SENTENCES:
            raise DataError(f"{path}: only {len(sentences)} sentences; at least "
                            f"{MIN_SENTENCES} are needed to split off val and test")
        rows = split_rows(len(sentences), self.test_fraction, self.val_fraction, self.seed)
        return tagging_data(
            self.name, {split: [sentences[i] for i in rows[split]] for split in SPLITS},
            dict.fromkeys(SPLITS, path), lowercase=self.lowercase, min_count=self.min_count,
            max_length=self.max_length, max_train_sentences=self.max_train_sentences,
            seed=self.seed, provenance={}, chars_per_word=self.chars_per_word)
