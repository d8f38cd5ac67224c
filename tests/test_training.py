"""Training behaviour: batches, masking, overfitting, divergence, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqlab.config import build
from seqlab.errors import TrainingDiverged
from seqlab.models.many_to_one import ManyToOneRNN
from seqlab.training.batches import TensorBatches
from tests.conftest import tiny


def test_batches_cover_every_row_once_and_reshuffle():
    rows = {"x": torch.arange(10)}
    batches = TensorBatches(rows, batch_size=4, shuffle=True, seed=0)
    first = torch.cat([b["x"] for b in batches])
    second = torch.cat([b["x"] for b in batches])
    assert len(batches) == 3
    assert sorted(first.tolist()) == sorted(second.tolist()) == list(range(10))
    assert first.tolist() != second.tolist()


def test_ddp_ranks_get_equal_disjoint_shares():
    rows = {"x": torch.arange(10)}
    shares = [torch.cat([b["x"] for b in TensorBatches(rows, 2, True, 0, rank, 3)])
              for rank in range(3)]
    assert {len(s) for s in shares} == {4}  # 10 rows padded to 12, 4 per rank
    assert set(torch.cat(shares).tolist()) == set(range(10))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("readout", ["last", "mean"])
def test_padding_does_not_change_outputs(cell, readout):
    torch.manual_seed(0)
    net = ManyToOneRNN(3, 2, cell=cell, hidden_size=5, readout=readout).eval()
    short, long = torch.randn(1, 4, 3), torch.randn(1, 7, 3)
    padded = torch.zeros(2, 7, 3)
    padded[0, :4], padded[1] = short[0], long[0]
    together = net(padded, torch.tensor([4, 7]))
    torch.testing.assert_close(together[0], net(short)[0])
    torch.testing.assert_close(together[1], net(long)[0])


def test_overfits_one_small_batch():
    import pytorch_lightning as pl

    from seqlab.training.module import SupervisedModule

    pl.seed_everything(0, verbose=False)
    cfg = tiny("experiment=course_ex2", "optim.lr=0.01")
    net = ManyToOneRNN(8, 10, hidden_size=32)
    module = SupervisedModule(net, build(cfg.optim, "optim"), {"task": "classification"})
    optimizer = module.configure_optimizers()
    batch = {"inputs": torch.rand(16, 8, 8), "targets": torch.arange(16) % 10,
             "lengths": torch.full((16,), 8)}
    for _ in range(300):
        optimizer.zero_grad()
        loss = module.training_step(batch, 0)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05


def test_nan_loss_stops_with_a_clear_error(tmp_path, prepared):
    from seqlab.training.fit import fit

    cfg = tiny("experiment=course_ex1", "optim.max_epochs=3", "optim.lr=1e12",
               "optim.optimizer=sgd")
    with pytest.raises(TrainingDiverged, match="loss is (nan|inf).*lower optim.lr"):
        fit(cfg, prepared(cfg), tmp_path)


def test_same_config_and_seed_give_identical_test_metrics(tmp_path, prepared):
    from seqlab.evaluation.evaluate import evaluate
    from seqlab.train import train

    cfg = tiny("experiment=course_ex1", "optim.max_epochs=5", "model.cell=gru")
    data = prepared(cfg)
    results = []
    for attempt in ("a", "b"):
        train(cfg, data, tmp_path / attempt / "model")
        results.append(evaluate(tmp_path / attempt / "model", data,
                                tmp_path / attempt / "m.json", tmp_path / attempt / "fig"))
    assert results[0]["test"] == results[1]["test"]
    assert np.isfinite(results[0]["test"]["test/mse"])
    other = tiny("experiment=course_ex1", "optim.max_epochs=5", "model.cell=gru", "seed=1")
    train(other, data, tmp_path / "c" / "model")
    changed = evaluate(tmp_path / "c" / "model", data, tmp_path / "c.json", tmp_path / "cf")
    assert changed["test"] != results[0]["test"]  # the seed really reaches the weights
