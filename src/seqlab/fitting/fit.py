"""Fit a network on a preprocessed dataset: Lightning Fabric and seqlab's loop.

The callbacks come from conf/callbacks (each a `_target_`, seqlab.fitting.callbacks);
the weights kept are those of the epoch with the best validation headline (`monitor:
auto`; the lowest training loss without a validation split), and the fit returns what
chose them (FitResult.selection); the test split is never read here. With a `resume_dir`, resume
points are saved there (outside the model's temporary folder) and one found there is
continued.

Under DDP (trainer=ddp) every rank runs this function: Fabric starts the other local
ranks by re-running the command line, each trains on its share of the rows, and rank
zero alone writes resume points and keeps the weights.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torch import nn

from seqlab import losses
from seqlab.config import instantiate
from seqlab.errors import ConfigError
from seqlab.fitting import resume
from seqlab.fitting.batches import SequenceData, TensorBatches
from seqlab.fitting.callbacks import AUTO, KeepBest
from seqlab.fitting.loop import Loop
from seqlab.fitting.progress import EpochLines, RunBar
from seqlab.fitting.ranks import StopTogether, wait_at_exit
from seqlab.fitting.settings import TrainerSettings
from seqlab.fitting.supervised import SupervisedModule
from seqlab.layout import PROFILE_FILE
from seqlab.models import check_outputs, net_for_data
from seqlab.models.quantiles import Quantiles
from seqlab.tasks import GENERATOR, Task, task_of

EVAL_BATCH_SIZE = 1024  # validation batches: no gradients kept, so larger


@dataclass
class FitResult:
    net: nn.Module  # holding the kept weights
    history: list[dict[str, float]]  # one row of metrics per epoch
    kept: str  # which weights were kept, for the user: "best val/acc (epoch 4)", "last"
    # What chose them, and its value at the kept epoch: {metric, value, epoch,
    # higher_is_better} (a search's objective, a sweep's best child, the registry's alias).
    selection: dict[str, Any] | None = None
    resumed_after: int = 0  # the epochs a resume point had already done
    world_size: int = 1  # the processes that trained it (DDP ranks)
    threads: int = 1  # torch threads in each process
    # trainer.profiler=simple: each profiled action's (calls, seconds) (seqlab.profile)
    timings: dict[str, tuple[int, float]] | None = None


class EpochReport:
    """A loop callback handing the history to `report` after each epoch (rank zero's
    tracker logs it; an Optuna trial may be pruned there)."""

    def __init__(self, report: Callable[[list[dict[str, float]]], None]) -> None:
        self.report = report

    def on_epoch_end(self, loop: Loop, row: dict[str, float]) -> None:
        self.report(loop.history)


def fit(cfg: DictConfig, data_dir: Path, work_dir: Path, resume_dir: Path | None = None,
        report_epoch: Callable[[list[dict[str, float]]], None] | None = None) -> FitResult:
    """Seed everything, build data, net, module and loop from `cfg`, and train.

    `report_epoch` receives the history after each epoch (the tracker logs it).
    """
    from lightning_fabric.utilities.seed import seed_everything

    # Lightning 2.6 on torch 2.13 warns about its own use of a deprecated torch API.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    optim = instantiate(cfg.optim, "optim")
    settings = instantiate(cfg.trainer, "trainer")
    fabric = _fabric(settings)
    fabric.launch()  # DDP: the other ranks start here, running the command line again
    seed_everything(cfg.seed, workers=True, verbose=False)
    data = SequenceData(data_dir)
    if data.meta.nonnegative and fabric.is_global_zero:
        say_nonnegative(data.meta.scaler["min"] >= 0)
    task = task_of(data.meta.task)
    net = net_for_data(cfg.model, data.meta)
    if not str(cfg.model._target_).startswith("seqlab.") and task.module != GENERATOR:
        check_outputs(net, data.splits["train"], data.meta.output_size, task.per_step,
                      cfg.model._target_)
    # Quantile forecasts train on the pinball loss (seqlab.models.quantiles).
    loss = losses.pinball(net.levels) if isinstance(net, Quantiles) else task.loss
    module = task.lightning_module()(net, loss, optim, data.meta)
    has_val = data.size("val") > 0
    if cfg.get("trial") and not has_val:  # a search must not choose by test (nor train)
        raise ConfigError("search: the dataset has no validation split to judge "
                          "trials by; set dataset.val_fraction above 0")
    # In this order at each epoch's end: the resume point saves what the others did, after
    # the report (the tracker writes the run's id beside the first resume point).
    callbacks: list[Any] = [] if settings.fast_dev_run else _callbacks(
        cfg.callbacks or {}, module, has_val, data.has_class_targets(), task,
        say=fabric.is_global_zero)
    if report_epoch is not None and fabric.is_global_zero:
        callbacks.append(EpochReport(report_epoch))
    if resume_dir is not None and not settings.fast_dev_run:
        callbacks.append(resume.ResumePoint(Path(resume_dir), settings.checkpoint_every_n_epochs,
                                            settings.checkpoint_every_minutes))
    if settings.show_progress() and fabric.is_global_zero:
        callbacks.append(RunBar())
    elif settings.progress_bar == "auto" and fabric.is_global_zero:  # not on a terminal
        callbacks.append(EpochLines())
    callbacks.append(StopTogether())  # DDP: a SIGTERM stops every rank, without a hang
    train, val = _batches(settings, data, fabric, optim.batch_size, cfg.seed)
    epochs = 1 if settings.fast_dev_run else optim.max_epochs
    optimizer = module.configure_optimizers()
    schedule = None if cfg.scheduler is None else instantiate(cfg.scheduler, "scheduler").build(
        optimizer, epochs=epochs, steps=epochs * len(train), has_val=val is not None)
    module, optimizer = fabric.setup(module, optimizer)
    loop = Loop(fabric, module, optimizer, train, val, epochs, callbacks,
                clip=optim.gradient_clip_val, val_every=optim.val_every_n_epochs,
                schedule=schedule, profiler=_profiler(settings.profiler, work_dir))
    if resume_dir is not None and (Path(resume_dir) / resume.RESUME_FILE).is_file():
        resume.load(loop, Path(resume_dir) / resume.RESUME_FILE)
    resumed_after = loop.epoch
    with torch_settings(settings.torch_threads(sum(p.numel() for p in net.parameters()),
                                               available=torch.get_num_threads()),
                        settings.deterministic):
        loop.run()
        threads = torch.get_num_threads()
    keeper = next((c for c in callbacks if isinstance(c, KeepBest)), None)
    kept = keeper.restore(net) if keeper is not None else "last epoch"
    selection = _selection(keeper, loop.history, task)
    if isinstance(net, Quantiles) and has_val and cfg.model.get("conformal", True):
        _calibrate(net, data, say=fabric.is_global_zero)
    wait_at_exit(fabric)  # rank zero: for the ranks it started
    timings = None
    if loop.profiler is not None and fabric.is_global_zero:
        recorded = getattr(loop.profiler, "recorded_durations", {})  # the simple one's
        timings = {action: (len(found), sum(found)) for action, found in recorded.items()}
        loop.profiler.describe()  # writes PROFILE_FILE into work_dir
    return FitResult(net=net, history=loop.history, kept=kept, selection=selection,
                     resumed_after=resumed_after, world_size=fabric.world_size,
                     threads=threads, timings=timings)


@contextmanager
def torch_settings(threads: int, deterministic: bool) -> Iterator[None]:
    """torch's threads and deterministic mode for one fit, restored after it (a sweep's
    next job picks its own). Under DDP Fabric has given each rank cores / ranks of the
    threads available, unless OMP_NUM_THREADS is set."""
    import torch.utils.deterministic as determinism

    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
              determinism.fill_uninitialized_memory)
    if deterministic:  # as Lightning's Trainer does: cuBLAS needs it to comply
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)
    # Deterministic mode also fills every new tensor's memory (with NaN), so that an op
    # reading memory it never wrote gives the same answer each time: 4-8 % of a
    # course_ex2 step. seqlab's ops write what they read; results stay identical.
    determinism.fill_uninitialized_memory = False
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        torch.use_deterministic_algorithms(before[1])
        determinism.fill_uninitialized_memory = before[2]


def _fabric(settings: TrainerSettings) -> Any:
    """Lightning Fabric for the settings; a setting it cannot honour (a GPU where there is
    none, an unknown strategy) is one ConfigError naming the trainer."""
    from lightning_fabric import Fabric
    from lightning_fabric.utilities.exceptions import MisconfigurationException

    try:
        return Fabric(**settings.fabric_kwargs())
    except (MisconfigurationException, ValueError, RuntimeError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ConfigError(f"trainer: {reason}") from None


def _batches(settings: TrainerSettings, data: SequenceData, fabric: Any, batch_size: int,
             seed: int) -> tuple[TensorBatches, TensorBatches | None]:
    """This rank's training and validation batches, on the training device. The debug
    presets keep the first few: one_batch (fast_dev_run) of both, overfit the same
    training batches every epoch, validated on themselves."""
    splits = fabric.to_device(data.splits)
    rank, world = fabric.global_rank, fabric.world_size
    limit = settings.fast_dev_run or settings.overfit_batches or None
    overfit = bool(settings.overfit_batches)
    train = TensorBatches(splits["train"], batch_size, shuffle=not overfit, seed=seed,
                          rank=rank, world_size=world, limit=limit)
    if overfit:
        return train, TensorBatches(splits["train"], batch_size, rank=rank, world_size=world,
                                    limit=limit)
    if not data.size("val"):
        return train, None
    return train, TensorBatches(splits["val"], EVAL_BATCH_SIZE, rank=rank, world_size=world,
                                limit=limit)


def headline_monitor(task: Task, has_val: bool) -> tuple[str, str]:
    """(monitor, mode) of `auto`: the task's headline on validation; the training loss
    when the data has no validation split."""
    if has_val:
        return f"val/{task.headline}", "max" if task.higher_is_better else "min"
    return "train/loss", "min"


def say_nonnegative(observed: bool) -> None:
    """The one line saying a series' forecasts are clipped at 0 (Meta.floor), and why."""
    why = ("its training values are all >= 0" if observed
           else "dataset.nonnegative=true")
    print(f"seqlab: forecasts and quantiles are clipped at 0, as {why} "
          "(dataset.nonnegative=false allows negatives)", file=sys.stderr)


def _calibrate(net: Quantiles, data: SequenceData, say: bool) -> None:
    """Widen (or narrow) the kept quantile net's interval on the validation windows
    (Quantiles.calibrate), said in one line in the series' units."""
    val = data.splits["val"]
    device = net.margin.device
    lengths = val["lengths"].to(device) if data.meta.variable_length else None
    count = net.calibrate(val["inputs"].to(device), lengths, val["targets"].to(device))
    if say and not count:
        print(f"seqlab: {len(val['targets'])} validation windows are too few to calibrate "
              f"the {net.levels[0]:g}-{net.levels[-1]:g} interval (it takes {net.fewest()}, "
              "each holding the whole horizon); it stays as trained: raise "
              "dataset.val_fraction to calibrate it", file=sys.stderr)
    elif say:
        span = (data.meta.scaler["max"] - data.meta.scaler["min"]) if data.meta.scaler else 1
        margin = net.margin.mean().item() * span
        print(f"seqlab: the {net.levels[0]:g}-{net.levels[-1]:g} interval is calibrated on "
              f"{count} validation windows: {'widened' if margin >= 0 else 'narrowed'} by "
              f"{abs(margin):.4g} a side on average (model.conformal=false keeps it as "
              "trained)", file=sys.stderr)


def _selection(keeper: KeepBest | None, history: list[dict[str, float]], task: Task
               ) -> dict[str, Any] | None:
    """What chose the kept weights and its value then: the keeper's monitor at its best
    epoch, or (the last epoch's weights kept) the headline's validation metric, else the
    training loss, of the last epoch. `validation` is the headline's validation value at
    that epoch (None without a validation split): a search's objective."""
    if not history:
        return None
    if keeper is not None and keeper.best is not None:
        chosen = {"metric": keeper.monitor, "value": keeper.best, "epoch": keeper.best_epoch,
                  "higher_is_better": keeper.mode == "max"}
    else:
        last = history[-1]
        metric = f"val/{task.headline}" if f"val/{task.headline}" in last else "train/loss"
        chosen = {"metric": metric, "value": last[metric], "epoch": int(last["epoch"]),
                  "higher_is_better": task.higher_is_better if metric != "train/loss" else False}
    row = next(r for r in history if int(r["epoch"]) == chosen["epoch"])
    chosen["validation"] = row.get(f"val/{task.headline}")
    return chosen


def _callbacks(nodes: DictConfig | dict, module: SupervisedModule, has_val: bool,
               classes: bool, task: Task, say: bool = True) -> list[Any]:
    """Build conf/callbacks, checking that what each watches is logged for this data
    (`say`: print the info line of a fallback; DDP's rank zero alone does)."""
    import sys

    callbacks, chose = [], []
    chosen = headline_monitor(task, has_val)
    for name, node in nodes.items():
        callback = instantiate(node, f"callbacks.{name}")
        if getattr(callback, "monitor", None) == AUTO:
            callback.choose(*chosen)
            chose.append(f"callbacks.{name}")
        monitor = getattr(callback, "monitor", None)
        if monitor and monitor.startswith("val/") and not has_val:
            if isinstance(callback, KeepBest):
                continue  # nothing to choose by: the last epoch's weights are kept
            raise ConfigError(
                f"callbacks.{name}: watches {monitor} but the dataset has no validation "
                "split; set dataset.val_fraction above 0 or leave this callback out")
        if monitor:
            logged = [*module.metric_names("train", classes), *module.metric_names("val", classes)]
            if monitor not in logged:
                raise ConfigError(f"callbacks.{name}.monitor: {monitor!r} is not logged for "
                                  f"this task; logged: {', '.join(logged)}")
        callbacks.append(callback)
    if chose and not has_val and say:
        print(f"seqlab: no validation split: {', '.join(chose)} watch train/loss; set "
              f"dataset.val_fraction above 0 to choose by val/{task.headline}", file=sys.stderr)
    return callbacks


def _profiler(kind: str | None, work_dir: Path) -> Any:
    if kind is None:
        return None
    from pytorch_lightning.profilers import AdvancedProfiler, SimpleProfiler

    profiler = SimpleProfiler if kind == "simple" else AdvancedProfiler
    return profiler(dirpath=str(work_dir), filename=Path(PROFILE_FILE).stem)
