"""Training losses, each `(outputs, targets) -> mean loss` over what the task scores."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from seqlab.data.vocab import Vocab

cross_entropy = F.cross_entropy  # class scores N x C against class ids N
mse = F.mse_loss  # values against values


def token_cross_entropy(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Next-token scores N x L x V against token ids N x L; padding does not count.

    Flattened to (N * L) rows: the same mean, and CUDA has a deterministic kernel for it
    (the N x V x L form has none, which `trainer.deterministic` refuses on a GPU).
    """
    return F.cross_entropy(scores.reshape(-1, scores.shape[-1]), targets.reshape(-1),
                           ignore_index=Vocab.pad_id)


def pinball(levels: list[float]) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The pinball (quantile) loss of N x H x Q quantiles at `levels` against N x H values,
    averaged over all: minimised by each output at its level's quantile."""
    at = torch.tensor(levels)

    def loss(quantiles: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        above = targets.unsqueeze(-1) - quantiles  # > 0 where the value is above it
        level = at.to(quantiles.device, quantiles.dtype)
        return torch.maximum(level * above, (level - 1) * above).mean()

    return loss
