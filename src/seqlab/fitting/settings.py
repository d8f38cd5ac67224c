"""The optimisation, schedule and trainer settings of a run (conf/optim, conf/scheduler,
conf/trainer). Each checks its values when the config is validated."""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass
from typing import Any

from seqlab.checks import require_choice, require_int, require_number
from seqlab.errors import ConfigError

ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")
GPU_ACCELERATORS = ("auto", "gpu", "cuda")
PROFILERS = ("simple", "advanced")
INTERVALS = ("epoch", "step")
# torch.set_num_threads under trainer.threads=auto: one thread per so many parameters.
# Measured here (2 cores, one optimiser step of each preset's net and batch): below
# 16,000 parameters one thread beat two by 3-70 % (course_ex1, course_ex2, sunspots,
# ecg, japanese_vowels); at 92,000-98,000 two beat one by 12 % (translate_numbers,
# normalise_dates). Small matrices gain nothing from splitting and pay the hand-off.
PARAMETERS_PER_THREAD = 25_000


@dataclass
class Optimization:
    """How the weights are fitted: any torch.optim optimiser, batches, epochs, clipping.

    `optimizer` is a partial of a torch.optim class (`_target_`, `_partial_: true` and its
    own settings, such as momentum); `lr` and `weight_decay` are given to it here, so
    every optimiser is tuned by the same two keys.
    """

    optimizer: Any  # functools.partial of a torch.optim.Optimizer subclass
    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 32
    max_epochs: int = 10
    gradient_clip_val: float | None = None
    val_every_n_epochs: int = 1

    def __post_init__(self) -> None:
        if not callable(self.optimizer):
            raise ConfigError("optimizer: expected a torch.optim class with _partial_: true, "
                              f"got {self.optimizer!r}")
        require_number("lr", self.lr, 0, None, low_open=True)
        require_number("weight_decay", self.weight_decay, 0)
        require_int("batch_size", self.batch_size, minimum=1)
        require_int("max_epochs", self.max_epochs, minimum=1)
        if self.gradient_clip_val is not None:
            require_number("gradient_clip_val", self.gradient_clip_val, 0, None, low_open=True)
        require_int("val_every_n_epochs", self.val_every_n_epochs, minimum=1)
        import torch

        # The optimiser checks its own settings (momentum, betas, ...): try them now.
        self.make_optimizer([torch.nn.Parameter(torch.zeros(1))])

    def make_optimizer(self, parameters: Any) -> Any:
        try:
            return self.optimizer(parameters, lr=self.lr, weight_decay=self.weight_decay)
        except (TypeError, ValueError) as error:  # a key it does not take, a bad value
            raise ConfigError(f"optimizer: {error}") from None


@dataclass
class Schedule:
    """A learning-rate scheduler (a partial of a torch.optim.lr_scheduler class).

    Arguments that depend on the run's length (`T_max`, `total_steps`) are filled in
    with the number of times the scheduler steps: epochs, or optimiser steps when
    `interval` is step. ReduceLROnPlateau watches `monitor` (train/loss when the data
    has no validation split) each time validation runs.
    """

    scheduler: Any
    interval: str = "epoch"
    monitor: str = "val/loss"

    def __post_init__(self) -> None:
        if not callable(self.scheduler):
            raise ConfigError("scheduler: expected a torch.optim.lr_scheduler class with "
                              f"_partial_: true, got {self.scheduler!r}")
        require_choice("interval", self.interval, INTERVALS)

    def build(self, optimizer: Any, epochs: int, steps: int, has_val: bool) -> LrSchedule:
        """The scheduler for `optimizer` in a run of `epochs` epochs of `steps` steps in all."""
        from torch.optim.lr_scheduler import ReduceLROnPlateau

        length = epochs if self.interval == "epoch" else steps
        taken = inspect.signature(self.scheduler.func).parameters
        filled = {name: length for name in ("T_max", "total_steps")
                  if name in taken and name not in self.scheduler.keywords}
        try:
            scheduler = self.scheduler(optimizer, **filled)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"scheduler.scheduler: {error}") from None
        if not isinstance(scheduler, ReduceLROnPlateau):
            return LrSchedule(scheduler, self.interval)
        on_val = self.monitor.startswith("val/")
        return LrSchedule(scheduler, "epoch",
                          self.monitor if has_val or not on_val else "train/loss")


@dataclass
class LrSchedule:
    """A built scheduler and when it steps: after every optimiser step (interval step),
    after every epoch, or, watching `monitor` (ReduceLROnPlateau), after each epoch that
    has it (validation runs every optim.val_every_n_epochs)."""

    scheduler: Any
    interval: str
    monitor: str | None = None

    def after_step(self) -> None:
        if self.interval == "step":
            self.scheduler.step()

    def after_epoch(self, row: dict[str, float]) -> None:
        if self.monitor is not None:
            if self.monitor in row:
                self.scheduler.step(row[self.monitor])
        elif self.interval == "epoch":
            self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(state)


@dataclass
class TrainerSettings:
    """Where training runs (Lightning Fabric's settings), its threads, and the debug
    switches.

    The defaults use whatever accelerator is present, on one node.
    """

    accelerator: str = "auto"
    devices: Any = "auto"  # "auto", a count, or a list of device ids
    strategy: str = "auto"  # "ddp" for several GPUs or nodes
    num_nodes: int = 1
    mixed_precision: bool = False  # honoured on GPU; CPU runs stay in 32-bit
    deterministic: bool = True
    threads: Any = "auto"  # "auto": from the model's size (torch_threads), or a count
    progress_bar: Any = "auto"  # true | false | auto: only when writing to a terminal
    fast_dev_run: int = 0  # n > 0: n batches of train and val, once (debug=one_batch)
    overfit_batches: int = 0  # n > 0: train and validate on the same first n batches
    profiler: str | None = None  # simple | advanced (Lightning's): a report saved with the model
    # A resume point (seqlab.fitting.resume) every n epochs or every so many minutes.
    checkpoint_every_n_epochs: int = 0
    checkpoint_every_minutes: float | None = 1.0

    def __post_init__(self) -> None:
        require_choice("accelerator", self.accelerator, ACCELERATORS)
        require_int("num_nodes", self.num_nodes, minimum=1)
        require_choice("progress_bar", self.progress_bar, (True, False, "auto"))
        if self.threads != "auto":
            require_int("threads", self.threads, minimum=1)
        listed = hasattr(self.devices, "__iter__") and not isinstance(self.devices, str)
        if not (self.devices == "auto" or isinstance(self.devices, int) or listed):
            raise ConfigError(f"devices: expected 'auto', a count or a list, got {self.devices!r}")
        require_int("fast_dev_run", self.fast_dev_run, minimum=0)
        require_int("overfit_batches", self.overfit_batches, minimum=0)
        if self.profiler is not None:
            require_choice("profiler", self.profiler, PROFILERS)
        require_int("checkpoint_every_n_epochs", self.checkpoint_every_n_epochs, minimum=0)
        if self.checkpoint_every_minutes is not None:
            require_number("checkpoint_every_minutes", self.checkpoint_every_minutes, 0, None,
                           low_open=True)

    def show_progress(self) -> bool:
        """Draw a progress bar? "auto": on a terminal, not into logs or DVC's captured output."""
        return sys.stderr.isatty() if self.progress_bar == "auto" else bool(self.progress_bar)

    def torch_threads(self, parameters: int, available: int) -> int:
        """The torch threads to train a net of `parameters` with: trainer.threads when
        given, else one per PARAMETERS_PER_THREAD parameters, between 1 and `available`
        (torch's own count: the cores, OMP_NUM_THREADS, or a sweep job's share)."""
        if self.threads != "auto":
            return int(self.threads)
        return max(1, min(available, parameters // PARAMETERS_PER_THREAD))

    def precision(self) -> str:
        """Lightning's precision flag: mixed on a CUDA GPU when asked for, else 32-bit."""
        import torch

        on_gpu = self.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
        if not (self.mixed_precision and on_gpu):
            return "32-true"
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"

    def processes(self) -> int:
        """Training processes on each node: one per device used. More than one is DDP,
        whose other ranks Fabric starts by running the command line again."""
        if isinstance(self.devices, int) and self.devices > 0:
            return self.devices
        if not isinstance(self.devices, str | int):
            return len(list(self.devices))
        import torch  # "auto" or -1: every GPU where one is used, else one process

        gpus = torch.cuda.device_count() if self.accelerator in GPU_ACCELERATORS else 0
        return max(1, gpus)

    def require_one_process(self) -> None:
        """A sweep's job trains in one process: a rank started by re-running the command
        line (`-m ...`) would run the whole sweep again."""
        count = self.processes() * self.num_nodes
        if count > 1:
            raise ConfigError(f"trainer: DDP over {count} processes cannot run inside a sweep "
                              "(-m); set trainer.devices=1, or run each configuration alone")

    def fabric_kwargs(self) -> dict[str, Any]:
        """Lightning Fabric's arguments: where and in what precision training runs."""
        devices = self.devices if isinstance(self.devices, int | str) else list(self.devices)
        return {"accelerator": self.accelerator, "devices": devices, "strategy": self.strategy,
                "num_nodes": self.num_nodes, "precision": self.precision()}
