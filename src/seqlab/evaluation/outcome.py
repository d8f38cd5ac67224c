"""A net's answers on the test split beside the truth and the baselines': what each of a
task's extra metrics and figures is drawn from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from seqlab.data.processed import ProcessedData


@dataclass
class Outcome:
    """A net's answers on the test split, beside the truth and the baselines' answers."""

    net: nn.Module
    data: ProcessedData
    per_step: bool
    truth: Any
    answers: Any
    baselines: dict[str, Any]
    title: str
