"""Predictions on raw inputs: for every task, the test split given raw, as the dataset's
own files hold it, gets exactly the answers the evaluation scored."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from num2words import num2words

from seqlab.config import compose, instantiate
from seqlab.data.processed import ProcessedData
from seqlab.data.tagged_text import read_token_tag
from seqlab.data.text_pairs import split_rows
from seqlab.data.vocab import Vocab
from seqlab.errors import DataError, run_cli
from seqlab.layout import META_FILE, SERIES_FILE
from seqlab.model_folder import files as folder_files
from seqlab.pipeline import load_model
from seqlab.predict.__main__ import main
from seqlab.predict.files import read
from seqlab.predict.inputs import example
from seqlab.predict.trained import TrainedModel
from seqlab.tasks import task_of
from tests.conftest import FAST, REPO, run_module, tiny
from tests.test_synchronous import SMALL_VIDEOS
from tests.test_tagged_text import token_tag_file
from tests.test_text_classification import csv_rows, csv_text

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread
# Forecasts equal the scored ones to float32 rounding: a batch of one input and the test
# split's batch take different BLAS kernels, whose sums differ in the last bit.
ULPS = {"rtol": 4e-7, "atol": 0}
SMALL_NET = ["optim.max_epochs=1", "model.hidden_size=8"]


class Trained:
    """A tiny run of a preset: its output folder, data, and the answers it was scored on."""

    def __init__(self, cfg, out: Path, run, prepared, cache) -> None:
        self.cfg, self.out = cfg, out
        self.result = run(cfg, out)
        self.data_dir = prepared(cfg)
        self.data = ProcessedData.load(self.data_dir)
        _, net = load_model(out / "model", self.data)
        self.scored = task_of(self.data.meta.task).predict(net, self.data, "test")
        self.model = TrainedModel(folder_files(out))
        self.raw_dir = cache.raw_root / self.data_dir.parent.name

    @property
    def meta(self):
        return self.data.meta

    def test_rows(self) -> np.ndarray:
        return self.data.splits["test"]


@pytest.fixture
def trained(run, prepared, cache, tmp_path):
    return lambda *overrides: Trained(tiny(*overrides), tmp_path / "run", run, prepared, cache)


def test_forecasts_from_raw_windows_are_the_scored_ones_in_original_units(trained):
    t = trained("experiment=course_ex1", *SMALL_NET)
    series = pd.read_csv(t.raw_dir / "elec_equip" / SERIES_FILE, dtype=str)
    window = t.cfg.dataset.window
    scored = t.meta.unscale(t.scored)
    for i, row in enumerate(t.test_rows()):
        target = int(t.data.extras["target_pos"][row])
        answer = t.model.predict(series.iloc[target - window : target])
        assert list(answer.columns) == ["date", "forecast"]
        assert answer["date"].item() == t.meta.dates[target]  # the month after the input
        np.testing.assert_allclose(answer["forecast"].item(), scored[i], **ULPS)
    # Calendar order is the only order: reversed rows are refused, not silently used.
    with pytest.raises(DataError, match="earlier than .* sort the rows by date"):
        t.model.predict(series.iloc[:window].iloc[::-1])


def test_own_series_with_input_columns_and_a_date_format(trained, tmp_path):
    rng = np.random.default_rng(0)
    months = pd.date_range("2000-01-01", periods=80, freq="MS")
    sales = 100 + 10 * np.sin(np.arange(80) / 2) + rng.normal(0, 1, 80)
    table = pd.DataFrame({"Month": months.strftime("%m/%Y"), "Sales": sales.round(2),
                          "Promo": rng.integers(0, 50, 80)})
    table.to_csv(tmp_path / "sales.csv", index=False)
    t = trained("experiment=course_ex1", "dataset=csv_series", f"dataset.path={tmp_path}/sales.csv",
                "dataset.date_column=Month", "dataset.value_column=Sales",
                "dataset.input_columns=[Promo]", "dataset.date_format=%m/%Y",
                "dataset.window=6", *SMALL_NET)
    scored = t.meta.unscale(t.scored)
    for i, row in enumerate(t.test_rows()):
        target = int(t.data.extras["target_pos"][row])
        answer = t.model.predict(table.iloc[target - 6 : target].astype(str))
        np.testing.assert_allclose(answer["forecast"].item(), scored[i], **ULPS)
        # The date forecast, written as the input's dates are (dataset.date_format).
        assert answer["date"].item() == months[target].strftime("%m/%Y")
    # A date the format does not read, and a missing column, are one line each.
    bad = table.iloc[:6].astype(str).copy()
    bad.loc[3, "Month"] = "2003-04"
    with pytest.raises(DataError, match=r"line 5, column 'Month': '2003-04' is not a date"):
        t.model.predict(bad)
    with pytest.raises(DataError, match="no column 'Promo'$"):
        t.model.predict(table.iloc[:6, :2])


def test_per_step_forecasts_from_raw_chunks(trained):
    t = trained("experiment=sunspots_steps", *SMALL_NET)
    series = pd.read_csv(t.raw_dir / "sunspots" / SERIES_FILE, dtype=str)
    positions = t.data.extras["target_pos"][t.test_rows()]
    answers = pd.concat([t.model.predict(series.iloc[p[p >= 0][0] - 1 : p[p >= 0][-1]])
                         for p in positions])
    np.testing.assert_allclose(answers["forecast"], t.meta.unscale(t.scored), **ULPS)
    assert answers["date"].tolist() == [t.meta.dates[p] for p in positions[positions >= 0]]


@pytest.mark.slow  # predict processes
def test_classes_of_raw_pixel_levels(trained, tmp_path):
    t = trained("experiment=course_ex2", *SMALL_NET)
    levels = np.rint(t.data.inputs[t.test_rows()].reshape(len(t.test_rows()), -1) * 16)
    frame = pd.DataFrame(levels.astype(int), columns=[f"pixel{i}" for i in range(64)])
    frame.insert(0, "id", [f"img{i}" for i in range(len(frame))])
    answer = t.model.predict(frame)
    assert list(answer.columns) == ["id", "label", "probability"]
    assert answer["id"].tolist() == frame["id"].tolist()
    assert answer["label"].tolist() == [t.meta.classes[c] for c in t.scored]
    assert ((answer["probability"] > 0) & (answer["probability"] <= 1)).all()
    # The levels as the data holds them, one image a line, without a header line.
    (tmp_path / "digits.csv").write_text("\n".join(",".join(map(str, r)) for r in
                                                   levels.astype(int)) + "\n")
    rows, place = read(tmp_path / "digits.csv", t.meta)
    assert t.model.predict(rows, place)["label"].tolist() == answer["label"].tolist()
    (tmp_path / "short.csv").write_text("0,1,2\n")
    with pytest.raises(DataError, match="line 1 has 3 values, but this model reads 64"):
        read(tmp_path / "short.csv", t.meta)


def test_classes_of_raw_numeric_sequences(trained):
    t = trained("experiment=japanese_vowels", "optim.max_epochs=1")
    with np.load(t.raw_dir / "japanese_vowels" / "japanese_vowels.npz") as raw:
        values, lengths = raw["values"], raw["lengths"]
    rows = t.test_rows()
    frame = pd.DataFrame(np.concatenate([values[r, : lengths[r]] for r in rows]),
                         columns=[f"dim_{i}" for i in range(12)])
    frame.insert(0, "id", np.repeat(rows, lengths[rows]))
    answer = t.model.predict(frame)
    assert answer["id"].tolist() == rows.tolist()
    assert answer["label"].tolist() == [t.meta.classes[c] for c in t.scored]


def test_classes_of_raw_texts(trained, tmp_path):
    path = tmp_path / "reviews.csv"
    rows = csv_rows()
    path.write_text(csv_text(rows))
    t = trained("experiment=imdb", "dataset=csv_text", f"dataset.path={path}",
                "model.embed_size=8", *SMALL_NET)
    texts = [rows[r][0] for r in t.test_rows()]  # every row kept, in file order
    answer = t.model.predict(pd.DataFrame({"text": texts + ["words never seen zzyzx"]}))
    assert answer["label"].tolist()[:-1] == [t.meta.classes[c] for c in t.scored]
    assert answer["label"].iloc[-1] in t.meta.classes  # unknown words: the unknown token
    (tmp_path / "texts.txt").write_text("\n\n".join(texts) + "\n")  # blank: an empty answer
    rows, place = read(tmp_path / "texts.txt", t.meta)
    labels = t.model.predict(rows, place)["label"].tolist()
    assert labels[::2] == answer["label"].tolist()[:-1] and set(labels[1::2]) == {None}
    assert place.at(2) == f"{tmp_path / 'texts.txt'}: line 3"


@pytest.mark.parametrize("chars", ["16", "null"], ids=["with characters", "words only"])
def test_tags_of_raw_sentences(trained, tmp_path, chars):
    path = tmp_path / "tags.txt"
    path.write_text(token_tag_file())
    t = trained("experiment=pos_tagging", "dataset=tagged_text", f"dataset.path={path}",
                f"dataset.chars_per_word={chars}", "model.embed_size=8", *SMALL_NET)
    assert (t.data.inputs.ndim == 3) == (chars != "null")
    sentences = read_token_tag(path)
    spec = t.cfg.dataset
    test = split_rows(len(sentences), spec.test_fraction, spec.val_fraction, spec.seed)["test"]
    words = [sentences[i][0] for i in test]
    answer = t.model.predict(pd.DataFrame({"sentence": [" ".join(w) for w in words]}))
    assert list(answer.columns) == ["sentence", "token", "tag"]
    assert answer["token"].tolist() == [w for ws in words for w in ws]
    assert answer["tag"].tolist() == [t.meta.classes[c] for c in t.scored]
    # The same sentences as CoNLL-U (no tags needed) and as a text file.
    conllu = "\n".join("\n".join(f"{i}\t{w}" + "\t_" * 8 for i, w in enumerate(ws, 1)) + "\n"
                       for ws in words)
    (tmp_path / "words.conllu").write_text(conllu)
    (tmp_path / "words.txt").write_text("\n".join(" ".join(ws) for ws in words))
    for name in ("words.conllu", "words.txt"):
        rows, place = read(tmp_path / name, t.meta)
        assert t.model.predict(rows, place)["tag"].tolist() == answer["tag"].tolist()


def test_tags_of_raw_frames(trained):
    t = trained("experiment=video_frames", *SMALL_VIDEOS, *SMALL_NET)
    rows, lengths = t.test_rows(), t.data.lengths[t.test_rows()]
    frames = np.concatenate([t.data.inputs[r, :n] * 16 for r, n in zip(rows, lengths,
                                                                       strict=True)])
    frame = pd.DataFrame(frames, columns=[f"pixel{i}" for i in range(64)])
    frame.insert(0, "id", np.repeat(rows, lengths))
    answer = t.model.predict(frame)
    assert list(answer.columns) == ["id", "step", "tag"]
    assert answer["tag"].tolist() == [t.meta.classes[c] for c in t.scored]


def test_translations_of_raw_number_words(trained):
    t = trained("experiment=translate_numbers", "dataset.max_number=300", *SMALL_NET)
    vocab = Vocab(t.meta.target_vocab, t.meta.target_level)
    numbers = t.test_rows()  # row n is the number n
    answer = t.model.predict(pd.DataFrame({"text": [num2words(int(n)) for n in numbers]}))
    assert answer["output"].tolist() == [vocab.decode(ids) for ids in t.scored]


def test_captions_of_raw_images(trained):
    t = trained("experiment=captions", "dataset.train_strips=60", "dataset.val_strips=10",
                "dataset.test_strips=12", *SMALL_NET)
    vocab = Vocab(t.meta.target_vocab, t.meta.target_level)
    levels = np.rint(t.data.inputs[t.test_rows()] * 16).reshape(len(t.test_rows()), -1)
    frame = pd.DataFrame(levels, columns=[f"pixel{i}" for i in range(levels.shape[1])])
    assert t.model.predict(frame)["output"].tolist() == [vocab.decode(i) for i in t.scored]


@pytest.mark.slow  # predict processes
def test_the_command_reads_files_and_answers_in_csv(trained, tmp_path):
    t = trained("experiment=translate_numbers", "dataset.max_number=300", *SMALL_NET)
    (tmp_path / "numbers.txt").write_text("\nseventy-two\n\nTWO HUNDRED AND FIVE\n")
    done = run_module("seqlab.predict", str(tmp_path / "run"), "--input",
                      str(tmp_path / "numbers.txt"), "--set", "model.decoding.strategy=beam")
    assert done.returncode == 0, done.stderr
    answers = pd.read_csv(io.StringIO(done.stdout))
    beam = TrainedModel(folder_files(tmp_path / "run"), ["model.decoding.strategy=beam"])
    expected = beam.predict(pd.DataFrame({"text": ["seventy-two", "TWO HUNDRED AND FIVE"]}))
    first, second = expected["output"].tolist()  # a blank line: an empty answer of its own
    assert answers["output"].fillna("").tolist() == ["", first, "", second]
    # --output writes the same CSV; the raw example of the data's meta is valid input.
    example(t.meta).to_csv(tmp_path / "example.csv", index=False)
    done = run_module("seqlab.predict", str(tmp_path / "run" / "model"), "--input",
                      str(tmp_path / "example.csv"), "--output", str(tmp_path / "out.csv"))
    assert done.returncode == 0 and done.stdout == "", done.stderr
    assert list(pd.read_csv(tmp_path / "out.csv").columns) == ["output"]


@pytest.fixture(scope="module")
def course_ex1_run(run, prepared, cache, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("course_ex1") / "run"
    Trained(tiny("experiment=course_ex1", "optim.max_epochs=1", "model.hidden_size=2"), out,
            run, prepared, cache)
    return out


MONTHS = [f"2016-{m:02d}-01" for m in range(1, 13)]


@pytest.mark.parametrize(("content", "message"), [
    ("date,value\n2016-01-01,1\n", "1 rows, but the model reads the last 12; give at least"),
    ("Month,Sales\n" + "2016-01-01,1\n" * 12, "no columns 'date', 'value'$"),
    ("date,value\n" + "".join(f"{d},{i}\n" for i, d in enumerate(MONTHS[:-1]))
     + "2016-12-01,twelve\n", r"line 13, column 'value': 'twelve' is not a finite number"),
    ("date,value\n" + "".join(f"{d},{i}\n" for i, d in enumerate(MONTHS[:-1]))
     + "2016-13-01,12\n", r"line 13, column 'date': '2016-13-01' is not a date"),
    ("date,value\n" + "".join(f"{d},{i}\n" for i, d in enumerate(MONTHS) if i != 4)
     + "2017-01-01,1\n", "1 date missing after 2016-04-01"),
])
def test_bad_inputs_are_one_line_naming_file_line_and_column(course_ex1_run, tmp_path,
                                                              content, message, capsys):
    (tmp_path / "in.csv").write_text(content)
    with pytest.raises(SystemExit) as exited:  # the command's own error handling, in-process
        run_cli(lambda: main([str(course_ex1_run), "--input", str(tmp_path / "in.csv")]))
    out, err = capsys.readouterr()
    assert exited.value.code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"seqlab: error: {tmp_path / 'in.csv'}")
    assert re.search(message, err), err


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_the_served_model_refuses_non_finite_values_in_one_line(course_ex1_run, bad):
    """What `mlflow models serve` answers with a 400 (MLflow's invalid-parameter error):
    never NaN in a 200 body, which is not JSON."""
    from types import SimpleNamespace

    from mlflow.exceptions import MlflowException

    from seqlab.predict.served_model import CONFIG, META, WEIGHTS, ServedNet

    model = course_ex1_run / "model"
    served = ServedNet()
    served.load_context(SimpleNamespace(artifacts={
        WEIGHTS: str(model / "model.pt"), CONFIG: str(model / "config.yaml"),
        META: str(model / META_FILE)}))
    rows = pd.DataFrame({"date": MONTHS, "value": [float(i) for i in range(12)]})
    assert np.isfinite(served.predict(None, rows)["forecast"]).all()
    rows.loc[4, "value"] = bad
    with pytest.raises(MlflowException) as refused:
        served.predict(None, rows)
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    message = refused.value.message
    assert "\n" not in message and "row 5, column 'value'" in message, message
    assert "is not a finite number" in message, message


OWN_MODEL = '''
import torch
from torch import nn


class MeanNet(nn.Module):
    """The mean of the steps, then a linear layer: a user's own many-to-one net."""

    def __init__(self, input_size, output_size, width=8):
        super().__init__()
        self.body = nn.Linear(input_size, width)
        self.head = nn.Linear(width, output_size)

    def forward(self, inputs):
        return self.head(torch.relu(self.body(inputs)).mean(dim=1))
'''


@pytest.mark.slow  # training and predict processes
def test_a_model_of_the_users_own_code_predicts_from_another_folder(tmp_path, run, prepared,
                                                                    cache, monkeypatch):
    code = tmp_path / "project"
    code.mkdir()
    (code / "my_models.py").write_text(OWN_MODEL)
    monkeypatch.syspath_prepend(str(code))
    store = tmp_path / "store"
    # model=own from a preset: the preset's keys for its own LSTM are not passed to it.
    cfg = compose(["experiment=course_ex1", "optim.max_epochs=2", "model=own",
                   "model._target_=my_models.MeanNet", "++model.width=4", *FAST,
                   "tracking.enabled=true",
                   f"tracking.uri=sqlite:///{store}/mlflow.db",
                   f"tracking.artifact_root={store}/artifacts"])
    t = Trained(cfg, tmp_path / "run", run, prepared, cache)
    assert (t.out / "model" / "code" / "my_models.py").is_file()
    assert t.model.net.body.out_features == 4
    from mlflow.tracking import MlflowClient

    tags = MlflowClient(f"sqlite:///{store}/mlflow.db").get_run(t.result["mlflow_run_id"]).data.tags
    assert tags["code.own"] == "my_models.py"  # the user's code is in the run's lineage
    assert tags["code.own.sha256"] == hashlib.sha256(
        b"my_models.py" + OWN_MODEL.encode()).hexdigest()
    rows = example(t.meta)
    rows.to_csv(tmp_path / "example.csv", index=False)
    expected = t.model.predict(rows)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for model in (str(t.out), t.result["mlflow_run_id"]):
        done = run_module("seqlab.predict", model, "--input", str(tmp_path / "example.csv"),
                          cwd=elsewhere, env={**env, "SEQLAB_ROOT": str(REPO),
                                              "MLFLOW_TRACKING_URI": f"sqlite:///{store}/mlflow.db"})
        assert done.returncode == 0, done.stderr
        assert done.stdout == expected.to_csv(index=False)
    meta = json.loads((t.out / "model" / META_FILE).read_text())
    assert meta["raw"]["format"] == "series"
    assert instantiate(t.cfg.dataset, "dataset").window == meta["raw"]["window"]
