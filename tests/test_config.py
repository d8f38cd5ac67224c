"""Config validation and the single source of truth (conf/ -> params.yaml)."""

from __future__ import annotations

import pytest

from seqlab import params
from seqlab.config import compose, validate
from seqlab.errors import ConfigError
from seqlab.paths import conf_dir

EXPERIMENTS = sorted(p.stem for p in (conf_dir() / "experiment").glob("*.yaml"))


def test_params_yaml_agrees_with_conf():
    """Fails when someone edits conf/ (or params.yaml) without `make params`."""
    assert params.load() == params.generate(), "params.yaml is stale: run `make params`"


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_preset_is_valid(experiment):
    validate(compose([f"experiment={experiment}"]))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.cell=lstmm"], "model.cell: 'lstmm' is not one of: rnn, lstm, gru"),
        (["model.hidden_size=-3"], "model.hidden_size: must be at least 1, got -3"),
        (["optim.lr=0"], r"optim.lr: must be in \(0, inf\], got 0"),
        (["optim.optimizer=adma"], "optim.optimizer: 'adma' is not one of: adam"),
        (["dataset.read=columns"], "dataset.read: 'columns' is not one of: pixels, rows"),
        (["trainer.accelerator=tpu9"], "trainer.accelerator: 'tpu9' is not one of"),
        (["+model.hiden_size=3"], "model.hiden_size: unknown key for ManyToOneRNN; allowed"),
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
        (["model.hiden_size=3"], "override 'model.hiden_size'.*'hiden_size' is not in struct"),
        (["model=lstmm"], "Could not find 'model/lstmm'"),
    ],
)
def test_typos_in_keys_and_choices_stop_composition(overrides, message):
    with pytest.raises(ConfigError, match=message):
        compose(overrides)


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
