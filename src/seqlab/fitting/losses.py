"""Training losses, each `(outputs, targets) -> mean loss` over what the task scores."""

from __future__ import annotations

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
