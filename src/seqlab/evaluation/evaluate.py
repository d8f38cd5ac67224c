"""Evaluate a trained model on its test split and write the metrics file DVC tracks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from seqlab.data.processed import ProcessedData
from seqlab.evaluation import baselines, plots
from seqlab.evaluation.generation import score_generation
from seqlab.evaluation.metrics import classification_metrics, headline, regression_metrics
from seqlab.evaluation.per_step import score_step_forecast, score_tagging
from seqlab.io import atomic_dir, atomic_write_json
from seqlab.models.build import build_net
from seqlab.tracking.run import TrackedRun

MODEL_FILE = "model.pt"
CONFIG_FILE = "config.yaml"
HISTORY_FILE = "history.csv"


@torch.no_grad()
def predict(net: torch.nn.Module, data: ProcessedData, split: str, batch_size: int = 1024,
            pass_lengths: bool = False) -> np.ndarray:
    net.eval()
    rows = data.splits[split]
    inputs = torch.from_numpy(data.inputs[rows])
    lengths = torch.from_numpy(data.lengths[rows]) if pass_lengths else None
    outputs = [
        net(inputs[i : i + batch_size], None if lengths is None else lengths[i : i + batch_size])
        for i in range(0, len(rows), batch_size)
    ]
    return torch.cat(outputs).numpy()


def score_classification(net: torch.nn.Module, data: ProcessedData, figures: Path, title: str):
    """Accuracy and macro F1 beside the majority class; a confusion matrix."""
    outputs = predict(net, data, "test", pass_lengths=data.meta.get("variable_length", False))
    truth = data.targets[data.splits["test"]]
    predicted = outputs.argmax(axis=1)
    test = classification_metrics(truth, predicted)
    base = {"majority": classification_metrics(truth, baselines.majority_class(data))}
    plots.confusion(truth, predicted, data.meta["classes"], figures / "confusion_matrix.png",
                    title)
    return test, base, headline(test, base, "acc", "majority", True)


def score_forecast(net: torch.nn.Module, data: ProcessedData, figures: Path, title: str):
    """MSE, MAE and R² (scaled and original units) beside naive and seasonal-naive forecasts."""
    outputs = predict(net, data, "test")
    meta = data.meta
    scale = (meta["scaler"]["min"], meta["scaler"]["max"])
    truth = data.targets[data.splits["test"]]
    forecasts = {
        "model": outputs,
        "naive": baselines.naive_forecast(data, 1),
        "seasonal_naive": baselines.naive_forecast(data, meta["seasonal_period"]),
    }
    scores = {name: regression_metrics(truth, values, scale) for name, values in forecasts.items()}
    test = scores.pop("model")

    def original(values: np.ndarray) -> np.ndarray:
        return np.ravel(values) * (scale[1] - scale[0]) + scale[0]

    positions = data.extras["target_pos"][data.splits["test"]]
    plots.forecast(meta["dates"], original(data.extras["series"]),
                   [meta["dates"][p] for p in positions],
                   {name: original(values) for name, values in forecasts.items()},
                   figures / "forecast.png", title)
    return test, scores, headline(test, scores, "mse", "naive", False)


# How each kind of task (the `task` in a dataset's meta.json) is scored. A scorer returns
# (test metrics, baseline name -> metrics, headline) and draws its figures.
SCORERS = {"classification": score_classification, "regression": score_forecast,
           "generation": score_generation,
           "tagging": score_tagging, "step_regression": score_step_forecast}


def evaluate(model_dir: Path, data_dir: Path, metrics_path: Path, figures_dir: Path
             ) -> dict[str, Any]:
    """Score the model in `model_dir` on the test split; write metrics JSON and figures."""
    model_dir = Path(model_dir)
    cfg = OmegaConf.load(model_dir / CONFIG_FILE)
    data = ProcessedData.load(data_dir)
    net = build_net(cfg.model, data.meta)
    net.load_state_dict(torch.load(model_dir / MODEL_FILE, map_location="cpu"))
    title = f"{cfg.get('entry') or cfg.dataset.name}: {cfg.model.get('cell', '')} test".strip()
    with atomic_dir(Path(figures_dir)) as figures:
        test, base, summary = SCORERS[data.meta["task"]](net, data, figures, title)
        history = model_dir / HISTORY_FILE
        if history.is_file():
            plots.learning_curves(pd.read_csv(history), figures / "learning_curves.png")
    result = {
        "archetype": cfg.archetype.name,
        "dataset": cfg.dataset.name,
        "model": cfg.model._target_.rsplit(".", 1)[-1],
        "cell": cfg.model.get("cell"),
        "entry": cfg.get("entry"),
        "headline": summary,
        "test": {f"test/{k}": v for k, v in test.items()},
        "baselines": base,
    }
    run = TrackedRun.load(model_dir)
    if run is not None:
        flat = {**result["test"], **{f"baseline/{name}/{k}": v for name, scores in base.items()
                                     for k, v in scores.items()}}
        run.log_metrics(flat)
        run.log_artifacts(Path(figures_dir), "figures")
        result["mlflow_run_id"] = run.run_id
    atomic_write_json(Path(metrics_path), result)
    return result
