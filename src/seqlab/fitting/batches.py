"""Batches sliced from in-memory tensors, and the dataset splits they are sliced from.

The datasets are small enough to live in memory (on the training device), so a batch is
a slice of tensors that were shuffled once per epoch: no per-item collation, no worker
processes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import torch

from seqlab.data.processed import ProcessedData

Batch = dict[str, torch.Tensor]


class TensorBatches:
    """Mini-batches over equally long tensors, reshuffled every epoch from one seed.

    Under DDP every rank draws the same permutation and takes every world_size-th row of
    it (padded by wrapping around, as DistributedSampler does), so all ranks run the same
    number of batches. `limit` keeps the first so many batches (the debug presets).
    """

    def __init__(
        self, tensors: Batch, batch_size: int, shuffle: bool = False, seed: int = 0,
        rank: int = 0, world_size: int = 1, limit: int | None = None,
    ) -> None:
        self.tensors = tensors
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rank, self.world_size = rank, world_size
        self.generator = torch.Generator().manual_seed(seed)
        self.rows = len(next(iter(tensors.values())))
        self.local_rows = math.ceil(self.rows / world_size)
        if limit:
            self.local_rows = min(self.local_rows, limit * batch_size)

    def __len__(self) -> int:
        return math.ceil(self.local_rows / self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        tensors = self.tensors
        if self.shuffle or self.world_size > 1:
            order = (torch.randperm(self.rows, generator=self.generator) if self.shuffle
                     else torch.arange(self.rows))
            order = order.to(next(iter(tensors.values())).device)
            if self.world_size > 1:
                padded = order.repeat(math.ceil(self.local_rows * self.world_size / self.rows))
                order = padded[: self.local_rows * self.world_size][self.rank :: self.world_size]
            tensors = {name: t[order] for name, t in tensors.items()}
        for start in range(0, self.local_rows, self.batch_size):
            yield {name: t[start : start + self.batch_size] for name, t in tensors.items()}


class SequenceData:
    """The train/val/test splits of one preprocessed dataset folder, as tensors."""

    def __init__(self, data_dir: Path) -> None:
        self.data = ProcessedData.load(data_dir)
        self.meta = self.data.meta
        columns = {"inputs": self.data.inputs, "targets": self.data.targets,
                   "lengths": self.data.lengths}
        tensors = {name: torch.from_numpy(array) for name, array in columns.items()}
        self.splits: dict[str, Batch] = {
            split: {name: t[idx] for name, t in tensors.items()}
            for split, idx in ((n, torch.from_numpy(i)) for n, i in self.data.splits.items())
        }

    def has_class_targets(self) -> bool:
        """Integer targets are classes (or tokens); float targets are values."""
        return self.data.targets.dtype.kind in "iu"

    def size(self, split: str) -> int:
        return len(self.splits[split]["targets"]) if split in self.splits else 0
