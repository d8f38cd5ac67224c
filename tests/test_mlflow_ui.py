"""The MLflow UI as the place to compare runs: experiments that open on the runs table,
the data as each run's dataset input, names that filter and group runs by cell, and the
best model of each dataset in the model registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from seqlab.config import compose
from seqlab.data.meta import Meta
from seqlab.layout import CONFIG_FILE, META_FILE, MODEL_FILE
from seqlab.models import net_for_data
from seqlab.predict.packaging import package
from seqlab.tracking import lineage
from seqlab.tracking.naming import run_name
from seqlab.tracking.registry import best_alias, promote_if_best, registered_name
from seqlab.tracking.run import TrackedRun
from seqlab.tracking.store import (
    EXPERIMENT_KIND_TAG,
    TRAINING_KIND,
    Tracking,
    fluent_uri,
    init_store,
)

# The filter docs: guides/compare.md gives for "RNN vs LSTM vs GRU on one dataset".
CELLS_FILTER = "tags.dataset = 'elec_equip' and tags.model = 'ManyToOneNet'"


def store(tmp: Path) -> Tracking:
    return Tracking(uri=f"sqlite:///{tmp}/mlflow.db", artifact_root=str(tmp / "mlartifacts"))


def data_folder(folder: Path) -> Path:
    meta = Meta(name="elec_equip", task="regression", archetype="many_to_one", input_size=1,
                output_size=1, steps=12)
    folder.mkdir(parents=True)
    (folder / META_FILE).write_text(json.dumps(meta.to_json()))
    return folder


def test_experiments_open_as_model_training_new_and_old(tmp_path):
    tracking = store(tmp_path)
    client = tracking.client()
    old = client.create_experiment("one_to_one")  # made before seqlab set the kind
    guessed = client.create_experiment("many_to_many",
                                       tags={EXPERIMENT_KIND_TAG: "no_inferred_type"})
    chosen = client.create_experiment("synchronous",
                                      tags={EXPERIMENT_KIND_TAG: "genai_development"})

    ids = init_store(tracking, ["many_to_one", "one_to_one", "many_to_many", "synchronous"])

    kind = {name: client.get_experiment(i).tags.get(EXPERIMENT_KIND_TAG)
            for name, i in ids.items()}
    assert kind == {"many_to_one": TRAINING_KIND, "one_to_one": TRAINING_KIND,
                    "many_to_many": TRAINING_KIND,
                    "synchronous": "genai_development"}  # chosen in the UI: kept
    assert (ids["one_to_one"], ids["many_to_many"], ids["synchronous"]) == (old, guessed,
                                                                            chosen)


@pytest.mark.parametrize("dvc_md5", [None, "0123456789abcdef0123456789abcdef.dir"])
def test_a_run_logs_its_data_as_a_dataset_input(tmp_path, monkeypatch, dvc_md5):
    monkeypatch.setattr(lineage, "dvc_out_hash", lambda root, path: dvc_md5)
    cfg = compose(["experiment=course_ex1"])
    data_dir = data_folder(tmp_path / "elec_equip")

    run = TrackedRun.start(cfg, store(tmp_path), data_dir, "many_to_one")

    found = MlflowClient(run.uri).get_run(run.run_id)
    [data] = found.inputs.dataset_inputs
    assert data.dataset.name == "elec_equip"
    assert data.dataset.digest == (dvc_md5 or found.data.tags["data.sha256"][:36])
    assert json.loads(data.dataset.source) == {"uri": "elec_equip"}  # no machine path
    assert {t.key: t.value for t in data.tags} == {"mlflow.data.context": "training"}


def test_cells_of_one_dataset_are_one_filter_away(tmp_path):
    tracking = store(tmp_path)
    data_dir = data_folder(tmp_path / "elec_equip")
    for preset, cell in [("course_ex1", "rnn"), ("course_ex1", "lstm"), ("course_ex1", "gru"),
                         ("course_ex1_fc", None)]:
        cfg = compose([f"experiment={preset}", *([f"model.cell={cell}"] if cell else [])])
        TrackedRun.start(cfg, tracking, data_dir, "many_to_one")

    client = tracking.client()
    experiment = client.get_experiment_by_name("many_to_one").experiment_id
    runs = client.search_runs([experiment], CELLS_FILTER)

    assert sorted(r.data.tags["model.cell"] for r in runs) == ["gru", "lstm", "rnn"]
    assert {r.data.tags["model"] for r in runs} == {"ManyToOneNet"}
    # Names say what differs, early (the UI cuts them): a GRU and a TCN never look alike.
    assert sorted(r.info.run_name for r in runs) == [
        "elec_equip gru", "elec_equip lstm", "elec_equip rnn"]


@pytest.mark.parametrize(("args", "overrides", "name"), [
    (["experiment=course_ex1", "model.cell=gru"], ["experiment=course_ex1", "model.cell=gru",
     "optim.lr=0.01", "trainer.max_epochs=3", "tracking.enabled=true"], "elec_equip gru lr=0.01"),
    (["experiment=course_ex1", "model.cell=tcn"], ["model.cell=tcn", "model.hidden_size=64",
     "hydra.run.dir=/tmp/x", "callbacks=none"], "elec_equip tcn hidden_size=64"),
    (["experiment=course_ex1"], ["dataset.path=/data/solar.csv", "+entry=a"], "elec_equip lstm"),
])
def test_run_names_say_what_differs_first(args, overrides, name):
    """Data, cell, then the command line's key overrides; where a run logs, how long it
    trains and paths say nothing of what it learns."""
    assert run_name(compose(args), overrides) == name


def test_a_users_own_file_names_its_runs():
    overrides = ["dataset=csv_series", "dataset.path=/home/me/pbs.csv", "model.cell=gru"]
    assert run_name(compose(overrides), overrides) == "pbs gru"


def finished_run(tracking: Tracking, experiment_id: str, dataset: str, metric: str,
                 value: float, higher_is_better: bool) -> str:
    """A run as record() and finish() leave it, with a logged model record (no files).
    Its test score ranks the runs the other way round: the registry must not read it."""
    from mlflow.entities import LoggedModelOutput

    client = tracking.client()
    run_id = client.create_run(experiment_id, tags={
        "archetype": "many_to_one", "dataset": dataset, "selection.metric": metric,
        "selection.higher_is_better": str(higher_is_better).lower(),
        "headline.metric": "test/score", "headline.higher_is_better": "true"}).info.run_id
    client.log_metric(run_id, metric, value)
    client.log_metric(run_id, "test/score", -value if higher_is_better else value)
    model = client.create_logged_model(experiment_id, name="model", source_run_id=run_id)
    client.log_outputs(run_id, [LoggedModelOutput(model.model_id, 0)])
    client.set_terminated(run_id, "FINISHED")
    return run_id


@pytest.mark.parametrize(("metric", "higher_is_better", "first", "worse", "better"), [
    ("selected/val/acc", True, 0.80, 0.70, 0.90),
    ("selected/val/mse", False, 0.30, 0.40, 0.20),
])
def test_the_best_alias_moves_only_to_a_better_run(tmp_path, metric, higher_is_better,
                                                   first, worse, better):
    tracking = store(tmp_path)
    experiment = init_store(tracking, ["many_to_one"])["many_to_one"]
    client = tracking.client()
    name, alias = registered_name("many_to_one"), best_alias("elec_equip")

    def holder() -> str:
        return client.get_model_version_by_alias(name, alias).run_id

    def finish(dataset: str, value: float) -> tuple[str, int | None]:
        run_id = finished_run(tracking, experiment, dataset, metric, value, higher_is_better)
        return run_id, promote_if_best(tracking, run_id)

    first_id, version = finish("elec_equip", first)
    assert version == 1 and holder() == first_id
    assert finish("elec_equip", worse)[1] is None and holder() == first_id
    assert finish("elec_equip", first)[1] is None and holder() == first_id  # a tie keeps it
    # Another dataset of the archetype competes for its own alias, whatever its scale.
    other_id, version = finish("sunspots", worse)
    assert version == 2 and client.get_model_version_by_alias(
        name, best_alias("sunspots")).run_id == other_id and holder() == first_id
    better_id, version = finish("elec_equip", better)
    assert version == 3 and holder() == better_id
    assert len(client.search_model_versions(f"name = '{name}'")) == 3  # losers not registered


def test_a_users_own_net_takes_a_presets_alias_only_on_the_same_data(tmp_path):
    """`models:/seqlab-many_to_one@best-elec_equip` (the docs' kind of example) is a
    net trained on that data as prepared for the holder: a net of the user's own on a
    fresh store, or on the preset prepared otherwise, gets an alias naming its data."""
    tracking = store(tmp_path)
    experiment = init_store(tracking, ["many_to_one"])["many_to_one"]
    client = tracking.client()
    name = registered_name("many_to_one")

    def finish(target: str, data: str, value: float) -> str:
        run_id = finished_run(tracking, experiment, "elec_equip", "selected/val/mse", value,
                              higher_is_better=False)
        client.log_param(run_id, "model._target_", target)
        client.set_tag(run_id, "data.sha256", data)
        promote_if_best(tracking, run_id)
        return run_id

    def held(alias: str) -> str:
        return client.get_model_version_by_alias(name, alias).run_id

    own_first = finish("my_models.MeanNet", "a" * 64, 0.1)  # a fresh store
    assert held("best-elec_equip-aaaaaaaa") == own_first
    assert list(client.get_registered_model(name).aliases) == ["best-elec_equip-aaaaaaaa"]
    lstm = finish("seqlab.models.many_to_one.ManyToOneNet", "a" * 64, 0.3)
    assert held("best-elec_equip") == lstm  # seqlab's nets: the preset's alias, as always
    other_data = finish("my_models.MeanNet", "b" * 64, 0.05)  # e.g. another window
    assert held("best-elec_equip-bbbbbbbb") == other_data and held("best-elec_equip") == lstm
    same_data = finish("my_models.MeanNet", "a" * 64, 0.2)  # like with like: it competes
    assert held("best-elec_equip") == same_data


def test_a_run_without_a_selection_metric_a_model_or_a_test_score_is_not_registered(
        tmp_path):
    tracking = store(tmp_path)
    experiment = init_store(tracking, ["many_to_one"])["many_to_one"]
    client = tracking.client()
    no_metrics = client.create_run(experiment, tags={"archetype": "many_to_one",
                                                     "dataset": "elec_equip"}).info.run_id
    no_model = client.create_run(experiment, tags={
        "archetype": "many_to_one", "dataset": "elec_equip",
        "selection.metric": "selected/val/mse", "selection.higher_is_better": "false"}
    ).info.run_id
    client.log_metric(no_model, "selected/val/mse", 0.1)

    assert promote_if_best(tracking, no_metrics) is None
    assert promote_if_best(tracking, no_model) is None
    # A search trial: validation and a model, never scored on test (its search's answer
    # competes in its stead).
    trial = finished_run(tracking, experiment, "elec_equip", "selected/val/mse", 0.1, False)
    client.delete_tag(trial, "headline.metric")
    assert promote_if_best(tracking, trial) is None
    assert client.search_registered_models() == []


@pytest.mark.slow  # a logged model
def test_a_logged_model_has_a_serving_example_and_finishing_registers_it(tmp_path):
    """finish() registers the run's real logged model; `make serve` answering it is
    tests/test_tracking.py::test_make_serve_answers_the_raw_example_with_labels."""
    import mlflow

    from seqlab.config import instantiate
    from seqlab.data.sources import fetch

    cfg = compose(["experiment=course_ex1"])
    data_dir = data_folder(tmp_path / "elec_equip")
    spec = instantiate(cfg.dataset, "dataset")
    spec.preprocess(fetch("elec_equip", tmp_path / "raw")).save(data_dir / "real")
    meta = Meta.from_json(json.loads((data_dir / "real" / META_FILE).read_text()), "meta.json")
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    torch.save(net_for_data(cfg.model, meta).state_dict(), model_dir / MODEL_FILE)
    (model_dir / CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg))
    (model_dir / META_FILE).write_text((data_dir / "real" / META_FILE).read_text())

    run = TrackedRun.start(cfg, store(tmp_path), data_dir, "many_to_one")
    run.log_model(model_dir, package)
    run.log_metrics({"test/mse": 0.5, "selected/val/mse": 0.4})
    run.set_tags({"headline.metric": "test/mse", "headline.higher_is_better": "false",
                  "selection.metric": "selected/val/mse", "selection.higher_is_better": "false"})
    run.finish()

    # MLflow 3 finds a run's logged model through the process-wide URI, whatever the call says
    with fluent_uri(run.uri):
        folder = Path(mlflow.artifacts.download_artifacts(
            f"runs:/{run.run_id}/model", dst_path=str(tmp_path / "download"),
            tracking_uri=run.uri))
        example = json.loads((folder / "serving_input_example.json").read_text())
        # The raw inputs of a forecast: the series' last 12 months in its own columns.
        assert example["dataframe_split"]["columns"] == ["date", "value"]
        assert len(example["dataframe_split"]["data"]) == 12
        version = run.client.get_model_version_by_alias("seqlab-many_to_one", "best-elec_equip")
        assert version.run_id == run.run_id
        registered = Path(mlflow.artifacts.download_artifacts(
            "models:/seqlab-many_to_one@best-elec_equip", dst_path=str(tmp_path / "registered"),
            tracking_uri=run.uri))
    assert (registered / "serving_input_example.json").is_file()


def test_a_runs_columns_are_the_verdict_the_curves_and_selection_the_rest_a_table():
    """A global multi-step forecast had hundreds of metrics; the UI gets a few, the table
    the rest, and metrics.json keeps them all."""
    from seqlab.tracking.columns import detail_table, split_metrics

    metrics = {"test/mse": 0.5, "test/mae": 0.4, "test/mse_sd": 0.1, "test/mse_h1": 0.2,
               "test/mse_h12": 0.9, "test/series/A/mse": 0.3, "test/fold2/mse": 0.6,
               "baseline/naive/mse": 0.7, "baseline/naive/mae": 0.6,
               "baseline/holt_winters/mse": 0.45, "baseline/holt_winters/mse_h1": 0.1,
               "selected/val/mse": 0.4, "train/loss": 1.0, "val/mse": 0.4}
    top, detail = split_metrics(metrics, {"metric": "test/mse", "baseline_name": "holt_winters"})
    assert set(top) == {"test/mse", "test/mse_sd", "baseline/holt_winters/mse",
                        "selected/val/mse", "train/loss", "val/mse"}
    assert {**top, **detail} == metrics

    table = detail_table(metrics)
    rows = list(zip(table["part"], table["metric"], strict=True))
    assert rows[:3] == [("all", "mae"), ("all", "mse"), ("all", "mse_sd")]
    assert rows[3:5] == [("fold 2", "mse"), ("h1", "mse")]  # natural order: h1 before h12
    assert ("series A", "mse") in rows and ("h12", "mse") in rows
    assert table["model"][1] == 0.5 and table["holt_winters"][1] == 0.45
    assert table["naive"][rows.index(("h1", "mse"))] is None  # a figure it lacks
    assert list(table)[2:] == ["model", "naive", "holt_winters"]
