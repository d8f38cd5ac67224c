"""`model=own`: a user's own network from any preset (the training and the logged model
loading from another folder: tests/test_predict.py). Here: which keys reach it, how it is
called, and the one line when it answers in the wrong shape; the user's own dataset code
in the data cache key."""

from __future__ import annotations

import pytest
import torch

from seqlab.config import compose, fit_own_model, own_model_keys
from seqlab.data.meta import Meta
from seqlab.errors import ConfigError
from seqlab.models import check_outputs, net_for_data
from seqlab.preparation import data_code_hash

OWN = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, input_size, output_size, hidden_size=8, width=4):
        super().__init__()
        self.hidden_size, self.width = hidden_size, width
        self.head = nn.Linear(input_size, output_size)

    def forward(self, x):
        return self.head(x.mean(dim=1))


class Anything(nn.Module):
    def __init__(self, input_size, output_size, **keys):
        super().__init__()
        self.keys = keys
        self.head = nn.Linear(input_size, output_size)

    def forward(self, x, lengths=None):
        return self.head(x[:, -1])


class EveryStep(Net):
    def forward(self, x):
        return self.head(x)
'''


@pytest.fixture
def own_module(tmp_path, monkeypatch):
    (tmp_path / "own_nets.py").write_text(OWN)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path / "own_nets.py"
    import sys

    sys.modules.pop("own_nets", None)


def own(target: str, *overrides: str):
    return compose(["experiment=japanese_vowels", "model=own", f"model._target_={target}",
                    *overrides])


META = Meta(name="x", task="classification", archetype="many_to_one", input_size=3,
            output_size=5, steps=7)


def test_the_presets_keys_are_not_passed_unless_the_class_takes_them(own_module, capsys):
    cfg = own("own_nets.Net", "++model.width=16")
    assert fit_own_model(cfg) == ["cell", "bidirectional"]
    line = capsys.readouterr().err.strip()
    assert line == ("seqlab: own_nets.Net does not take model.cell, model.bidirectional "
                    "(the preset's settings for its own net): not passed")
    net = net_for_data(cfg.model, META)
    assert (net.hidden_size, net.width) == (128, 16)  # a key it takes: passed
    # forward(x) alone: called as every net is, net(inputs, lengths)
    assert net(torch.zeros(2, 7, 3), torch.tensor([7, 5])).shape == (2, 5)
    anything = own("own_nets.Anything")
    assert fit_own_model(anything) == []  # **keys: every key is its own
    assert net_for_data(anything.model, META).keys["cell"] == "gru"


def test_model_keys_on_the_command_line_reach_the_users_class():
    args = ["experiment=course_ex2", "model=own", "model._target_=a.B", "model.width=3",
            "optim.lr=0.1"]
    assert own_model_keys(args) == ["experiment=course_ex2", "model=own", "model._target_=a.B",
                                    "++model.width=3", "optim.lr=0.1"]
    assert own_model_keys(["model.hidden_size=3"]) == ["model.hidden_size=3"]


def test_an_answer_of_the_wrong_shape_is_one_line(own_module):
    cfg = own("own_nets.EveryStep")
    fit_own_model(cfg)
    net = net_for_data(cfg.model, META)
    batch = {"inputs": torch.zeros(4, 7, 3), "targets": torch.zeros(4, dtype=torch.long),
             "lengths": torch.full((4,), 7)}
    with pytest.raises(ConfigError) as caught:
        check_outputs(net, batch, 5, per_step=False, target="own_nets.EveryStep")
    assert str(caught.value) == (
        "model: own_nets.EveryStep answered inputs of shape (2, 7, 3) with (2, 7, 5); this "
        "task expects (2, 5) (one row per sequence: a score per class, or the value); see "
        "docs: guides/own-model.md")
    check_outputs(net, {**batch, "targets": torch.zeros(4, 7, dtype=torch.long)}, 5,
                  per_step=True, target="own_nets.EveryStep")  # right for a label per step


OWN_KIND = '''
from seqlab.data.csv_sequences import CsvSequences


class MyKind(CsvSequences):
    pass
'''


def test_the_users_own_dataset_code_is_part_of_the_data_cache_key(tmp_path, monkeypatch):
    (tmp_path / "my_kinds.py").write_text(OWN_KIND)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = compose(["dataset=csv_sequences", "dataset._target_=my_kinds.MyKind",
                   "dataset.path=x.csv"]).dataset
    builtin = compose(["dataset=csv_sequences", "dataset.path=x.csv"]).dataset
    first = data_code_hash(cfg)
    assert first != data_code_hash(builtin)
    (tmp_path / "my_kinds.py").write_text(OWN_KIND + "\n# an edit\n")
    assert data_code_hash(cfg) != first  # an edit prepares the data again


def test_a_class_that_cannot_be_imported_is_one_line(caplog):
    with pytest.raises(ConfigError) as caught:
        fit_own_model(own("nowhere.Net"))
    assert str(caught.value) == (
        "model._target_: cannot import 'nowhere.Net' (No module named 'nowhere'); is its "
        "module in the folder you run from, or on PYTHONPATH?")
    assert not [r for r in caplog.records if r.name == "hydra.utils"]
