"""The IMDB movie reviews (Maas et al., 2011): 25,000 training and 25,000 test reviews,
each labelled positive or negative.

The archive holds aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt, one review a file,
plus 50,000 unlabelled reviews in aclImdb/train/unsup/ (not extracted). It is extracted into a
temporary folder beside the downloads and read into ONE file, data/raw/imdb/reviews.csv
(`split,label,text`): DVC then tracks one file instead of 50,000 little ones. Rows come
in a fixed order (split, label, then review id), so every fetch writes the same bytes.
"""

from __future__ import annotations

import csv
import re
import tempfile
from pathlib import Path

from seqlab.data.downloads import Remote, download, extract
from seqlab.errors import DataError

NAME = "imdb"
# The checksum published beside the file (md5); tests pin the archive they build instead.
REMOTE = Remote("http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                "md5:7c2ac02c03563afcf9b574c7e56c153a")
REVIEWS_FILE = "reviews.csv"
COLUMNS = ("split", "label", "text")
SPLITS = ("train", "test")  # the official split, kept as it is
LABELS = ("neg", "pos")
_REVIEW = re.compile(r"(\d+)_(\d+)\.txt")  # <id>_<rating>.txt


def _reviews(folder: Path) -> list[Path]:
    """The review files of one split and label, by review id."""
    if not folder.is_dir():
        raise DataError(f"{NAME}: the archive has no {folder.parent.parent.name}/"
                        f"{folder.parent.name}/{folder.name}/ folder; it is not the IMDB "
                        f"archive: delete it from the downloads folder to download it again")
    ids = {p: _REVIEW.fullmatch(p.name) for p in folder.iterdir()}
    return sorted((p for p, match in ids.items() if match), key=lambda p: int(ids[p].group(1)))


def write(folder: Path, downloads: Path) -> None:
    """Download the archive, extract it out of the way and write reviews.csv into `folder`."""
    archive = download(NAME, REMOTE, downloads)
    with tempfile.TemporaryDirectory(prefix=".imdb-", dir=downloads) as tmp:
        # The 50,000 unlabelled reviews are half the archive: they are never written.
        root = extract(archive, Path(tmp), keep=lambda name: "/unsup/" not in name) / "aclImdb"
        with open(Path(folder) / REVIEWS_FILE, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(COLUMNS)
            for split in SPLITS:
                for label in LABELS:
                    for path in _reviews(root / split / label):
                        # A stray byte would cost one character, not the whole dataset.
                        text = path.read_bytes().decode("utf-8", errors="replace")
                        writer.writerow((split, label, text.strip()))
