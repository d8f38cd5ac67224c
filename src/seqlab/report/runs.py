"""The results verdicts compare, read from MLflow runs: each run's configuration, seed,
headline and baseline, from the tags seqlab gives it (seqlab.tracking.tagnames)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from seqlab.report.verdicts import Result
from seqlab.tracking import tagnames


def override_key(override: str) -> str:
    """The key of a Hydra override: `+seed=1`, `++seed=1` and `~seed` all set `seed`."""
    return override.split("=", 1)[0].lstrip("+~")


def results_from_runs(runs: Iterable[Any]) -> list[Result]:
    """The results of finished MLflow runs (`mlflow.entities.Run`) that have a headline.

    A run's configuration is its sweep job's overrides (tag `sweep.overrides`) less its
    seed. A run outside a sweep is named by its pipeline entry, else by its run name
    (dataset, model and cell: coarser than a configuration). Runs are read oldest first,
    so a rerun of one seed replaces the earlier run in `summarise`.
    """
    results = []
    runs = [r for r in sorted(runs, key=lambda r: r.info.start_time or 0)
            if r.info.status == "FINISHED" and r.data.tags.get(tagnames.HEADLINE_METRIC)]
    # Overrides every job of the sweep shares (the preset, the store) name no difference:
    # a configuration is named by what sets it apart.
    swept = {frozenset(o for o in r.data.tags[tagnames.SWEEP_OVERRIDES].split()
                       if override_key(o) != "seed")
             for r in runs if tagnames.SWEEP_OVERRIDES in r.data.tags}
    shared = frozenset.intersection(*swept) if len(swept) > 1 else frozenset()
    for run in runs:
        tags, metrics = run.data.tags, run.data.metrics
        metric = tags.get(tagnames.HEADLINE_METRIC)
        if run.info.status != "FINISHED" or not metric or metric not in metrics:
            continue
        overrides = tags.get(tagnames.SWEEP_OVERRIDES, "").split()
        kept = [o for o in overrides if override_key(o) != "seed"]
        seed = tags.get(tagnames.SEED) or next(
            (o.split("=", 1)[1] for o in overrides if override_key(o) == "seed"), None)
        if seed is None or not str(seed).lstrip("-").isdigit():
            continue  # not a seqlab run: every run seqlab starts is tagged with its seed
        name = tags.get(tagnames.HEADLINE_BASELINE, "")
        baseline = metrics.get(f"baseline/{name}/{metric.split('/')[-1]}") if name else None
        # Outside a sweep: the pipeline entry less its seed suffix (seeds.pipeline_entries
        # names course_ex1's seed 1 course_ex1-seed1), else the run's name.
        entry = re.sub(r"-seed\d+$", "", tags.get(tagnames.ENTRY, ""))
        named = [o for o in kept if o not in shared]
        config = (" ".join(named) if tagnames.SWEEP_OVERRIDES in tags else "") or (
            entry or run.info.run_name or "(defaults)")
        results.append(Result(
            config=config, seed=int(seed), metric=metric, value=float(metrics[metric]),
            higher_is_better=tags.get(tagnames.HEADLINE_HIGHER, "").lower() == "true",
            baseline=baseline, baseline_name=name or "baseline",
            dataset=tags.get(tagnames.DATASET, ""),
            settings={override_key(o): o.split("=", 1)[1] for o in kept if "=" in o},
            source=run.info.run_id))
    return results
