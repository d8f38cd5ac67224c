"""The model registry: the best model of each archetype, for each dataset, under an alias.

Each archetype has one registered model, `seqlab-<archetype>`, holding only the runs
that were the best of their dataset when they finished. The alias `best-<dataset>`
points at the current best: `models:/seqlab-many_to_one@best-elec_equip` loads it.
Runs are compared per dataset because an archetype's datasets differ in metric and in
scale (an MSE on one series says nothing of one on another).
"""

from __future__ import annotations

import hashlib
import math
import re
import sys
from typing import Any

from seqlab.tracking.store import Tracking, store_lock

MODEL_ARTIFACT = "model"  # the name TrackedRun.log_model logs the net under


def registered_name(archetype: str) -> str:
    return f"seqlab-{archetype}"


def best_alias(dataset: str) -> str:
    """`best-<dataset>`. An alias holds letters, digits, _ and - only: a name with other
    characters (a `.`) has them replaced by - and a hash of the name added, so that
    `my.data` and `my-data` never share (and replace each other's) best model."""
    alias = re.sub(r"[^\w-]", "-", dataset)
    if alias != dataset:
        alias += "-" + hashlib.sha256(dataset.encode()).hexdigest()[:8]
    return "best-" + alias


def beats(value: float, holder: float | None, higher_is_better: bool) -> bool:
    """Whether a selection value takes the alias from the holder's (None: no holder, or
    one with no such metric). A tie keeps the holder."""
    if not math.isfinite(value):
        return False
    if holder is None or not math.isfinite(holder):
        return True
    return value > holder if higher_is_better else value < holder


def logged_model(client: Any, run: Any) -> Any | None:
    """The model the run logged as `model` (the latest, should it hold several)."""
    outputs = run.outputs.model_outputs if run.outputs else []
    for output in sorted(outputs, key=lambda out: out.step, reverse=True):
        model = client.get_logged_model(output.model_id)
        if model.name == MODEL_ARTIFACT:
            return model
    return None


def holder_value(client: Any, name: str, alias: str, metric: str) -> float | None:
    """The selection metric of the run the alias points at; None with no such alias,
    run or metric."""
    from mlflow.exceptions import MlflowException

    try:
        version = client.get_model_version_by_alias(name, alias)
        return client.get_run(version.run_id).data.metrics.get(metric)
    except MlflowException:  # no registered model, alias or run (deleted) yet
        return None


def promote_if_best(tracking: Tracking, run_id: str) -> int | None:
    """Register a finished run's model under `seqlab-<archetype>` and move its dataset's
    `best-<dataset>` alias to it, when its selection metric (the tags `selection.metric`
    and `selection.higher_is_better`: its validation headline at the kept epoch, e.g.
    `selected/val/acc`) beats the holder's. Test metrics are never compared.

    Returns the new version number; None when the run does not beat the holder, or has
    no test metrics or no logged model. A registry that fails is reported in one line
    and leaves the run as it is: the registry is a view of runs, not part of them.
    """
    from mlflow.exceptions import MlflowException

    client = tracking.client()
    try:
        run = client.get_run(run_id)
        tags, metrics = run.data.tags, run.data.metrics
        # Compared by what chose the run's weights (its validation headline), never test.
        metric = tags.get("selection.metric")
        if not (metric in metrics and tags.get("archetype") and tags.get("dataset")):
            return None
        model = logged_model(client, run)
        if model is None:
            return None
        value, higher = metrics[metric], tags.get("selection.higher_is_better") == "true"
        name, alias = registered_name(tags["archetype"]), best_alias(tags["dataset"])
        with store_lock(tracking):  # parallel jobs finishing at once compare in turn
            previous = holder_value(client, name, alias, metric)
            if not beats(value, previous, higher):
                return None
            if not client.search_registered_models(f"name = '{name}'"):
                client.create_registered_model(
                    name, description=f"The best seqlab model of each {tags['archetype']} "
                    "dataset: the alias best-<dataset> names it.")
            # The logged model's own folder as source: a models:/ URI would make MLflow's
            # SQL registry look the model up in the process's default store, not this one.
            version = client.create_model_version(
                name, model.artifact_location, run_id=run_id, model_id=model.model_id,
                tags={"dataset": tags["dataset"], "selection.metric": metric,
                      metric: str(value)},
                description=f"{metric} {value:.6g} on {tags['dataset']} ({run.info.run_name})")
            client.set_registered_model_alias(name, alias, version.version)
    except MlflowException as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        print(f"seqlab: warning: run {run_id} not registered as a best model ({reason})",
              file=sys.stderr)
        return None
    was = "none" if previous is None else f"{previous:.6g}"
    print(f"model registry: {name}@{alias} is now version {version.version} "
          f"({metric} {value:.6g}, was {was})")
    return int(version.version)
