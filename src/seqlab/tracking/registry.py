"""The model registry: the best model of each archetype, for each dataset, under an alias.

Each archetype has one registered model, `seqlab-<archetype>`, holding only the runs
that were the best of their data when they finished. The alias `best-<dataset>` points
at the current best: `models:/seqlab-many_to_one@best-elec_equip` loads it; a user's own
file is named by its file name and content hash, `best-pbs-3fa2c1d9` (data_alias).
Runs are compared per data because an archetype's datasets differ in metric and in
scale (an MSE on one series says nothing of one on another).
"""

from __future__ import annotations

import hashlib
import math
import re
import sys
from pathlib import PurePath
from typing import Any

from seqlab.tracking import tagnames
from seqlab.tracking.store import Tracking, store_lock

MODEL_ARTIFACT = "model"  # the name TrackedRun.log_model logs the net under
ALIAS_HASH_CHARS = 8  # the hex digits of a content hash an alias carries


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


def data_alias(tags: dict[str, str]) -> str:
    """The alias a run's data competes for. A user's own file (dataset.path: the tags
    `data.file`, `data.file.sha256`) is named by its file name and a short hash of its
    content, `best-pbs-3fa2c1d9` from pbs.csv: runs of different files of one dataset kind
    (csv_series) never compare their metrics, nor do runs of a file before and after it
    changed. A preset is named by its name, `best-elec_equip`."""
    if tags.get(tagnames.DATA_FILE) and tags.get(tagnames.DATA_FILE_SHA256):
        stem = re.sub(r"[^\w-]", "-", PurePath(tags[tagnames.DATA_FILE]).stem) or "data"
        return f"best-{stem}-{tags['data.file.sha256'][:ALIAS_HASH_CHARS]}"
    return best_alias(tags[tagnames.DATASET])


def own_net(params: dict[str, str]) -> bool:
    """Whether a run trained a net of the user's own (a model `_target_` outside seqlab)."""
    return not params.get("model._target_", "seqlab.").startswith("seqlab.")


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


def holder(client: Any, name: str, alias: str) -> Any | None:
    """The run the alias points at; None with no such alias or run."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(client.get_model_version_by_alias(name, alias).run_id)
    except MlflowException:  # no registered model, alias or run (deleted) yet
        return None


def holder_value(client: Any, name: str, alias: str, metric: str) -> float | None:
    """The selection metric of the run the alias points at; None with no such alias,
    run or metric."""
    run = holder(client, name, alias)
    return None if run is None else run.data.metrics.get(metric)


def alias_for(client: Any, name: str, run: Any) -> str:
    """The alias a finished run competes for: its data's (data_alias).

    A net of the user's own takes a preset's alias (the one the docs serve) only from
    a holder trained on the very same data (the tag `data.sha256`: the prepared arrays,
    split included), where its validation metric means what the holder's does. Otherwise
    (a fresh store, or the preset prepared with other settings) it competes for an alias
    that names that data exactly, `best-digits_pixels-1a2b3c4d`."""
    tags = run.data.tags
    alias = data_alias(tags)
    if tags.get(tagnames.DATA_FILE) or not own_net(run.data.params):
        return alias
    held = holder(client, name, alias)
    data = tags.get(tagnames.DATA_SHA256, "")
    if held is not None and data and held.data.tags.get(tagnames.DATA_SHA256) == data:
        return alias
    return f"{alias}-{data[:ALIAS_HASH_CHARS] or 'own'}"


def promote_if_best(tracking: Tracking, run_id: str) -> int | None:
    """Register a finished run's model under `seqlab-<archetype>` and move its data's
    alias (alias_for) to it, when its selection metric (the tags `selection.metric`
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
        metric = tags.get(tagnames.SELECTION_METRIC)
        if not (metric in metrics and tags.get(tagnames.ARCHETYPE) and tags.get(tagnames.DATASET)):
            return None
        if tags.get(tagnames.HEADLINE_METRIC) not in metrics:  # never scored on test: a
            return None  # search trial, whose search's answer competes in its stead
        model = logged_model(client, run)
        if model is None:
            return None
        value, higher = metrics[metric], tags.get(tagnames.SELECTION_HIGHER) == "true"
        name = registered_name(tags[tagnames.ARCHETYPE])
        with store_lock(tracking):  # parallel jobs finishing at once compare in turn
            alias = alias_for(client, name, run)
            previous = holder_value(client, name, alias, metric)
            if not beats(value, previous, higher):
                return None
            if not client.search_registered_models(f"name = '{name}'"):
                client.create_registered_model(
                    name, description=f"The best seqlab model of each {tags['archetype']} "
                    "dataset: the alias best-<dataset> names it (best-<file>-<hash> for a "
                    "file of your own).")
            # The logged model's own folder as source: a models:/ URI would make MLflow's
            # SQL registry look the model up in the process's default store, not this one.
            version = client.create_model_version(
                name, model.artifact_location, run_id=run_id, model_id=model.model_id,
                tags={"dataset": tags[tagnames.DATASET], "alias": alias,
                      tagnames.SELECTION_METRIC: metric, metric: str(value)},
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
