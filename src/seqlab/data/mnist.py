"""MNIST: 70,000 handwritten digits, 28x28 grey levels 0-255, with its official split.

Four gzipped idx files are downloaded with pinned checksums (data/downloads.py) and
turned into `images.npz`: `images` (uint8 N x 28 x 28), `labels` (int64 N), `test`
(bool N: the 10,000 official test images, which come last) and `max_level` (255, the
grey level of full ink; scikit-learn's digits go to 16). The idx format
(yann.lecun.com/exdb/mnist) is a big-endian header, a magic number (0x0803: unsigned
bytes in 3 dimensions; 0x0801: in 1), then each dimension's size, then the bytes.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from seqlab.data.downloads import Remote, download_all
from seqlab.data.processed import write_npz
from seqlab.errors import DataError
from seqlab.layout import IMAGES_FILE

BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
# Module constants, looked up at each fetch: tests pin their own files' checksums here.
TRAIN_IMAGES = Remote(BASE_URL + "train-images-idx3-ubyte.gz",
                      "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873")
TRAIN_LABELS = Remote(BASE_URL + "train-labels-idx1-ubyte.gz",
                      "md5:d53e105ee54ea40749a09fcbcd1e9432")
TEST_IMAGES = Remote(BASE_URL + "t10k-images-idx3-ubyte.gz",
                     "md5:9fb629c4189551a2d022fa330f9573f3")
TEST_LABELS = Remote(BASE_URL + "t10k-labels-idx1-ubyte.gz",
                     "md5:ec29112dd5afa0611ce80d1b7f02629c")
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
SIDE = 28
MAX_LEVEL = 255
CLASSES = 10


def read_idx(path: Path, magic: int) -> np.ndarray:
    """The uint8 array in a gzipped idx file; anything malformed is one line naming it."""
    path = Path(path)
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: not a readable gzip file ({error})") from None
    ndim = magic & 0xFF
    header = 4 * (1 + ndim)
    if len(data) < header or int.from_bytes(data[:4], "big") != magic:
        found = int.from_bytes(data[:4], "big") if len(data) >= 4 else "none"
        raise DataError(f"{path}: not an idx file of {ndim} dimension(s): expected the magic "
                        f"number {magic}, found {found}")
    shape = tuple(int.from_bytes(data[4 * i : 4 * i + 4], "big") for i in range(1, ndim + 1))
    if len(data) - header != int(np.prod(shape)):
        raise DataError(f"{path}: the header promises {' x '.join(map(str, shape))} = "
                        f"{int(np.prod(shape))} bytes, the file holds {len(data) - header}: "
                        "it is truncated or corrupt")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_part(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One part's images (N x 28 x 28) and labels (N), checked against each other."""
    images = read_idx(images_path, IMAGE_MAGIC)
    labels = read_idx(labels_path, LABEL_MAGIC)
    if images.shape[1:] != (SIDE, SIDE):
        raise DataError(f"{images_path}: expected {SIDE}x{SIDE} images, found "
                        f"{images.shape[1]}x{images.shape[2]}")
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} "
                        f"{len(labels)} labels; one of them is not from the same release")
    if len(labels) and labels.max() >= CLASSES:
        raise DataError(f"{labels_path}: label {labels.max()} is not a digit 0-9")
    return images, labels.astype(np.int64)


def mnist(downloads: Path) -> dict[str, np.ndarray]:
    """The four files downloaded into `downloads` (once) as images.npz's arrays."""
    files = download_all("mnist", [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS],
                         downloads)
    (train_images, train_labels), (test_images, test_labels) = (
        read_part(files[0], files[1]), read_part(files[2], files[3]))
    return {
        "images": np.concatenate([train_images, test_images]),
        "labels": np.concatenate([train_labels, test_labels]),
        "test": np.repeat([False, True], [len(train_labels), len(test_labels)]),
        "max_level": np.array(MAX_LEVEL, dtype=np.int64),
    }


def write(folder: Path, downloads: Path) -> None:
    """The `mnist` source: data/raw/mnist/images.npz."""
    write_npz(Path(folder) / IMAGES_FILE, mnist(downloads))
