"""A trained net's answers on one split, in the units each task is scored in.

Per-sequence tasks answer once per row; per-step tasks once per real step (padding is
dropped, rows laid end to end); generation tasks with one token array per row.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seqlab.data.processed import ProcessedData
from seqlab.models.encoders import real_steps
from seqlab.models.quantiles import Quantiles, point

BATCH_SIZE = 1024


@torch.no_grad()
def batched(net: nn.Module, data: ProcessedData, split: str, batch_size: int = BATCH_SIZE
            ) -> list[torch.Tensor]:
    """The net's outputs on a split, batch by batch; padded inputs come with their lengths."""
    net.eval()
    rows = data.splits[split]
    inputs = torch.from_numpy(data.inputs[rows])
    lengths = torch.from_numpy(data.lengths[rows]) if data.meta.variable_length else None
    parts = range(0, len(rows), batch_size)
    return [net(inputs[i : i + batch_size],
                None if lengths is None else lengths[i : i + batch_size]) for i in parts]


def steps_mask(data: ProcessedData, split: str, steps: int) -> np.ndarray:
    """The split's rows x steps mask of real (unpadded) steps."""
    return real_steps(torch.from_numpy(data.lengths[data.splits[split]]), steps).numpy()


def scored(array: np.ndarray, data: ProcessedData, split: str, per_step: bool) -> np.ndarray:
    """A per-row array (targets, target positions) cut to the units a task scores."""
    rows = array[data.splits[split]]
    return rows[steps_mask(data, split, rows.shape[1])] if per_step else rows


def classes(net: nn.Module, data: ProcessedData, split: str) -> np.ndarray:
    return torch.cat(batched(net, data, split)).argmax(dim=1).numpy()


def values(net: nn.Module, data: ProcessedData, split: str) -> np.ndarray:
    """The values forecast; of quantiles (model.quantiles), the median; of a nonnegative
    series, none below 0 (Meta.floor)."""
    return data.meta.floor(point(torch.cat(batched(net, data, split)), net).numpy())


def quantiles(net: nn.Module, data: ProcessedData, split: str) -> np.ndarray | None:
    """A quantile net's N x H x Q quantiles on a split (of a nonnegative series, none
    below 0); None for a net without them."""
    if not isinstance(net, Quantiles):
        return None
    return data.meta.floor(torch.cat(batched(net, data, split)).numpy())


def step_classes(net: nn.Module, data: ProcessedData, split: str) -> np.ndarray:
    labels = torch.cat(batched(net, data, split)).argmax(dim=2).numpy()
    return labels[steps_mask(data, split, labels.shape[1])]


def step_values(net: nn.Module, data: ProcessedData, split: str) -> np.ndarray:
    outputs = torch.cat(batched(net, data, split)).numpy()
    return outputs[steps_mask(data, split, outputs.shape[1])]


def tokens(net: nn.Module, data: ProcessedData, split: str) -> list[np.ndarray]:
    """Generated token ids, one array per row (batches may differ in length)."""
    return [row for batch in batched(net, data, split) for row in batch.numpy()]
