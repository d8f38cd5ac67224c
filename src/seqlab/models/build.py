"""Build the configured network for the data it will read."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig
from torch import nn

from seqlab.config import build


def build_net(model_cfg: DictConfig, meta: dict[str, Any]) -> nn.Module:
    """Instantiate conf/model's `_target_` with the sizes found in the data's metadata."""
    return build(model_cfg, "model", input_size=meta["input_size"],
                 output_size=meta["output_size"], steps=meta["steps"])
