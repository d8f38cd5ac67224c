"""Text classification: IMDB fetched from the test server (an archive in the real aclImdb
layout, built here), and the user's own CSV of texts and labels."""

from __future__ import annotations

import io
import tarfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from seqlab.data import imdb, sources
from seqlab.data.text_classes import CsvText, ImdbReviews, encode, words
from seqlab.data.user_files import copy_into
from seqlab.data.vocab import Vocab
from seqlab.errors import ConfigError, DataError
from tests.conftest import tiny

GOOD = ("great", "wonderful", "loved", "brilliant", "superb", "moving")
BAD = ("awful", "boring", "terrible", "hated", "dull", "worst")
FILLER = ("the", "film", "plot", "actors", "story", "was", "and", "this", "movie", "it")
TEST_ONLY = "zyzzyva"  # a word that occurs only in test reviews
PER_FOLDER = 12  # reviews per split and label: 48 labelled ones in all


def review(rng: np.random.Generator, label: str, split: str) -> str:
    """A short review whose sentiment words are plain, with IMDB's <br /> line breaks."""
    mood = GOOD if label == "pos" else BAD
    picked = [*rng.choice(FILLER, 5), *rng.choice(mood, 3), *rng.choice(FILLER, 3)]
    if split == "test":
        picked.append(TEST_ONLY)
    return " ".join(picked[:6]) + ".<br /><br />" + " ".join(picked[6:]).capitalize() + "!"


def tar_gz(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    """A .tar.gz of these files (and symlinks), the same bytes on every call."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


def acl_imdb() -> bytes:
    """aclImdb_v1.tar.gz in the real layout: {train,test}/{pos,neg}/<id>_<rating>.txt,
    train/unsup/ (unlabelled, to skip) and the vocabulary and README files."""
    rng = np.random.default_rng(0)
    members = {"aclImdb/README": b"Large Movie Review Dataset v1.0\n",
               "aclImdb/imdb.vocab": b"the\nand\n"}
    for split in ("train", "test"):
        for label in ("pos", "neg"):
            for i in (*range(PER_FOLDER - 2), 10, 2 + PER_FOLDER):  # ids out of file order
                rating = rng.integers(7, 11) if label == "pos" else rng.integers(1, 5)
                members[f"aclImdb/{split}/{label}/{i}_{rating}.txt"] = review(
                    rng, label, split).encode()
    members["aclImdb/train/unsup/0_0.txt"] = b"Unlabelled: never read."
    return tar_gz(dict(sorted(members.items(), reverse=True)))  # archive order is no order


@pytest.fixture(scope="module")
def archive() -> bytes:
    """One archive for the module: the session's shared download cache holds one file of
    this name, so every test serves the same bytes."""
    return acl_imdb()


@pytest.fixture
def served(mirror, monkeypatch, archive):
    """The test archive served as IMDB's, its checksum pinned in place of the real one."""
    def serve(data: bytes = archive):
        checksum = mirror.serve(imdb.REMOTE.file_name, data)
        monkeypatch.setattr(imdb, "REMOTE", replace(imdb.REMOTE, checksum=checksum))
        return mirror
    return serve


def test_the_fetch_writes_one_csv_in_a_fixed_order_then_is_a_cached_no_op(served, tmp_path):
    mirror = served()
    downloads = tmp_path / "downloads"
    first = sources.fetch("imdb", tmp_path / "a" / "imdb", downloads)
    assert sources.raw_files("imdb") == [imdb.REVIEWS_FILE]
    assert [p.name for p in first.iterdir()] == [imdb.REVIEWS_FILE]  # one file, not 50,000
    lines = (first / imdb.REVIEWS_FILE).read_text().splitlines()
    assert lines[0] == "split,label,text" and len(lines) == 1 + 4 * PER_FOLDER
    assert lines[1].startswith("train,neg,") and lines[-1].startswith("test,pos,")
    assert not any("Unlabelled" in line for line in lines)  # train/unsup is skipped
    again = sources.fetch("imdb", tmp_path / "b" / "imdb", downloads)
    assert mirror.requests == ["/aclImdb_v1.tar.gz"]  # the second fetch made no request
    assert (again / imdb.REVIEWS_FILE).read_bytes() == (first / imdb.REVIEWS_FILE).read_bytes()
    assert [p.name for p in downloads.iterdir()] == ["aclImdb_v1.tar.gz"]  # extracted aside


@pytest.mark.parametrize("unsafe", ["dotdot", "symlink"])
def test_an_unsafe_archive_fails_in_one_line_and_leaves_no_raw_output(served, tmp_path,
                                                                      unsafe):
    good = {"aclImdb/train/pos/0_9.txt": b"great"}
    data = (tar_gz({**good, "../escaped.txt": b"bad"}) if unsafe == "dotdot"
            else tar_gz(good, links={"aclImdb/train/neg/0_1.txt": "../../../../etc/passwd"}))
    served(data)
    with pytest.raises(DataError, match="aclImdb_v1.tar.gz: .*unsafe to extract") as caught:
        sources.fetch("imdb", tmp_path / "raw" / "imdb", tmp_path / "downloads")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "raw" / "imdb").exists()
    assert not list(tmp_path.rglob("escaped.txt"))
    assert [p.name for p in (tmp_path / "downloads").iterdir()] == ["aclImdb_v1.tar.gz"]


@pytest.fixture
def raw_imdb(served, tmp_path) -> Path:
    served()
    return sources.fetch("imdb", tmp_path / "raw" / "imdb", tmp_path / "downloads")


def test_the_vocabulary_comes_from_training_only(raw_imdb):
    data = ImdbReviews(name="imdb", min_count=1).preprocess(raw_imdb)
    vocab = data.meta.source_vocab
    assert TEST_ONLY not in vocab and {"great", "awful"} <= set(vocab)
    assert "br" not in vocab  # the <br /> tags are gone
    test = data.splits["test"]
    last = data.inputs[test, data.lengths[test] - 1]  # TEST_ONLY ends every test review
    assert (last == Vocab.unk_id).all()
    assert data.meta.model_args == {"token_inputs": True, "pad_id": Vocab.pad_id}
    assert data.inputs.dtype == np.int64 and data.meta.input_size == len(vocab)
    assert data.meta.classes == ["neg", "pos"] and data.meta.variable_length
    sizes = {name: len(rows) for name, rows in data.splits.items()}
    assert sizes == {"train": 22, "val": 2, "test": 24}  # the official split, val from train
    np.testing.assert_array_equal(np.bincount(data.targets[data.splits["val"]]), [1, 1])


def test_truncation_keeps_the_last_or_first_words_and_limits_are_stratified(raw_imdb):
    vocab = Vocab(["a", "b", "c"], "word")
    last, lengths = encode([["a", "b", "c"], ["b"]], vocab, max_tokens=2, keep="last")
    np.testing.assert_array_equal(last, [[5, 6], [5, 0]])
    np.testing.assert_array_equal(lengths, [2, 1])
    first, _ = encode([["a", "b", "c"], ["b"]], vocab, max_tokens=2, keep="first")
    np.testing.assert_array_equal(first, [[4, 5], [5, 0]])
    assert words("Great!<br />It's <BR/>GOOD") == ["great", "it's", "good"]
    data = ImdbReviews(name="imdb", max_tokens=4, train_limit=10, test_limit=6, val_fraction=0.2
                       ).preprocess(raw_imdb)
    assert data.inputs.shape == (16, 4) and data.lengths.max() == 4
    test = data.splits["test"]
    assert (data.inputs[test, 3] == Vocab.unk_id).all()  # the last word (test-only) is kept
    for split, size in (("train", 8), ("val", 2), ("test", 6)):
        assert len(data.splits[split]) == size
        assert np.bincount(data.targets[data.splits[split]]).tolist() == [size // 2] * 2


def test_the_imdb_preset_trains_end_to_end(served, run, tmp_path, one_thread):
    mirror = served()
    result = run(tiny("experiment=imdb", "optim.max_epochs=1", "model.hidden_size=8",
                      "model.embed_size=8"), tmp_path / "run")
    assert set(mirror.requests) <= {"/aclImdb_v1.tar.gz"}  # the session may hold it already
    assert result["dataset"] == "imdb" and result["headline"]["metric"] == "test/acc"
    assert result["archetype"] == "many_to_one" and "majority" in result["baselines"]


# -- the user's own CSV -------------------------------------------------------------------

def csv_rows(n: int = 40) -> list[tuple[str, str]]:
    rng = np.random.default_rng(1)
    return [(review(rng, label, "train").replace(",", ""), label)
            for label in ("pos", "neg") for _ in range(n // 2)]


def csv_text(rows: list[tuple[str, ...]], header: str = "text,label", end: str = "\n") -> str:
    return end.join([header, *(",".join(row) for row in rows)]) + end


def preprocess_csv(tmp_path: Path, content: str | bytes, **settings):
    """What the pipeline does: the fetch stage copies the file, the kind reads the copy."""
    path = tmp_path / "mine" / "reviews.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    raw = tmp_path / "raw" / "csv_text"
    raw.mkdir(parents=True, exist_ok=True)
    copy_into(path, raw)
    return CsvText(name="csv_text", source="csv_text", path=str(path), **settings
                   ).preprocess(raw)


def test_a_good_csv_is_split_with_every_label_in_training(tmp_path):
    data = preprocess_csv(tmp_path, csv_text(csv_rows()), min_count=1)
    assert data.meta.classes == ["neg", "pos"] and len(data.inputs) == 40
    assert sorted(np.concatenate(list(data.splits.values()))) == list(range(40))
    assert [len(data.splits[s]) for s in ("train", "val", "test")] == [29, 3, 8]
    old_mac = preprocess_csv(tmp_path, csv_text(csv_rows(), end="\r"), min_count=1)
    np.testing.assert_array_equal(old_mac.inputs, data.inputs)  # `\r` lines read the same
    renamed = csv_text([(label, text) for text, label in csv_rows()], "sentiment,review")
    same = preprocess_csv(tmp_path, renamed, min_count=1, text_column="review",
                          label_column="sentiment")
    np.testing.assert_array_equal(same.inputs, data.inputs)


def test_a_csv_trains_with_the_imdb_preset(tmp_path, run, one_thread):
    path = tmp_path / "reviews.csv"
    path.write_text(csv_text(csv_rows()))
    result = run(tiny("experiment=imdb", "dataset=csv_text", f"dataset.path={path}",
                      "optim.max_epochs=1", "model.hidden_size=8", "model.embed_size=8"),
                 tmp_path / "run")
    assert result["dataset"] == "csv_text" and result["headline"]["metric"] == "test/acc"


ROWS = csv_rows(12)
BAD_FILES = {
    "misnamed columns": (csv_text(ROWS, "review,label"),
                         "no column 'text'; the columns found are 'review', 'label'"),
    "empty": ("", "reviews.csv is empty"),
    "a label absent from training": (
        csv_text([(t, lab, "train") for t, lab in ROWS] + [("meh so so", "neutral", "test")],
                 "text,label,split"),
        "line 14: label 'neutral' is absent from training \\(it occurs only in the test"),
    "too few rows": (csv_text(ROWS[:5]), "has only 5 rows of data; .* at least 10"),
    "an empty text": (csv_text([*ROWS[:3], ("", "pos"), *ROWS[3:]]),
                      "line 5: empty text in column 'text'"),
    "a text with no words": (csv_text([*ROWS, ("!!! ...", "pos")]),
                             "line 14: no words in column 'text'"),
    "an empty label": (csv_text([*ROWS, ("good film", " ")]),
                       "line 14: empty label in column 'label'"),
    "one label": (csv_text([(t, "pos") for t, _ in ROWS]), "one label \\('pos'\\)"),
    "a split that is not train or test": (
        csv_text([(t, lab, "dev") for t, lab in ROWS], "text,label,split"),
        "line 2: 'dev' in column 'split' is not train or test"),
}


@pytest.mark.parametrize("problem", BAD_FILES)
def test_a_bad_csv_is_one_line(tmp_path, problem):
    content, message = BAD_FILES[problem]
    split = {"split_column": "split"} if "text,label,split" in content else {}
    with pytest.raises(DataError, match=message) as caught:
        preprocess_csv(tmp_path, content, **split)
    assert "\n" not in str(caught.value)


def test_csv_settings_are_checked_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="path: no file 'nope.csv'"):
        CsvText(name="csv_text", source="csv_text", path="nope.csv")
    (tmp_path / "a.csv").write_text("text,label\n")
    with pytest.raises(ConfigError, match="keep: 'middle' is not one of: last, first"):
        CsvText(name="csv_text", source="csv_text", path=str(tmp_path / "a.csv"), keep="middle")
