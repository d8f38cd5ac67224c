"""Predict at the edges: where an answer is a guess it says so (one `seqlab: warning:` line
a kind, a `warning` column in served answers), answers line up with the inputs, and every
error is one short line whose advice the command takes."""

from __future__ import annotations

import io
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from seqlab.errors import run_cli
from seqlab.layout import META_FILE
from seqlab.model_folder import files as folder_files
from seqlab.predict.__main__ import main
from seqlab.predict.inputs import example
from seqlab.predict.trained import TrainedModel
from tests.conftest import tiny

pytestmark = pytest.mark.usefixtures("one_thread")
WARNING = "seqlab: warning: "


def _trained(run, tmp_path_factory, name: str, *overrides: str) -> Path:
    """A tiny run of a preset, once per module: its output folder."""
    out = tmp_path_factory.mktemp(name) / "run"
    run(tiny(*overrides, "optim.max_epochs=1"), out)
    return out


@pytest.fixture(scope="module")
def vowels(run, tmp_path_factory) -> Path:
    return _trained(run, tmp_path_factory, "vowels", "experiment=japanese_vowels",
                    "model.hidden_size=8")


@pytest.fixture(scope="module")
def digits(run, tmp_path_factory) -> Path:
    return _trained(run, tmp_path_factory, "digits", "experiment=course_ex2",
                    "model.hidden_size=8")


@pytest.fixture(scope="module")
def numbers(run, tmp_path_factory) -> Path:
    return _trained(run, tmp_path_factory, "numbers", "experiment=translate_numbers",
                    "dataset.max_number=300", "model.hidden_size=8")


@pytest.fixture(scope="module")
def months(run, tmp_path_factory) -> Path:
    return _trained(run, tmp_path_factory, "months", "experiment=course_ex1",
                    "model.hidden_size=2")


def predict(out: Path, path: Path, *more: str, capsys) -> tuple[int, str, list[str]]:
    """The command, in-process: its exit status, the answers' CSV, its stderr lines."""
    try:
        run_cli(lambda: main([str(out), "--input", str(path), *more]))
        code = 0
    except SystemExit as exited:
        code = int(exited.code)
    done = capsys.readouterr()
    return code, done.out, done.err.strip().splitlines()


def warned(lines: list[str], kind: str) -> str:
    """The one warning line matching `kind`, checking no kind is said twice."""
    found = [line for line in lines if line.startswith(WARNING) and re.search(kind, line)]
    assert len(found) == 1, lines
    return found[0]


def served(out: Path, rows: pd.DataFrame) -> pd.DataFrame:
    """What the served MLflow model answers (ServedNet, as `mlflow models serve` loads it)."""
    from seqlab.predict.served_model import CONFIG, META, WEIGHTS, ServedNet

    model = out / "model"
    net = ServedNet()
    net.load_context(SimpleNamespace(artifacts={
        WEIGHTS: str(model / "model.pt"), CONFIG: str(model / "config.yaml"),
        META: str(model / META_FILE)}))
    return net.predict(None, rows)


def no_doubts(out: Path) -> TrainedModel:
    """The model; its own raw example (the serving example) raises no doubt."""
    model = TrainedModel(folder_files(out))
    _, found = model.answer(example(model.meta))
    assert not found, found.lines()
    return model


def test_rows_without_ids_are_one_sequence_of_a_length_never_trained_on(vowels, tmp_path,
                                                                       capsys):
    model = no_doubts(vowels)
    low, high = model.meta.raw["lengths"]
    steps = pd.DataFrame(example(model.meta))  # two utterances, told apart by id
    four = pd.concat([steps, steps.assign(id=steps["id"] + 2)], ignore_index=True)
    four.drop(columns="id").to_csv(tmp_path / "vowels.csv", index=False)
    code, out, lines = predict(vowels, tmp_path / "vowels.csv", capsys=capsys)
    assert code == 0 and len(pd.read_csv(io.StringIO(out))) == 1
    rows = len(four)
    assert warned(lines, "no 'id' column") == (
        f"{WARNING}{tmp_path / 'vowels.csv'}: no 'id' column, so all {rows} rows are read as "
        "one sequence; to answer several, give each sequence's rows the same id "
        "(id,dim_0,dim_1,...)")
    assert rows > high  # the example's utterances are real ones: together, longer than any
    assert warned(lines, "longer or shorter") == (
        f"{WARNING}{tmp_path / 'vowels.csv'}: 1 sequence longer or shorter than any in "
        f"training ({low} to {high} steps): {rows} steps (line 2)")
    assert len(lines) == 2, lines
    # With ids: four answers, one per utterance, and nothing to doubt.
    four.to_csv(tmp_path / "ids.csv", index=False)
    code, out, lines = predict(vowels, tmp_path / "ids.csv", capsys=capsys)
    assert code == 0 and lines == []
    assert pd.read_csv(io.StringIO(out))["id"].tolist() == [1, 2, 3, 4]
    # Served: the same doubts, as the answer's `warning`.
    answer = served(vowels, four.drop(columns="id"))
    assert len(answer) == 1
    assert answer["warning"].item() == (f"all {rows} rows read as one sequence (no id column); "
                                        f"{rows} steps, but training had {low} to {high}")
    assert "warning" not in served(vowels, four).columns


def test_grey_levels_far_outside_the_training_range(digits, tmp_path, capsys):
    model = no_doubts(digits)
    levels = pd.DataFrame(example(model.meta))
    assert levels.to_numpy().max() <= 16
    frame = pd.concat([levels, levels * 16, levels * 16], ignore_index=True)  # 0-255 levels
    frame.to_csv(tmp_path / "grey.csv", index=False)
    code, out, lines = predict(digits, tmp_path / "grey.csv", capsys=capsys)
    assert code == 0 and len(pd.read_csv(io.StringIO(out))) == len(frame)
    count = 2 * len(levels)
    line = warned(lines, "far outside")
    assert line.startswith(f"{WARNING}{tmp_path / 'grey.csv'}: {count} lines with values far "
                           "outside the training range (beyond it by more than its width): ")
    assert re.search(r": \d+ in column 'pixel\d+' \(training: 0 to 16\) at line "
                     f"{len(levels) + 2}, ", line), line
    assert len(lines) == 1, lines
    answer = served(digits, frame)
    assert (answer["warning"] == "").tolist() == [True] * len(levels) + [False] * count
    assert answer["warning"].iloc[-1].endswith("is far outside the training range")


def test_extra_columns_warn_when_named_and_are_an_error_when_positional(digits, tmp_path,
                                                                        capsys):
    levels = pd.DataFrame(example(TrainedModel(folder_files(digits)).meta))
    levels.assign(label="7", source="scan").to_csv(tmp_path / "named.csv", index=False)
    code, out, lines = predict(digits, tmp_path / "named.csv", capsys=capsys)
    assert code == 0 and len(pd.read_csv(io.StringIO(out))) == len(levels)
    assert lines == [f"{WARNING}{tmp_path / 'named.csv'}: 2 columns this model does not "
                     "read, ignored: 'label', 'source'"]
    # A 192-pixel image to a 64-pixel model: never answered from its first 64 columns.
    wide = pd.DataFrame(np.zeros((2, 192), dtype=int), columns=[f"pixel{i}" for i in range(192)])
    wide.to_csv(tmp_path / "wide.csv", index=False)
    code, out, lines = predict(digits, tmp_path / "wide.csv", capsys=capsys)
    assert code == 2 and out == ""
    assert lines == [f"seqlab: error: {tmp_path / 'wide.csv'}: 192 columns pixel0 ... pixel191, "
                     "but this model reads 64 (pixel0 ... pixel63); give inputs of the size "
                     "it was trained on"]
    wide.to_csv(tmp_path / "headerless.csv", index=False, header=False)
    code, out, lines = predict(digits, tmp_path / "headerless.csv", capsys=capsys)
    assert code == 2 and len(lines) == 1
    assert "line 1 has 192 values, but this model reads 64 per row" in lines[0]


def test_missing_columns_are_named_and_nothing_else(digits, months, tmp_path, capsys):
    (tmp_path / "none.csv").write_text("id,colour\n1,red\n")
    code, _, lines = predict(digits, tmp_path / "none.csv", capsys=capsys)
    assert code == 2 and lines == [
        f"seqlab: error: {tmp_path / 'none.csv'}: no columns 'pixel0', 'pixel1', 'pixel2', "
        "'pixel3', 'pixel4' and 59 more"]
    assert len(lines[0]) < 300
    (tmp_path / "digits.txt").write_text("a seven\n")  # a text file to an image model
    code, _, lines = predict(digits, tmp_path / "digits.txt", capsys=capsys)
    assert code == 2 and lines == [
        f"seqlab: error: {tmp_path / 'digits.txt'}: a .txt file holds text, but this model "
        "reads the columns 'pixel0', 'pixel1', 'pixel2', 'pixel3', 'pixel4' and 59 more; give "
        "a CSV with those columns"]
    (tmp_path / "dates.csv").write_text("date\n" + "".join(f"2016-{m:02d}-01\n"
                                                           for m in range(1, 13)))
    code, _, lines = predict(months, tmp_path / "dates.csv", capsys=capsys)
    assert code == 2 and lines == [f"seqlab: error: {tmp_path / 'dates.csv'}: no column 'value'"]


def test_unknown_words_and_blank_lines(numbers, tmp_path, capsys):
    # (Not its example: its first test number is 0, and "zero" is truly never seen.)
    (tmp_path / "numbers.txt").write_text(
        "seventy-two\nhello world\n\ntwelve thousand\n\nfive\n\n")
    code, out, lines = predict(numbers, tmp_path / "numbers.txt", capsys=capsys)
    assert code == 0
    answers = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert len(answers) == 6  # six lines in, six answers out (the trailing blank: no line)
    texts = ["seventy-two", "hello world", "twelve thousand", "five"]
    given = TrainedModel(folder_files(numbers)).predict(pd.DataFrame({"text": texts}))
    each = given["output"].tolist()
    assert answers["output"].tolist() == [*each[:2], "", each[2], "", each[3]]
    assert warned(lines, "blank lines?, answered") == (
        f"{WARNING}{tmp_path / 'numbers.txt'}: 2 blank lines, answered with an empty row "
        "(lines 3, 5)")
    assert warned(lines, "never seen") == (
        f"{WARNING}{tmp_path / 'numbers.txt'}: 2 texts with words never seen in training "
        "(4 unknown: 'hello', 'world', 'twelve', 'thousand') (lines 2, 4)")
    assert len(lines) == 2, lines
    answer = served(numbers, pd.DataFrame({"text": ["seventy-two", "hello world"]}))
    assert answer["warning"].tolist() == ["", "unknown words: 'hello', 'world'"]
    # A blank text in a request (or a CSV) is still a one-line error: no line to line up.
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match=r"^request: row 2, column 'text': empty text$"):
        served(numbers, pd.DataFrame({"text": ["five", " "]}))


MONTHS = [f"2016-{m:02d}-01" for m in range(1, 13)]


def test_a_gap_names_the_option_that_fills_it(months, tmp_path, capsys):
    no_doubts(months)
    gap = "date,value\n" + "".join(f"{d},{i}\n" for i, d in enumerate(MONTHS) if i != 4)
    gap += "2017-01-01,12\n"
    (tmp_path / "gap.csv").write_text(gap)
    code, out, lines = predict(months, tmp_path / "gap.csv", capsys=capsys)
    assert code == 2 and out == ""
    assert lines == [f"seqlab: error: {tmp_path / 'gap.csv'}: 1 date missing after 2016-04-01; "
                     "give a row for every date, or fill the gaps by interpolation "
                     "(python -m seqlab.predict --fill-gaps interpolate)"]
    code, out, lines = predict(months, tmp_path / "gap.csv", "--fill-gaps", "interpolate",
                               capsys=capsys)
    assert code == 0, lines
    assert pd.read_csv(io.StringIO(out))["date"].tolist() == ["2017-02-01"]
    assert lines == [f"{WARNING}{tmp_path / 'gap.csv'}: 1 missing date filled by "
                     "interpolation: 2016-05-01"]
    # Filled, the series is the one with the value between given: the same forecast.
    whole = pd.DataFrame({"date": [*MONTHS[1:], "2017-01-01"],
                          "value": list(range(1, 13))}).astype(str)
    model = TrainedModel(folder_files(months))
    expected = model.predict(whole)["forecast"].item()
    assert pd.read_csv(io.StringIO(out))["forecast"].item() == pytest.approx(expected)


def test_a_series_far_outside_its_training_range(months, tmp_path, capsys):
    model = TrainedModel(folder_files(months))
    low, span = model.meta.raw["shift"][0], model.meta.raw["scale"][0]
    rows = pd.DataFrame({"date": MONTHS, "value": [low + span / 2] * 12})
    rows.loc[[3, 7], "value"] = low + 10 * span  # ten times the training range's width
    rows.to_csv(tmp_path / "far.csv", index=False)
    code, out, lines = predict(months, tmp_path / "far.csv", capsys=capsys)
    assert code == 0 and len(pd.read_csv(io.StringIO(out))) == 1
    far = f"{low + 10 * span:g} in column 'value' (training: {low:g} to {low + span:g})"
    assert lines == [f"{WARNING}{tmp_path / 'far.csv'}: 2 lines with values far outside the "
                     f"training range (beyond it by more than its width): {far} at line 5, "
                     f"{far} at line 9"]
    assert served(months, rows)["warning"].tolist() == [
        f"{far} is far outside the training range"]
