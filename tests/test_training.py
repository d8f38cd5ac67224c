"""Training behaviour: batches, masking, overfitting, divergence, reproducibility, and the
training controls (callbacks, schedulers, debug presets)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqlab.config import instantiate
from seqlab.data.meta import Meta
from seqlab.errors import ConfigError, TrainingDiverged
from seqlab.fitting.batches import TensorBatches
from seqlab.models.many_to_one import ManyToOneNet
from seqlab.tasks import TASKS
from tests.conftest import tiny

# course_ex2 on a quarter of the digits, for runs that only need to be short.
SMALL = ["experiment=course_ex2", "model.hidden_size=8", "optim.batch_size=64",
         "dataset.test_fraction=0.75"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread


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
    net = ManyToOneNet(3, 2, cell=cell, hidden_size=5, readout=readout).eval()
    short, long = torch.randn(1, 4, 3), torch.randn(1, 7, 3)
    padded = torch.zeros(2, 7, 3)
    padded[0, :4], padded[1] = short[0], long[0]
    together = net(padded, torch.tensor([4, 7]))
    torch.testing.assert_close(together[0], net(short)[0])
    torch.testing.assert_close(together[1], net(long)[0])


def test_overfits_one_small_batch():
    import pytorch_lightning as pl

    pl.seed_everything(0, verbose=False)
    cfg = tiny("experiment=course_ex2", "optim.lr=0.01")
    task = TASKS["classification"]
    meta = Meta(name="toy", task="classification", archetype="many_to_one", input_size=8,
                output_size=10, steps=8)
    module = task.lightning_module()(ManyToOneNet(8, 10, hidden_size=32), task.loss,
                                     instantiate(cfg.optim, "optim"), meta)
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
    from seqlab.fitting.fit import fit

    cfg = tiny("experiment=course_ex1", "optim=sgd", "optim.max_epochs=3", "optim.lr=1e12")
    with pytest.raises(TrainingDiverged, match="loss is (nan|inf).*lower optim.lr"):
        fit(cfg, prepared(cfg), tmp_path)


@pytest.mark.slow  # two trainings
def test_same_config_and_seed_give_identical_test_metrics(tmp_path, run):
    cfg = tiny("experiment=course_ex1", "optim.max_epochs=5", "model.cell=gru")
    results = [run(cfg, tmp_path / attempt) for attempt in ("a", "b")]
    assert results[0]["test"] == results[1]["test"]
    assert np.isfinite(results[0]["test"]["test/mse"])
    other = tiny("experiment=course_ex1", "optim.max_epochs=5", "model.cell=gru", "seed=1")
    changed = run(other, tmp_path / "c")
    assert changed["test"] != results[0]["test"]  # the seed really reaches the weights


def val_loss(net: torch.nn.Module, data_dir) -> float:
    """The net's loss on the validation split, as training measures it."""
    from seqlab.data.processed import ProcessedData
    from seqlab.evaluation.predict import batched

    data = ProcessedData.load(data_dir)
    outputs = torch.cat(batched(net, data, "val"))
    targets = torch.from_numpy(data.targets[data.splits["val"]])
    return float(TASKS[data.meta.task].loss(outputs, targets))


def test_the_checkpointed_epoch_is_the_one_saved_and_evaluated(tmp_path, prepared):
    """The checkpoint watches val/loss, here in the wrong direction (mode=max), so that the
    kept epoch is an early one, never the last; the saved model is that epoch's."""
    from seqlab.data.processed import ProcessedData
    from seqlab.pipeline import load_model, train

    cfg = tiny(*SMALL, "optim.max_epochs=6", "callbacks.model_checkpoint.monitor=val/loss",
               "callbacks.model_checkpoint.mode=max")
    data_dir = prepared(cfg)
    result = train(cfg, data_dir, tmp_path / "model")
    losses = [row["val/loss"] for row in result.history]
    kept = int(np.argmax(losses))
    assert kept < len(losses) - 1 and losses[-1] < losses[kept]
    assert result.kept.startswith("best val/loss") and f"epoch {kept + 1})" in result.kept
    _, saved = load_model(tmp_path / "model", ProcessedData.load(data_dir))
    assert val_loss(saved, data_dir) == pytest.approx(losses[kept], rel=1e-4)
    assert not (tmp_path / "model" / "checkpoints").exists()  # no pickles for DVC to cache


def test_last_keeps_the_last_epoch(tmp_path, prepared):
    from seqlab.fitting.fit import fit

    cfg = tiny(*SMALL, "optim.max_epochs=3", "callbacks=last")
    result = fit(cfg, prepared(cfg), tmp_path)
    assert result.kept == "last epoch"
    assert val_loss(result.net, prepared(cfg)) == pytest.approx(
        result.history[-1]["val/loss"], rel=1e-4)


def test_the_progress_bar_is_one_bar_over_every_step_of_the_run(tmp_path, prepared, capsys):
    from seqlab.data.processed import ProcessedData
    from seqlab.fitting.fit import fit

    cfg = tiny(*SMALL, "optim.max_epochs=3", "callbacks=last")
    cfg.trainer.progress_bar = True
    fit(cfg, prepared(cfg), tmp_path)
    rows = len(ProcessedData.load(prepared(cfg)).splits["train"])
    steps = 3 * -(-rows // cfg.optim.batch_size)
    drawn = capsys.readouterr().err
    # One bar for the run (not one per epoch), ending at every optimiser step, last epoch.
    assert drawn.count(f"{steps}/{steps}") >= 1 and "epoch 3/3" in drawn
    assert "Epoch 0" not in drawn  # Lightning's per-epoch bar is not drawn


def test_off_a_terminal_each_epoch_is_a_line(tmp_path, prepared, capsys):
    """A DVC log or CI job (stderr not a terminal): no bar, a line per epoch."""
    from seqlab.fitting.fit import fit

    cfg = tiny(*SMALL, "optim.max_epochs=3", "callbacks=last")
    cfg.trainer.progress_bar = "auto"  # capsys' stderr is not a terminal
    fit(cfg, prepared(cfg), tmp_path)
    lines = capsys.readouterr().err.splitlines()
    shown = [line for line in lines if line.startswith("epoch ")]
    assert shown[0].startswith("epoch 1/3: train/loss ") and shown[-1].startswith("epoch 3/3: ")
    assert shown[-1].endswith(" s)") and not [line for line in lines if "step/s" in line]


def test_early_stopping_stops(tmp_path, prepared):
    from seqlab.fitting.fit import fit

    # No epoch can improve by 100: training stops once patience (2) checks have passed.
    cfg = tiny(*SMALL, "optim.max_epochs=30", "callbacks=early_stopping",
               "callbacks.early_stopping.patience=2", "callbacks.early_stopping.min_delta=100")
    result = fit(cfg, prepared(cfg), tmp_path)
    assert len(result.history) == 3


def test_the_kept_epoch_is_the_best_validation_headline_not_the_lowest_loss(tmp_path,
                                                                            prepared):
    """monitor auto: val/acc for classes; the selection record says what chose and its
    value, which a search optimises (`validation`)."""
    from seqlab.fitting.fit import fit

    cfg = tiny(*SMALL, "optim.max_epochs=6")
    result = fit(cfg, prepared(cfg), tmp_path)
    accuracies = [row["val/acc"] for row in result.history]
    best = int(np.argmax(accuracies))  # the first of equals, as KeepBest keeps it
    assert result.selection == {"metric": "val/acc", "value": accuracies[best],
                                "epoch": best + 1, "higher_is_better": True,
                                "validation": accuracies[best]}
    assert result.kept.startswith("best val/acc") and f"epoch {best + 1})" in result.kept


def test_without_a_validation_split_auto_watches_the_training_loss_and_says_so(
        tmp_path, prepared, capsys):
    from seqlab.fitting.fit import fit

    cfg = tiny("experiment=course_ex1", "callbacks=early_stopping", "optim.max_epochs=3")
    result = fit(cfg, prepared(cfg), tmp_path)
    assert capsys.readouterr().err.count("seqlab: no validation split: callbacks."
                                         "model_checkpoint, callbacks.early_stopping watch "
                                         "train/loss; set dataset.val_fraction above 0 to "
                                         "choose by val/mse") == 1
    losses = [row["train/loss"] for row in result.history]
    assert result.selection["metric"] == "train/loss" and result.selection["validation"] is None
    assert result.selection["value"] == min(losses)
    # A validation metric named outright still needs the split.
    cfg = tiny("experiment=course_ex1", "callbacks=early_stopping",
               "callbacks.early_stopping.monitor=val/loss")
    with pytest.raises(ConfigError, match="callbacks.early_stopping: watches val/loss but "
                       "the dataset has no validation split"):
        fit(cfg, prepared(cfg), tmp_path)


def test_a_monitor_that_is_not_logged_is_one_clear_error(tmp_path, prepared):
    from seqlab.fitting.fit import fit

    cfg = tiny(*SMALL, "callbacks.model_checkpoint.monitor=val/exact")
    with pytest.raises(ConfigError, match="'val/exact' is not logged for this task; "
                       "logged: train/loss, train/acc, val/loss, val/acc"):
        fit(cfg, prepared(cfg), tmp_path)


@pytest.mark.parametrize(
    ("scheduler", "overrides"),
    [("plateau", ["scheduler.scheduler.patience=0", "scheduler.scheduler.threshold=10"]),
     ("cosine", []),
     ("one_cycle", [])],
)
def test_each_scheduler_changes_the_learning_rate(scheduler, overrides, tmp_path, prepared):
    from seqlab.fitting.fit import fit

    cfg = tiny(*SMALL, "optim.max_epochs=4", f"scheduler={scheduler}", *overrides)
    rates = [row["lr"] for row in fit(cfg, prepared(cfg), tmp_path).history]
    lr = cfg.optim.lr
    if scheduler == "one_cycle":  # warms up to optim.lr, then anneals
        assert rates[0] < max(rates) <= lr and rates[-1] < max(rates)
    else:  # plateau halves it at every check (no epoch improves by a factor of 10)
        assert rates[0] == pytest.approx(lr) and rates == sorted(rates, reverse=True)
        assert rates[-1] < lr / 4 if scheduler == "plateau" else rates[-1] < lr


def test_any_torch_optimiser_by_target(tmp_path, prepared):
    from seqlab.fitting.fit import fit

    cfg = tiny(*SMALL, "optim.max_epochs=1", "optim.optimizer._target_=torch.optim.Adagrad")
    result = fit(cfg, prepared(cfg), tmp_path)
    assert np.isfinite(result.history[0]["train/loss"])


@pytest.mark.slow  # a train process
def test_debug_one_batch_runs_the_whole_run_in_one_step(tmp_path, run):
    result = run(tiny("experiment=course_ex2", "debug=one_batch"), tmp_path)
    history = (tmp_path / "model" / "history.csv").read_text().splitlines()
    assert len(history) == 2  # the header and one epoch of one batch
    assert 0 <= result["headline"]["value"] <= 1


def test_debug_overfit_drives_one_batch_to_zero_loss(tmp_path, prepared):
    from seqlab.fitting.fit import fit

    cfg = tiny(*SMALL, "dataset=digits_rows", "model.hidden_size=32", "debug=overfit",
               "optim.max_epochs=60")
    history = fit(cfg, prepared(cfg), tmp_path).history
    assert history[-1]["train/loss"] < 0.05 < history[0]["train/loss"]


@pytest.mark.slow  # a profiled train process
def test_debug_profile_saves_the_report_with_the_model(tmp_path, run):
    run(tiny(*SMALL, "optim.max_epochs=1", "debug=profile"), tmp_path)
    report = (tmp_path / "model" / "profile.txt").read_text()
    assert "run_training_epoch" in report


@pytest.mark.slow  # train processes
def test_threads_follow_the_model_size_unless_set_and_the_run_records_them(tmp_path, prepared,
                                                                          run):
    from mlflow.tracking import MlflowClient

    from seqlab.fitting.fit import fit

    auto = instantiate(tiny("experiment=course_ex1").trainer, "trainer")
    assert [auto.torch_threads(n, available=2) for n in (223, 24_999, 98_000)] == [1, 1, 2]
    assert auto.torch_threads(98_000, available=16) == 3  # one per 25,000 parameters
    torch.set_num_threads(2)  # two cores free: course_ex1's 223 parameters take one
    cfg = tiny("experiment=course_ex1", "optim.max_epochs=1")
    assert fit(cfg, prepared(cfg), tmp_path / "auto").threads == 1
    assert torch.get_num_threads() == 2  # for that fit only
    store = f"sqlite:///{tmp_path}/mlflow.db"
    tracked = tiny("experiment=course_ex1", "optim.max_epochs=1", "trainer.threads=2",
                   f"tracking.uri={store}", f"tracking.artifact_root={tmp_path}/artifacts",
                   "tracking.log_model=false")
    tracked.tracking.enabled = True
    run(tracked, tmp_path / "set")
    [found] = MlflowClient(store).search_runs(
        [e.experiment_id for e in MlflowClient(store).search_experiments()])
    assert found.data.tags["torch.threads"] == "2"
    assert found.data.params["trainer.threads"] == "2"
    with pytest.raises(ConfigError, match="threads"):
        instantiate(tiny("trainer.threads=0").trainer, "trainer")


def test_a_resumed_fit_keeps_the_same_best_epoch_and_history_as_an_uninterrupted_one(
        tmp_path, prepared):
    """Interrupted after 2 of 4 epochs (its resume point saved every epoch), the fit goes
    on from there: the same rows, and the best epoch kept (an early one: mode=max) is the
    one chosen before the interruption, weights and all."""
    from seqlab.fitting.fit import fit

    settings = [*SMALL, "callbacks.model_checkpoint.monitor=val/loss",
                "callbacks.model_checkpoint.mode=max",
                "trainer.checkpoint_every_n_epochs=1", "trainer.checkpoint_every_minutes=null"]
    whole = fit(tiny(*settings, "optim.max_epochs=4"), prepared(tiny(*SMALL)), tmp_path / "a")
    resume_dir = tmp_path / "resume"
    first = fit(tiny(*settings, "optim.max_epochs=2"), prepared(tiny(*SMALL)), tmp_path / "b",
                resume_dir)
    assert (resume_dir / "last.ckpt").is_file() and first.history == whole.history[:2]
    resumed = fit(tiny(*settings, "optim.max_epochs=4"), prepared(tiny(*SMALL)),
                  tmp_path / "c", resume_dir)
    assert resumed.resumed_after == 2
    assert resumed.history == whole.history
    assert resumed.kept == whole.kept and "epoch" in whole.kept
    for name, value in whole.net.state_dict().items():
        torch.testing.assert_close(resumed.net.state_dict()[name], value, rtol=0, atol=0)


def test_a_resume_point_this_loop_cannot_use_is_one_line(tmp_path, prepared):
    """A file from another version (Lightning's Trainer wrote `state_dict`, `epoch`...)."""
    from seqlab.errors import SeqlabError
    from seqlab.fitting.fit import fit

    resume_dir = tmp_path / "resume"
    resume_dir.mkdir()
    torch.save({"epoch": 3, "state_dict": {}}, resume_dir / "last.ckpt")
    cfg = tiny(*SMALL, "optim.max_epochs=1")
    with pytest.raises(SeqlabError, match=r"last.ckpt: cannot resume from it \(.*\); delete "):
        fit(cfg, prepared(cfg), tmp_path / "work", resume_dir)
