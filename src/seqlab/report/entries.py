"""The evaluated entries of a pipeline: metrics/<entry>.json and plots/<entry>/history.csv.

A metrics file is read in either of two shapes. Today's: one record with `headline`,
`test`, `baselines` and the entry's description. The one proposed for DVC's tables (see
docs in the report stage): metrics/<entry>.json holds the headline only (`metric`,
`value`, `baseline`, `verdict`) and the full record lies beside it, in
metrics/details/<entry>.json or plots/<entry>/details.json.

params.yaml, when given, tells which entries differ only by their seed: those are one
configuration, and become one group of results with a mean and a spread.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from seqlab.errors import DataError
from seqlab.layout import HISTORY_FILE
from seqlab.report.verdicts import Result

DETAILS_DIR = "details"  # metrics/details/<entry>.json, in the proposed split
DETAILS_FILE = "details.json"  # or plots/<entry>/details.json
# Keys of an entry's config that do not make it another configuration: the seed is what
# groups vary over; the entry's name, a resumed run and an Optuna trial number are labels.
NOT_CONFIG = ("seed", "entry", "resume", "trial")


@dataclass(frozen=True)
class Reference:
    """One baseline of an entry: what it is, its score on the headline metric, and the
    seconds it took to fit and answer (None where nothing was fitted or not recorded)."""

    name: str
    description: str
    value: float | None
    seconds: float | None


@dataclass(frozen=True)
class Entry:
    """One evaluated pipeline entry: what it is, its headline and its learning curve."""

    name: str
    archetype: str
    task: str
    dataset: str
    model: str
    cell: str | None
    metric: str
    value: float
    higher_is_better: bool
    baseline: float | None
    baseline_name: str
    seed: int | None = None
    history: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    references: tuple[Reference, ...] = ()  # every baseline, as the metrics file has them


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: not valid JSON ({error.msg}, line {error.lineno}); "
                        "rerun its evaluate stage (dvc repro evaluate)") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file; rerun its evaluate stage") from None


def read_record(path: Path, plots_dir: Path) -> dict[str, Any]:
    """An entry's full metrics record, from either shape of its metrics file."""
    data = _json(path)
    if not isinstance(data, dict):
        raise DataError(f"{path}: holds {type(data).__name__}, not a metrics record")
    if "headline" in data:
        return data
    if "metric" not in data or "value" not in data:
        raise DataError(f"{path}: not a seqlab metrics file: no 'headline', nor 'metric' "
                        "and 'value'")
    places = [path.parent / DETAILS_DIR / path.name, plots_dir / path.stem / DETAILS_FILE]
    found = next((p for p in places if p.is_file()), None)
    if found is None:
        raise DataError(f"{path}: holds the headline only and its details are missing "
                        f"(looked for {places[0]} and {places[1]})")
    details = _json(found)
    if not isinstance(details, dict) or not isinstance(details.get("headline"), dict):
        raise DataError(f"{found}: no 'headline' record in it")
    headline = {**details["headline"], "metric": data["metric"], "value": data["value"]}
    if "baseline" in data:
        headline["baseline"] = data["baseline"]
    return {**details, "headline": headline}


def _number(path: Path, key: str, value: Any, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise DataError(f"{path}: {key} is {value!r}, not a number")
    return float(value)


def read_entry(path: Path, plots_dir: Path) -> Entry:
    """One entry from metrics/<entry>.json and, when there, plots/<entry>/history.csv."""
    record = read_record(path, plots_dir)
    h = record["headline"]
    if not isinstance(h, dict) or not isinstance(h.get("metric"), str):
        raise DataError(f"{path}: headline.metric is missing")
    if not isinstance(h.get("higher_is_better"), bool):
        raise DataError(f"{path}: headline.higher_is_better is {h.get('higher_is_better')!r}, "
                        "not true or false")
    seed = record.get("seed")
    return Entry(
        name=str(record.get("entry") or path.stem), archetype=str(record.get("archetype")),
        task=str(record.get("task", "")), dataset=str(record.get("dataset", "")),
        model=str(record.get("model", "")), cell=record.get("cell"), metric=h["metric"],
        value=_number(path, "headline.value", h.get("value")),
        higher_is_better=h["higher_is_better"],
        baseline=_number(path, "headline.baseline", h.get("baseline"), optional=True),
        baseline_name=str(h.get("baseline_name") or "baseline"),
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        history=read_history(plots_dir / path.stem / HISTORY_FILE),
        references=read_references(record, h["metric"].split("/")[-1]))


def read_references(record: dict[str, Any], metric: str) -> tuple[Reference, ...]:
    """Each baseline's description, score on `metric` and seconds; none from a metrics
    file written before they were recorded (`baseline_info`)."""
    scores, info = record.get("baselines"), record.get("baseline_info")
    if not isinstance(scores, dict) or not isinstance(info, dict):
        return ()

    def number(value: Any) -> float | None:
        return float(value) if isinstance(value, int | float) and not isinstance(
            value, bool) else None

    return tuple(Reference(
        name=str(name), description=str((info.get(name) or {}).get("description", name)),
        value=number((found if isinstance(found, dict) else {}).get(metric)),
        seconds=number((info.get(name) or {}).get("seconds")))
        for name, found in scores.items())


def read_history(path: Path) -> pd.DataFrame | None:
    """A training's per-epoch metrics, or None when it has none."""
    if not path.is_file():
        return None
    try:
        history = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
        raise DataError(f"{path}: not a CSV table ({reason}); rerun its train stage") from None
    if "epoch" not in history.columns:
        raise DataError(f"{path}: no 'epoch' column; rerun its train stage")
    return history


def load_entries(metrics_dir: Path, plots_dir: Path) -> list[Entry]:
    """Every entry with a metrics file (metrics/*.json, not the details folder), by name."""
    files = sorted(Path(metrics_dir).glob("*.json")) if Path(metrics_dir).is_dir() else []
    return [read_entry(path, Path(plots_dir)) for path in files]


def flatten(node: Any, prefix: str = "") -> dict[str, str]:
    """A nested config as `a.b.c` -> value as text: a string as it is (as a Hydra override
    would give it), anything else as JSON (so lists and nulls read back alike)."""
    if isinstance(node, dict):
        flat: dict[str, str] = {}
        for key, value in node.items():
            flat.update(flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: node if isinstance(node, str) else json.dumps(node, sort_keys=True)}


def entry_settings(params: dict[str, Any] | None, entry: str) -> tuple[int | None, dict]:
    """An entry's seed and its configuration less the seed (dataset settings included,
    less the dataset's name) from params.yaml; (None, {}) where params.yaml lacks it."""
    config = ((params or {}).get("entries") or {}).get(entry)
    if not isinstance(config, dict):
        return None, {}
    seed = config.get("seed")
    settings = flatten({k: v for k, v in config.items() if k not in (*NOT_CONFIG, "dataset")})
    dataset = ((params or {}).get("datasets") or {}).get(config.get("dataset"), {})
    if isinstance(dataset, dict):
        settings.update(flatten({k: v for k, v in dataset.items() if k != "name"}, "dataset."))
    return (seed if isinstance(seed, int) else None), settings


def pipeline_results(entries: list[Entry], params: dict[str, Any] | None) -> list[Result]:
    """The entries as results, entries that differ only by seed under one configuration,
    named after the entry with the first seed (course_ex1, not course_ex1-seed1)."""
    found = []
    for e in entries:
        seed, settings = entry_settings(params, e.name)
        seed = seed if seed is not None else e.seed
        found.append((e, seed if seed is not None else 0, settings))
    groups: list[tuple[dict, set[int], str]] = []  # settings, seeds taken, name
    results = []
    for e, seed, settings in sorted(found, key=lambda f: (f[1], f[0].name)):
        # An entry unknown to params.yaml is a configuration of its own.
        # Two entries with one seed are two configurations, however alike.
        match = next((g for g in groups if settings and g[0] == settings
                      and seed not in g[1]), None)
        if match is None:
            match = (settings, set(), e.name)
            groups.append(match)
        match[1].add(seed)
        results.append(Result(
            config=match[2], seed=seed, metric=e.metric, value=e.value,
            higher_is_better=e.higher_is_better, baseline=e.baseline,
            baseline_name=e.baseline_name, dataset=e.dataset, settings=settings,
            source=e.name))
    order = {e.name: i for i, e in enumerate(entries)}
    return sorted(results, key=lambda r: (order[r.config], r.seed))
