"""English-French sentence pairs (Tatoeba, via manythings.org) for translation.

The source is d2l.ai's frozen copy of manythings.org's fra-eng.zip, pinned by its sha1:
the live file changes as Tatoeba grows. Its `fra-eng/fra.txt` holds `English<TAB>French`
lines (newer versions add a third, attribution, column: ignored), sorted by length. The
fetch copies fra.txt unchanged into data/raw/fra_eng/pairs.tsv; preprocessing tokenises
the text, lowercases it, and builds the pairs dataset (tsv_pairs.pairs_dataset).
Tatoeba's sentences are CC-BY 2.0 France.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from seqlab.data.downloads import Remote, download, extract
from seqlab.data.processed import ProcessedData
from seqlab.data.text_pairs import tokenize
from seqlab.data.tsv_pairs import check_pair_settings, pairs_dataset, read_pairs
from seqlab.errors import DataError

FRA_ENG = Remote("http://d2l-data.s3-accelerate.amazonaws.com/fra-eng.zip",
                 "sha1:94646ad1522d915e7b0f9296181140edcf86a4f5")
MEMBER = "fra-eng/fra.txt"  # inside the zip
PAIRS_FILE = "pairs.tsv"  # in data/raw/fra_eng/


def write(folder: Path, downloads: Path) -> None:
    """The fetch: download the zip, extract it in a temporary folder, keep fra.txt as is."""
    archive = download("fra_eng", FRA_ENG, downloads)
    with tempfile.TemporaryDirectory() as scratch:
        pairs = extract(archive, Path(scratch)) / MEMBER
        if not pairs.is_file():
            raise DataError(f"fra_eng: {archive} holds no {MEMBER}; delete it to download "
                            "it again")
        shutil.copyfile(pairs, Path(folder) / PAIRS_FILE)


@dataclass
class FraEng:
    """English -> French (or back, with `reverse`) sentence pairs, word tokens."""

    name: str
    source: str = "fra_eng"
    reverse: bool = False  # French -> English
    max_pairs: int | None = 20000  # a seeded sample of the pairs within max_length
    max_length: int | None = 10  # pieces (vocab.split) on either side
    lowercase: bool = True
    source_level: str = "token"  # token (punctuation set apart) | word pieces | char
    target_level: str = "token"
    test_fraction: float = 0.1  # of the distinct source sentences
    val_fraction: float = 0.05  # of the rest
    seed: int = 0  # of the subset and the split

    def __post_init__(self) -> None:
        check_pair_settings(self)

    task = "generation"
    archetype = "many_to_many"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        path = Path(raw_dir) / PAIRS_FILE
        if not path.is_file():
            raise DataError(f"{path} is missing; run the fetch stage (dvc repro) first")
        pairs = [(tokenize(english, self.lowercase), tokenize(french, self.lowercase))
                 for english, french in read_pairs(path)]
        if self.reverse:
            pairs = [(french, english) for english, french in pairs]
        return pairs_dataset(
            self.name, pairs, path, max_pairs=self.max_pairs, max_length=self.max_length,
            source_level=self.source_level, target_level=self.target_level,
            test_fraction=self.test_fraction, val_fraction=self.val_fraction, seed=self.seed,
            provenance={"fra-eng.zip": FRA_ENG.checksum}, tokenize=True,
            lowercase=self.lowercase)
