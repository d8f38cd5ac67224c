"""Part-of-speech tagging: Universal Dependencies English EWT, and the CoNLL-U reading and
the tagging arrays shared with the user's own tagged text (tagged_text.py).

A sentence's words are the inputs (ids in a vocabulary of the training words) and its
UPOS tags the targets, one per word: the synchronous archetype. CoNLL-U multiword-token
ranges (`1-2 don't`) and empty nodes (`8.1`) are not words of the sentence and are skipped.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seqlab.checks import require_choice, require_int
from seqlab.data.downloads import Remote, download_all
from seqlab.data.meta import Meta
from seqlab.data.processed import SPLITS, ProcessedData
from seqlab.data.raw_inputs import Encoded, Place, blanks, padded, require_columns
from seqlab.data.user_files import read_text
from seqlab.data.vocab import Vocab
from seqlab.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

IGNORE = -100  # the target of a padded step (torch's cross-entropy ignore_index)
RELEASE = "r2.13"  # a release tag: the files under it never change
_EWT = f"https://raw.githubusercontent.com/UniversalDependencies/UD_English-EWT/{RELEASE}/"
# UD publishes no checksums of single files: each one is pinned at its first fetch (its
# sha256 written beside it in data/downloads/) and checked against that ever after.
TREEBANKS: dict[str, dict[str, Remote]] = {
    "ud_ewt": {split: Remote(f"{_EWT}en_ewt-ud-{part}.conllu", None)
               for split, part in zip(SPLITS, ("train", "dev", "test"), strict=True)},
}

# A sentence: its words, their tags, and the file line it starts on (for errors).
Sentence = tuple[list[str], list[str], int]


def writer(source: str) -> Callable[[Path, Path], None]:
    """The fetch of a treebank: its official train/dev/test files, copied unchanged."""
    def write(folder: Path, downloads: Path) -> None:
        remotes = list(TREEBANKS[source].values())
        for remote, path in zip(remotes, download_all(source, remotes, downloads), strict=True):
            shutil.copyfile(path, Path(folder) / remote.file_name)
    return write


def nonempty_text(path: Path, expected: str) -> str:
    """read_text, with an empty file's error saying what the file should hold."""
    if not path.read_bytes().strip():
        raise DataError(f"{path} is empty; it needs {expected}")
    return read_text(path)


def blocks(text: str) -> list[tuple[int, list[str]]]:
    """Runs of non-blank lines, each with the number of its first line."""
    found: list[tuple[int, list[str]]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        if found and found[-1][0] + len(found[-1][1]) == number:
            found[-1][1].append(line)
        else:
            found.append((number, [line]))
    return found


def read_conllu(path: Path, tagged: bool = True) -> list[Sentence]:
    """The words and UPOS tags of every sentence of a CoNLL-U file (parsed by conllu);
    with `tagged` false (words to tag), a word may lack its tag."""
    from conllu import parse_token_and_metadata
    from conllu.exceptions import ParseException
    from conllu.parser import DEFAULT_FIELDS, parse_line

    sentences = []
    for start, lines in blocks(nonempty_text(path, "CoNLL-U sentences")):
        numbers = [start + i for i, line in enumerate(lines) if not line.startswith("#")]
        try:
            tokens = parse_token_and_metadata("\n".join(lines))
        except ParseException as error:
            bad = start
            for number in numbers:  # find the line conllu stopped at
                try:
                    parse_line(lines[number - start], DEFAULT_FIELDS)
                except ParseException:
                    bad = number
                    break
            raise DataError(f"{path}: line {bad} is not valid CoNLL-U ({error}); fix the "
                            "line, or set dataset.format if the file is another format"
                            ) from None
        # Ranges (1-2) and empty nodes (8.1) have tuple ids: they are not words.
        words = [(t, n) for t, n in zip(tokens, numbers, strict=True) if isinstance(t["id"], int)]
        for token, number in words if tagged else ():
            if token.get("upos") in (None, "", "_"):
                raise DataError(f"{path}: line {number} has no UPOS tag (column 4); tag "
                                "every word")
        if words:
            sentences.append(([t["form"] for t, _ in words], [t["upos"] for t, _ in words],
                              start))
    return sentences


def char_ids(word: str, chars: Mapping[str, int], width: int) -> list[int]:
    """The ids of a word's characters, as written (case kept), `width` of them: a longer
    word keeps its first and last characters (its suffix tells most of its tag); 0 pads,
    1 is a character training never had."""
    if len(word) > width:
        word = word[: width // 2] + word[len(word) - (width - width // 2):]
    found = [chars.get(c, 1) for c in word]
    return found + [0] * (width - len(found))


def word_features(words: list[str], vocab: Vocab, fold: Callable[[str], str],
                  chars: Mapping[str, int] | None, width: int) -> np.ndarray:
    """A sentence's inputs: its word ids (T), or with `chars` T x (1 + width): each word's
    id and then its characters' (char_ids)."""
    ids = [vocab.index.get(fold(w), vocab.unk_id) for w in words]
    if chars is None:
        return np.array(ids, dtype=np.int64)
    return np.array([[i, *char_ids(w, chars, width)] for i, w in zip(ids, words, strict=True)],
                    dtype=np.int64).reshape(len(words), 1 + width)


def tagging_data(name: str, parts: dict[str, list[Sentence]], files: Mapping[str, Path], *,
                 lowercase: bool, min_count: int, max_length: int | None,
                 max_train_sentences: int | None, seed: int,
                 provenance: dict[str, str], chars_per_word: int | None = None
                 ) -> ProcessedData:
    """Word ids and tag ids, N x T, padded; rows are the train, val and test sentences.
    With `chars_per_word`, the inputs are N x T x (1 + chars_per_word): each word's id,
    then its characters' ids (word_features), for a net that reads how a word is written.

    The tags are those of the training sentences: a tag seen only in val or test is an
    error. `max_length` and `max_train_sentences` thin the training sentences only, so
    val and test are scored whole. Words seen fewer than `min_count` times in training
    become unk, so the net learns what to do with a word it does not know.
    """
    classes = sorted({tag for _, tags, _ in parts["train"] for tag in tags})
    for split in ("val", "test"):
        for _, tags, line in parts.get(split, []):
            unseen = [tag for tag in tags if tag not in classes]
            if unseen:
                raise DataError(f"{files[split]}: tag {unseen[0]!r} of the sentence at line "
                                f"{line} ({split}) is a label absent from training; fix the "
                                "tag, or add training sentences with it")
    train = [s for s in parts["train"] if max_length is None or len(s[0]) <= max_length]
    if max_train_sentences is not None and len(train) > max_train_sentences:
        # A seeded sample, not the first N: a treebank's file runs document by document.
        kept = np.random.default_rng(seed).choice(len(train), max_train_sentences,
                                                  replace=False)
        train = [train[i] for i in np.sort(kept)]
    if not train:
        raise DataError(f"{files['train']}: no training sentence of at most {max_length} words; "
                        "raise max_length")
    fold = str.lower if lowercase else str
    counts = Counter(fold(word) for words, _, _ in train for word in words)
    vocab = Vocab(sorted(w for w, c in counts.items() if c >= min_count), "word")
    rows = [*train, *parts.get("val", []), *parts["test"]]
    steps = max(len(words) for words, _, _ in rows)
    alphabet = sorted({c for words, _, _ in train for word in words for c in word})
    chars = {c: i for i, c in enumerate(alphabet, start=2)} if chars_per_word else None
    width = chars_per_word or 0
    inputs = np.full((len(rows), steps, *((1 + width,) if chars else ())), vocab.pad_id,
                     dtype=np.int64)
    targets = np.full((len(rows), steps), IGNORE, dtype=np.int64)
    tag_id = {tag: i for i, tag in enumerate(classes)}
    for row, (words, tags, _) in enumerate(rows):
        inputs[row, : len(words)] = word_features(words, vocab, fold, chars, width)
        targets[row, : len(tags)] = [tag_id[t] for t in tags]
    char_args = {"char_vocab_size": len(alphabet) + 2, "chars_per_word": width} if chars else {}
    bounds = np.cumsum([0, len(train), len(parts.get("val", [])), len(parts["test"])])
    return ProcessedData(
        inputs=inputs, targets=targets,
        lengths=np.array([len(words) for words, _, _ in rows], dtype=np.int64),
        splits={split: np.arange(bounds[i], bounds[i + 1], dtype=np.int64)
                for i, split in enumerate(SPLITS)},
        meta=Meta(name=name, task="tagging", archetype="synchronous", input_size=len(vocab),
                  output_size=len(classes), steps=steps, variable_length=True,
                  classes=classes, source_vocab=vocab.tokens, source_level="word",
                  model_args={"token_inputs": True, "pad_id": vocab.pad_id, **char_args},
                  raw={"format": "sentences", "lowercase": lowercase,
                       **({"chars": "".join(alphabet)} if chars else {}),
                       "example": {"sentence": [" ".join(words)
                                                for words, _, _ in parts["test"][:2]]}},
                  provenance=provenance),
    )


def check_tagging_settings(spec: object) -> None:
    """The settings every tagging dataset shares (see Treebank)."""
    require_int("min_count", spec.min_count, minimum=1)
    for key in ("max_length", "max_train_sentences", "chars_per_word"):
        if getattr(spec, key) is not None:
            require_int(key, getattr(spec, key), minimum=1)
    require_int("seed", spec.seed, minimum=0)


@dataclass
class Treebank:
    """A Universal Dependencies treebank's official train/dev/test, UPOS tag per word."""

    name: str
    source: str = "ud_ewt"
    lowercase: bool = True
    min_count: int = 2  # rarer training words become unk
    max_length: int | None = None  # drop longer training sentences (words); null: none
    max_train_sentences: int | None = None  # a seeded sample of them; null: all
    seed: int = 0  # of the sample
    chars_per_word: int | None = None  # each word's characters too (see tagging_data)

    def __post_init__(self) -> None:
        require_choice("source", self.source, TREEBANKS)
        check_tagging_settings(self)

    task = "tagging"
    archetype = "synchronous"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        paths = {split: Path(raw_dir) / remote.file_name
                 for split, remote in TREEBANKS[self.source].items()}
        for path in paths.values():
            if not path.is_file():
                raise DataError(f"{path} is missing; run the fetch stage (dvc repro) first")
        return tagging_data(
            self.name, {split: read_conllu(path) for split, path in paths.items()},
            paths, lowercase=self.lowercase, min_count=self.min_count,
            max_length=self.max_length, max_train_sentences=self.max_train_sentences,
            seed=self.seed, provenance={self.source: RELEASE},
            chars_per_word=self.chars_per_word)


def encode_raw(frame: pd.DataFrame, meta: Meta, place: Place) -> Encoded:
    """One sentence per row, its words separated by spaces: a tag for every word."""
    import pandas as pd

    require_columns(frame, ["sentence"], place)
    from seqlab.data.treebank import word_features

    fold = str.lower if meta.raw["lowercase"] else str
    vocab = Vocab(meta.source_vocab, "word")
    words = [str(text).split() for text in frame["sentence"]]
    blank = blanks(words, place, "sentence", "no words to tag")
    words = [ws or [""] for ws in words]  # a blank sentence: one empty word, its tag emptied
    chars = meta.raw.get("chars")  # words read with their characters, as in training
    alphabet = {c: i for i, c in enumerate(chars, start=2)} if chars else None
    width = meta.model_args.get("chars_per_word", 0)
    ids = [word_features(ws, vocab, fold, alphabet, width) for ws in words]
    inputs, lengths = padded(ids, vocab.pad_id, np.int64)
    number = range(1, len(words) + 1)
    steps = pd.DataFrame({"sentence": [n for n, ws in zip(number, words, strict=True)
                                       for _ in ws],
                          "token": [w for ws in words for w in ws]})
    return Encoded(inputs=inputs, lengths=lengths, keys=pd.DataFrame({"sentence": list(number)}),
                   steps=steps, blank=blank,
                   unknown=[[w for w in ws if fold(w) not in vocab.index] for ws in words])
