"""DVC stage: train one pipeline entry of params.yaml into models/<entry>/."""

from __future__ import annotations

import argparse

from seqlab.config import validate
from seqlab.errors import run_cli
from seqlab.io import atomic_write_text
from seqlab.params import entry_config, load
from seqlab.paths import project_root
from seqlab.stages.preprocess import PROCESSED_DIR

MODELS_DIR = "models"
PLOTS_DIR = "plots"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m seqlab.stages.train", description=__doc__)
    parser.add_argument("entry", help="a key under `entries` in params.yaml")
    args = parser.parse_args()
    root = project_root()
    cfg = entry_config(load(root), args.entry)
    validate(cfg)  # before importing Lightning: a bad value fails in a second

    from seqlab.train import HISTORY_FILE, train

    model_dir = root / MODELS_DIR / args.entry
    metrics = train(cfg, root / PROCESSED_DIR / cfg.dataset.name, model_dir)
    # DVC draws the learning curve from this copy (a plot cannot live in an output folder).
    atomic_write_text(root / PLOTS_DIR / args.entry / HISTORY_FILE,
                      (model_dir / HISTORY_FILE).read_text())
    shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if k != "epoch")
    print(f"trained {args.entry}: {shown}")


if __name__ == "__main__":
    run_cli(main)
