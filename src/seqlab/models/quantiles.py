"""Forecast intervals (`model.quantiles=[0.1, 0.5, 0.9]`): a net that forecasts quantiles.

The wrapped net gives `len(levels)` outputs per step ahead; `Quantiles` lays them out as
N x H x Q, sorted along Q so that no two quantiles cross. Trained with the pinball loss
(seqlab.losses.pinball), each output converges to its quantile of the value given
the window: the lowest and highest make the interval, the median is the point forecast
every metric scores. Wrapped outside seqlab.models.relative, so the reference a relative
net adds back moves every quantile alike.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from seqlab.errors import ConfigError

MEDIAN = 0.5  # the point forecast


def check_levels(levels: Any) -> list[float]:
    """model.quantiles (a list, or the config's list node) as a sorted list of distinct
    levels in (0, 1) holding 0.5; one line otherwise."""
    from omegaconf import OmegaConf

    if OmegaConf.is_config(levels):
        levels = OmegaConf.to_object(levels)
    example = "e.g. model.quantiles=[0.1,0.5,0.9]"
    if not isinstance(levels, list | tuple) or len(levels) < 2:
        raise ConfigError(f"model.quantiles: expected a list of at least two levels, got "
                          f"{levels!r}; {example}")
    found = []
    for level in levels:
        if isinstance(level, bool) or not isinstance(level, int | float) or not (
                0 < level < 1 and math.isfinite(level)):
            raise ConfigError(f"model.quantiles: {level!r} is not a level between 0 and 1; "
                              f"{example}")
        found.append(float(level))
    if len(set(found)) != len(found):
        raise ConfigError(f"model.quantiles: {levels!r} names a level twice; {example}")
    if MEDIAN not in found:
        raise ConfigError(f"model.quantiles: {levels!r} lacks 0.5, the median every metric "
                          f"scores as the forecast; {example}")
    return sorted(found)


class Quantiles(nn.Module):
    """`net`'s N x (H * Q) outputs as N x H x Q quantiles, ascending along Q; the lowest
    and highest moved apart by `margin` (one per step ahead: 0 until calibrated)."""

    def __init__(self, net: nn.Module, levels: list[float], horizon: int) -> None:
        super().__init__()
        self.net, self.levels, self.horizon = net, list(levels), horizon
        self.median = self.levels.index(MEDIAN)
        self.register_buffer("margin", torch.zeros(horizon))  # saved with the weights

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None
                ) -> torch.Tensor:
        outputs = self.net(inputs, lengths).reshape(len(inputs), self.horizon, -1)
        found = outputs.sort(dim=-1).values  # crossing quantiles would be no interval
        return torch.cat([found[..., :1] - self.margin[:, None], found[..., 1:-1],
                          found[..., -1:] + self.margin[:, None]], dim=-1)

    @torch.no_grad()
    def calibrate(self, inputs: torch.Tensor, lengths: torch.Tensor | None,
                  targets: torch.Tensor) -> int:
        """Conformalised quantile regression (Romano, Patterson & Candes 2019): on held-out
        windows, how far each value falls outside the interval (negative: inside), and
        the margin per step ahead that makes the interval hold its nominal share of them
        (the ceil((n + 1) * nominal)-th smallest).
        An interval fitted on the training windows is as narrow as they are easy; this
        one covers new windows as often as it claims, if they are like the held-out ones.
        Returns n, the windows it was calibrated on; with fewer than `fewest()`, it is left
        as trained and n is 0."""
        if len(targets) < self.fewest():
            return 0
        was_training = self.training
        self.eval()
        self.margin.zero_()
        found = self(inputs, lengths)
        self.train(was_training)
        outside = torch.maximum(found[..., 0] - targets, targets - found[..., -1])  # N x H
        n = len(outside)
        rank = math.ceil((n + 1) * (self.levels[-1] - self.levels[0]))
        self.margin.copy_(outside.sort(dim=0).values[rank - 1])
        return n

    def fewest(self) -> int:
        """The fewest held-out windows whose ceil((n + 1) * nominal)-th smallest exists."""
        nominal = self.levels[-1] - self.levels[0]
        return max(1, math.ceil(nominal / (1 - nominal) - 1e-9))


def point(outputs: torch.Tensor, net: nn.Module) -> torch.Tensor:
    """The point forecast in a net's outputs: the median of a Quantiles net (N x H),
    the outputs themselves otherwise."""
    return outputs[..., net.median] if isinstance(net, Quantiles) else outputs
