"""Sentence pairs for translation: fra_eng's zip, built here in the real layout and served
by the local test server as the mirror (fetch, cached no-op, tokens, split, a tiny run),
and the user's own tab-separated pairs (tsv_pairs), good files and bad ones."""

from __future__ import annotations

import io
import itertools
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from seqlab.config import compose, instantiate
from seqlab.data import fra_eng
from seqlab.data.sources import fetch
from seqlab.data.user_files import copy_into
from seqlab.errors import DataError
from tests.conftest import tiny

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread
ATTRIBUTION = "CC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #1158250 (Wittydev)"


def fra_txt() -> bytes:
    """Lines `English<TAB>French` in fra.txt's layout: sorted by length, French `!` and
    `?` after a narrow no-break space, some English sentences with two translations, and
    some lines with the attribution column of newer manythings.org files."""
    subjects = [("I", "Je"), ("You", "Tu"), ("He", "Il"), ("She", "Elle"), ("We", "Nous")]
    verbs = [("see", "vois"), ("like", "aime"), ("want", "veux"), ("paint", "peins")]
    things = [("the cat", "le chat"), ("the dog", "le chien"), ("a house", "une maison"),
              ("the sea", "la mer"), ("my car", "ma voiture")]
    marks = [(".", "."), ("!", "\u202f!"), ("?", "\u202f?")]
    lines = []
    for (s, fs), (v, fv), (t, ft), (m, fm) in itertools.product(subjects, verbs, things, marks):
        lines.append(f"{s} {v} {t}{m}\t{fs} {fv} {ft}{fm}")
    lines += ["Go.\tVa !", "Go.\tBouge !", "Hi.\tSalut !", "Don't go!\tN'y va pas !"]
    lines = sorted(lines, key=lambda line: (len(line.split("\t")[0]), line))
    lines = [f"{line}\t{ATTRIBUTION}" if i % 7 == 0 else line for i, line in enumerate(lines)]
    return ("\n".join(lines) + "\n").encode()


def zip_of(members: dict[str, bytes]) -> bytes:
    """A zip whose bytes do not depend on when it is built (fixed member dates)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


FRA_TXT = fra_txt()
# The same bytes in every test: the session's shared run cache keeps the first download.
FRA_ENG_ZIP = zip_of({"fra-eng/": b"", "fra-eng/_about.txt": b"Tatoeba\n",
                      "fra-eng/fra.txt": FRA_TXT})


@pytest.fixture
def served(mirror, monkeypatch):
    """fra-eng.zip on the mirror, its checksum pinned in place of the real file's."""
    checksum = mirror.serve(fra_eng.FRA_ENG.file_name, FRA_ENG_ZIP)
    monkeypatch.setattr(fra_eng, "FRA_ENG", replace(fra_eng.FRA_ENG, checksum=checksum))
    return mirror


def test_the_real_remote_is_the_frozen_d2l_copy_pinned_by_sha1():
    assert fra_eng.FRA_ENG.url == "http://d2l-data.s3-accelerate.amazonaws.com/fra-eng.zip"
    assert fra_eng.FRA_ENG.checksum == "sha1:94646ad1522d915e7b0f9296181140edcf86a4f5"


def test_fetch_keeps_fra_txt_as_it_is_then_uses_the_download(served, tmp_path):
    first = fetch("fra_eng", tmp_path / "a" / "fra_eng", tmp_path / "downloads")
    assert served.requests == ["/fra-eng.zip"]
    assert [p.name for p in first.iterdir()] == ["pairs.tsv"]  # nothing else extracted there
    assert (first / "pairs.tsv").read_bytes() == FRA_TXT
    again = fetch("fra_eng", tmp_path / "b" / "fra_eng", tmp_path / "downloads")
    assert served.requests == ["/fra-eng.zip"]  # the checked download, not a new request
    assert (again / "pairs.tsv").read_bytes() == FRA_TXT


def test_a_zip_without_fra_txt_is_one_line(mirror, monkeypatch, tmp_path):
    # Its own downloads folder: a file of this name is not served anywhere else.
    other = zip_of({"fra-eng/other.txt": b"x"})
    checksum = mirror.serve("fra-eng.zip", other)
    monkeypatch.setattr(fra_eng, "FRA_ENG", replace(fra_eng.FRA_ENG, checksum=checksum))
    with pytest.raises(DataError, match="holds no fra-eng/fra.txt; delete it to download"):
        fetch("fra_eng", tmp_path / "raw", tmp_path / "own-downloads")


def test_tokens_are_lowercase_words_and_punctuation():
    assert fra_eng.tokenize("Don't go!") == "don't go !"
    assert fra_eng.tokenize("N'y va pas\u202f!") == "n'y va pas !"
    assert fra_eng.tokenize("Va !") == fra_eng.tokenize("Va!") == "va !"
    assert fra_eng.tokenize("Hi, Tom.", lowercase=False) == "Hi , Tom ."


@pytest.fixture
def raw(tmp_path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "pairs.tsv").write_bytes(FRA_TXT)
    return folder


def test_fra_eng_filters_samples_and_splits_by_english_sentence(raw):
    spec = instantiate(compose(["dataset=fra_eng", "dataset.max_pairs=200",
                                "dataset.max_length=5"]).dataset, "dataset")
    data = spec.preprocess(raw)
    meta = data.meta
    assert (meta.task, meta.archetype) == ("generation", "many_to_many")
    assert len(data.inputs) == 200 and data.inputs.dtype == np.int64
    assert "tatoeba" not in " ".join(meta.source_vocab + meta.target_vocab)  # 3rd column
    assert all(t == t.lower() for t in meta.source_vocab[4:] + meta.target_vocab[4:])
    assert max(data.lengths) <= 5 + 1  # at most 5 tokens and the end token
    from seqlab.data.vocab import Vocab

    source = Vocab(meta.source_vocab, meta.source_level)
    texts = {split: {source.decode(data.inputs[i]) for i in rows}
             for split, rows in data.splits.items()}
    assert not texts["train"] & texts["test"] and not texts["val"] & texts["test"]
    assert sum(map(len, data.splits.values())) == 200
    again = spec.preprocess(raw)  # the sample and the split follow the seed
    np.testing.assert_array_equal(again.inputs, data.inputs)
    other = replace(spec, seed=1).preprocess(raw)
    assert not np.array_equal(other.inputs, data.inputs)


def test_reverse_translates_french_to_english(raw):
    spec = instantiate(compose(["dataset=fra_eng", "dataset.reverse=true"]).dataset, "dataset")
    meta = spec.preprocess(raw).meta
    assert "aime " in meta.source_vocab and "like " in meta.target_vocab


def test_translate_fra_eng_trains_from_the_fetched_zip(served, run, tmp_path):
    result = run(tiny("experiment=translate_fra_eng", "optim.max_epochs=1",
                      "dataset.max_pairs=150", "model.hidden_size=8", "model.embed_size=8"),
                 tmp_path / "run")
    assert result["dataset"] == "fra_eng" and result["task"] == "generation"
    assert result["headline"]["metric"] == "test/exact"
    assert {"test/bleu", "test/chrf"} <= set(result["test"])


# -- the user's own pairs (tsv_pairs) --------------------------------------------------------

def user_pairs(tmp_path: Path, content: bytes, name: str = "pairs.tsv", **settings: object):
    """Preprocess `content` as the user's file: copied as the fetch stage does, then read."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_bytes(content)
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    copy_into(path, raw)
    overrides = [f"dataset.path={path}", *(f"dataset.{k}={v}" for k, v in settings.items())]
    return instantiate(compose(["dataset=tsv_pairs", *overrides]).dataset, "dataset"
                       ).preprocess(raw)


GOOD = b"".join(f"{n} plus one\t{n + 1}\textra column\n".encode() for n in range(40))


def test_user_pairs_are_read_with_extra_columns_ignored(tmp_path):
    data = user_pairs(tmp_path, GOOD, source_level="word", target_level="char")
    assert data.meta.name == "tsv_pairs" and len(data.inputs) == 40
    assert data.meta.target_level == "char" and "extra" not in " ".join(data.meta.target_vocab)
    assert set(data.meta.target_vocab[4:]) <= set("0123456789")


def test_old_mac_line_endings_and_blank_lines_read_the_same(tmp_path):
    mac = GOOD.replace(b"\n", b"\r").replace(b"\r", b"\r\r", 3)  # and a few blank lines
    a, b = user_pairs(tmp_path / "a", GOOD), user_pairs(tmp_path / "b", mac)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    assert a.meta == b.meta


def test_lowercase_and_subset_settings(tmp_path):
    content = GOOD.replace(b"plus", b"Plus")
    data = user_pairs(tmp_path, content, lowercase="true", max_pairs=25)
    assert len(data.inputs) == 25 and not any("Plus" in t for t in data.meta.source_vocab)


@pytest.mark.parametrize(("content", "message"), [
    (b"", r"pairs.tsv is empty; it needs one source<TAB>target pair a line"),
    (b" \n\n", r"pairs.tsv is empty"),
    (GOOD + b"just one column\n", r"pairs.tsv: line 41 has no tab; each line needs a source"),
    (b"a\tb\r\tc\r", r"pairs.tsv: line 2 has an empty source \(before the tab\)"),
    (b"a\tb\nc\t \n", r"pairs.tsv: line 2 has an empty target \(after the tab\)"),
    (b"a\tb\nc\td\n", r"pairs.tsv: only 2 distinct source sentences; at least 10 are needed"),
    (b"\xff\xfe\x00a", r"pairs.tsv: not UTF-8 text"),
])
def test_a_bad_pairs_file_is_one_line(tmp_path, content, message):
    with pytest.raises(DataError, match=message) as caught:
        user_pairs(tmp_path, content)
    assert "\n" not in str(caught.value)


def test_too_few_pairs_after_the_length_limit_says_what_to_change(tmp_path):
    with pytest.raises(DataError, match="only 0 distinct source sentences of at most 1 "
                       "pieces; at least 10 are needed: add pairs or raise max_length"):
        user_pairs(tmp_path, GOOD, max_length=1)


def test_preprocess_before_the_fetch_says_to_fetch(tmp_path):
    spec = instantiate(compose(["dataset=tsv_pairs", "dataset.path=mine.tsv"]).dataset,
                       "dataset")
    with pytest.raises(DataError, match="mine.tsv is missing; run the fetch stage"):
        spec.preprocess(tmp_path)


def test_user_pairs_train_end_to_end(run, tmp_path):
    """The run copies the user's file into the cache (the fetch) and trains on the copy."""
    (tmp_path / "numbers.tsv").write_bytes(GOOD)
    result = run(tiny("experiment=translate_fra_eng", "dataset=tsv_pairs",
                      f"dataset.path={tmp_path / 'numbers.tsv'}", "optim.max_epochs=1",
                      "model.hidden_size=8", "model.embed_size=8"), tmp_path / "run")
    assert result["dataset"] == "tsv_pairs" and result["task"] == "generation"
