"""The LightningModule for token-sequence targets (one-to-many, encoder-decoder).

It reuses SupervisedModule's epoch bookkeeping and changes what a step measures:
cross-entropy over the real target tokens only (padding is ignored), token accuracy and
the share of sequences whose every token is right, all under teacher forcing.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from seqlab.training.module import SupervisedModule
from seqlab.training.settings import Optimization


class Seq2SeqModule(SupervisedModule):
    """Trains a models.generator.TokenGenerator with masked cross-entropy."""

    def __init__(self, net: nn.Module, optim: Optimization, meta: dict[str, Any]) -> None:
        super().__init__(net, optim, meta)
        self.pad_id = meta.get("model_args", {}).get("pad_id", 0)

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        targets = batch["targets"]
        lengths = batch["lengths"] if self.pass_lengths else None
        scores = self.net.scores(batch["inputs"], lengths, targets)
        real = targets != self.pad_id
        loss = F.cross_entropy(scores.transpose(1, 2), targets, ignore_index=self.pad_id)
        right = (scores.argmax(dim=-1) == targets) | ~real
        tokens = real.sum().float()
        self._accumulate(stage, [
            loss.detach() * tokens, tokens, (right & real).sum().float(),
            right.all(dim=1).sum().float(), targets.new_tensor(len(targets), dtype=torch.float32),
        ])
        return loss

    def epoch_metrics(self, stage: str, sums: torch.Tensor) -> dict[str, float]:
        """From [loss x tokens, tokens, right tokens, right sequences, sequences]."""
        return {f"{stage}/loss": float(sums[0] / sums[1]),
                f"{stage}/token_acc": float(sums[2] / sums[1]),
                f"{stage}/exact": float(sums[3] / sums[4])}
