"""The LightningModule for a target at every step (synchronous many-to-many).

Sequences are padded to one length; only each sequence's real steps (below its length)
count. The module keeps a batch's real steps and hands them to SupervisedModule, so
loss, accuracy, epoch logging and divergence checks are the same code, counted per step.
"""

from __future__ import annotations

import torch

from seqlab.fitting.supervised import Batch, SupervisedModule
from seqlab.models.encoders import real_steps


class PerStepModule(SupervisedModule):
    """SupervisedModule over every real step: N x T x C outputs against N x T targets."""

    def outputs_and_targets(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        lengths, targets = batch["lengths"], batch["targets"]
        # Lengths are always passed: a bidirectional net must not read the padding.
        outputs = self.net(batch["inputs"], lengths)
        mask = real_steps(lengths.to(outputs.device), outputs.shape[1])
        return outputs[mask], targets[mask]
