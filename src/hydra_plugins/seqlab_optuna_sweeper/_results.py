"""What a finished sweep leaves: the best trial in the log, in the sweep folder and on the
sweep's parent MLflow run (its parameters, its value and the study's plots).

The parent run is seqlab.sweeps.parent's, created before the jobs start; without it
(tracking off) the folder's file is all.
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

log = logging.getLogger(__name__)
PLOTS_DIR = "optuna"  # the plots' folder among the parent run's artifacts


def summarise(study: optuna.Study, objective: str, storage: str, config: DictConfig,
              path: Path) -> None:
    """Log the study's best trial, write it to `path` and give it to the parent run
    (`objective`: the validation metric the trials' values are, e.g. val/acc)."""
    states = [t.state for t in study.get_trials(deepcopy=False)]
    counts = ", ".join(f"{states.count(s)} {s.name.lower()}" for s in TrialState
                       if states.count(s))
    if TrialState.COMPLETE not in states:
        log.warning(f"Study {study.study_name!r}: no trial completed ({counts or 'none run'})")
        return
    best = study.best_trial
    log.info(f"Study {study.study_name!r} ({counts}): best {objective} = {best.value:.4f}, "
             f"trial {best.number} with {best.params}")
    OmegaConf.save(OmegaConf.create({
        "study": study.study_name, "storage": storage, "direction": study.direction.name,
        "best_trial": best.number, "objective": objective, "best_value": best.value,
        "best_params": best.params,
    }), path)
    log_to_parent(study, objective, config)


def log_to_parent(study: optuna.Study, objective: str, config: DictConfig) -> None:
    """Params `best.<key>`, the metric `best.<objective>` and the plots, on the parent run."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.exceptions import MlflowException

    from seqlab.config import instantiate
    from seqlab.sweeps.parent import parent_id

    tracking = instantiate(config.tracking, "tracking")
    run_id = parent_id(config.hydra.sweep.dir) if tracking.enabled else None
    if run_id is None:
        return
    client = MlflowClient(tracking.resolved_uri())
    best = study.best_trial
    try:
        client.log_batch(
            run_id,
            metrics=[Metric(f"best.{objective}", best.value, int(time.time() * 1000), 0)],
            params=[Param(f"best.{key}", str(value)) for key, value in best.params.items()],
            tags=[RunTag("optuna.study", study.study_name),
                  RunTag("optuna.direction", study.direction.name.lower()),
                  RunTag("optuna.best_trial", str(best.number))],
        )
    except MlflowException as error:  # e.g. a rerun into the same parent: params are fixed
        log.warning(f"Parent run {run_id}: best trial not logged: {error.message}")
    for stem, figure in plots(study):
        client.log_figure(run_id, figure, f"{PLOTS_DIR}/{stem}.png")


def plots(study: optuna.Study) -> list[tuple[str, Any]]:
    """The study's optimisation history, parameter importances and learning curves (the
    pruned ones stop early), each a matplotlib figure; a plot the study cannot give yet
    (importances need two finished trials) is left out."""
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as draw

    figures = []
    for stem, plot in (("optimization_history", draw.plot_optimization_history),
                       ("param_importances", draw.plot_param_importances),
                       ("intermediate_values", draw.plot_intermediate_values)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "experimental", and matplotlib's layout
                figure = plot(study).figure
        except Exception as error:  # Optuna raises several types for a study too small
            log.info(f"No {stem} plot: {error}")
            continue
        figure.set_size_inches(8, 5)
        figure.tight_layout()  # long parameter names stay inside
        figures.append((stem, figure))
        plt.close(figure)
    return figures
