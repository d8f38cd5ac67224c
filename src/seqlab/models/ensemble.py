"""An ensemble: several trained nets of one dataset, their answers averaged.

Classes average as probabilities and come out as log-probabilities, so everything that
reads a net's scores as logits (argmax, softmax, cross entropy) reads the average; values
and forecasts average as they are. Members may differ in kind (an LSTM beside a ResNet):
each is built from its own model config. A config with `members` builds one
(seqlab.models.net_for_data), so an ensemble's folder saves, loads, predicts and serves
like any model's: one config, one meta, one state dict (`members.<i>.<weight>`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from seqlab.errors import ConfigError

TARGET = "seqlab.models.ensemble.Ensemble"
# How each task's answers average; a task absent here (generation: decoded token by
# token) has no one answer per input to average.
AVERAGED = {"classification": "probabilities", "tagging": "probabilities",
            "regression": "values", "sequence_regression": "values",
            "step_regression": "values"}


def averaging(task: str) -> str:
    """What an ensemble of `task`'s nets averages; one line for a task it cannot."""
    if task not in AVERAGED:
        raise ConfigError(f"ensemble: a {task} model decodes its answer token by token; "
                          "ensembles average one answer per input (classes, values, "
                          "forecasts); set ensemble=false")
    return AVERAGED[task]


class Ensemble(nn.Module):
    """The mean of its members' answers (of classes: their probabilities, as logs)."""

    def __init__(self, members: list[nn.Module], average: str) -> None:
        super().__init__()
        from seqlab.models.quantiles import Quantiles

        if any(isinstance(member, Quantiles) for member in members):
            raise ConfigError("ensemble: its members forecast quantiles; an ensemble "
                              "averages point forecasts: train them with model.quantiles=null")
        if len(members) < 2:
            raise ConfigError(f"ensemble: {len(members)} member; an ensemble needs two or more")
        self.members = nn.ModuleList(members)
        self.probabilities = average == "probabilities"

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        answers = torch.stack([member(inputs, lengths) for member in self.members])
        if not self.probabilities:
            return answers.mean(dim=0)
        # log(mean(softmax)) without leaving log space: no underflow for sure classes.
        return torch.logsumexp(answers.log_softmax(dim=-1), dim=0) - math.log(len(answers))
