"""Create the MLflow store and every experiment params.yaml needs, before any job starts.

`make run` calls this ahead of `dvc repro`, so that stages run in parallel (or queued
`dvc exp` runs) never race to create the store's schema or an experiment.
"""

from __future__ import annotations

from seqlab.config import instantiate
from seqlab.errors import run_cli
from seqlab.params import load
from seqlab.tracking.store import init_store


def main() -> None:
    params = load()
    tracking = instantiate(params["tracking"], "tracking")
    if not tracking.enabled:
        return
    names = sorted({instantiate(dataset, f"datasets.{name}").archetype
                    for name, dataset in params["datasets"].items()})
    ids = init_store(tracking, names)
    print(f"MLflow store {tracking.resolved_uri()}: experiments "
          + ", ".join(f"{n} ({i})" for n, i in ids.items()))


if __name__ == "__main__":
    run_cli(main)
