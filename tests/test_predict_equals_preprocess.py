"""Predict reads raw inputs exactly as preprocessing read the training data: for each
dataset kind, test rows given raw to `seqlab.predict.inputs.encode` become the very
arrays preprocessing wrote for them (scaling, windows, lag order, framing, tokenising,
character features). No net is trained: the arrays are compared, bit for bit.

Two ways of getting "the same rows raw":
- the kinds whose meta.raw example is a few test inputs as their source holds them
  (texts, sentences, source texts, images, numeric sequences): the example encodes to
  test rows of the processed split;
- series (a window, or a forecast at every step): the raw file's rows that preprocessing
  read for each test row (`target_pos` says where its targets are) encode to that row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlab.data.processed import ProcessedData
from seqlab.data.raw_inputs import Place
from seqlab.predict.inputs import encode, example
from tests.conftest import tiny

DIGITS = [f"{d}" for d in range(10)]


def own_files(folder: Path) -> dict[str, list[str]]:
    """The user's own files of each file kind, small, and the overrides that read them."""
    rng = np.random.default_rng(0)
    words = ["good", "bad", "film", "plot", "actor", "great", "awful", "story", "scene", "Zed"]
    texts = folder / "reviews.csv"
    rows = [(" ".join(rng.choice(words, size=int(rng.integers(2, 9)))), ["pos", "neg"][i % 2])
            for i in range(60)]
    texts.write_text("text,label\n" + "".join(f"{t},{label}\n" for t, label in rows))
    tags = folder / "tags.txt"
    tags.write_text("\n\n".join(
        "\n".join(f"{w}\t{'NOUN' if w in ('film', 'plot', 'actor') else 'ADJ'}"
                  for w in rng.choice(words, size=int(rng.integers(2, 7))))
        for _ in range(60)) + "\n")
    pairs = folder / "pairs.tsv"
    pairs.write_text("".join(f"{a} {b}\t{b} {a}\n" for a, b in
                             (rng.choice(words, size=2) for _ in range(80))))
    steps = folder / "motions.csv"
    lines = ["id,x,y,label"]
    for case in range(40):
        for _ in range(int(rng.integers(3, 8))):
            lines.append(f"c{case},{rng.normal():.4f},{rng.normal() * 10:.3f},{case % 2}")
    steps.write_text("\n".join(lines) + "\n")
    series = folder / "sales.csv"
    months = pd.date_range("2000-01-01", periods=90, freq="MS")
    pd.DataFrame({"Month": months.strftime("%m/%Y"),
                  "Sales": (100 + 10 * np.sin(np.arange(90) / 2) + rng.normal(0, 1, 90)).round(2),
                  "Promo": rng.integers(0, 50, 90)}).to_csv(series, index=False)
    return {
        "csv_text": ["dataset=csv_text", f"dataset.path={texts}", "dataset.min_count=1"],
        "tagged_text": ["dataset=tagged_text", f"dataset.path={tags}", "dataset.min_count=1",
                        "dataset.chars_per_word=8"],
        "tsv_pairs": ["dataset=tsv_pairs", f"dataset.path={pairs}"],
        "csv_sequences": ["dataset=csv_sequences", f"dataset.path={steps}"],
        "csv_series": ["dataset=csv_series", f"dataset.path={series}",
                       "dataset.date_column=Month", "dataset.value_column=Sales",
                       "dataset.input_columns=[Promo]", "dataset.date_format=%m/%Y",
                       "dataset.window=6"],
    }


# One preset per dataset kind that reads offline, and each kind of the user's own file.
EXAMPLE_KINDS = ["digits_pixels", "digits_rows", "digit_captions", "digit_videos", "ecg_phase",
                 "japanese_vowels", "number_words", "dates", "csv_text", "tagged_text",
                 "tsv_pairs", "csv_sequences"]
SERIES_KINDS = ["elec_equip", "sunspots_steps", "csv_series"]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, list[str]]:
    return own_files(tmp_path_factory.mktemp("own"))


def processed(kind: str, files: dict[str, list[str]], prepared
              ) -> tuple[ProcessedData, object, Path]:
    """The kind's processed data, its config and its folder in the session's run cache."""
    cfg = tiny(*files.get(kind, [f"dataset={kind}"]))
    folder = prepared(cfg)
    return ProcessedData.load(folder), cfg, folder


def test_every_raw_format_is_covered():
    """A format added to predict without a case here fails this test."""
    from seqlab.predict.inputs import FORMATS

    covered = {"values", "sequences", "sources", "texts", "sentences", "series"}
    assert set(FORMATS) == covered


@pytest.mark.parametrize("kind", EXAMPLE_KINDS)
def test_test_rows_given_raw_become_the_arrays_preprocessing_wrote(kind, files, prepared):
    data, _, _ = processed(kind, files, prepared)
    raw = example(data.meta)
    encoded = encode(raw, data.meta, Place("example"))
    test = data.splits["test"]
    assert len(encoded.lengths) >= 1
    for i, length in enumerate(encoded.lengths):
        n = int(length)
        same = [j for j in test if int(data.lengths[j]) == n
                and data.inputs[j].dtype == encoded.inputs.dtype
                and np.array_equal(data.inputs[j][:n], encoded.inputs[i][:n])]
        assert same, f"{kind}: example input {i} ({data.meta.raw['format']}) is no test row"


def series_frame(cfg, folder: Path, cache) -> pd.DataFrame:
    """The series as the user's file (or the fetched source) holds it, every column text;
    the run cache keeps a dataset's raw source beside its processed folder's name."""
    from seqlab.layout import SERIES_FILE

    fetched = cache.raw_root / folder.parent.name / cfg.dataset.source / SERIES_FILE
    return pd.read_csv(cfg.dataset.get("path") or fetched, dtype=str)


@pytest.mark.parametrize("kind", SERIES_KINDS)
def test_a_series_test_rows_raw_rows_become_the_arrays_preprocessing_wrote(kind, files,
                                                                            prepared, cache):
    data, cfg, folder = processed(kind, files, prepared)
    frame = series_frame(cfg, folder, cache)
    raw = data.meta.raw
    window = raw["window"]
    positions = data.extras["target_pos"]
    for row in data.splits["test"]:
        targets = np.atleast_1d(positions[row])
        first = int(targets[0])
        if window is None:  # a forecast at every step: its inputs are the rows before each
            n = int(data.lengths[row])
            rows = frame.iloc[first - 1 : first - 1 + n]
        else:  # a window: the `window` rows before the first target
            rows = frame.iloc[first - window : first]
            n = int(data.lengths[row])
        encoded = encode(rows.reset_index(drop=True), data.meta, Place(kind))
        assert encoded.inputs.dtype == data.inputs.dtype
        np.testing.assert_array_equal(encoded.inputs[0][:n], data.inputs[row][:n],
                                      err_msg=f"{kind}: test row {row}")
