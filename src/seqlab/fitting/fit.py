"""Fit a network on a preprocessed dataset with a Lightning Trainer.

The callbacks come from conf/callbacks (each a `_target_`); the weights kept are the
best on validation when a ModelCheckpoint watches a validation metric and the data has
a validation split, else the last epoch's. With a `resume_dir`, checkpoints live there
(outside the model's temporary folder) and a resume point found there is continued.

Under DDP (trainer=ddp) every rank runs this function: Lightning starts the other local
ranks by re-running the command line, each trains on its share of the rows, and rank
zero alone writes checkpoints and keeps the weights.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from pytorch_lightning.callbacks import Checkpoint, ModelCheckpoint
from torch import nn

from seqlab.config import instantiate
from seqlab.errors import ConfigError
from seqlab.fitting.batches import SequenceDataModule
from seqlab.fitting.progress import RunBar
from seqlab.fitting.ranks import StopTogether, wait_at_exit
from seqlab.fitting.resume import RESUME_FILE, ResumePoint
from seqlab.fitting.supervised import SupervisedModule
from seqlab.layout import CHECKPOINTS_DIR, PROFILE_FILE
from seqlab.models import net_for_data
from seqlab.tasks import task_of


@dataclass
class FitResult:
    net: nn.Module  # holding the kept weights
    history: list[dict[str, float]]  # one row of metrics per epoch
    kept: str  # which weights were kept, for the user: "best val/loss (epoch 4)", "last"
    example_inputs: torch.Tensor  # a few training inputs (the logged model's signature)
    resumed_after: int = 0  # the epochs a resume point had already done
    world_size: int = 1  # the processes that trained it (DDP ranks)
    threads: int = 1  # torch threads in each process


def fit(cfg: DictConfig, data_dir: Path, work_dir: Path, resume_dir: Path | None = None,
        report_epoch: Callable[[list[dict[str, float]]], None] | None = None) -> FitResult:
    """Seed everything, build data, net, module and Trainer from `cfg`, and train.

    `report_epoch` receives the history after each epoch (the tracker logs it).
    """
    # Lightning 2.6 on torch 2.13 warns about its own use of a deprecated torch API.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    # Under DDP Lightning advises sync_dist=True for epoch metrics: ours are summed across
    # ranks already (SupervisedModule._finish_epoch), so every rank logs the same values.
    warnings.filterwarnings("ignore", message=r".*self\.log\(.*sync_dist=True")
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    optim = instantiate(cfg.optim, "optim")
    settings = instantiate(cfg.trainer, "trainer")
    data = SequenceDataModule(data_dir, optim.batch_size, seed=cfg.seed)
    task = task_of(data.meta.task)
    net = net_for_data(cfg.model, data.meta)
    schedule = instantiate(cfg.scheduler, "scheduler") if cfg.scheduler is not None else None
    module = task.lightning_module()(net, task.loss, optim, data.meta, schedule)
    module.report_epoch = report_epoch
    has_val = data.size("val") > 0
    checkpoints = Path(resume_dir) if resume_dir else Path(work_dir) / CHECKPOINTS_DIR
    callbacks = _callbacks(cfg.callbacks or {}, module, has_val, data.has_class_targets(),
                           checkpoints)
    if resume_dir is not None:
        callbacks.append(ResumePoint(checkpoints, settings.checkpoint_every_n_epochs,
                                     settings.checkpoint_every_minutes))
    if settings.show_progress():
        callbacks.append(RunBar())
    callbacks.append(StopTogether())  # DDP: a SIGTERM stops every rank, without a hang
    trainer = _trainer(
        max_epochs=optim.max_epochs,
        gradient_clip_val=optim.gradient_clip_val,
        check_val_every_n_epoch=optim.val_every_n_epochs,
        limit_val_batches=1.0 if has_val else 0,
        num_sanity_val_steps=0,
        logger=False,  # the tracker logs each epoch's row itself (report_epoch)
        callbacks=callbacks,
        enable_checkpointing=any(isinstance(c, Checkpoint) for c in callbacks),
        enable_model_summary=False,
        log_every_n_steps=1,  # only epoch-level metrics are logged; see SupervisedModule
        default_root_dir=str(work_dir),
        profiler=_profiler(settings.profiler, work_dir),
        **settings.trainer_kwargs(),
    )
    resume_from = checkpoints / RESUME_FILE
    resumed_after = _epochs_done(resume_from) if resume_dir and resume_from.is_file() else 0
    # Threads for this net, for this fit only (a sweep's next job picks its own); under
    # DDP Lightning gives each rank cores / ranks instead, unless OMP_NUM_THREADS is set.
    before = torch.get_num_threads()
    torch.set_num_threads(settings.torch_threads(sum(p.numel() for p in net.parameters()),
                                                 available=before))
    try:
        # weights_only: a checkpoint is a pickle; only tensors and plain values are read.
        trainer.fit(module, datamodule=data, ckpt_path=resume_from if resumed_after else None,
                    weights_only=True)
        threads = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    # Only rank zero's weights are saved; another rank reading the best checkpoint could
    # find it deleted by rank zero below.
    kept = _keep_best(trainer, module, checkpoints) if trainer.is_global_zero else "last epoch"
    if resume_dir is None and trainer.is_global_zero:  # not into the model folder
        shutil.rmtree(checkpoints, ignore_errors=True)
    wait_at_exit(trainer)  # rank zero: for the ranks it started
    if settings.profiler and trainer.is_global_zero:
        report = Path(work_dir) / f"fit-{Path(PROFILE_FILE).stem}.txt"
        if report.is_file():
            report.rename(Path(work_dir) / PROFILE_FILE)
    return FitResult(net=net, history=module.history, kept=kept,
                     example_inputs=data.splits["train"]["inputs"][:4],
                     resumed_after=resumed_after, world_size=trainer.world_size,
                     threads=threads)


def _trainer(**kwargs: Any) -> pl.Trainer:
    """Lightning's Trainer; a setting it cannot honour (a GPU where there is none, an
    unknown strategy) is one ConfigError naming the trainer."""
    from lightning_fabric.utilities.exceptions import MisconfigurationException

    try:
        return pl.Trainer(**kwargs)
    except (MisconfigurationException, ValueError, RuntimeError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ConfigError(f"trainer: {reason}") from None


def _epochs_done(resume_from: Path) -> int:
    """The epochs a resume point has completed."""
    return int(torch.load(resume_from, map_location="cpu", weights_only=True)["epoch"]) + 1


def _callbacks(nodes: DictConfig | dict, module: SupervisedModule, has_val: bool,
               classes: bool, checkpoints: Path) -> list[pl.Callback]:
    """Build conf/callbacks, checking that what each watches is logged for this data."""
    callbacks = []
    for name, node in nodes.items():
        callback = instantiate(node, f"callbacks.{name}", dirpath=str(checkpoints))
        monitor = getattr(callback, "monitor", None)
        if monitor and monitor.startswith("val/") and not has_val:
            if isinstance(callback, ModelCheckpoint):
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
    return callbacks


def _profiler(kind: str | None, work_dir: Path) -> Any:
    if kind is None:
        return None
    from pytorch_lightning.profilers import AdvancedProfiler, SimpleProfiler

    profiler = SimpleProfiler if kind == "simple" else AdvancedProfiler
    return profiler(dirpath=str(work_dir), filename=Path(PROFILE_FILE).stem)


def _keep_best(trainer: pl.Trainer, module: SupervisedModule, checkpoints: Path) -> str:
    """Load the best checkpoint's weights, if one was chosen."""
    chosen = next((c for c in trainer.callbacks
                   if isinstance(c, ModelCheckpoint) and c.monitor and c.best_model_path), None)
    kept = "last epoch"
    if chosen is not None and Path(chosen.best_model_path).is_file():
        state = torch.load(chosen.best_model_path, map_location="cpu", weights_only=True)
        module.load_state_dict(state["state_dict"])
        kept = f"best {chosen.monitor} ({float(chosen.best_model_score):.4g}, epoch " \
               f"{state['epoch'] + 1})"
    return kept
