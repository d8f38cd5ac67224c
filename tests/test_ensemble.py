"""Ensembles as models: the members' answers averaged, saved as one model folder that
predicts and serves like any; a sweep (seeds=K ensemble=true, a search) hands one back,
scored once on test and logged as the sweep's parent run's model."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from torch import nn

from seqlab import ensemble, model_folder
from seqlab.data.processed import ProcessedData
from seqlab.errors import ConfigError
from seqlab.evaluation.validation import validation_scores
from seqlab.models import net_for_data
from seqlab.models.ensemble import Ensemble, averaging
from seqlab.predict.inputs import example
from seqlab.predict.trained import load
from tests.conftest import FAST, run_module, tiny


class Fixed(nn.Module):
    """A net that answers every input with the same row."""

    def __init__(self, row: list[float]) -> None:
        super().__init__()
        self.row = torch.tensor(row)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.row.expand(len(inputs), -1)


def test_classes_average_as_probabilities_and_values_as_they_are():
    first, second = [2.0, 0.0, -1.0], [-3.0, 1.0, 0.5]
    inputs = torch.zeros(4, 5, 1)
    mean = (torch.tensor(first).softmax(-1) + torch.tensor(second).softmax(-1)) / 2
    answer = Ensemble([Fixed(first), Fixed(second)], "probabilities")(inputs)
    assert torch.allclose(answer.softmax(-1), mean.expand(4, -1), atol=1e-6)
    assert torch.allclose(answer.exp(), mean.expand(4, -1), atol=1e-6)  # log-probabilities
    values = Ensemble([Fixed([1.0, 3.0]), Fixed([2.0, 5.0])], "values")(inputs)
    assert values.tolist() == [[1.5, 4.0]] * 4


def test_what_cannot_be_averaged_is_one_line():
    with pytest.raises(ConfigError, match="ensemble: a generation model decodes its answer "
                                          "token by token"):
        averaging("generation")
    with pytest.raises(ConfigError, match="ensemble: 1 member; an ensemble needs two or more"):
        Ensemble([Fixed([1.0])], "values")
    assert averaging("tagging") == "probabilities" and averaging("regression") == "values"


def test_an_ensemble_without_a_sweep_is_one_line(capsys):
    from seqlab.train import check_overrides

    with pytest.raises(SystemExit) as ended:
        check_overrides(["experiment=course_ex2", "ensemble=true"])
    assert ended.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "seqlab: error: ensemble=true: an ensemble averages a sweep's runs; add seeds=K, "
        "e.g. python -m seqlab.train experiment=course_ex2 ensemble=true seeds=5")


@pytest.fixture(scope="module")
def members(tmp_path_factory, prepared):
    """Two untrained nets of different kinds on course_ex2's data, saved as model folders."""
    root = tmp_path_factory.mktemp("members")
    folders = []
    for seed, cell in ((0, "gru"), (1, "fcn")):
        cfg = tiny("experiment=course_ex2", f"model.cell={cell}", "model.hidden_size=8")
        data_dir = prepared(cfg)
        torch.manual_seed(seed)
        net = net_for_data(cfg.model, ProcessedData.load(data_dir).meta).eval()
        folder = root / f"m{seed}"
        folder.mkdir()
        model_folder.write(folder, net, cfg, data_dir, [{"epoch": 1}], None)
        folders.append(folder)
    return folders, data_dir


def test_an_ensemble_folder_loads_and_predicts_the_members_mean(members, tmp_path):
    folders, data_dir = members
    target = ensemble.write(folders, tmp_path / "ensemble")
    saved = model_folder.read_config(target)
    assert [m.cell for m in saved.model.members] == ["gru", "fcn"]
    data = ProcessedData.load(data_dir)
    nets = [model_folder.build_net(model_folder.read_config(f).model, data.meta,
                                   f / "model.pt") for f in folders]
    both = model_folder.build_net(saved.model, data.meta, target / "model.pt")
    inputs = torch.from_numpy(data.inputs[:16])
    with torch.no_grad():
        mean = sum(net(inputs).softmax(-1) for net in nets) / 2
        assert torch.allclose(both(inputs).exp(), mean, atol=1e-5)
    # Raw inputs in, as `python -m seqlab.predict` and the served model answer them.
    model = load(str(target))
    raw = example(model.meta)
    answers = model.predict(raw)
    assert len(answers) == len(raw) and set(answers.columns) == {"label", "probability"}
    assert ((answers["probability"] > 0) & (answers["probability"] <= 1)).all()
    # Its validation is measured as training measures it: the share of right classes.
    # and its loss, what breaks a tie, the cross entropy of the averaged probabilities.
    rows = data.splits["val"]
    with torch.no_grad():
        probabilities = both(torch.from_numpy(data.inputs[rows])).exp()
    truth = torch.from_numpy(data.targets[rows])
    right = (probabilities.argmax(-1) == truth).float().mean()
    entropy = -probabilities[torch.arange(len(truth)), truth].log().mean()
    acc, loss = validation_scores(both, data, "acc", per_step=False)
    assert acc == pytest.approx(float(right)) and loss == pytest.approx(float(entropy), 1e-5)


def test_validation_ranks_by_the_headline_then_the_loss():
    from seqlab.sweeps.ensemble import ranking

    folds = {"a": [(1.0, 0.30), (1.0, 0.10)], "b": [(1.0, 0.05), (1.0, 0.05)],
             "c": [(0.9, 0.01), (1.0, 0.01)]}
    # accuracy, higher first; two nets with every class right: the lower loss first
    assert sorted(folds, key=lambda n: ranking(folds[n], True)) == ["b", "a", "c"]
    mse = {"a": [(0.2, 0.2)], "b": [(0.1, 0.1)]}
    assert sorted(mse, key=lambda n: ranking(mse[n], False)) == ["b", "a"]


def test_members_of_other_data_are_refused(members, tmp_path):
    folders, _ = members
    other = tmp_path / "other"
    other.mkdir()
    for name in ("model.pt", "config.yaml"):
        (other / name).write_bytes((folders[1] / name).read_bytes())
    meta = json.loads((folders[1] / "meta.json").read_text())
    meta["name"] = "another"
    (other / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="were trained on different data"):
        ensemble.write([folders[0], other], tmp_path / "ensemble")
    assert not (tmp_path / "ensemble").exists()


@pytest.mark.slow  # a sweep of two trainings, then the ensemble logged to its parent
def test_seeds_with_ensemble_hand_back_one_model_beside_its_members(tmp_path):
    from mlflow import MlflowClient

    store = f"sqlite:///{tmp_path}/mlflow.db"
    done = run_module(
        "seqlab.train", "experiment=course_ex2", "optim.max_epochs=2", "seeds=2",
        "ensemble=true", *[o for o in FAST if not o.startswith("tracking")],
        f"tracking.uri={store}", f"tracking.artifact_root={tmp_path}/artifacts",
        f"hydra.sweep.dir={tmp_path}/sweep", env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    sweep = tmp_path / "sweep"
    kept = sweep / "ensemble"
    assert "seqlab: ensemble of 2 (job " in done.stderr
    assert "the ensemble is kept" in done.stderr
    cfg = model_folder.read_config(kept / "model")
    assert len(cfg.model.members) == 2
    assert sorted(cfg.ensemble_of) == [str(sweep / job / "model") for job in ("0", "1")]
    # The table: the ensemble beside each member, validation measured as training did.
    table = (kept / "ensemble.md").read_text()
    for job in ("0", "1"):
        chosen = json.loads((sweep / job / "model" / "selection.json").read_text())
        own = json.loads((sweep / job / "metrics.json").read_text())["headline"]["value"]
        assert f"| job {job} | {chosen['validation']:.4g} | {own:.4g} |" in table
    # Each member's own command line, the sweep's settings left out.
    reruns = [line for line in table.splitlines() if line.startswith("python -m seqlab.train ")]
    assert len(reruns) == 2
    assert not any(" ensemble=" in line or " hydra." in line for line in reruns)
    assert any("seed=1" in line and line.endswith("# job 1") for line in reruns)
    metrics = json.loads((kept / "metrics.json").read_text())
    assert metrics["model"] == "Ensemble" and metrics["headline"]["metric"] == "test/acc"
    assert f"| **ensemble** | {metrics['selection']['validation']:.4g} | " \
           f"{metrics['headline']['value']:.4g} |" in table
    # Logged as the parent run's model: predict answers from its run id as from the folder.
    client = MlflowClient(store)
    parent_id = (sweep / "parent_run_id").read_text().strip()
    parent = client.get_run(parent_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["test/acc"] == pytest.approx(metrics["headline"]["value"])
    assert parent.data.tags["selection.metric"] == "selected/val/acc"
    raw = example(load(str(kept)).meta)
    raw.to_csv(tmp_path / "in.csv", index=False)
    env = {**os.environ, "MLFLOW_TRACKING_URI": store, "OMP_NUM_THREADS": "1"}
    answered = run_module("seqlab.predict", parent_id, "--input", str(tmp_path / "in.csv"),
                          env=env, timeout=120)
    assert answered.returncode == 0, answered.stderr[-2000:]
    from_folder = load(str(kept)).predict(raw)
    lines = answered.stdout.strip().splitlines()
    assert lines[0] == "label,probability" and len(lines) == len(raw) + 1
    assert [line.split(",")[0] for line in lines[1:]] == [str(v) for v in from_folder["label"]]
    assert np.allclose([float(line.split(",")[1]) for line in lines[1:]],
                       from_folder["probability"])


def test_an_ensemble_in_a_search_is_refused_before_any_trial(capsys):
    from omegaconf import OmegaConf

    from seqlab.sweeps.ensemble import check_sweep

    search = {"_target_": "hydra_plugins.seqlab_optuna_sweeper.sweeper.OptunaSweeper"}
    with pytest.raises(ConfigError, match="set search.ensemble=<k> instead"):
        check_sweep(OmegaConf.create({"ensemble": True, "hydra": {"sweeper": search}}))
    check_sweep(OmegaConf.create({"ensemble": False, "hydra": {"sweeper": search}}))
    check_sweep(OmegaConf.create({"ensemble": True, "hydra": {"sweeper": {
        "_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"}}}))


@pytest.mark.slow  # a sweep of two backtests
def test_a_backtest_s_runs_are_averaged_fold_by_fold(tmp_path):
    done = run_module(
        "seqlab.train", "experiment=course_ex1", "optim.max_epochs=2",
        "dataset.backtest_folds=2", "seeds=2", "ensemble=true", *FAST,
        f"hydra.sweep.dir={tmp_path}/sweep", env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    kept = tmp_path / "sweep" / "ensemble"
    for fold in (kept / "folds" / "fold1", kept / "model"):  # each fold's members averaged
        members = model_folder.read_config(fold).model.members
        assert len(members) == 2
    first = model_folder.read_config(kept / "folds" / "fold1")
    assert first.dataset.backtest_fold == 1 and sorted(first.ensemble_of) == [
        str(tmp_path / "sweep" / job / "folds" / "fold1") for job in ("0", "1")]
    metrics = json.loads((kept / "metrics.json").read_text())
    assert metrics["backtest"]["folds"] == 2 and "test/fold2/mase" in metrics["test"]
