"""Fit a network on a preprocessed dataset with a Lightning Trainer."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig
from pytorch_lightning.callbacks import ModelCheckpoint, TQDMProgressBar
from torch import nn

from seqlab.config import build
from seqlab.models.build import build_net
from seqlab.training.batches import SequenceDataModule
from seqlab.training.module import SupervisedModule
from seqlab.training.per_step import PerStepModule
from seqlab.training.seq2seq_module import Seq2SeqModule

CHECKPOINTS_PER_RUN = 10  # a last.ckpt to resume from, without saving every epoch
PROGRESS_REFRESH_STEPS = 20  # redrawing the bar every step costs more than a tiny step
# The LightningModule that trains each kind of task (the `task` in a dataset's meta.json).
TASK_MODULES = {"classification": SupervisedModule, "regression": SupervisedModule,
                "generation": Seq2SeqModule,
                "tagging": PerStepModule, "step_regression": PerStepModule}


@dataclass
class FitResult:
    net: nn.Module
    history: list[dict[str, float]]
    datamodule: SequenceDataModule
    trainer: pl.Trainer


def fit(cfg: DictConfig, data_dir: Path, out_dir: Path, logger: Any = False) -> FitResult:
    """Seed everything, build data, net and Trainer from `cfg`, and train."""
    # Lightning 2.6 on torch 2.13 warns about its own use of a deprecated torch API.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    optim = build(cfg.optim, "optim")
    hardware = build(cfg.trainer, "trainer")
    data = SequenceDataModule(data_dir, optim.batch_size, seed=cfg.seed)
    net = build_net(cfg.model, data.meta)
    module = TASK_MODULES[data.meta["task"]](net, optim, data.meta)
    checkpoints = ModelCheckpoint(
        dirpath=Path(out_dir) / "checkpoints", save_last=True, save_top_k=0,
        every_n_epochs=max(1, optim.max_epochs // CHECKPOINTS_PER_RUN),
    )
    callbacks: list[pl.Callback] = [checkpoints]
    if hardware.show_progress():
        callbacks.append(TQDMProgressBar(refresh_rate=PROGRESS_REFRESH_STEPS))
    has_val = data.size("val") > 0
    trainer = pl.Trainer(
        max_epochs=optim.max_epochs,
        gradient_clip_val=optim.gradient_clip_val,
        check_val_every_n_epoch=optim.val_every_n_epochs,
        limit_val_batches=1.0 if has_val else 0,
        num_sanity_val_steps=0,
        logger=logger,
        callbacks=callbacks,
        enable_model_summary=False,
        log_every_n_steps=1,  # only epoch-level metrics are logged; see SupervisedModule
        default_root_dir=str(out_dir),
        **hardware.trainer_kwargs(),
    )
    trainer.fit(module, datamodule=data)
    return FitResult(net=net, history=module.history, datamodule=data, trainer=trainer)
