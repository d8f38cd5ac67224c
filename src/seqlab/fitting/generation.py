"""The LightningModule for token-sequence targets (one-to-many, encoder-decoder).

It reuses SupervisedModule's epoch bookkeeping and changes what a step measures: the
task's loss over the real target tokens only (padding is ignored), token accuracy and
the share of sequences whose every token is right, all under teacher forcing.
"""

from __future__ import annotations

import torch

from seqlab.data.vocab import Vocab
from seqlab.fitting.supervised import Batch, SupervisedModule


class GenerationModule(SupervisedModule):
    """Trains a models.generator.TokenGenerator (a captioner or an encoder-decoder)."""

    def measure(self, batch: Batch, stage: str) -> torch.Tensor:
        targets = batch["targets"]
        lengths = batch["lengths"] if self.pass_lengths else None
        scores = self.net.scores(batch["inputs"], lengths, targets)
        loss = self.loss(scores, targets)
        real = targets != Vocab.pad_id
        right = (scores.argmax(dim=-1) == targets) | ~real
        self.accumulate(stage, real.sum(), loss, (right & real).sum(), right.all(dim=1).sum(),
                        len(targets))
        return loss

    def metric_names(self, stage: str, classes: bool) -> list[str]:
        return [f"{stage}/loss", f"{stage}/token_acc", f"{stage}/exact"]

    def epoch_metrics(self, stage: str, sums: torch.Tensor) -> dict[str, float]:
        """From [loss x tokens, tokens, right tokens, right sequences, sequences]."""
        return {f"{stage}/loss": float(sums[0] / sums[1]),
                f"{stage}/token_acc": float(sums[2] / sums[1]),
                f"{stage}/exact": float(sums[3] / sums[4])}
