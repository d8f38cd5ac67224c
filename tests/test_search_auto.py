"""`search=auto`: one Optuna study over the model families that fit the task, chosen by
validation within a budget, a progress line per trial (and `hparams_search`, the old
name of the `search` group, still working)."""

from __future__ import annotations

import functools
import json
import os

import optuna
import pytest
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution

from hydra_plugins.seqlab_optuna_sweeper._families import FAMILY, ask, family_spaces, overrides
from seqlab.config import compose
from seqlab.errors import ConfigError
from tests.conftest import FAST, run_module


@functools.cache  # the spaces are frozen; composing them takes seconds
def spaces_for(*args: str):
    """The families' spaces as the sweeper makes them for `python -m seqlab.train -m
    search=auto *args` (the command line's overrides are each trial's)."""
    config = compose(["search=auto", *args])
    experiment = next((a.split("=", 1)[1] for a in args if a.startswith("experiment=")), None)
    from seqlab.config import instantiate

    spec = instantiate(config.dataset, "dataset")
    return family_spaces(config.search.families, config.search.params, list(args), config,
                         spec.archetype, spec.task, compose, experiment)


def test_each_task_gets_the_families_that_fit_it():
    digits = spaces_for("experiment=course_ex2")
    assert list(digits) == ["recurrent", "transformer", "tcn", "fcn", "resnet", "mlp", "linear"]
    # An image, its model a fully connected net: no cells to search (the recurrent
    # family's params name model.cell), the families that bring their own model.
    assert list(spaces_for("experiment=digits_fc")) == ["mlp", "linear", "cnn"]
    steps = spaces_for("experiment=ecg_phase_steps")  # synchronous: a label per step
    assert list(steps) == ["recurrent", "transformer", "tcn"]
    # The normalisation is searched where the data is a series, never elsewhere.
    # (a key of the preset's own dataset on the command line stays valid for every family)
    series = spaces_for("experiment=airline_passengers", "dataset.horizon=12")
    assert list(series) == [*digits, "nbeats"]  # N-BEATS forecasts a series only
    assert series["mlp"].fixed[-2:] == ["~model.cell", "~model.hidden_size"]
    assert series["linear"].distributions["dataset.normalise"] == CategoricalDistribution(
        ["none", "window"])
    assert "dataset.normalise" not in digits["linear"].distributions


def test_each_family_is_checked_with_values_of_its_own_not_the_preset_s():
    """course_ex1's LSTM has 6 units, no size for the transformer's 4 heads; the
    transformer family draws its own sizes, and the check before the first trial composes
    the family at its first values (it failed the whole search on the preset's 6)."""
    from seqlab.config import validate

    first = spaces_for("experiment=course_ex1")["transformer"].first()
    assert "model.hidden_size=32" in first
    validate(compose(first))


def test_a_family_that_swaps_the_model_drops_what_the_preset_set_for_the_old_one():
    """course_ex2 sets model.cell and model.hidden_size for its LSTM; the MLP family's
    FeedForwardNet would refuse them, so its trials delete them."""
    mlp = spaces_for("experiment=course_ex2", "optim.max_epochs=1")["mlp"]
    assert mlp.fixed == ["model=fc", "experiment=course_ex2", "optim.max_epochs=1",
                         "~model.cell", "~model.hidden_size"]
    assert mlp.distributions["model.hidden_sizes"] == CategoricalDistribution(
        ["[64]", "[128,128]", "[256,256]"])  # lists, as the override text
    trial_config = compose([*mlp.overrides({"model.hidden_sizes": "[128,128]",
                                            "model.dropout": 0.1, "optim.lr": 0.001})])
    assert dict(trial_config.model)["hidden_sizes"] == [128, 128]
    assert "cell" not in trial_config.model
    fcn = spaces_for("experiment=course_ex2")["fcn"]
    assert fcn.fixed[:3] == ["model.cell=fcn", "model.readout=mean", "model.bidirectional=true"]


def test_a_trial_draws_its_family_then_that_family_s_values(tmp_path):
    spaces = spaces_for("experiment=course_ex2")
    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/s.db", direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    composed = set()
    for _ in range(10):
        trial = ask(study, spaces)
        family = trial.params[FAMILY]
        assert all(k == FAMILY or k.startswith(f"{family}/") for k in trial.params)
        lines = overrides(trial.params, spaces)
        assert lines[:len(spaces[family].fixed)] == spaces[family].fixed
        if family not in composed:  # a trial's config of each family composes
            compose(lines)
            composed.add(family)
        study.tell(trial, 0.5)
    assert len(composed) > 3


def test_settings_that_cannot_work_are_one_line():
    config = compose(["experiment=ecg_phase_steps"])
    only_fcn = {"fcn": {"archetypes": ["many_to_one"], "overrides": ["model.cell=fcn"]}}
    with pytest.raises(ConfigError, match="search=auto: no family in search.families fits a "
                                          "classification task of the synchronous archetype"):
        family_spaces(only_fcn, None, [], config, "synchronous", "classification", compose,
                      None)
    with pytest.raises(ConfigError, match="search.families.x.cells: unknown key; a family "
                                          "has archetypes, overrides, params, tasks"):
        family_spaces({"x": {"cells": ["fcn"]}}, None, [], config, "synchronous",
                      "classification", compose, None)


@pytest.mark.parametrize("group", ["search=auto", "hparams_search=course_ex2"])
def test_a_search_without_m_is_one_line_not_one_run(group, capsys):
    from seqlab.train import check_overrides

    with pytest.raises(SystemExit) as ended:
        check_overrides(["experiment=course_ex2", group])
    assert ended.value.code == 2
    assert capsys.readouterr().err.strip() == (
        f"seqlab: error: {group}: a search runs many trials; add -m, e.g. python -m "
        f"seqlab.train -m experiment=course_ex2 {group}")
    check_overrides(["experiment=course_ex2"])  # no search: one run, nothing said


def test_the_same_command_resumes_its_study_and_another_problem_starts_its_own():
    from hydra_plugins.seqlab_optuna_sweeper.sweeper import default_study_name

    def name(*task: str) -> str:
        return default_study_name(OmegaConf.create({"hydra": {
            "runtime": {"choices": {"search": "auto", "experiment": "japanese_vowels"}},
            "overrides": {"task": ["experiment=japanese_vowels", "search=auto", *task]}}}))

    arrowhead = name("dataset=uea", "dataset.problem=ArrowHead")
    assert arrowhead.startswith("auto-japanese_vowels-")
    assert name("dataset.problem=ArrowHead", "dataset=uea", "search.budget_minutes=5",
                "tracking.enabled=false", "hydra.sweep.dir=x") == arrowhead
    assert name("dataset=uea", "dataset.problem=GunPoint") != arrowhead
    assert name() == name("search.trials=10") == "auto-japanese_vowels"


def test_the_old_group_name_is_the_same_search():
    """hparams_search=course_ex2 selects search=course_ex2 (the sweep says the new name
    in one line: tests/test_optuna_sweep.py)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from seqlab.layout import conf_dir

    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        old, new = (hydra_compose("train", [f"{group}=course_ex2", "experiment=course_ex2"],
                                  return_hydra_config=True)
                    for group in ("hparams_search", "search"))
    assert old.hydra.sweeper.params == new.hydra.sweeper.params
    assert old.hydra.sweeper.params["model.cell"] == "choice(rnn, lstm, gru)"
    assert old.hydra.runtime.choices["search"] == "course_ex2"


@pytest.mark.slow  # a study of two trials in one process, then one more
def test_a_search_runs_families_within_its_budget_and_says_each_trial(tmp_path):
    done = run_module(
        "seqlab.train", "-m", "experiment=course_ex2", "search=auto", "search.trials=2",
        "optim.max_epochs=1", *FAST, f"search.storage=sqlite:///{tmp_path}/optuna.db",
        f"hydra.sweep.dir={tmp_path}/sweep", timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    log = done.stdout + done.stderr
    assert "search=auto on a classification task (many_to_one): families recurrent, " in log
    progress = [line for line in log.splitlines() if "] Trial " in line]
    assert len(progress) == 2
    for line in progress:  # family, value, best so far, time spent
        assert " [" in line and "; best " in line and " of 30 min with " in line, line
    [name] = optuna.get_all_study_names(f"sqlite:///{tmp_path}/optuna.db")
    assert name.startswith("auto-course_ex2-")  # its overrides hashed: another problem's
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path}/optuna.db")
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 2
    results = (tmp_path / "sweep" / "optimization_results.yaml").read_text()
    assert f"family: {study.best_trial.params[FAMILY]}" in results
    for trial in study.trials:  # no run records the sweep's own settings
        record = OmegaConf.load(tmp_path / "sweep" / str(trial.number) / ".hydra" /
                                "config.yaml")
        assert "search" not in record and record.trial.number == trial.number
    # The study's answer: its best trial or the two averaged, whichever validates better,
    # scored once on test (seqlab.sweeps.ensemble; tests/test_ensemble.py).
    assert "seqlab: ensemble of 2 (trial " in log and "seqlab: kept model: test/acc = " in log
    kept = json.loads((tmp_path / "sweep" / "ensemble" / "metrics.json").read_text())
    assert kept["selection"]["metric"] == "val/acc"

    # A budget spent: no further trial starts, the same command resumes the study.
    spent = run_module(
        "seqlab.train", "-m", "experiment=course_ex2", "search=auto", "search.trials=4",
        "search.budget_minutes=0.0001", "optim.max_epochs=1", *FAST,
        f"search.storage=sqlite:///{tmp_path}/optuna.db", f"hydra.sweep.dir={tmp_path}/more",
        timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert spent.returncode == 0, spent.stderr[-3000:]
    assert "Budget of 0.0001 minutes spent: no further trial (1 not run" in (
        spent.stdout + spent.stderr)
    assert len(optuna.load_study(study_name=name,
                                 storage=f"sqlite:///{tmp_path}/optuna.db").trials) == 3
    # The resumed study's answer draws on its trials in both sweeps' folders.
    assert "seqlab: ensemble of 3 (trial " in spent.stderr
