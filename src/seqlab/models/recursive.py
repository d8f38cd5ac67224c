"""Multi-step forecasts by recursion (`model.forecast=recursive`): a net that forecasts
one step, its forecast fed back as the window's newest value, `horizon` times.

The direct alternative (the default) gives the net one output per step ahead. Recursion
reuses one step's skill at every step ahead, and trains through the whole recursion:
the loss is on all `horizon` forecasts, so errors fed back are learned from. Only the
series' own lags can be fed back: further input columns have no future values.
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.data.meta import Meta
from seqlab.errors import ConfigError


def check_recursive(meta: Meta, quantiles: bool = False) -> None:
    """One line when the data (or the model's quantiles) cannot be forecast recursively."""
    if quantiles:
        raise ConfigError("model.forecast: recursive feeds one value back, not quantiles; "
                          "with model.quantiles use model.forecast=direct")
    if meta.series_lags is None:
        raise ConfigError(f"model.forecast: recursive forecasts feed a window forecast back "
                          f"into its window; {meta.name} is not a window over a series")
    if meta.relative:  # differences: what is fed back would not be a difference
        raise ConfigError("model.forecast: recursive feeds back levels (or values relative "
                          "to the window's last one); with dataset.difference or "
                          "dataset.seasonal_difference use model.forecast=direct")
    if len(meta.series_lags) != meta.steps * meta.input_size:
        raise ConfigError("model.forecast: recursive has no future values for the further "
                          "input columns; use model.forecast=direct, or no input columns")


class Recursive(nn.Module):
    """`net` (N x T x F -> N x 1) run `horizon` times, each forecast becoming the newest
    of the series' lags (at `positions`, oldest first): N x horizon forecasts."""

    def __init__(self, net: nn.Module, positions: list[list[int]], horizon: int) -> None:
        super().__init__()
        self.net, self.horizon = net, horizon
        self.register_buffer("steps", torch.tensor([p[0] for p in positions]),
                             persistent=False)
        self.register_buffer("features", torch.tensor([p[1] for p in positions]),
                             persistent=False)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None
                ) -> torch.Tensor:
        forecasts = []
        for _ in range(self.horizon):
            forecast = self.net(inputs, lengths)  # N x 1
            forecasts.append(forecast)
            series = inputs[:, self.steps, self.features]
            inputs = inputs.clone()
            inputs[:, self.steps, self.features] = torch.cat([series[:, 1:], forecast], 1)
        return torch.cat(forecasts, dim=1)
