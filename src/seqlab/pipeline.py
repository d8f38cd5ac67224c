"""The pipeline core: prepare data, train, evaluate and record one run.

Both entry points call these functions: the Hydra app (`python -m seqlab.train`) runs
all of them in one process, and each DVC stage (seqlab/stages/) runs one. Lightning,
MLflow and matplotlib are imported only by the functions that use them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from seqlab.config import instantiate, validate
from seqlab.data.processed import ProcessedData
from seqlab.io import atomic_dir, atomic_write_json, atomic_write_text
from seqlab.layout import (
    CONFIG_FILE,
    FIGURES_DIR,
    HISTORY_FILE,
    METRICS_FILE,
    MODEL_FILE,
    PROFILE_FILE,
    RUN_MODEL_DIR,
    DataFolders,
    project,
)

if TYPE_CHECKING:
    from seqlab.evaluation.evaluate import Evaluation
    from seqlab.fitting.fit import FitResult
    from seqlab.tracking.run import TrackedRun


# -- data ---------------------------------------------------------------------------------

def fetch(source: str, folders: DataFolders) -> Path:
    """Materialise a raw source into its folder (the fetch stage)."""
    from seqlab.data import sources

    return sources.fetch(source, folders.raw(source))


def preprocess(dataset_cfg: DictConfig | dict, folders: DataFolders,
               folder_name: str | None = None) -> ProcessedData:
    """Preprocess a dataset from its raw source into its folder (the preprocess stage)."""
    spec = instantiate(dataset_cfg, "dataset")
    data = spec.preprocess(folders.raw(spec.source))
    data.save(folders.processed(folder_name or spec.name))
    return data


def prepare_data(dataset_cfg: DictConfig, folders: DataFolders) -> Path:
    """Fetch and preprocess a dataset for a run outside DVC, unless already done.

    The folder is named by the dataset and a hash of its settings, so two configs never
    share one; a lock lets parallel sweep jobs share the cache.
    """
    from filelock import FileLock

    spec = instantiate(dataset_cfg, "dataset")
    plain = OmegaConf.to_container(dataset_cfg, resolve=True)
    key = hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:12]
    folder = folders.processed(f"{spec.name}-{key}")
    folders.processed_root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folders.processed_root / ".lock")):
        if not folders.raw(spec.source).is_dir():
            fetch(spec.source, folders)
        if not folder.is_dir():
            preprocess(dataset_cfg, folders, folder.name)
    return folder


# -- training -----------------------------------------------------------------------------

def is_global_zero() -> bool:
    """False in DDP's other ranks: they train, rank zero writes and logs."""
    from pytorch_lightning.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


def train(cfg: DictConfig, data_dir: Path, model_dir: Path, run: TrackedRun | None = None
          ) -> FitResult:
    """Fit the configured model on `data_dir` and save it to `model_dir`.

    The folder holds the kept weights (model.pt), the resolved config, the per-epoch
    history and, with a profiler, its report; it appears only when training succeeds.
    """
    import pandas as pd
    import torch

    from seqlab.fitting.fit import fit

    if not is_global_zero():
        return fit(cfg, data_dir, Path(model_dir).with_suffix(".rank"), logger=False)
    with atomic_dir(Path(model_dir)) as tmp:
        result = fit(cfg, data_dir, tmp, logger=run.lightning_logger() if run else False)
        net = result.net.cpu().eval()
        torch.save(net.state_dict(), tmp / MODEL_FILE)
        (tmp / CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg))
        pd.DataFrame(result.history).to_csv(tmp / HISTORY_FILE, index=False)
        if run:
            run.save(tmp)
            run.set_tags({"weights.kept": result.kept})
            if (tmp / PROFILE_FILE).is_file():
                run.log_artifact(tmp / PROFILE_FILE)
            if run.tracking.log_model:
                run.log_model(net, result.example_inputs)
    return result


# -- evaluation ---------------------------------------------------------------------------

def load_model(model_dir: Path, data: ProcessedData) -> tuple[DictConfig, Any]:
    """The config and the trained net saved in `model_dir`."""
    import torch

    from seqlab.errors import DataError
    from seqlab.models import net_for_data

    model_dir = Path(model_dir)
    if not (model_dir / MODEL_FILE).is_file():
        raise DataError(f"no trained model in {model_dir}; train it first (dvc repro)")
    cfg = OmegaConf.load(model_dir / CONFIG_FILE)
    net = net_for_data(cfg.model, data.meta)
    net.load_state_dict(torch.load(model_dir / MODEL_FILE, map_location="cpu",
                                   weights_only=True))
    return cfg, net


def evaluate(model_dir: Path, data_dir: Path) -> tuple[dict[str, Any], Evaluation]:
    """Score the model in `model_dir` on its test split and draw its figures.

    Returns the metrics file's content (what was run, the headline, every score) and
    the evaluation with its figures; nothing is written.
    """
    import pandas as pd

    from seqlab.evaluation import plots
    from seqlab.evaluation.evaluate import evaluate as score
    from seqlab.tasks import task_of

    data = ProcessedData.load(data_dir)
    cfg, net = load_model(model_dir, data)
    title = f"{cfg.get('entry') or cfg.dataset.name}: {cfg.model.get('cell', '')} test".strip()
    evaluation = score(net, data, task_of(data.meta.task), title)
    history = Path(model_dir) / HISTORY_FILE
    if history.is_file():
        evaluation.figures["learning_curves"] = plots.learning_curves(pd.read_csv(history))
    result = {
        "archetype": data.meta.archetype,
        "task": data.meta.task,
        "dataset": cfg.dataset.name,
        "model": cfg.model._target_.rsplit(".", 1)[-1],
        "cell": cfg.model.get("cell"),
        "entry": cfg.get("entry"),
        "headline": evaluation.headline,
        "test": {f"test/{k}": v for k, v in evaluation.test.items()},
        "baselines": evaluation.baselines,
    }
    return result, evaluation


def record(result: dict[str, Any], evaluation: Evaluation, metrics_path: Path,
           figures_dir: Path, run: TrackedRun | None) -> dict[str, Any]:
    """Save the figures and the metrics file; log both to the run."""
    import matplotlib.pyplot as plt

    with atomic_dir(Path(figures_dir)) as tmp:
        for stem, figure in evaluation.figures.items():
            figure.savefig(tmp / f"{stem}.png", dpi=100)
            plt.close(figure)
    if run is not None:
        baselines = {f"baseline/{name}/{k}": v
                     for name, scores in result["baselines"].items() for k, v in scores.items()}
        run.log_metrics({**result["test"], **baselines})
        run.log_artifacts(Path(figures_dir), FIGURES_DIR)
        result = {**result, "mlflow_run_id": run.run_id}
    atomic_write_json(Path(metrics_path), result)
    return result


# -- one run, start to end (the Hydra app) ------------------------------------------------

def run_experiment(cfg: DictConfig, out_dir: Path, folders: DataFolders | None = None
                   ) -> dict[str, Any]:
    """Validate, prepare the data, train, evaluate and record one run in `out_dir`.

    Data are prepared in `folders` (the project's run cache by default). One MLflow run
    holds all of it; it is FINISHED only once the test metrics are in. Returns the
    metrics file's content (empty in DDP's other ranks).
    """
    from seqlab.tracking.run import tracked_run

    validate(cfg)
    tracking = instantiate(cfg.tracking, "tracking")
    data_dir = prepare_data(cfg.dataset, folders or project().cache)
    archetype = ProcessedData.load(data_dir).meta.archetype
    with tracked_run(cfg, tracking, data_dir, archetype) as run:
        train(cfg, data_dir, out_dir / RUN_MODEL_DIR, run)
        if not is_global_zero():
            return {}
        result, evaluation = evaluate(out_dir / RUN_MODEL_DIR, data_dir)
        return record(result, evaluation, out_dir / METRICS_FILE, out_dir / FIGURES_DIR, run)


def write_history_plot(model_dir: Path, plots_dir: Path) -> None:
    """DVC draws the learning curve from a copy of history.csv outside the model folder."""
    atomic_write_text(Path(plots_dir) / HISTORY_FILE,
                      (Path(model_dir) / HISTORY_FILE).read_text())
