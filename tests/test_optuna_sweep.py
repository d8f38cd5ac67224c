"""An Optuna search (`-m search=...`): a resumable study of the headline metric in
its own direction, trials pruned from their validation epochs, the best on the parent run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import optuna
import pandas as pd
import pytest
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from hydra_plugins.seqlab_optuna_sweeper import sweeper
from hydra_plugins.seqlab_optuna_sweeper._space import format_value, parse_space
from seqlab.config import compose
from seqlab.errors import ConfigError
from seqlab.sweeps.pruning import PRUNED_ATTR, PRUNER_ATTR, Pruned, monitored, reporter
from tests.conftest import FAST, run_module

# The slow tier: studies of several training processes.
pytestmark = pytest.mark.slow

SEARCH = ["search=course_ex2", "experiment=course_ex2", "optim.max_epochs=2", *FAST]


def search(tmp_path: Path, run: str, *overrides: str):
    """`python -m seqlab.train -m` with the course_ex2 search, its study in tmp_path."""
    return run_module("seqlab.train", "-m", *SEARCH, *overrides,
                      f"hydra.sweeper.storage=sqlite:///{tmp_path}/optuna.db",
                      f"hydra.sweep.dir={tmp_path}/{run}", timeout=300,
                      env={**os.environ, "OMP_NUM_THREADS": "1"})


def load(tmp_path: Path, name: str | None = None) -> optuna.Study:
    """The study `name`, else the storage's one study (its name hashes the overrides)."""
    storage = f"sqlite:///{tmp_path}/optuna.db"
    if name is None:
        [name] = optuna.get_all_study_names(storage)
    return optuna.load_study(study_name=name, storage=storage)


def states(study: optuna.Study) -> list[str]:
    return [trial.state.name for trial in study.get_trials()]


# -- end to end ---------------------------------------------------------------------------

def test_an_interrupted_study_runs_only_its_missing_trials(tmp_path):
    tracked = ["tracking.enabled=true", f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
               f"tracking.artifact_root={tmp_path}/artifacts", "tracking.log_model=false"]
    first = search(tmp_path, "first", "hydra.sweeper.n_trials=2", *tracked)
    assert first.returncode == 0, first.stderr[-3000:]
    study = load(tmp_path)
    assert_best_on_parent(tmp_path, tmp_path / "first", study)
    assert study.direction.name == "MAXIMIZE"  # the headline, acc
    assert states(study) == ["COMPLETE", "COMPLETE"]
    for trial in study.trials:  # each value is its run's best validation headline
        out = tmp_path / "first" / str(trial.number)
        metrics = json.loads((out / "metrics.json").read_text())
        selection = metrics["selection"]
        history = pd.read_csv(out / "model" / "history.csv").set_index("epoch")
        assert selection["metric"] == "val/acc"  # what kept the weights, too
        assert trial.value == history.loc[selection["epoch"], "val/acc"] == \
            history["val/acc"].max()
        assert "test" not in metrics and "headline" not in metrics  # the test split unread
        assert set(trial.params) == {"model.cell", "model.hidden_size", "optim.lr"}
        assert trial.params["model.cell"] in ("rnn", "lstm", "gru")
        assert metrics["cell"] == trial.params["model.cell"]
        assert len(trial.intermediate_values) == 2  # one per epoch
    # The study's answer, its best trial, is scored on test once, as the parent's model.
    answer = json.loads((tmp_path / "first" / "ensemble" / "metrics.json").read_text())
    assert answer["selection"]["validation"] == pytest.approx(study.best_value)
    assert answer["headline"]["metric"] == "test/acc"
    study.ask()  # what a killed sweep leaves: a trial RUNNING that nobody runs

    second = search(tmp_path, "second", "hydra.sweeper.n_trials=4")
    assert second.returncode == 0, second.stderr[-3000:]
    assert states(load(tmp_path)) == ["COMPLETE", "COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]

    third = search(tmp_path, "third", "hydra.sweeper.n_trials=4")
    assert third.returncode == 0, third.stderr[-3000:]
    assert "4 of 4 trials done, 0 to run" in third.stdout
    study = load(tmp_path)
    assert len(study.trials) == 5
    best = OmegaConf.load(tmp_path / "third" / sweeper.RESULTS_FILE)
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert best.objective == "val/acc"
    assert best.best_value == max(t.value for t in complete) == study.best_value
    assert best.best_params == study.best_params


def assert_best_on_parent(tmp_path: Path, sweep_dir: Path, study: optuna.Study) -> None:
    """The sweep's parent run holds the best trial's parameters and value, and the plots."""
    from mlflow import MlflowClient

    from seqlab.sweeps.parent import parent_id

    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    run_id = parent_id(sweep_dir)
    parent = client.get_run(run_id).data
    assert parent.params == {f"best.{k}": str(v) for k, v in study.best_params.items()}
    assert parent.metrics["best.val/acc"] == pytest.approx(study.best_value)
    plots = {Path(a.path).name for a in client.list_artifacts(run_id, "optuna")}
    assert plots == {"optimization_history.png", "param_importances.png",
                     "intermediate_values.png"}


def test_a_hopeless_trial_is_pruned(tmp_path):
    """A trial whose learning rate is too small to learn against one that learns: the
    median pruner, allowed to prune after one epoch, stops it after its second."""
    pinned = ["optim.max_epochs=3", "model.cell=lstm", "model.hidden_size=32",
              "hydra.sweeper.pruner.n_startup_trials=1", "hydra.sweeper.pruner.n_warmup_steps=1",
              "hydra.sweeper.study_name=prune"]  # one study for two learning rates
    good = search(tmp_path, "good", *pinned, "optim.lr=0.01", "hydra.sweeper.n_trials=1")
    assert good.returncode == 0, good.stderr[-3000:]
    hopeless = search(tmp_path, "hopeless", *pinned, "optim.lr=1e-7",
                      "hydra.sweeper.n_trials=2")
    assert hopeless.returncode == 0, hopeless.stderr[-3000:]
    study = load(tmp_path)
    assert states(study) == ["COMPLETE", "PRUNED"]
    assert study.trials[1].user_attrs[PRUNED_ATTR] == 2  # its epochs: 1 (warm-up), 2
    assert not (tmp_path / "hopeless" / "1" / "metrics.json").exists()  # never evaluated


def test_a_bad_search_range_is_one_line_before_any_trial(tmp_path):
    done = search(tmp_path, "bad", "model.cell=choice(rnn,mamba)", "hparams_search=course_ex2")
    assert done.returncode == 2
    # The old name of the search group works, and says the new one.
    assert "hparams_search=<name> is now search=<name>; the old name still works" in (
        done.stdout + done.stderr)
    assert done.stderr.strip().splitlines()[-1] == (
        "seqlab: error: search space model.cell=mamba: model.cell: 'mamba' is not one of: "
        "rnn, lstm, gru, transformer, tcn, fcn, resnet")
    assert not (tmp_path / "optuna.db").exists()


# -- the parts ----------------------------------------------------------------------------

def test_hydra_finds_the_sweeper():
    from hydra.core.config_store import ConfigStore
    from hydra.core.plugins import Plugins
    from hydra.plugins.sweeper import Sweeper

    found = {f"{c.__module__}.{c.__name__}" for c in Plugins.instance().discover(Sweeper)}
    assert "hydra_plugins.seqlab_optuna_sweeper.sweeper.OptunaSweeper" in found
    assert "optuna.yaml" in ConfigStore.instance().list("hydra/sweeper")


@pytest.mark.parametrize(("experiment", "direction", "expected"), [
    ("course_ex2", None, ("acc", "maximize")),
    ("course_ex1", None, ("mse", "minimize")),  # an error metric
    ("course_ex2", "minimize", ("acc", "minimize")),  # as the user says
])
def test_the_direction_follows_the_headline(experiment, direction, expected):
    search = sweeper.OptunaSweeper(n_trials=1, n_jobs=None, direction=direction,
                                   study_name=None, storage=None, sampler=None, pruner=None,
                                   params=None)
    search.config = compose([f"experiment={experiment}"])
    assert search._objective() == expected


def test_the_search_space_in_hydras_grammar():
    config = compose(["experiment=course_ex2"])
    space = parse_space(
        {"model.cell": "choice(rnn, lstm, gru)", "model.hidden_size": "interval(8, 64)",
         "optim.lr": "tag(log, interval(1e-4, 1e-1))", "optim.batch_size": "32",
         "model.num_layers": "range(1, 4)", "dataset.val_fraction": "range(0.1, 0.3, step=0.1)"},
        ["experiment=course_ex2", "model.num_layers=2", "optim.weight_decay=choice(0,1e-4)"],
        config)
    dists = space.distributions
    assert dists["model.cell"] == CategoricalDistribution(["rnn", "lstm", "gru"])
    assert dists["model.hidden_size"] == IntDistribution(8, 64)  # the config's is whole
    assert dists["optim.lr"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert dists["dataset.val_fraction"] == FloatDistribution(0.1, 0.2, step=0.1)
    assert dists["optim.weight_decay"] == CategoricalDistribution([0, 1e-4])  # command line
    assert "model.num_layers" not in dists  # pinned on the command line
    assert space.fixed == ["optim.batch_size=32", "experiment=course_ex2", "model.num_layers=2"]
    assert space.overrides({"model.cell": "gru", "optim.lr": 0.001})[-2:] == [
        "model.cell=gru", "optim.lr=0.001"]
    assert [format_value(v) for v in ("true", "1", "it's", None, False)] == [
        "'true'", "'1'", "'it\\'s'", "null", "false"]


@pytest.mark.parametrize(("params", "message"), [
    ({"optim.lr": "interva(1, 2)"}, "search space: cannot parse 'optim.lr=interva(1, 2)'"),
    ({"optim.lr": "interval(0.1, 0.01)"},
     "search space optim.lr=interval(0.1, 0.01): `low <= high` must hold"),
    ({"optim.lr": "tag(log, interval(0, 1))"},
     "search space optim.lr=tag(log, interval(0, 1)): `low > 0` must hold for `log=True`"),
    ({"optim.lr": "shuffle(choice(1, 2))"},
     "search space optim.lr=shuffle(choice(1, 2)): not a range the optuna sweeper knows"),
    ({"model.hidden_size": "range(8, 4)"},
     "search space model.hidden_size=range(8, 4): the range is empty"),
])
def test_a_bad_range_is_a_config_error(params, message):
    with pytest.raises(ConfigError) as raised:
        parse_space(params, [], compose(["experiment=course_ex2"]))
    assert str(raised.value).startswith(message)


def test_a_trial_reports_its_epochs_and_is_pruned_when_worse(tmp_path):
    storage = f"sqlite:///{tmp_path}/optuna.db"
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    study.set_user_attr(PRUNER_ATTR, {"_target_": "optuna.pruners.MedianPruner",
                                      "n_startup_trials": 1, "n_warmup_steps": 1})
    study.set_user_attr("seqlab.headline", "acc")
    good = study.ask()
    for step, acc in enumerate([0.3, 0.6, 0.8]):
        good.report(acc, step)
    study.tell(good, 0.8)
    number = study.ask().number

    assert reporter(OmegaConf.create({"trial": None})) is None
    report = reporter(OmegaConf.create({"trial": {"study": "s", "storage": storage,
                                                  "number": number}}))
    report({"epoch": 1, "train/loss": 2.3, "val/loss": 2.3, "val/acc": 0.1})  # warming up
    with pytest.raises(Pruned, match="trial 1 of study 's' pruned after epoch 2"):
        report({"epoch": 2, "train/loss": 2.3, "val/loss": 2.3, "val/acc": 0.1})
    trial = load(tmp_path, "s").trials[number]
    assert trial.intermediate_values == {0: 0.1, 1: 0.1}
    assert trial.user_attrs[PRUNED_ATTR] == 2


def test_the_pruned_value_is_the_headline_or_the_signed_loss():
    epoch = {"epoch": 3, "val/loss": 0.5, "val/acc": 0.9}
    assert monitored(epoch, "acc", maximize=True) == 0.9
    assert monitored(epoch, "exact", maximize=True) == -0.5  # no val/exact: -loss, maximised
    assert monitored(epoch, "mse", maximize=False) == 0.5
    assert monitored({"epoch": 3, "train/loss": 1.0}, "acc", maximize=True) is None


def test_a_running_trial_of_a_live_sweep_is_left_alone():
    study = optuna.create_study()
    stale, live = study.ask(), study.ask()
    stale.set_user_attr(sweeper.OWNER_ATTR, f"{sweeper.socket.gethostname()}:999999999")
    live.set_user_attr(sweeper.OWNER_ATTR, f"{sweeper.socket.gethostname()}:{os.getppid()}")
    with pytest.raises(ConfigError, match="trial 1 is being run by another sweep"):
        sweeper.reclaim(study)
    assert states(study) == ["FAIL", "RUNNING"]
