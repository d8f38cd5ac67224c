"""Batches sliced from in-memory tensors, and the LightningDataModule that serves them.

The datasets are small enough to live in memory, so a batch is a slice of tensors that
were shuffled once per epoch: no per-item collation, no worker processes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytorch_lightning as pl
import torch

from seqlab.data.processed import ProcessedData

Batch = dict[str, torch.Tensor]


class TensorBatches:
    """Mini-batches over equally long tensors, reshuffled every epoch from one seed.

    Under DDP every rank draws the same permutation and takes every world_size-th row of
    it (padded by wrapping around, as DistributedSampler does), so all ranks run the same
    number of batches.
    """

    def __init__(
        self, tensors: Batch, batch_size: int, shuffle: bool = False, seed: int = 0,
        rank: int = 0, world_size: int = 1,
    ) -> None:
        self.tensors = tensors
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rank, self.world_size = rank, world_size
        self.generator = torch.Generator().manual_seed(seed)
        self.rows = len(next(iter(tensors.values())))
        self.local_rows = math.ceil(self.rows / world_size)

    def __len__(self) -> int:
        return math.ceil(self.local_rows / self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        tensors = self.tensors
        if self.shuffle or self.world_size > 1:
            order = (torch.randperm(self.rows, generator=self.generator) if self.shuffle
                     else torch.arange(self.rows))
            if self.world_size > 1:
                padded = order.repeat(math.ceil(self.local_rows * self.world_size / self.rows))
                order = padded[: self.local_rows * self.world_size][self.rank :: self.world_size]
            tensors = {name: t[order] for name, t in tensors.items()}
        for start in range(0, self.local_rows, self.batch_size):
            yield {name: t[start : start + self.batch_size] for name, t in tensors.items()}


class SequenceDataModule(pl.LightningDataModule):
    """Serves the train/val/test splits of one preprocessed dataset folder."""

    def __init__(
        self, data_dir: Path, batch_size: int, seed: int = 0, eval_batch_size: int = 1024
    ) -> None:
        super().__init__()
        self.data = ProcessedData.load(data_dir)
        self.batch_size, self.eval_batch_size, self.seed = batch_size, eval_batch_size, seed
        self._train: TensorBatches | None = None
        self._train_generator_state: torch.Tensor | None = None
        self.meta = self.data.meta
        columns = {"inputs": self.data.inputs, "targets": self.data.targets,
                   "lengths": self.data.lengths}
        tensors = {name: torch.from_numpy(array) for name, array in columns.items()}
        self.splits: dict[str, Batch] = {
            split: {name: t[idx] for name, t in tensors.items()}
            for split, idx in ((n, torch.from_numpy(i)) for n, i in self.data.splits.items())
        }

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The shuffling generator's state, saved in checkpoints: a resumed run draws the
        same batches as an uninterrupted one."""
        return {"train_generator": self._train.generator.get_state()} if self._train else {}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self._train_generator_state = state.get("train_generator")

    def transfer_batch_to_device(self, batch: Batch, device: torch.device, dataloader_idx: int
                                 ) -> Batch:
        if device.type == "cpu":  # batches are sliced from CPU tensors: nothing to move
            return batch
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def has_class_targets(self) -> bool:
        """Integer targets are classes (or tokens); float targets are values."""
        return self.data.targets.dtype.kind in "iu"

    def size(self, split: str) -> int:
        return len(self.splits[split]["targets"]) if split in self.splits else 0

    def _batches(self, split: str, batch_size: int, shuffle: bool) -> TensorBatches:
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
        return TensorBatches(self.splits[split], batch_size, shuffle, self.seed, rank, world)

    def train_dataloader(self) -> TensorBatches:
        # Overfitting a few batches (debug=overfit) means the same batches every epoch.
        overfit = bool(self.trainer and self.trainer.overfit_batches)
        self._train = self._batches("train", self.batch_size, shuffle=not overfit)
        if self._train_generator_state is not None:
            self._train.generator.set_state(self._train_generator_state)
        return self._train

    def val_dataloader(self) -> TensorBatches | list:
        return self._batches("val", self.eval_batch_size, shuffle=False) if self.size("val") else []
