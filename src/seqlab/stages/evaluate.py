"""DVC stage: evaluate one trained entry into metrics/<entry>.json (its headline),
metrics/details/<entry>.json (everything measured) and its figures."""

from __future__ import annotations

import argparse
from contextlib import nullcontext

from seqlab import timing  # first: with $SEQLAB_PROFILE set it times the imports below
from seqlab.config import instantiate
from seqlab.layout import FIGURES_DIR, project
from seqlab.params import entry_config, load
from seqlab.stages import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m seqlab.stages.evaluate",
                                     description=__doc__)
    parser.add_argument("entry", help="a key under `entries` in params.yaml")
    args = parser.parse_args()
    layout = project()
    cfg = entry_config(load(layout.root), args.entry)

    from seqlab.tracking.background import open_run
    from seqlab.tracking.failures import check_landed

    model_dir, data_dir = layout.model(args.entry), layout.data.processed(cfg.dataset.name)
    # First, before torch: a child process imports MLflow while this one scores the model.
    run = open_run(model_dir, instantiate(cfg.tracking, "tracking"))

    from seqlab.pipeline import evaluate, record

    # The training's run is FINISHED once its test metrics are in; FAILED if they fail.
    with run.lifetime() if run else nullcontext(), timing.phase("evaluate"):
        result, evaluation = evaluate(model_dir, data_dir)
        result = record(result, evaluation, layout.metrics(args.entry),
                        layout.plots(args.entry) / FIGURES_DIR, run,
                        details_path=layout.details(args.entry))
        # The metrics are on disk: one line if the store failed.
        check_landed(run, model_dir, f"evaluate@{args.entry}")
    h = result["headline"]
    print(f"evaluated {args.entry}: {h['metric']} {h['value']:.4f} "
          f"({h['baseline_name']} baseline {h['baseline']:.4f})")


if __name__ == "__main__":
    run_stage(main)
