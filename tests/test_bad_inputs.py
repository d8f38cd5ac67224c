"""Bad inputs a user can give, each refused before any work with one line that names it.

The list is the project's catalogue of bad inputs: config values (through the real
composition and validation every command runs first) and series files (through the real
preprocessing). The command-line path (`seqlab: error:` on stderr, exit status 2) is
proved for a few of them in tests/test_cli.py.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from seqlab.config import compose, validate
from seqlab.data.forecast import ForecastWindows
from seqlab.errors import SeqlabError

CONFIGS = [
    ["model.cell=lstmm"], ["model.hidden_size=-3"], ["model.hidden_size=0"],
    ["model.num_layers=0"], ["model.dropout=1.5"], ["model.dropout=nan"], ["optim.lr=0"],
    ["optim.lr=nan"], ["optim.lr=-inf"], ["optim.weight_decay=-1"],
    ["optim.weight_decay=inf"], ["optim.batch_size=0"], ["optim.max_epochs=0"],
    ["optim.gradient_clip_val=nan"], ["optim.val_every_n_epochs=0"],
    ["optim.optimizer._target_=torch.optim.Adma"], ["optim=sgd", "optim.optimizer.momentum=-1"],
    ["scheduler=cosine", "scheduler.interval=batch"],
    ["scheduler=plateau", "scheduler.scheduler._target_=torch.optim.lr_scheduler.Nope"],
    ["trainer.accelerator=tpu9"], ["trainer.num_nodes=0"], ["trainer.devices=abc"],
    ["trainer.progress_bar=maybe"], ["trainer.fast_dev_run=-1"], ["trainer.profiler=fancy"],
    ["trainer.checkpoint_every_minutes=0"], ["seed=-1"], ["seed=4294967296"],
    ["experiment=course_ex1", "archetype=synchronous"], ["archetype=two_to_one"],
    ["+learning_rate=3"], ["+model.hiden_size=3"], ["model.hiden_size=3"], ["model=lstmm"],
    ["experiment=nope"], ["dataset.read=columns"], ["dataset.test_fraction=0"],
    ["dataset.test_fraction=1"], ["dataset.test_fraction=nan"], ["dataset.val_fraction=-0.1"],
    ["dataset=elec_equip", "dataset.window=0"], ["dataset=elec_equip", "dataset.lag_order=up"],
    ["dataset=elec_equip", "dataset.test_start=notadate"],
    ["dataset=elec_equip", "dataset.fill_missing=zero"],
    ["dataset=elec_equip", "dataset.fill_gaps=zero"],
    ["experiment=captions", "model.decoding.strategy=sample"],
    ["experiment=translate_numbers", "model.decoding.beam_size=0"],
    ["experiment=translate_numbers", "model.teacher_forcing=1.5"],
    ["experiment=translate_numbers", "dataset.target_lang=xx"],
    ["experiment=normalise_dates", "dataset.locales=[en_US,xx_YY]"],
    ["experiment=normalise_dates", "dataset.start=2020-13-01"],
    ["experiment=video_frames", "dataset.occlusion_size=9"],
    ["callbacks.model_checkpoint=3"],
    # Typed keys that no class check reads: their annotation's type (config.require_annotated).
    ["model.bidirectional=maybe"], ["tracking.log_model=2"], ["trainer.deterministic=yes"],
    ["dataset=elec_equip", "dataset.window=1.5"],
    # Names become folders and aliases: never a path.
    ["dataset.name=../../../../tmp/escaped"], ["dataset.name=a/b"], ["dataset.name='my data'"],
    ["dataset.name=.."], ["+entry=x/../y"],
]


@pytest.mark.parametrize("overrides", CONFIGS, ids=" ".join)
def test_a_bad_config_is_one_line_before_any_work(overrides):
    with pytest.raises(SeqlabError) as caught:
        validate(compose(overrides))
    assert "\n" not in str(caught.value) and str(caught.value)


@pytest.mark.parametrize(("name", "message"), [
    ("../../../../tmp/escaped", "dataset.name: '../../../../tmp/escaped' is not a name"),
    ("my data", "dataset.name: 'my data' is not a name"),
])
def test_a_name_that_is_a_path_is_refused_naming_the_key(name, message):
    with pytest.raises(SeqlabError, match=message):
        validate(compose([f"dataset.name='{name}'"]))


def test_registry_aliases_of_different_names_differ():
    from seqlab.tracking.registry import best_alias

    names = ["my.data", "my-data", "my_data", "digits_pixels", "a.b.c", "a-b.c"]
    aliases = [best_alias(n) for n in names]
    assert len(set(aliases)) == len(names)
    assert best_alias("digits_pixels") == "best-digits_pixels"  # existing aliases kept
    assert all(re.fullmatch(r"[\w-]+", a) for a in aliases)


def monthly(values, dates=None) -> pd.DataFrame:
    dates = dates if dates is not None else pd.date_range("2000-01-01", periods=len(values),
                                                          freq="MS").strftime("%Y-%m-%d")
    return pd.DataFrame({"date": dates, "value": values})


SERIES = {
    "empty": "date,value\n",
    "wrong columns": "day,amount\n2000-01-01,1\n",
    "unreadable date": monthly(np.arange(30.0)).replace("2000-05-01", "someday"),
    "infinite value": monthly([*range(20), "inf", *range(9)]),
    "overflowing value": monthly([*range(20), "1e400", *range(9)]),
    "repeated date": monthly(np.arange(30.0), [*pd.date_range("2000-01-01", periods=29,
                             freq="MS").strftime("%Y-%m-%d"), "2002-05-01"]),
    "unsorted dates": monthly(np.arange(30.0)).iloc[::-1],
    "missing dates": monthly(np.arange(30.0)).drop(index=[10, 11]),
    "constant": monthly(np.ones(30)),
    "shorter than the window": monthly(np.arange(10.0)),
    "not text": b"\x00\x01\x02\xff\xfe",
    "missing values": monthly([*range(20), "", *range(9)]),
}


@pytest.mark.parametrize("name", SERIES)
def test_a_bad_series_file_is_one_line_naming_it(name, tmp_path):
    content = SERIES[name]
    path = tmp_path / "series.csv"
    if isinstance(content, pd.DataFrame):
        content.to_csv(path, index=False)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    spec = ForecastWindows(name="toy", source="toy", window=12, test_start=None,
                           test_fraction=0.2, val_fraction=0.0)
    with pytest.raises(SeqlabError) as caught:
        spec.preprocess(tmp_path)
    assert "\n" not in str(caught.value) and str(caught.value)


@pytest.mark.parametrize(("overrides", "message"), [
    (["trainer.accelerator=gpu"], "trainer: "),  # no GPU on this machine
    (["trainer.strategy=sideways"], "trainer: "),
])
def test_a_trainer_lightning_cannot_build_is_one_line(overrides, message, tmp_path, prepared):
    import torch

    from seqlab.errors import ConfigError
    from seqlab.fitting.fit import fit
    from tests.conftest import tiny

    if "gpu" in overrides[0] and torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the setting is fine here")
    cfg = tiny("experiment=course_ex1", "optim.max_epochs=1", *overrides)
    with pytest.raises(ConfigError, match=message) as caught:
        fit(cfg, prepared(cfg), tmp_path)
    assert "\n" not in str(caught.value)


def test_a_tracking_store_that_cannot_be_opened_is_one_line(tmp_path):
    from seqlab.config import instantiate
    from seqlab.errors import ConfigError
    from seqlab.tracking.store import init_store

    tracking = instantiate(compose([
        "tracking.uri=nosuchscheme://user:secret@host/db"]).tracking, "tracking")
    with pytest.raises(ConfigError, match="tracking.uri: cannot use the MLflow store "
                       r"nosuchscheme://user:\*\*\*@host/db") as caught:
        init_store(tracking, ["many_to_one"])
    assert "\n" not in str(caught.value) and "secret" not in str(caught.value)
