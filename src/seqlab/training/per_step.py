"""Training with a target at every step (synchronous many-to-many): tagging, step forecasts.

Sequences are padded to one length; only each sequence's real steps (below its length)
count. The module flattens a batch's real steps and hands them to SupervisedModule, so
loss, accuracy, epoch logging and divergence checks are the same code, counted per step.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from seqlab.training.module import SupervisedModule
from seqlab.training.settings import Optimization

# The per-sequence loss each per-step task uses on its real steps.
PER_STEP_TASKS = {"tagging": "classification", "step_regression": "regression"}


def real_steps(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """N x steps boolean mask, true at each sequence's steps below its length."""
    positions = torch.arange(steps, device=lengths.device)
    return positions[None, :] < lengths[:, None]


class PerStepModule(SupervisedModule):
    """SupervisedModule over every real step: N x T x C outputs against N x T targets."""

    def __init__(self, net: nn.Module, optim: Optimization, meta: dict[str, Any]) -> None:
        super().__init__(net, optim, {**meta, "task": PER_STEP_TASKS[meta["task"]]})
        # Pack padded sequences always: a bidirectional net must not read the padding.
        self.pass_lengths = True

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The outputs at the real steps only (M x C), or at every step without lengths."""
        outputs = self.net(inputs, lengths)
        if lengths is None:
            return outputs
        return outputs[real_steps(lengths.to(outputs.device), outputs.shape[1])]

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        mask = real_steps(batch["lengths"], batch["targets"].shape[1])
        return super()._step({**batch, "targets": batch["targets"][mask]}, stage)
