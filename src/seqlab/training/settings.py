"""The optimisation and hardware settings of a run (conf/optim, conf/trainer)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from seqlab.config import require_choice, require_int, require_number
from seqlab.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")


@dataclass
class Optimization:
    """How the weights are fitted: optimizer, learning rate, batches, epochs, clipping."""

    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 32
    max_epochs: int = 10
    gradient_clip_val: float | None = None
    val_every_n_epochs: int = 1

    def __post_init__(self) -> None:
        require_choice("optimizer", self.optimizer, OPTIMIZERS)
        require_number("lr", self.lr, 0, None, low_open=True)
        require_number("weight_decay", self.weight_decay, 0)
        require_int("batch_size", self.batch_size, minimum=1)
        require_int("max_epochs", self.max_epochs, minimum=1)
        if self.gradient_clip_val is not None:
            require_number("gradient_clip_val", self.gradient_clip_val, 0, None, low_open=True)
        require_int("val_every_n_epochs", self.val_every_n_epochs, minimum=1)

    def make_optimizer(self, parameters: Any) -> Any:
        import torch

        cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
               "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}[self.optimizer]
        return cls(parameters, lr=self.lr, weight_decay=self.weight_decay)


@dataclass
class Hardware:
    """Where training runs. Defaults use whatever accelerator is present, on one node."""

    accelerator: str = "auto"
    devices: Any = "auto"  # "auto", a count, or a list of device ids
    strategy: str = "auto"  # "ddp" for several GPUs or nodes
    num_nodes: int = 1
    mixed_precision: bool = False  # honoured on GPU; CPU runs stay in 32-bit
    deterministic: bool = True
    progress_bar: Any = "auto"  # true | false | auto: only when writing to a terminal

    def __post_init__(self) -> None:
        require_choice("accelerator", self.accelerator, ACCELERATORS)
        require_int("num_nodes", self.num_nodes, minimum=1)
        require_choice("progress_bar", self.progress_bar, (True, False, "auto"))
        listed = hasattr(self.devices, "__iter__") and not isinstance(self.devices, str)
        if not (self.devices == "auto" or isinstance(self.devices, int) or listed):
            raise ConfigError(f"devices: expected 'auto', a count or a list, got {self.devices!r}")

    def show_progress(self) -> bool:
        """Draw a progress bar? "auto": on a terminal, not into logs or DVC's captured output."""
        return sys.stderr.isatty() if self.progress_bar == "auto" else bool(self.progress_bar)

    def precision(self) -> str:
        """Lightning's precision flag: mixed on a CUDA GPU when asked for, else 32-bit."""
        import torch

        on_gpu = self.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
        if not (self.mixed_precision and on_gpu):
            return "32-true"
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"

    def trainer_kwargs(self) -> dict[str, Any]:
        devices = self.devices if isinstance(self.devices, int | str) else list(self.devices)
        return {
            "accelerator": self.accelerator,
            "devices": devices,
            "strategy": self.strategy,
            "num_nodes": self.num_nodes,
            "precision": self.precision(),
            "deterministic": self.deterministic,
            "enable_progress_bar": self.show_progress(),
        }
