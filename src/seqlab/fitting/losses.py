"""Training losses, each `(outputs, targets) -> mean loss` over what the task scores."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from seqlab.data.vocab import Vocab

cross_entropy = F.cross_entropy  # class scores N x C against class ids N
mse = F.mse_loss  # values against values


def token_cross_entropy(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Next-token scores N x L x V against token ids N x L; padding does not count."""
    return F.cross_entropy(scores.transpose(1, 2), targets, ignore_index=Vocab.pad_id)
