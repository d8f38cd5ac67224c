"""DVC stage: evaluate one trained entry into metrics/<entry>.json and its figures."""

from __future__ import annotations

import argparse

from seqlab.errors import run_cli
from seqlab.params import entry_config, load
from seqlab.paths import project_root
from seqlab.stages.preprocess import PROCESSED_DIR
from seqlab.stages.train import MODELS_DIR, PLOTS_DIR

METRICS_DIR = "metrics"
FIGURES_DIR = "figures"


def main() -> None:
    from seqlab.evaluation.evaluate import evaluate

    parser = argparse.ArgumentParser(prog="python -m seqlab.stages.evaluate",
                                     description=__doc__)
    parser.add_argument("entry", help="a key under `entries` in params.yaml")
    args = parser.parse_args()
    root = project_root()
    cfg = entry_config(load(root), args.entry)
    result = evaluate(
        root / MODELS_DIR / args.entry,
        root / PROCESSED_DIR / cfg.dataset.name,
        root / METRICS_DIR / f"{args.entry}.json",
        root / PLOTS_DIR / args.entry / FIGURES_DIR,
    )
    h = result["headline"]
    print(f"evaluated {args.entry}: {h['metric']} {h['value']:.4f} "
          f"({h['baseline_name']} baseline {h['baseline']:.4f})")


if __name__ == "__main__":
    run_cli(main)
