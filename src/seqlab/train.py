"""Train and evaluate one model: `python -m seqlab.train experiment=course_ex2`.

A Hydra app: any config key can be overridden on the command line, and `-m` sweeps,
e.g. `python -m seqlab.train -m experiment=course_ex2 model.cell=rnn,lstm,gru`.
The work is seqlab.pipeline's; Lightning is imported only when a run trains, so
`--help` and `--cfg job` answer fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from seqlab.errors import SeqlabError, report


@hydra.main(version_base="1.3", config_path="../../conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from hydra.core.hydra_config import HydraConfig

    from seqlab.pipeline import run_experiment

    try:
        result = run_experiment(cfg, Path(HydraConfig.get().runtime.output_dir))
    except SeqlabError as error:
        sys.exit(report(error))
    if not result:
        return None
    headline = result["headline"]
    print(f"{headline['metric']} = {headline['value']:.4f} "
          f"({headline['baseline_name']} baseline: {headline['baseline']:.4f})")
    return headline["value"]  # what a sweeper (Optuna) would optimise


if __name__ == "__main__":
    main()
