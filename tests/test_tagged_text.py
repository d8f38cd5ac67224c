"""Part-of-speech tagging: UD EWT's three CoNLL-U files, built here in the real format and
served by the local test server as the mirror (fetch, pinned at first fetch, cached no-op,
multiword tokens and empty nodes, a tiny run), and the user's own tagged text in both
formats, good files and bad ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqlab.config import compose, instantiate
from seqlab.data import treebank
from seqlab.data.sources import fetch
from seqlab.data.text_pairs import split_rows
from seqlab.data.user_files import copy_into
from seqlab.errors import DataError
from tests.conftest import sha256, tiny

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread
# Sentence patterns: (word choices, UPOS) per position; "that" is DET before a noun and
# PRON before a verb.
WORDS = {"DET": ["the", "a", "this"], "NOUN": ["dog", "cat", "car", "idea", "Paris"],
         "VERB": ["sees", "likes", "paints"], "ADJ": ["big", "red", "old"],
         "ADV": ["often", "quickly"], "PRON": ["she", "he", "it"], "ADP": ["in", "near"],
         "PUNCT": [".", "!"]}
PATTERNS = [["DET", "NOUN", "VERB", "DET", "ADJ", "NOUN", "PUNCT"],
            ["PRON", "VERB", "DET", "NOUN", "ADP", "DET", "NOUN", "PUNCT"],
            ["PRON", "ADV", "VERB", "DET", "NOUN", "PUNCT"],
            ["that", "VERB", "ADJ", "PUNCT"], ["that", "NOUN", "VERB", "PUNCT"]]


def sentence(index: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """(form, UPOS) of sentence `index`: every pattern in turn, words drawn by `rng`."""
    pattern = PATTERNS[index % len(PATTERNS)]
    words = []
    for position, tag in enumerate(pattern):
        if tag == "that":
            words.append(("That", "PRON" if pattern[position + 1] == "VERB" else "DET"))
        else:
            word = str(rng.choice(WORDS[tag]))
            words.append((word.capitalize() if position == 0 else word, tag))
    return words


def conllu_file(sentences: int, seed: int) -> bytes:
    """CoNLL-U as UD writes it: comments, ten columns; every third sentence starts with a
    multiword token (`1-2 Don't` = do + n't) and every fifth has an empty node (`3.1`)."""
    rng = np.random.default_rng(seed)
    out = ["# newdoc id = test-doc", ""]
    for s in range(sentences):
        words = sentence(s, rng)
        lines = [f"# sent_id = s{seed}-{s}", "# text = " + " ".join(w for w, _ in words)]
        offset = 0
        if s % 3 == 0:
            lines += ["1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_",
                      "1\tDo\tdo\tAUX\tVBP\t_\t3\taux\t3:aux\t_",
                      "2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t3:advmod\t_"]
            offset = 2
        for i, (word, tag) in enumerate(words, start=1 + offset):
            lines.append(f"{i}\t{word}\t{word.lower()}\t{tag}\t_\t_\t{0 if i == 1 else 1}\t"
                         f"{'root' if i == 1 else 'dep'}\t_\t_")
            if s % 5 == 0 and i == 3:
                lines.append("3.1\tsees\tsee\tVERB\t_\t_\t_\t_\t1:conj\tCopyOf=3")
        out += [*lines, ""]
    return "\n".join(out).encode()


SIZES = {"train": 150, "val": 30, "test": 30}
# The same bytes in every test: the session's shared run cache keeps (and pins) the first
# download of each name.
FILES = {remote.file_name: conllu_file(SIZES[split], seed)
         for seed, (split, remote) in enumerate(treebank.TREEBANKS["ud_ewt"].items())}


@pytest.fixture
def served(mirror):
    for name, data in FILES.items():
        mirror.serve(name, data)
    return mirror


def test_the_real_remotes_are_release_r2_13_pinned_at_first_fetch():
    remotes = treebank.TREEBANKS["ud_ewt"]
    assert [r.url.rsplit("/", 2)[1:] for r in remotes.values()] == [
        ["r2.13", "en_ewt-ud-train.conllu"], ["r2.13", "en_ewt-ud-dev.conllu"],
        ["r2.13", "en_ewt-ud-test.conllu"]]
    assert all(r.checksum is None for r in remotes.values())


def test_fetch_keeps_the_three_files_pins_them_then_uses_the_downloads(served, tmp_path):
    first = fetch("ud_ewt", tmp_path / "a" / "ud_ewt", tmp_path / "downloads")
    assert sorted(served.requests) == sorted(f"/{name}" for name in FILES)
    assert {p.name: p.read_bytes() for p in first.iterdir()} == FILES
    for name, data in FILES.items():
        assert (tmp_path / "downloads" / f"{name}.sha256").read_text().strip() == sha256(data)
    again = fetch("ud_ewt", tmp_path / "b" / "ud_ewt", tmp_path / "downloads")
    assert len(served.requests) == 3  # the pinned downloads, not new requests
    assert {p.name: p.read_bytes() for p in again.iterdir()} == FILES


@pytest.fixture
def raw(tmp_path) -> Path:
    for name, data in FILES.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


def ud_ewt(*overrides: str):
    return instantiate(compose(["dataset=ud_ewt", *overrides]).dataset, "dataset")


def test_words_and_tags_skip_multiword_ranges_and_empty_nodes(raw):
    sentences = treebank.read_conllu(raw / "en_ewt-ud-train.conllu")
    assert len(sentences) == SIZES["train"]
    words, tags, line = sentences[0]
    assert words[:2] == ["Do", "n't"] and tags[:3] == ["AUX", "PART", "DET"]
    assert "Don't" not in words and len(words) == 2 + len(PATTERNS[0]) and line == 3
    data = ud_ewt().preprocess(raw)
    assert data.lengths[0] == len(words)  # the empty node 3.1 is not a word either


def test_official_splits_token_inputs_and_train_only_vocabulary(raw):
    data = ud_ewt("dataset.min_count=1").preprocess(raw)
    meta = data.meta
    assert (meta.task, meta.archetype) == ("tagging", "synchronous")
    assert {k: len(v) for k, v in data.splits.items()} == SIZES
    assert data.inputs.dtype == np.int64 and data.targets.shape == data.inputs.shape
    assert meta.model_args == {"token_inputs": True, "pad_id": 0}
    assert meta.input_size == len(meta.source_vocab) and "that" in meta.source_vocab
    assert meta.classes == sorted(meta.classes) and "PRON" in meta.classes
    padded = np.arange(data.inputs.shape[1])[None, :] >= data.lengths[:, None]
    assert (data.inputs[padded] == 0).all() and (data.targets[padded] == -100).all()
    cased = ud_ewt("dataset.lowercase=false", "dataset.min_count=1").preprocess(raw)
    assert "That" in cased.meta.source_vocab


def test_words_with_their_characters_lead_with_the_same_word_ids(raw):
    char_ids = treebank.char_ids
    words_only = ud_ewt().preprocess(raw)
    data = ud_ewt("dataset.chars_per_word=6").preprocess(raw)
    assert data.inputs.shape == (*words_only.inputs.shape, 7)
    np.testing.assert_array_equal(data.inputs[..., 0], words_only.inputs)
    alphabet = data.meta.raw["chars"]
    assert data.meta.model_args == {"token_inputs": True, "pad_id": 0,
                                    "char_vocab_size": len(alphabet) + 2, "chars_per_word": 6}
    ids = {c: i for i, c in enumerate(alphabet, start=2)}
    short, long = alphabet[:2], alphabet[:9]
    assert char_ids(short, ids, 6) == [ids[short[0]], ids[short[1]], 0, 0, 0, 0]  # 0 pads
    assert char_ids(long, ids, 6) == [ids[c] for c in long[:3] + long[-3:]]  # first, last
    assert alphabet != alphabet.lower()  # case is kept
    assert char_ids("é", {}, 2) == [1, 0]  # a character training never had
    padded = np.arange(data.inputs.shape[1])[None, :] >= data.lengths[:, None]
    assert (data.inputs[padded] == 0).all()
    real = data.inputs[~padded]
    assert (real[:, 1] > 0).all()  # every word has a first character


def test_rare_words_become_unk_and_limits_thin_training_only(raw):
    data = ud_ewt("dataset.max_length=6", "dataset.max_train_sentences=20").preprocess(raw)
    train = data.splits["train"]
    assert len(train) == 20 and data.lengths[train].max() <= 6
    assert len(data.splits["test"]) == SIZES["test"] and data.lengths.max() > 6
    assert (data.inputs[data.splits["test"]] == 3).any()  # unseen or rare words: unk


def test_pos_tagging_trains_from_the_fetched_treebank(served, run, tmp_path):
    result = run(tiny("experiment=pos_tagging", "optim.max_epochs=1", "model.hidden_size=8",
                      "model.embed_size=8"), tmp_path / "run")
    assert result["dataset"] == "ud_ewt" and result["task"] == "tagging"
    assert result["headline"]["metric"] == "test/acc" and "majority" in result["baselines"]


# -- the user's own tagged text (tagged_text) ------------------------------------------------

def token_tag_file(sentences: int = 30, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    return "\n\n".join("\n".join(f"{w}\t{t}" for w, t in sentence(s, rng))
                       for s in range(sentences)) + "\n"


def user_tags(tmp_path: Path, content: bytes | str, name: str = "tags.txt", **settings):
    """Preprocess `content` as the user's file: copied as the fetch stage does, then read."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    copy_into(path, raw)
    overrides = [f"dataset.path={path}", *(f"dataset.{k}={v}" for k, v in settings.items())]
    return instantiate(compose(["dataset=tagged_text", *overrides]).dataset, "dataset"
                       ).preprocess(raw)


def test_token_tag_text_is_split_by_the_seed(tmp_path):
    data = user_tags(tmp_path, token_tag_file(), test_fraction=0.2)
    assert data.meta.name == "tagged_text" and len(data.inputs) == 30
    assert len(data.splits["test"]) == 6 and data.meta.task == "tagging"
    mac = user_tags(tmp_path / "mac", token_tag_file().replace("\n", "\r"), test_fraction=0.2)
    np.testing.assert_array_equal(mac.inputs, data.inputs)  # old Mac line endings


def test_conllu_text_reads_as_the_treebank_does(tmp_path):
    data = user_tags(tmp_path, FILES["en_ewt-ud-dev.conllu"], name="mine.conllu",
                     format="conllu")
    assert len(data.inputs) == SIZES["val"] and "AUX" in data.meta.classes


def test_token_tag_ignores_further_columns(tmp_path):
    text = token_tag_file().replace("\n", "\tB-X\n").replace("\tB-X\n\tB-X\n", "\tB-X\n\n")
    data = user_tags(tmp_path, text)
    assert "B-X" not in data.meta.classes and len(data.inputs) == 30


def tag_only_in_test() -> str:
    """A token_tag file where one test sentence has a tag no training sentence has."""
    rows = split_rows(30, 0.1, 0.1, 0)
    sentences = token_tag_file().rstrip("\n").split("\n\n")
    test = int(rows["test"][0])
    sentences[test] = sentences[test].replace("\tPUNCT", "\tSYM")
    return "\n\n".join(sentences) + "\n"


@pytest.mark.parametrize(("name", "content", "settings", "message"), [
    ("tags.txt", "", {}, r"tags.txt is empty; it needs one token<TAB>tag a line"),
    ("tags.txt", token_tag_file().replace("dog\tNOUN", "dog NOUN", 1), {},
     r"tags.txt: line \d+ has no tab; each line needs a token, a tab and its tag"),
    ("tags.txt", "a\tDET\n\tNOUN\n", {}, r"tags.txt: line 2 has an empty token"),
    ("tags.txt", token_tag_file(5), {}, r"tags.txt: only 5 sentences; at least 10"),
    ("tags.txt", tag_only_in_test(), {},
     r"tags.txt: tag 'SYM' of the sentence at line \d+ \(test\) is a label absent from "
     r"training"),
    ("tags.conllu", token_tag_file(), {"format": "conllu"},
     r"tags.conllu: line 1 is not valid CoNLL-U \(Failed parsing field 'id': '\w+' is not "
     r"a valid ID.\); fix the line, or set dataset.format"),
    ("tags.conllu", FILES["en_ewt-ud-dev.conllu"].replace(b"\n4\t", b"\nx\t", 1),
     {"format": "conllu"}, r"tags.conllu: line \d+ is not valid CoNLL-U"),
    ("tags.conllu", "1\tThe\n", {"format": "conllu"},
     r"tags.conllu: line 1 has no UPOS tag \(column 4\)"),
    ("tags.conllu", "\n\n", {"format": "conllu"}, r"tags.conllu is empty; it needs CoNLL-U"),
])
def test_a_bad_tagged_file_is_one_line(tmp_path, name, content, settings, message):
    with pytest.raises(DataError, match=message) as caught:
        user_tags(tmp_path, content, name, **settings)
    assert "\n" not in str(caught.value)


def test_the_conllu_error_names_the_bad_line(tmp_path):
    text = FILES["en_ewt-ud-dev.conllu"].decode().split("\n")
    bad = next(i for i, line in enumerate(text) if line.startswith("4\t"))
    text[bad] = "x" + text[bad][1:]
    with pytest.raises(DataError, match=f"line {bad + 1} is not valid CoNLL-U"):
        user_tags(tmp_path, "\n".join(text), "tags.conllu", format="conllu")


def test_user_tagged_text_trains_end_to_end(run, tmp_path):
    """The run copies the user's file into the cache (the fetch) and trains on the copy."""
    (tmp_path / "tags.txt").write_text(token_tag_file())
    result = run(tiny("experiment=pos_tagging", "dataset=tagged_text",
                      f"dataset.path={tmp_path / 'tags.txt'}", "optim.max_epochs=1",
                      "model.hidden_size=8", "model.embed_size=8"), tmp_path / "run")
    assert result["dataset"] == "tagged_text" and result["task"] == "tagging"
