"""The search space: Hydra's override grammar in, Optuna distributions and overrides out.

`hydra.sweeper.params` and the command line's own sweeps (`model.cell=rnn,gru`) name the
ranges; every other override is passed to each trial as given. A later override of a
key replaces an earlier one, so a command-line value pins a key the search file ranges.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from seqlab.errors import ConfigError

# A string that reads back as itself without quotes (and is no keyword such as null).
_PLAIN = re.compile(r"[A-Za-z_][\w\-./]*")
_KEYWORDS = {"true", "false", "null", "nan", "inf"}
_SCALARS = (str, int, float, bool)


@dataclass(frozen=True)
class SearchSpace:
    fixed: list[str]  # the overrides every trial gets
    keys: dict[str, str]  # parameter -> how its override names it (`model.cell`, `+x`)
    distributions: dict[str, BaseDistribution]
    # Parameters whose choices are lists, kept in the study as their override text
    # ("[64,64]": Optuna's choices are scalars) and given to a trial as written.
    texts: frozenset[str] = frozenset()

    def overrides(self, params: Mapping[str, Any]) -> list[str]:
        """A trial's overrides: the fixed ones, then its sampled values."""
        return [*self.fixed, *(f"{self.keys[name]}="
                               + (value if name in self.texts else format_value(value))
                               for name, value in params.items())]

    def extremes(self) -> list[list[str]]:
        """Overrides that set one parameter to one of its choices or bounds each, to
        check every value the search may pick before the first trial."""
        return list(self._extremes())

    def _extremes(self) -> Iterator[list[str]]:
        for name, dist in self.distributions.items():
            for value in dict.fromkeys(_values(dist)):
                yield self.overrides({name: value})

    def first(self) -> list[str]:
        """A trial's overrides with every parameter at its first choice or lower bound:
        one whole config the space can draw."""
        return self.overrides({name: _values(dist)[0]
                               for name, dist in self.distributions.items()})


def _values(dist: BaseDistribution) -> Sequence[Any]:
    """A distribution's choices, or its bounds."""
    return dist.choices if isinstance(dist, CategoricalDistribution) else (dist.low, dist.high)


def format_value(value: Any) -> str:
    """`value` as Hydra's override grammar reads it back."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str) and (not _PLAIN.fullmatch(value) or value.lower() in _KEYWORDS):
        return quote(value)
    return str(value)


def quote(text: str) -> str:
    """`text` as a quoted string of the override grammar."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def parse_space(params: Mapping[str, Any] | None, arguments: Sequence[str],
                config: DictConfig) -> SearchSpace:
    """The search space of `hydra.sweeper.params` and the command line's `arguments`;
    `config` (the sweep's) tells a whole-number key from a real one."""
    lines = [f"{key}={value}" for key, value in (params or {}).items()]
    parser = OverridesParser.create()
    overrides: dict[str, Override] = {}
    for line in [*lines, *arguments]:
        try:
            override = parser.parse_override(line)
        except HydraException as error:
            raise ConfigError(f"search space: cannot parse {line!r}: "
                              f"{_first_line(error)}") from None
        overrides.pop(override.key_or_group, None)  # the later one, in its later place
        overrides[override.key_or_group] = override
    fixed, keys, distributions, texts = [], {}, {}, set()
    for name, override in overrides.items():
        if not override.is_sweep_override():
            fixed.append(override.input_line)
            continue
        keys[name] = override.get_key_element()
        value = override.value()
        if isinstance(value, ChoiceSweep) and value.list and all(
                isinstance(v, list) for v in value.list):
            choices = [list_text(v, override.input_line) for v in value.list]
            distributions[name], texts = CategoricalDistribution(choices), texts | {name}
            continue
        current = OmegaConf.select(config, name, default=None)
        distributions[name] = distribution(override, current)
    return SearchSpace(fixed, keys, distributions, frozenset(texts))


def list_text(values: list[Any], line: str) -> str:
    """A list of scalars as the override grammar writes it: [64,64], [] ."""
    if not all(isinstance(v, _SCALARS) for v in values):
        raise ConfigError(f"search space {line}: a list to choose must hold numbers, "
                          "strings or booleans")
    return "[" + ",".join(format_value(v) for v in values) + "]"


def distribution(override: Override, current: Any) -> BaseDistribution:
    """The Optuna distribution of one sweep: choice(...) and a,b,c are categorical,
    range(...) and interval(...) numeric, tag(log, ...) log-scaled. An interval is of
    whole numbers under tag(int, ...) or where the config holds a whole number."""
    value, line = override.value(), override.input_line
    tags = set(getattr(value, "tags", ()) or ())
    try:
        if isinstance(value, ChoiceSweep) and not value.shuffle and not tags:
            if not all(v is None or isinstance(v, _SCALARS) for v in value.list):
                raise ValueError("a choice must be of numbers, strings, booleans or null")
            return CategoricalDistribution(list(value.list))
        if isinstance(value, RangeSweep) and not value.shuffle and not tags:
            values = list(override.sweep_iterator())
            if not values:
                raise ValueError("the range is empty")
            if all(isinstance(v, int) for v in values):
                step = int(value.step) if len(values) > 1 else 1
                return IntDistribution(values[0], values[-1], step=step)
            step = float(value.step) if len(values) > 1 else None
            return FloatDistribution(float(values[0]), float(values[-1]), step=step)
        if isinstance(value, IntervalSweep) and tags <= {"log", "int"}:
            log = "log" in tags
            whole = "int" in tags or (isinstance(current, int) and not isinstance(current, bool)
                                      and float(value.start).is_integer()
                                      and float(value.end).is_integer())
            if whole:
                return IntDistribution(int(value.start), int(value.end), log=log)
            return FloatDistribution(float(value.start), float(value.end), log=log)
    except ValueError as error:  # Optuna's checks: low above high, log of zero, ...
        raise ConfigError(f"search space {line}: {_first_line(error)}") from None
    raise ConfigError(f"search space {line}: not a range the optuna sweeper knows; use "
                      "interval(low, high), tag(log, interval(low, high)), "
                      "range(low, high, step=s) or choice(a, b, c)")


def _first_line(error: Exception) -> str:
    """The first line of a Hydra or Optuna message (the rest is its internals)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
