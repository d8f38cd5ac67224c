"""Networks as plain nn.Modules: reusable parts and one model per archetype."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omegaconf import DictConfig

from seqlab.config import instantiate

if TYPE_CHECKING:
    from torch import nn

    from seqlab.data.meta import Meta


def net_for_data(model_cfg: DictConfig, meta: Meta) -> nn.Module:
    """Instantiate conf/model's `_target_` with the sizes found in the data's meta.

    Every net may take `input_size`, `output_size` and `steps`; a dataset can offer more
    (vocabulary sizes, special token ids) in meta.model_args.
    """
    sizes = {"input_size": meta.input_size, "output_size": meta.output_size,
             "steps": meta.steps, **meta.model_args}
    return instantiate(model_cfg, "model", **sizes)
