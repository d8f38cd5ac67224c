"""Attention of decoder states over encoder outputs, with padded steps masked out."""

from __future__ import annotations

import torch
from torch import nn


class Attention(nn.Module):
    """Luong's "general" attention: score(q, m) = q W m, softmax over unmasked steps."""

    def __init__(self, query_size: int, memory_size: int) -> None:
        super().__init__()
        self.project = nn.Linear(query_size, memory_size, bias=False)

    def forward(self, queries: torch.Tensor, memory: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """queries N x Q x H, memory N x T x M, mask N x T (True = a real step).

        Returns the contexts N x Q x M and the weights N x Q x T.
        """
        scores = self.project(queries) @ memory.transpose(1, 2)
        if mask is not None:
            scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        weights = scores.softmax(dim=-1)
        return weights @ memory, weights
