"""Build the configured network for the data it will read."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig
from torch import nn

from seqlab.config import build


def build_net(model_cfg: DictConfig, meta: dict[str, Any]) -> nn.Module:
    """Instantiate conf/model's `_target_` with the sizes found in the data's metadata.

    Every net may take `input_size`, `output_size` and `steps`; a dataset can offer more
    (vocabulary sizes, special token ids) in meta["model_args"].
    """
    sizes = {"input_size": meta["input_size"], "output_size": meta["output_size"],
             "steps": meta["steps"], **meta.get("model_args", {})}
    return build(model_cfg, "model", **sizes)
