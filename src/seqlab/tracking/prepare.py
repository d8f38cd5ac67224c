"""Create the MLflow store and every experiment params.yaml needs, before any job starts.

`make run` calls this ahead of `dvc repro`, so that stages run in parallel (or queued
`dvc exp` runs) never race to create the store's schema or an experiment.
"""

from __future__ import annotations

from seqlab.config import build
from seqlab.errors import run_cli
from seqlab.params import load
from seqlab.tracking.store import prepare_store


def main() -> None:
    params = load()
    tracking = build(params["tracking"], "tracking")
    if not tracking.enabled:
        return
    names = sorted({entry["archetype"]["name"] for entry in params["entries"].values()})
    ids = prepare_store(tracking, names)
    print(f"MLflow store {tracking.resolved_uri()}: experiments "
          + ", ".join(f"{n} ({i})" for n, i in ids.items()))


if __name__ == "__main__":
    run_cli(main)
