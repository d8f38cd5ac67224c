"""Forecasts relative to the window: what `dataset.normalise=window`, `dataset.difference=1`
and `dataset.seasonal_difference=true` ask of any forecasting net.

A trending series leaves the range its scaler saw in training, so a net fed levels meets
inputs it never saw. `Relative` wraps the net: the window's values of the series become
relative (to the window's last value, or their differences, or their seasonal
differences) before the net reads them, and the net's answer is turned back into a level
by adding what was taken away. The data, the targets, the metrics and the baselines stay
in levels: only the net sees relative values, and the undoing is part of the model, so a
trained model answers raw inputs as it was scored.
"""

from __future__ import annotations

import torch
from torch import nn

FLAT = 1e-6  # the smallest window scale (in the data's [0, 1] units)


class Relative(nn.Module):
    """`net` on relative values of the series' lags, its answers back in levels.

    `positions` are the (step, feature) places of the series' own lags in an input,
    oldest first (other inputs, a promotion flag say, are left as they are). `lags` are
    the differencing lags applied in turn (1: first differences, m: seasonal); none
    means relative to the window's last value, and with `scaled` in units of the
    window's mean absolute step (its answer multiplied back): a series ten times larger
    reads as the same shapes.
    """

    def __init__(self, net: nn.Module, positions: list[list[int]], lags: list[int],
                 scaled: bool = False) -> None:
        super().__init__()
        self.scaled = scaled
        self.net = net
        self.register_buffer("steps", torch.tensor([p[0] for p in positions]),
                             persistent=False)
        self.register_buffer("features", torch.tensor([p[1] for p in positions]),
                             persistent=False)
        self.lags = list(lags)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None
                ) -> torch.Tensor:
        series = inputs[:, self.steps, self.features]  # N x W, oldest first
        if not self.lags:  # relative to the last value
            relative, reference = series - series[:, -1:], series[:, -1:]
        else:
            relative, reference = differenced(series, self.lags), predicted_part(series,
                                                                                self.lags)
        scale = 1.0
        if self.scaled:  # a flat window keeps a small scale rather than dividing by 0
            scale = series.diff(dim=1).abs().mean(dim=1, keepdim=True).clamp_min(FLAT)
        moved = inputs.clone()
        moved[:, self.steps, self.features] = relative / scale
        return self.net(moved, lengths) * scale + reference


def differenced(series: torch.Tensor, lags: list[int]) -> torch.Tensor:
    """The series differenced at each lag in turn, zeros in front where a value lacks
    its earlier one (the shape is kept)."""
    found = series
    for lag in lags:
        found = torch.cat([torch.zeros_like(found[:, :lag]),
                           found[:, lag:] - found[:, :-lag]], dim=1)
    return found


def predicted_part(series: torch.Tensor, lags: list[int]) -> torch.Tensor:
    """What the next value is, less its difference: differencing is linear, so the next
    value's difference with the next value taken as 0, negated (N x 1)."""
    extended = torch.cat([series, torch.zeros_like(series[:, :1])], dim=1)
    for lag in lags:
        extended = extended[:, lag:] - extended[:, :-lag]
    return -extended[:, -1:]
