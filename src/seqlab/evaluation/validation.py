"""A trained net's validation headline, measured again from its answers, and its loss.

What training logged as `val/<headline>` at the kept epoch (accuracy, or the MSE in the
data's scaled units), for any net on the same data: so a search's winner and an ensemble
of its best trials are compared by one measurement. The loss (cross entropy, or the MSE)
breaks a tie of the headline: a small validation split often gives several nets every
class right. The test split is never read.
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.data.processed import ProcessedData
from seqlab.evaluation.predict import batched, steps_mask
from seqlab.models.quantiles import point


def validation_scores(net: nn.Module, data: ProcessedData, headline: str,
                      per_step: bool) -> tuple[float, float]:
    """`net`'s val/<headline> (`acc` or `mse`) on `data`'s validation split, and its
    validation loss (cross entropy of classes, the MSE of values)."""
    outputs = point(torch.cat(batched(net, data, "val")), net)
    targets = torch.from_numpy(data.targets[data.splits["val"]])
    if per_step:  # only each sequence's real steps count, as in training
        mask = torch.from_numpy(steps_mask(data, "val", targets.shape[1]))
        outputs, targets = outputs[mask], targets[mask]
    if headline == "acc":
        loss = torch.nn.functional.cross_entropy(outputs.float(), targets)
        return float((outputs.argmax(dim=-1) == targets).float().mean()), float(loss)
    if headline == "mse":
        mse = float(torch.nn.functional.mse_loss(outputs.float(), targets.float()))
        return mse, mse
    raise ValueError(f"no validation measure for the headline {headline!r}")
