"""What conf/callbacks can ask of a training: keep the best epoch's weights, stop early.

Each watches one metric of the epoch's history row (`monitor`, e.g. val/acc) and acts
at the end of each epoch that has it (validation runs every optim.val_every_n_epochs).
The loop (seqlab.fitting.loop) calls `on_epoch_end(loop, row)`; `state_dict` and
`load_state_dict` carry a callback's state through a resume point.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from seqlab.checks import require_choice, require_int, require_number
from seqlab.errors import ConfigError

MODES = ("min", "max")
AUTO = "auto"  # monitor and mode: the task's headline on validation (seqlab.fitting.fit)
HIGHER_IS_BETTER = ("acc", "token_acc", "exact")  # epoch metrics a mode auto maximises


class Monitor:
    """Tracks the best value of `monitor` so far, lower (`mode: min`) or higher.

    `monitor: auto` (the default) is the task's headline on the validation split, e.g.
    val/acc (max) or val/mse (min), and the training loss when there is no validation
    split; the fit sets it (`choose`) once it knows the data.
    """

    def __init__(self, monitor: str = AUTO, mode: str = AUTO, min_delta: float = 0.0) -> None:
        require_choice("mode", mode, (*MODES, AUTO))
        require_number("min_delta", min_delta, 0)
        if monitor == AUTO and mode != AUTO:
            raise ConfigError(f"mode: {mode!r} needs a monitor (e.g. monitor: val/loss); "
                              "monitor auto has its own direction")
        if mode == AUTO and monitor != AUTO:  # accuracies up, losses and errors down
            mode = "max" if monitor.rsplit("/", 1)[-1] in HIGHER_IS_BETTER else "min"
        self.monitor, self.mode, self.min_delta = monitor, mode, min_delta
        self.best: float | None = None
        self.best_epoch = 0

    def choose(self, monitor: str, mode: str) -> None:
        """What `auto` watches for this data."""
        if self.monitor == AUTO:
            self.monitor, self.mode = monitor, mode

    def improved(self, row: dict[str, float]) -> bool | None:
        """Whether this epoch's value beats the best (which it then becomes); None when
        the row does not have the metric."""
        value = row.get(self.monitor)
        if value is None:
            return None
        sign = 1 if self.mode == "min" else -1
        better = math.isfinite(value) and (
            self.best is None or sign * (self.best - value) > self.min_delta)
        if better:
            self.best, self.best_epoch = value, int(row["epoch"])
        return better

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]


class KeepBest(Monitor):
    """Keep a copy of the weights of the epoch with the best `monitor` value; the run
    ends with those weights (`restore`). Kept in memory, never written beside the model.

    An accuracy ties often on a small validation split (8 cases move it in steps of
    1/8), and the first of equals is then an early, half-trained epoch: on a tie, the
    epoch with the lower loss on the same split wins.
    """

    def __init__(self, monitor: str = AUTO, mode: str = AUTO) -> None:
        super().__init__(monitor, mode)
        self.weights: dict[str, torch.Tensor] | None = None
        self.tie_loss: float | None = None  # the kept epoch's loss on the monitor's split

    def on_epoch_end(self, loop: Any, row: dict[str, float]) -> None:
        loss = row.get(f"{self.monitor.split('/')[0]}/loss", math.inf)
        tie = (self.best is not None and row.get(self.monitor) == self.best
               and loss < (self.tie_loss if self.tie_loss is not None else math.inf))
        if tie:
            self.best_epoch = int(row["epoch"])
        if self.improved(row) or tie:
            self.tie_loss = loss
            self.weights = {name: value.detach().clone()
                            for name, value in loop.net.state_dict().items()}

    def restore(self, net: torch.nn.Module) -> str:
        """Load the best epoch's weights into `net`; say which were kept."""
        if self.weights is None:
            return "last epoch"
        net.load_state_dict(self.weights)
        return f"best {self.monitor} ({self.best:.4g}, epoch {self.best_epoch})"

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "weights": self.weights, "tie_loss": self.tie_loss}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.weights, self.tie_loss = state["weights"], state.get("tie_loss")


class EarlyStopping(Monitor):
    """Stop once `monitor` has not improved by more than `min_delta` for `patience`
    validation checks in a row."""

    def __init__(self, monitor: str = AUTO, mode: str = AUTO, patience: int = 3,
                 min_delta: float = 0.0) -> None:
        super().__init__(monitor, mode, min_delta)
        require_int("patience", patience, minimum=1)
        self.patience = patience
        self.waited = 0

    def on_epoch_end(self, loop: Any, row: dict[str, float]) -> None:
        improved = self.improved(row)
        if improved is None:
            return
        self.waited = 0 if improved else self.waited + 1
        if self.waited >= self.patience:
            loop.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "waited": self.waited}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.waited = state["waited"]
