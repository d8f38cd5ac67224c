"""DVC stage: preprocess one dataset of params.yaml into data/processed/<dataset>/."""

from __future__ import annotations

import argparse

from seqlab import timing  # first: with $SEQLAB_PROFILE set it times the imports below
from seqlab.errors import ConfigError
from seqlab.layout import project
from seqlab.params import load
from seqlab.preparation import preprocess
from seqlab.stages import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m seqlab.stages.preprocess",
                                     description=__doc__)
    parser.add_argument("dataset", help="a key under `datasets` in params.yaml")
    args = parser.parse_args()
    layout = project()
    datasets = load(layout.root).get("datasets", {})
    if args.dataset not in datasets:
        raise ConfigError(f"no dataset {args.dataset!r} in params.yaml; datasets: "
                          + ", ".join(datasets))
    with timing.phase("data"):
        data = preprocess(datasets[args.dataset], layout.data, args.dataset)
    sizes = ", ".join(f"{name} {len(idx)}" for name, idx in data.splits.items())
    print(f"preprocessed {args.dataset}: inputs {data.inputs.shape}; {sizes}")


if __name__ == "__main__":
    run_stage(main)
