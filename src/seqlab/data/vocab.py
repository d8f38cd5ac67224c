"""Token vocabularies for generated text: pad/bos/eos/unk, word or character pieces."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from seqlab.checks import require_choice

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)  # ids 0..3 in every vocabulary
LEVELS = ("word", "token", "char")
# A word piece keeps the separators after it ("seventy-", "thousand, "), so joining the
# pieces gives the text back exactly without spending decoder steps on spaces. A token is
# what lies between spaces, with the spaces after it: for text whose punctuation was set
# apart ("don't go , tom !"), so "tom" is one entry whatever follows it.
_PIECES = {"word": re.compile(r"\w+\W*|\W+"), "token": re.compile(r"\s+|\S+\s*")}


def split(text: str, level: str) -> list[str]:
    """Cut `text` into word pieces, tokens or characters; "".join gives `text` back."""
    require_choice("level", level, LEVELS)
    return _PIECES[level].findall(text) if level in _PIECES else list(text)


class Vocab:
    """Maps tokens to ids and back; ids 0-3 are pad, bos, eos and unk."""

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    def __init__(self, tokens: Sequence[str], level: str) -> None:
        require_choice("level", level, LEVELS)
        self.level = level
        self.tokens = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def from_texts(cls, texts: Iterable[str], level: str) -> Vocab:
        """Every piece of `texts`, in sorted order so the ids do not depend on text order."""
        return cls(sorted({piece for text in texts for piece in split(text, level)}), level)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        """Token ids of `text` followed by the end token."""
        return [self.index.get(t, self.unk_id) for t in split(text, self.level)] + [self.eos_id]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of `ids` up to the first end token, skipping pad and bos."""
        pieces = []
        for i in map(int, ids):
            if i == self.eos_id:
                break
            if i not in (self.pad_id, self.bos_id):
                pieces.append(self.tokens[i] if i < len(self.tokens) else UNK)
        return "".join(pieces)

    def encode_all(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Encode `texts` into an N x L int64 array padded with pad_id, and their lengths."""
        encoded = [self.encode(t) for t in texts]
        lengths = np.array([len(e) for e in encoded], dtype=np.int64)
        ids = np.full((len(encoded), int(lengths.max())), self.pad_id, dtype=np.int64)
        for row, e in enumerate(encoded):
            ids[row, : len(e)] = e
        return ids, lengths
