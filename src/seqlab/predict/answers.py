"""The net's outputs as answers in the user's terms, one function per task.

Each takes the net's outputs row by row (one tensor per input), the encoded inputs (their
keys: id, date, sentence and token) and the dataset's meta, and returns a table: class
names with their probability, forecasts in the series' original units, a tag per word,
decoded text. The task registry (seqlab.tasks) names each task's function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from seqlab.data.meta import Meta
from seqlab.data.vocab import Vocab

if TYPE_CHECKING:  # pandas: not imported by the evaluation, which reads this registry
    import pandas as pd

    from seqlab.data.raw_inputs import Encoded


def _with(keys: pd.DataFrame, **columns: object) -> pd.DataFrame:
    table = keys.reset_index(drop=True).copy()
    for name, values in columns.items():
        table[name] = values
    return table


def _real(outputs: list[torch.Tensor], encoded: Encoded) -> torch.Tensor:
    """Per-step outputs of every input's real steps, laid end to end."""
    return torch.cat([row[: int(n)] for row, n in zip(outputs, encoded.lengths, strict=True)])


def labels(outputs: list[torch.Tensor], encoded: Encoded, meta: Meta) -> pd.DataFrame:
    """Classification: `label` (the class name) and its `probability`."""
    probabilities = torch.softmax(torch.stack(outputs).float(), dim=-1)
    best = probabilities.max(dim=-1)
    return _with(encoded.keys, label=[meta.classes[i] for i in best.indices.tolist()],
                 probability=best.values.numpy().astype(np.float64))


def forecasts(outputs: list[torch.Tensor], encoded: Encoded, meta: Meta,
              levels: list[float] | None = None) -> pd.DataFrame:
    """Regression: `forecast`, in the series' original units; with a horizon, a row for
    each date ahead; with quantiles (`levels`), the median as `forecast` and a column for
    each quantile (`q0.1`, `q0.5`, `q0.9`)."""
    found = torch.stack(outputs).numpy()
    keys = encoded.keys if encoded.steps is None else encoded.steps
    if not levels:
        return _with(keys, forecast=meta.forecast_units(found))
    each = meta.forecast_units(found).reshape(-1, len(levels))  # a row per date ahead
    return _with(keys, forecast=each[:, levels.index(0.5)],
                 **{f"q{level:g}": each[:, i] for i, level in enumerate(levels)})


def values(outputs: list[torch.Tensor], encoded: Encoded, meta: Meta) -> pd.DataFrame:
    """Sequence regression: each sequence's `value`, in its labels' original units."""
    return _with(encoded.keys, value=meta.unscale(torch.stack(outputs).numpy()))


def tags(outputs: list[torch.Tensor], encoded: Encoded, meta: Meta) -> pd.DataFrame:
    """Tagging: a `tag` for every real step (word, frame, sample)."""
    chosen = _real(outputs, encoded).argmax(dim=-1).tolist()
    return _with(encoded.steps, tag=[meta.classes[i] for i in chosen])


def step_forecasts(outputs: list[torch.Tensor], encoded: Encoded, meta: Meta
                   ) -> pd.DataFrame:
    """Per-step regression: the `forecast` of the value after every row read."""
    return _with(encoded.steps, forecast=meta.unscale(_real(outputs, encoded).numpy()))


def texts(outputs: list[torch.Tensor], encoded: Encoded, meta: Meta) -> pd.DataFrame:
    """Generation: the generated tokens decoded as text, `output`."""
    vocab = Vocab(meta.target_vocab, meta.target_level)
    return _with(encoded.keys, output=[vocab.decode(row.tolist()) for row in outputs])
