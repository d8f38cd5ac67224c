"""Networks as plain nn.Modules: reusable parts and one model per archetype."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omegaconf import DictConfig, OmegaConf

from seqlab.config import HOW_KEYS, instantiate
from seqlab.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

    from seqlab.data.meta import Meta


def net_for_data(model_cfg: DictConfig, meta: Meta) -> nn.Module:
    """Instantiate conf/model's `_target_` with the sizes found in the data's meta.

    Every net may take `input_size`, `output_size` and `steps`; a dataset can offer more
    (vocabulary sizes, special token ids) in meta.model_args. A config with `members`
    (an ensemble's) builds each member so and averages them (seqlab.models.ensemble).
    """
    if "members" in model_cfg:
        from seqlab.models.ensemble import Ensemble, averaging

        return Ensemble([net_for_data(member, meta) for member in model_cfg.members],
                        averaging(meta.task))
    sizes = {"input_size": meta.input_size, "output_size": meta.output_size,
             "steps": meta.steps, **meta.model_args}
    settings = OmegaConf.masked_copy(model_cfg, [k for k in model_cfg if k not in HOW_KEYS])
    recursive = model_cfg.get("forecast", "direct") == "recursive" and meta.output_size > 1
    levels = model_cfg.get("quantiles")
    if recursive:  # a one-step net, its forecasts fed back (seqlab.models.recursive)
        from seqlab.models.recursive import Recursive, check_recursive

        check_recursive(meta, quantiles=levels is not None)
        sizes["output_size"] = 1
    if levels is not None:  # Q outputs per step ahead (seqlab.models.quantiles)
        from seqlab.models.quantiles import Quantiles, check_levels

        levels = check_levels(levels)
        if meta.task != "regression":
            raise ConfigError(f"model.quantiles: intervals are for forecasts of a series; "
                              f"{meta.name} is a {meta.task} task; set model.quantiles=null")
        sizes["output_size"] = meta.output_size * len(levels)
    net = lengths_optional(instantiate(settings, "model", **sizes))
    if recursive:
        net = Recursive(net, meta.series_lags, meta.output_size)
    if meta.relative is not None:  # the dataset's normalise / difference settings
        from seqlab.models.relative import Relative

        net = Relative(net, meta.series_lags, meta.relative, meta.relative_scale)
    if levels is not None:
        net = Quantiles(net, levels, meta.output_size)
    return net


def check_outputs(net: nn.Module, batch: dict, output_size: int, per_step: bool,
                  target: str) -> None:
    """One line when a user's own net (`target`) answers two training rows in a shape the
    task cannot score: N x output_size for one answer per sequence, N x T x output_size
    for one per step."""
    import torch

    from seqlab.models.quantiles import Quantiles

    inputs, targets = batch["inputs"][:2], batch["targets"][:2]
    lengths = batch["lengths"][:2]
    if isinstance(net, Quantiles):  # the user's net gives Q outputs per step ahead
        net, output_size = net.net, output_size * len(net.levels)
    was_training = net.training
    net.eval()
    with torch.no_grad():
        outputs = net(inputs, lengths)
    net.train(was_training)
    expected = ((*targets.shape[:2], output_size) if per_step else (len(targets), output_size))
    found = tuple(getattr(outputs, "shape", ()))
    if found != expected:
        what = ("a score per class (or the value) at every step" if per_step else
                "one row per sequence: a score per class, or the value")
        raise ConfigError(f"model: {target} answered inputs of shape {tuple(inputs.shape)} "
                          f"with {found or type(outputs).__name__}; this task expects "
                          f"{expected} ({what}); see docs: guides/own-model.md")


def lengths_optional(net: nn.Module) -> nn.Module:
    """Every net is called as net(inputs, lengths); a user's own net whose forward takes
    the inputs alone is given them alone (its weights and their names are unchanged)."""
    import inspect

    params = list(inspect.signature(net.forward).parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) == 1 and not any(p.kind is p.VAR_POSITIONAL for p in params):
        own_forward = net.forward
        net.forward = lambda inputs, lengths=None: own_forward(inputs)
    return net
