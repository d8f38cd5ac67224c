"""Composing and validating configs.

Every config section with a `_target_` is the keyword arguments of one class. The class
checks its own values (with the helpers below); `instantiate` checks the key names against
the class signature first. So a typo, a misspelt choice or an impossible value stops the run
before any work, with a message that names the key and what is allowed.
"""

from __future__ import annotations

import inspect
import math
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from omegaconf import DictConfig, OmegaConf, open_dict

from seqlab.errors import ConfigError

TOP_LEVEL_KEYS = ("seed", "entry", "archetype", "dataset", "model", "optim", "scheduler",
                  "callbacks", "trainer", "tracking", "resume", "trial")
# numpy's and Lightning's seeds are 32-bit: above this, seed_everything silently picks a
# random seed, and the run is no longer reproducible.
MAX_SEED = 2**32 - 1
# A key seqlab may infer from the data (dataset.seasonal_period: auto): annotate it
# `int | Auto` (or `bool | Auto`), and its class resolves it when it reads the data.
AUTO = "auto"
Auto = Literal["auto"]


def require_choice(key: str, value: Any, allowed: Iterable[Any]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        shown = ", ".join(str(a) for a in allowed)
        raise ConfigError(f"{key}: {value!r} is not one of: {shown}")


def require_int(
    key: str, value: Any, minimum: int | None = None, maximum: int | None = None,
    *, auto: bool = False,
) -> None:
    """A whole number within bounds; with `auto`, or the word auto (inferred later)."""
    if auto and value == AUTO:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected a whole number{' or auto' if auto else ''}, "
                          f"got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{key}: must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{key}: must be at most {maximum}, got {value}")


def require_number(
    key: str, value: Any, low: float | None = None, high: float | None = None,
    *, low_open: bool = False, high_open: bool = False,
) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    # NaN passes every comparison below unnoticed, and an infinite rate or fraction is
    # never meant: both would only surface later as a NaN loss or an empty split.
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key}: must be a finite number, got {value}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        span = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise ConfigError(f"{key}: must be in {span}, got {value}")


# What a key annotated with a plain type takes, as the one line says it. A class's own
# checks cover ranges and choices; a flag no check reads (`bidirectional: bool`) would
# otherwise reach torch as the string 'maybe' and fail mid-training with a traceback.
PLAIN_TYPES = {"bool": "true or false", "int": "a whole number", "float": "a number"}


def plain_type(annotation: Any) -> tuple[str, bool, bool] | None:
    """(type name, takes null, takes auto) of an annotation that is bool, int or float,
    optionally `| None` and `| Auto` (a string under `from __future__ import
    annotations`, or the type itself); None for any other annotation."""
    text = annotation if isinstance(annotation, str) else getattr(
        annotation, "__name__", None) if isinstance(annotation, type) else str(annotation)
    if not text:
        return None
    text = text.replace("typing.", "").replace(" ", "")
    if text.startswith("Optional[") and text.endswith("]"):
        text = text[len("Optional["):-1] + "|None"
    parts = text.split("|")
    kinds = [p for p in parts if p not in ("None", "Auto")]
    if len(kinds) != 1 or kinds[0] not in PLAIN_TYPES:
        return None
    return kinds[0], "None" in parts, "Auto" in parts


def require_annotated(key: str, node: DictConfig, name: str, annotation: Any) -> None:
    """A value of the wrong type for a key its class annotates bool, int or float: one
    line naming the key and what it takes (an int is a float's number too)."""
    found = plain_type(annotation)
    if found is None:
        return
    kind, nullable, auto = found
    try:
        value = node[name]
    except Exception:  # an interpolation that resolves only at run time: its class checks
        return
    if (value is None and nullable) or (value == AUTO and auto):
        return
    fits = {"bool": isinstance(value, bool),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool)}[kind]
    if not fits:
        takes = PLAIN_TYPES[kind] + (" or null" if nullable else "") + (
            " or auto" if auto else "")
        raise ConfigError(f"{key}: expected {takes} ({kind}), got {value!r}")


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


NAME = re.compile(r"[A-Za-z0-9._-]+")


def require_name(key: str, value: Any) -> None:
    """A name that becomes a folder, a DVC stage and a registry alias: letters, digits,
    `.`, `_` and `-`, never a path (a `..` would reach outside the project)."""
    if not isinstance(value, str) or not NAME.fullmatch(value) or ".." in value:
        raise ConfigError(f"{key}: {value!r} is not a name; use letters, digits, '.', '_' "
                          "and '-' (no '/', no '..', no spaces)")


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
