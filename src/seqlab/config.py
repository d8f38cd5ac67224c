"""Composing and validating configs.

Every config section with a `_target_` is the keyword arguments of one class. The class
checks its own values (with seqlab.checks); `instantiate` checks the key names against
the class signature first. So a typo, a misspelt choice or an impossible value stops the run
before any work, with a message that names the key and what is allowed.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from seqlab.checks import (
    require_annotated,
    require_choice,
    require_int,
    require_name,
)
from seqlab.errors import ConfigError

TOP_LEVEL_KEYS = ("seed", "entry", "archetype", "dataset", "model", "optim", "scheduler",
                  "callbacks", "trainer", "tracking", "resume", "trial", "ensemble")
# numpy's and Lightning's seeds are 32-bit: above this, seed_everything silently picks a
# random seed, and the run is no longer reproducible.
MAX_SEED = 2**32 - 1


def _import_target(key: str, path: str) -> Any:
    import logging

    from hydra.utils import get_object

    hydra_log = logging.getLogger("hydra.utils")  # it logs the failure as well, at length
    level = hydra_log.level
    hydra_log.setLevel(logging.CRITICAL)
    try:
        return get_object(path)
    except Exception as error:  # hydra raises several types for a bad path
        reason = " ".join(str(error.__cause__ or error).split())  # the cause, on one line
        raise ConfigError(f"{key}._target_: cannot import {path!r} ({reason}); is its "
                          "module in the folder you run from, or on PYTHONPATH?") from None
    finally:
        hydra_log.setLevel(level)


def renamed(key: str, path: str, target: Any) -> None:
    """One line when `path` names a seqlab class by an old name (a module keeps it as an
    alias of the class, for saved configs and model folders)."""
    module, _, name = path.rpartition(".")
    new = getattr(target, "__name__", name)
    if path.startswith("seqlab.") and isinstance(target, type) and new != name:
        print(f"seqlab: {key}._target_: {name} is now {new} ({module}.{new}); the old "
              "name still works", file=sys.stderr)


def instantiate(node: DictConfig | dict, key: str, **runtime: Any) -> Any:
    """Instantiate the `_target_` of `node`, reporting bad keys and values as ConfigError.

    `runtime` holds arguments known only at run time (such as a model's input size).
    """
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate as hydra_instantiate

    node = node if isinstance(node, DictConfig) else OmegaConf.create(node)
    if "_target_" not in node:
        raise ConfigError(f"{key}: missing '_target_' (the class this section configures)")
    target = _import_target(key, node._target_)
    renamed(key, str(node._target_), target)
    params = inspect.signature(target).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    # A run-time value the target does not take (a model's step count, say) is not for it.
    runtime = {k: v for k, v in runtime.items() if k in params or takes_any}
    allowed = [name for name in params if name not in runtime and name != "self"]
    for name in node:
        if not str(name).startswith("_") and name not in params and not takes_any:
            raise ConfigError(
                f"{key}.{name}: unknown key for {target.__name__}; allowed keys: "
                + ", ".join(allowed)
            )
        if name in params:
            require_annotated(f"{key}.{name}", node, name, params[name].annotation)
    try:
        return hydra_instantiate(node, **runtime)
    except InstantiationException as error:
        cause = error.__cause__
        if isinstance(cause, ConfigError):
            raise ConfigError(f"{key}.{cause}") from None
        # Hydra's messages run over several lines (a nested _target_ that cannot be
        # imported, say): keep the first, which says what is wrong.
        lines = [line.strip() for line in str(cause or error).strip().splitlines()]
        first = lines[0].split(", set env var HYDRA")[0]
        if first.endswith(":") and len(lines) > 1:  # "Error loading 'x':" then the reason
            first = f"{first} {lines[1]}"
        raise ConfigError(f"{key}: {first}") from None


def validate(cfg: DictConfig) -> None:
    """Check a composed run config before any work; raises ConfigError."""
    unknown = sorted(set(cfg.keys()) - set(TOP_LEVEL_KEYS) - {"hydra"})
    if unknown:
        raise ConfigError(
            f"{unknown[0]}: unknown top-level key; allowed keys: {', '.join(TOP_LEVEL_KEYS)}"
        )
    missing = [k for k in TOP_LEVEL_KEYS if k not in cfg]
    if missing:
        raise ConfigError(f"{missing[0]}: missing from the config")
    required = sorted(k for k in OmegaConf.missing_keys(cfg) if not k.startswith("hydra"))
    if required:
        raise ConfigError(f"{required[0]}: required (`???` in its config); give it, e.g. "
                          f"{required[0]}=<value>")
    require_int("seed", cfg.seed, minimum=0, maximum=MAX_SEED)
    require_name("dataset.name", cfg.dataset.get("name"))
    if cfg.get("entry") is not None:
        require_name("entry", cfg.entry)
    check_archetype(cfg.archetype, instantiate(cfg.dataset, "dataset"))
    fit_own_model(cfg)
    for section in ("optim", "trainer", "tracking"):
        instantiate(cfg[section], section)
    if cfg.scheduler is not None:
        instantiate(cfg.scheduler, "scheduler")
    # Callbacks are Lightning's classes: importing them costs seconds, so only their
    # shape is checked here; their keys are checked when training builds them.
    for name, node in (cfg.callbacks or {}).items():
        if not isinstance(node, DictConfig) or "_target_" not in node:
            raise ConfigError(f"callbacks.{name}: expected a section with a '_target_' "
                              "(the callback's class)")
    # Sizes come from the data at run time; a small square size (2 x 2) stands in for
    # them so that the model's own checks of its config values run now.
    # model.forecast and model.quantiles say how a forecast is made, not what the net is:
    # seqlab.models reads them.
    require_choice("model.forecast", cfg.model.get("forecast", "direct"), FORECASTS)
    require_choice("model.conformal", cfg.model.get("conformal", True), (False, True))
    if cfg.model.get("quantiles") is not None:
        from seqlab.models.quantiles import check_levels

        check_levels(cfg.model.quantiles)
    model = OmegaConf.masked_copy(cfg.model, [k for k in cfg.model if k not in HOW_KEYS])
    instantiate(model, "model", **{name: 4 for name in runtime_arguments(model)})


FORECASTS = ("direct", "recursive")  # model.forecast: several steps ahead, how
HOW_KEYS = ("forecast", "quantiles", "conformal")  # read by seqlab, never given to the net


def fit_own_model(cfg: DictConfig) -> list[str]:
    """A net of the user's own (`model=own model._target_=my_models.Net`, any `_target_`
    outside seqlab) gets only the model keys its class takes: the keys an experiment preset
    set for its own net (cell, hidden_size, ...) are removed from the config, said in one
    line. Returns the keys removed."""
    target = str(cfg.model.get("_target_") or "")
    if not target or target.startswith("seqlab."):
        return []
    params = inspect.signature(_import_target("model", target)).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return []  # it takes any key: all are its own
    dropped = [str(k) for k in cfg.model
               if not str(k).startswith("_") and k not in params and k not in HOW_KEYS]
    if dropped:
        with open_dict(cfg):
            for key in dropped:
                del cfg.model[key]
        print(f"seqlab: {target} does not take model.{', model.'.join(dropped)} (the "
              "preset's settings for its own net): not passed", file=sys.stderr)
    return dropped


def check_archetype(claimed: str | None, dataset: Any) -> None:
    """The archetype follows from the dataset; a config that names another is an error."""
    from seqlab.data.meta import ARCHETYPES

    if claimed is None:
        return
    require_choice("archetype", claimed, ARCHETYPES)
    if claimed != dataset.archetype:
        raise ConfigError(
            f"archetype: {claimed!r} contradicts the data: dataset {dataset.name!r} is "
            f"{dataset.archetype}; leave archetype unset (it follows from the dataset)"
        )


def runtime_arguments(node: DictConfig) -> list[str]:
    """The required arguments of `node`'s target that the config leaves to run time."""
    target = _import_target("model", node._target_) if "_target_" in node else None
    if target is None:
        return []
    return [name for name, p in inspect.signature(target).parameters.items()
            if p.default is inspect.Parameter.empty and name not in node
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def own_model_keys(args: list[str]) -> list[str]:
    """With `model=own`, `model.<key>=<value>` sets a key of the user's class, which
    conf/model/own.yaml cannot list: given to Hydra as `++model.<key>` (add or replace)."""
    if "model=own" not in args:
        return args
    return [f"++{arg}" if arg.startswith("model.") and "=" in arg
            and not arg.startswith("model._target_=") else arg for arg in args]


def compose(overrides: Sequence[str] = (), config_name: str = "train") -> DictConfig:
    """Compose conf/<config_name>.yaml with Hydra overrides, outside a Hydra app."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException

    from seqlab.layout import conf_dir

    try:
        with initialize_config_dir(str(conf_dir()), version_base="1.3"):
            return hydra_compose(config_name=config_name,
                                 overrides=own_model_keys(list(overrides)))
    except HydraException as error:
        # Hydra's search path (its own internals) says nothing a user can act on.
        message = " ".join(str(error).split()).split(" Config search path:")[0]
        if error.__cause__ is not None:  # e.g. "Key 'hiden_size' is not in struct"
            message += f" ({str(error.__cause__).splitlines()[0]})"
        raise ConfigError(message) from None
