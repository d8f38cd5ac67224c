"""Config validation and the single source of truth (conf/ -> params.yaml)."""

from __future__ import annotations

import pytest

from seqlab import params
from seqlab.config import compose, validate
from seqlab.errors import ConfigError
from seqlab.layout import conf_dir

EXPERIMENTS = sorted(p.stem for p in (conf_dir() / "experiment").glob("*.yaml"))


def test_params_yaml_agrees_with_conf():
    """Fails when someone edits conf/ (or params.yaml) without `make params`."""
    assert params.load() == params.generate(), "params.yaml is stale: run `make params`"


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_preset_is_valid_and_its_dataset_a_known_task(experiment):
    from seqlab.config import instantiate
    from seqlab.data.meta import ARCHETYPES
    from seqlab.tasks import TASKS

    cfg = compose([f"experiment={experiment}"])
    validate(cfg)
    dataset = instantiate(cfg.dataset, "dataset")
    assert dataset.task in TASKS and dataset.archetype in ARCHETYPES


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.cell=lstmm"], "model.cell: 'lstmm' is not one of: rnn, lstm, gru"),
        (["model.hidden_size=-3"], "model.hidden_size: must be at least 1, got -3"),
        (["optim.lr=0"], r"optim.lr: must be in \(0, inf\], got 0"),
        (["optim.optimizer._target_=torch.optim.Adma"], "optim: .*torch.optim.Adma"),
        (["optim=sgd", "optim.optimizer.momentum=-1"], "optim.optimizer: .*momentum"),
        (["scheduler=cosine", "scheduler.interval=batch"],
         "scheduler.interval: 'batch' is not one of: epoch, step"),
        (["archetype=many_to_many"], "archetype: 'many_to_many' contradicts the data: "
                                     "dataset 'digits_pixels' is many_to_one"),
        (["archetype=two_to_one"], "archetype: 'two_to_one' is not one of: one_to_one"),
        (["callbacks.model_checkpoint=3"], "callbacks.model_checkpoint: expected a section"),
        (["dataset.read=columns"], "dataset.read: 'columns' is not one of: pixels, rows"),
        (["trainer.accelerator=tpu9"], "trainer.accelerator: 'tpu9' is not one of"),
        (["+model.hiden_size=3"], "model.hiden_size: unknown key for ManyToOneNet; allowed"),
        (["+dataset.windw=3", "dataset=elec_equip"], "dataset.windw: unknown key"),
        (["+learning_rate=3"], "learning_rate: unknown top-level key"),
        (["seed=-1"], "seed: must be at least 0"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(overrides, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose(overrides))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["optim.lr=nan"], "optim.lr: must be a finite number, got nan"),
        (["optim.weight_decay=inf"], "optim.weight_decay: must be a finite number, got inf"),
        (["optim.gradient_clip_val=nan"], "optim.gradient_clip_val: must be a finite number"),
        (["optim.lr=-inf"], "optim.lr: must be a finite number, got -inf"),
        (["dataset.test_fraction=nan"], "dataset.test_fraction: must be a finite number"),
        (["experiment=course_ex1", "dataset.val_fraction=nan"],
         "dataset.val_fraction: must be a finite number, got nan"),
        (["seed=4294967296"], "seed: must be at most 4294967295, got 4294967296"),
    ],
)
def test_non_finite_numbers_and_seeds_beyond_32_bits_are_refused(overrides, message):
    """NaN slips through every range check; numpy and Lightning cannot use a seed > 2**32 - 1
    (seed_everything would silently pick a random one)."""
    with pytest.raises(ConfigError, match=message):
        validate(compose(overrides))


def test_the_largest_32_bit_seed_is_accepted():
    validate(compose(["seed=4294967295"]))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.hiden_size=3"], "override 'model.hiden_size'.*'hiden_size' is not in struct"),
        (["model=lstmm"], "Could not find 'model/lstmm'"),
    ],
)
def test_typos_in_keys_and_choices_stop_composition(overrides, message):
    with pytest.raises(ConfigError, match=message) as raised:
        compose(overrides)
    assert "search path" not in str(raised.value)  # Hydra's internals, no help to a user


def test_entry_config_is_what_train_composes():
    generated = params.generate()
    for name, overrides in [("course_ex1", ["experiment=course_ex1"]),
                            ("course_ex2_fc", ["experiment=course_ex2_fc"])]:
        from omegaconf import OmegaConf

        expected = compose([*overrides, f"entry={name}"])
        assert OmegaConf.to_container(params.entry_config(generated, name)) == \
            OmegaConf.to_container(expected)


def test_unknown_entry_lists_the_known_ones():
    with pytest.raises(ConfigError, match="no pipeline entry 'nope'.*course_ex1"):
        params.entry_config(params.generate(), "nope")


def test_every_registered_task_has_all_its_parts():
    import pytorch_lightning as pl

    from seqlab.tasks import TASKS

    for name, task in TASKS.items():
        assert issubclass(task.lightning_module(), pl.LightningModule), name
        for part in (task.loss, task.predict, task.metrics, task.baselines,
                     *task.figures, *task.more_metrics):
            assert callable(part), (name, part)
        assert isinstance(task.headline, str) and isinstance(task.higher_is_better, bool)


def test_the_archetype_follows_from_the_data():
    from seqlab.config import instantiate

    def archetype(*overrides: str) -> str:
        return instantiate(compose(list(overrides)).dataset, "dataset").archetype

    assert archetype("experiment=course_ex2") == "many_to_one"
    assert archetype("experiment=digits_fc") == "one_to_one"
    assert archetype("experiment=course_ex2", "dataset.read=image") == "one_to_one"
    assert archetype("experiment=video_frames_fc") == "synchronous"
    assert archetype("experiment=captions") == "one_to_many"
    assert archetype("experiment=normalise_dates") == "many_to_many"
    validate(compose(["experiment=course_ex1", "archetype=many_to_one"]))  # agreeing is fine


def test_meta_json_is_checked_on_load(tmp_path):
    import json

    from seqlab.data import sources
    from seqlab.data.digit_sequences import DigitSequences
    from seqlab.data.processed import ProcessedData
    from seqlab.errors import DataError

    DigitSequences("d").preprocess(sources.fetch("digits", tmp_path / "raw")).save(
        tmp_path / "d")
    meta_file = tmp_path / "d" / "meta.json"
    meta = json.loads(meta_file.read_text())
    assert ProcessedData.load(tmp_path / "d").meta.archetype == "many_to_one"
    for broken, message in [({**meta, "kind": "x"}, "unknown key 'kind'"),
                            ({k: v for k, v in meta.items() if k != "task"}, "missing key 'task'"),
                            ({**meta, "archetype": "sideways"}, "archetype 'sideways' is not"),
                            ({**meta, "steps": 0}, "steps must be a whole number")]:
        meta_file.write_text(json.dumps(broken))
        with pytest.raises(DataError, match=message):
            ProcessedData.load(tmp_path / "d")


def test_an_entry_that_sets_tracking_is_refused_not_ignored(tmp_path, monkeypatch):
    """Every entry shares the pipeline's store: a per-entry `tracking` would be dropped."""
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "pipeline.yaml").write_text(
        "entries:\n  a: [experiment=course_ex1, tracking=server]\n")
    monkeypatch.setenv("SEQLAB_ROOT", str(tmp_path))
    with pytest.raises(ConfigError, match=r"^entries\.a: sets tracking\.uri, but tracking is "
                                          r"the pipeline's .* python -m seqlab.params tracking"):
        params.generate()
    (tmp_path / "conf" / "pipeline.yaml").write_text("entries:\n  a: [experiment=course_ex1]\n")
    assert params.generate(["tracking=server"])["tracking"]["uri"] == "http://127.0.0.1:5001"


def test_a_pipeline_entry_with_a_separate_test_file_is_refused(tmp_path, monkeypatch):
    """A fetch stage copies one file: a .ts test file the pipeline would not version."""
    for part in ("TRAIN", "TEST"):
        (tmp_path / f"m_{part}.ts").write_text("@data\n")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "pipeline.yaml").write_text(
        "entries:\n  a: [experiment=japanese_vowels, dataset=ts_file, "
        f"dataset.path={tmp_path}/m_TRAIN.ts, dataset.test_path={tmp_path}/m_TEST.ts]\n")
    monkeypatch.setenv("SEQLAB_ROOT", str(tmp_path))
    with pytest.raises(ConfigError, match=r"^datasets\.ts_file\.test_path: the pipeline's "
                                          r"fetch stage copies one file per source"):
        params.generate()


def test_a_pipeline_entry_with_a_backtest_is_refused(tmp_path, monkeypatch):
    """The train stage fits one model: a backtest's fit per fold runs with seqlab.train."""
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "pipeline.yaml").write_text(
        "entries:\n  a: [experiment=course_ex1, dataset.backtest_folds=3]\n")
    monkeypatch.setenv("SEQLAB_ROOT", str(tmp_path))
    with pytest.raises(ConfigError, match=r"^datasets\.elec_equip\.backtest_folds: a backtest "
                                          r"fits a model per fold"):
        params.generate()


@pytest.mark.parametrize(("old", "new"), [
    ("seqlab.models.many_to_one.ManyToOneRNN", "ManyToOneNet"),
    ("seqlab.models.synchronous.SynchronousRNN", "SynchronousNet"),
])
def test_a_renamed_net_builds_from_its_old_name_with_one_line(old, new, capsys):
    """Saved configs and model folders name the nets by their names before they ran
    transformer and TCN cells too: they build the same class, and one line says so."""
    from seqlab.config import instantiate

    net = instantiate({"_target_": old, "hidden_size": 4}, "model", input_size=3,
                      output_size=2)
    assert type(net).__name__ == new
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"seqlab: model._target_: {old.rsplit('.', 1)[1]} is now {new} "
                     f"({old.rsplit('.', 1)[0]}.{new}); the old name still works"]
    instantiate({"_target_": old.replace(old.rsplit(".", 1)[1], new), "hidden_size": 4},
                "model", input_size=3, output_size=2)
    assert capsys.readouterr().err == ""  # the current name says nothing
