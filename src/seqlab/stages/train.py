"""DVC stage: train one pipeline entry of params.yaml into models/<entry>/."""

from __future__ import annotations

import argparse

from seqlab.config import instantiate, validate
from seqlab.errors import run_cli
from seqlab.layout import project
from seqlab.params import entry_config, load


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m seqlab.stages.train", description=__doc__)
    parser.add_argument("entry", help="a key under `entries` in params.yaml")
    args = parser.parse_args()
    layout = project()
    cfg = entry_config(load(layout.root), args.entry)
    validate(cfg)  # before importing Lightning: a bad value fails in a second

    from seqlab.data.processed import ProcessedData
    from seqlab.pipeline import train, write_history_plot
    from seqlab.tracking.run import tracked_run

    data_dir = layout.data.processed(cfg.dataset.name)
    archetype = ProcessedData.load(data_dir).meta.archetype
    model_dir = layout.model(args.entry)
    with tracked_run(cfg, instantiate(cfg.tracking, "tracking"), data_dir, archetype) as run:
        result = train(cfg, data_dir, model_dir, run)
    write_history_plot(model_dir, layout.plots(args.entry))
    last = result.history[-1] if result.history else {}
    shown = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k != "epoch")
    print(f"trained {args.entry}: {shown}; kept the {result.kept} weights")


if __name__ == "__main__":
    run_cli(main)
