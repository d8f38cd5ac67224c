"""Checks of one config value: each names its key and what it takes, in one line.

The classes a config builds call these on their own values, so this module sits below
everything (data kinds, nets, the trainer) and imports nothing of seqlab's but errors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any, Literal

from omegaconf import DictConfig

from seqlab.errors import ConfigError

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


NAME = re.compile(r"[A-Za-z0-9._-]+")


def require_name(key: str, value: Any) -> None:
    """A name that becomes a folder, a DVC stage and a registry alias: letters, digits,
    `.`, `_` and `-`, never a path (a `..` would reach outside the project)."""
    if not isinstance(value, str) or not NAME.fullmatch(value) or ".." in value:
        raise ConfigError(f"{key}: {value!r} is not a name; use letters, digits, '.', '_' "
                          "and '-' (no '/', no '..', no spaces)")
