"""`search=auto`: one study over the model families that fit the task.

conf/search/auto.yaml lists each family: the archetypes and tasks it fits, the overrides
that make it (`model=fc`, `model.cell=fcn`) and its own ranges; `params` ranges apply to
every family whose config has the key (`dataset.normalise` only where the data is a
series). A trial first draws its family, then that family's values, so the sampler (TPE)
learns which family wins as it learns their sizes. Parameters are named
`<family>/<key>` in the study: the same key may range differently per family.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from omegaconf import DictConfig, OmegaConf
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from hydra_plugins.seqlab_optuna_sweeper._space import SearchSpace, parse_space
from seqlab.errors import ConfigError

FAMILY = "family"  # the study's parameter that names a trial's family
KEYS = {"archetypes", "tasks", "overrides", "params"}


def family_spaces(families: Mapping[str, Any], common: Mapping[str, Any] | None,
                  arguments: Sequence[str], config: DictConfig, archetype: str,
                  task: str, compose: Callable[[list[str]], DictConfig],
                  experiment: str | None) -> dict[str, SearchSpace]:
    """The search space of each family that fits `archetype` and `task`; the command
    line's `arguments` come last, so they pin or range a key for every family.
    `compose(overrides)` is a trial's config, `experiment` the preset (see `preset_keys`)."""
    spaces = {}
    for name, family in families.items():
        family = family or {}
        unknown = sorted(set(family) - KEYS)
        if unknown:
            raise ConfigError(f"search.families.{name}.{unknown[0]}: unknown key; a family "
                              f"has {', '.join(sorted(KEYS))}")
        if not fits(family, config, archetype, task):
            continue
        shared = {key: value for key, value in (common or {}).items()
                  if OmegaConf.select(config, key, default=None) is not None}
        overrides = [str(line) for line in family.get("overrides") or ()]
        params = {**shared, **(family.get("params") or {})}
        space = parse_space(params, [*overrides, *arguments], config)
        spaces[name] = replace(space, fixed=[*space.fixed,
                                             *preset_keys(space.fixed, config, compose,
                                                         experiment)])
    if not spaces:
        raise ConfigError(f"search=auto: no family in search.families fits a {task} task of "
                          f"the {archetype} archetype; add one, or search a space of your "
                          "own (hydra.sweeper.params)")
    return spaces


def fits(family: Mapping[str, Any], config: DictConfig, archetype: str, task: str) -> bool:
    """Whether a family is for this archetype and task, and the keys its overrides and
    params set are in this config (`model.cell` in a model that has cells); a config group
    such as `model=fc` swaps the model and is allowed where the family's archetypes say."""
    if family.get("archetypes") and archetype not in family["archetypes"]:
        return False
    if family.get("tasks") and task not in family["tasks"]:
        return False
    swapped = set()  # groups the family picks (model=fc): their keys are the new ones'
    keys = [str(line).split("=", 1)[0].lstrip("+~") for line in family.get("overrides") or ()]
    for key in [*keys, *(family.get("params") or {})]:  # the params' keys are set alike
        found = OmegaConf.select(config, key, default=None)
        if "." not in key:
            swapped.add(key)
        elif found is None and key.split(".")[0] not in swapped:
            return False
    return True


def preset_keys(overrides: list[str], config: DictConfig,
                compose: Callable[[list[str]], DictConfig], experiment: str | None
                ) -> list[str]:
    """Deletions (`~model.cell`) of the keys the experiment preset set in a group that a
    family swaps (`model=fc`): the preset's settings are for the model it chose, and the
    new model would refuse them as unknown keys. `overrides` are a trial's fixed ones
    (the family's and the command line's)."""
    groups = [line.split("=", 1)[0] for line in overrides
              if "=" in line and "." not in line.split("=", 1)[0]
              and isinstance(OmegaConf.select(config, line.split("=", 1)[0]), DictConfig)]
    if not groups or not experiment:
        return []
    # The groups' own keys: composed with the swaps alone (no preset, no command line,
    # whose keys may belong to the preset's dataset).
    swaps = [line for line in overrides if line.split("=", 1)[0] in groups]
    with_preset, bare = compose(overrides), compose(swaps)
    return [f"~{group}.{key}" for group in groups for key in with_preset[group]
            if key not in bare[group]]


def ask(study: Any, spaces: Mapping[str, SearchSpace]) -> Any:
    """A new trial: its family drawn first, then that family's values."""
    trial = study.ask()
    family = trial.suggest_categorical(FAMILY, list(spaces))
    for key, distribution in spaces[family].distributions.items():
        sample(trial, f"{family}/{key}", distribution)
    return trial


def overrides(params: Mapping[str, Any], spaces: Mapping[str, SearchSpace]) -> list[str]:
    """A trial's overrides from its parameters (`family`, `<family>/<key>`)."""
    family = params[FAMILY]
    prefix = f"{family}/"
    return spaces[family].overrides({key[len(prefix):]: value for key, value in params.items()
                                     if key.startswith(prefix)})


def sample(trial: Any, name: str, distribution: BaseDistribution) -> Any:
    """Draw `name` from `distribution` through the trial's public suggest methods."""
    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(name, distribution.low, distribution.high,
                                 step=distribution.step, log=distribution.log)
    if isinstance(distribution, FloatDistribution):
        return trial.suggest_float(name, distribution.low, distribution.high,
                                   step=distribution.step, log=distribution.log)
    raise TypeError(f"{name}: no way to sample a {type(distribution).__name__}")
