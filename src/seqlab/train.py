"""Train and evaluate one model: `python -m seqlab.train experiment=course_ex2`.

A Hydra app: any config key can be overridden on the command line, and `-m` sweeps,
e.g. `python -m seqlab.train -m experiment=course_ex2 model.cell=rnn,lstm,gru`.
Lightning is imported only when a run trains, so `--help` and `--cfg job` answer fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from seqlab.config import build, validate
from seqlab.errors import SeqlabError, report
from seqlab.io import atomic_dir
from seqlab.paths import project_root

MODEL_FILE = "model.pt"
CONFIG_FILE = "config.yaml"
HISTORY_FILE = "history.csv"
CACHE_DIR = "data/cache"


def _is_global_zero() -> bool:
    from pytorch_lightning.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


def train(cfg: DictConfig, data_dir: Path, model_dir: Path) -> dict[str, float]:
    """Fit the configured model on `data_dir`, save it to `model_dir` and track the run.

    Returns the last epoch's metrics. `model_dir` appears only when training succeeds.
    """
    import pandas as pd
    import torch

    from seqlab.tracking.run import TrackedRun
    from seqlab.training.fit import fit

    tracking = build(cfg.tracking, "tracking")
    if not _is_global_zero():  # DDP's other ranks train; rank zero writes and logs
        fit(cfg, data_dir, Path(model_dir).with_suffix(".rank"), logger=False)
        return {}
    run = TrackedRun.start(cfg, tracking, data_dir) if tracking.enabled else None
    try:
        with atomic_dir(Path(model_dir)) as tmp:
            result = fit(cfg, data_dir, tmp, logger=run.lightning_logger() if run else False)
            net = result.net.cpu().eval()
            torch.save(net.state_dict(), tmp / MODEL_FILE)
            (tmp / CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg))
            pd.DataFrame(result.history).to_csv(tmp / HISTORY_FILE, index=False)
            if run:
                run.save(tmp)
                if tracking.log_model:
                    example = result.datamodule.splits["train"]["inputs"][:4]
                    run.log_model(net, example)
    except BaseException:
        if run:
            run.finish("FAILED")
        raise
    if run:
        run.finish()
    return result.history[-1] if result.history else {}


def run_experiment(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:
    """Validate, prepare the data, train and evaluate; returns the evaluation result."""
    from seqlab.data.cache import prepare
    from seqlab.evaluation.evaluate import evaluate

    validate(cfg)
    spec = build(cfg.dataset, "dataset")
    data_dir = prepare(cfg.dataset, spec, project_root() / CACHE_DIR)
    train(cfg, data_dir, out_dir / "model")
    if not _is_global_zero():
        return {}
    return evaluate(out_dir / "model", data_dir, out_dir / "metrics.json", out_dir / "figures")


@hydra.main(version_base="1.3", config_path="../../conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from hydra.core.hydra_config import HydraConfig

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
