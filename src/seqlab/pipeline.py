"""The pipeline core: train, evaluate and record one run (its data: seqlab.preparation).

Both entry points call these functions: the Hydra app (`python -m seqlab.train`) runs
all of them in one process, and each DVC stage (seqlab/stages/) runs one. Lightning,
MLflow and matplotlib are imported only by the functions that use them.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from seqlab import model_folder, timing
from seqlab.config import instantiate, validate
from seqlab.data.processed import ProcessedData
from seqlab.io import atomic_dir, atomic_write_json, atomic_write_text, naming
from seqlab.layout import (
    CONFIG_FILE,
    FIGURES_DIR,
    HISTORY_FILE,
    META_FILE,
    METRICS_FILE,
    MODEL_FILE,
    PROFILE_FILE,
    RUN_MODEL_DIR,
    DataFolders,
    project,
)
from seqlab.preparation import prepare_data
from seqlab.ranks import is_global_zero
from seqlab.tracking import tagnames

if TYPE_CHECKING:
    from seqlab.evaluation.evaluate import Evaluation
    from seqlab.fitting.fit import FitResult
    from seqlab.tracking.run import TrackedRun


# -- training -----------------------------------------------------------------------------

def _not_a_tip(record: logging.LogRecord) -> bool:
    """Lightning advertises its cloud services at every Trainer (litlogger, litmodels)."""
    return not str(record.msg).startswith("💡 Tip")


def train(cfg: DictConfig, data_dir: Path, model_dir: Path, run: TrackedRun | None = None,
          resume_dir: Path | None = None) -> FitResult:
    """Fit the configured model on `data_dir` and save it to `model_dir`.

    The folder holds the kept weights (model.pt), the resolved config, the data's meta,
    the per-epoch history, the user's own modules if any (code/) and, with a profiler,
    its report; it appears only when training succeeds, and `seqlab.predict` predicts
    from it alone.
    With `resume_dir`, checkpoints are kept there while training (and training continues
    from one found there); the folder is removed once the model is saved.
    """
    from seqlab.fitting.fit import fit
    from seqlab.sweeps.pruning import reporter

    for lightning in ("pytorch_lightning", "lightning_fabric"):
        logging.getLogger(f"{lightning}.utilities.rank_zero").addFilter(_not_a_tip)
    timing.watch_steps()
    # Each epoch's metrics go to MLflow, then (a search trial) to Optuna, which may prune.
    log, prune = (run.epoch_reporter() if run else None), reporter(cfg)

    def report(history: list[dict[str, float]]) -> None:
        if log:
            log(history)
        if prune:
            prune(history[-1])
    if not is_global_zero():
        # DDP's other ranks train their share in a folder of their own, removed after:
        # nothing of theirs lands beside the model. Saving resume points is collective,
        # so they need a folder whenever rank zero keeps them (a tracked run always does):
        # a stand-in that stays empty, as rank zero alone writes.
        with tempfile.TemporaryDirectory(prefix="seqlab-rank-") as tmp:
            if resume_dir is None and cfg.tracking.enabled:
                resume_dir = Path(tmp) / "resume"
            return fit(cfg, data_dir, Path(tmp), resume_dir)
    with atomic_dir(Path(model_dir)) as tmp:
        with timing.phase("train"):
            result = fit(cfg, data_dir, tmp, resume_dir,
                         report_epoch=report if log or prune else None)
            model_folder.write(tmp, result.net.cpu().eval(), cfg, data_dir, result.history,
                               result.selection)
        if run:
            with timing.phase("tracking"):
                run.flush()
                run.save(tmp)
                # torch.threads: what trainer.threads chose (each rank's, under DDP).
                run.set_tags({tagnames.WEIGHTS_KEPT: result.kept,
                              tagnames.WORLD_SIZE: str(result.world_size),
                              tagnames.TORCH_THREADS: str(result.threads)})
                if (tmp / PROFILE_FILE).is_file():
                    run.log_artifact(tmp / PROFILE_FILE)
                if run.tracking.log_model:
                    from seqlab.predict.packaging import package

                    run.log_model(tmp, package)
    if resume_dir is not None:  # the model is saved: nothing left to resume
        shutil.rmtree(resume_dir, ignore_errors=True)
    return result


# -- evaluation ---------------------------------------------------------------------------

def load_model(model_dir: Path, data: ProcessedData) -> tuple[DictConfig, Any]:
    """The config and the trained net saved in `model_dir`."""
    from seqlab.errors import DataError

    model_dir = Path(model_dir)
    if not (model_dir / MODEL_FILE).is_file():
        raise DataError(f"no trained model in {model_dir}; train it first (dvc repro)")
    cfg = model_folder.read_config(model_dir)
    return cfg, model_folder.build_net(cfg.model, data.meta, model_dir / MODEL_FILE)


def evaluate(model_dir: Path, data_dir: Path) -> tuple[dict[str, Any], Evaluation]:
    """Score the model in `model_dir` on its test split and draw its figures.

    Returns the metrics file's content (what was run, the headline, every score) and
    the evaluation with its figures; nothing is written.
    """
    from seqlab.evaluation.evaluate import evaluate as score
    from seqlab.evaluation.stored_baselines import FOLDER as STORED_BASELINES
    from seqlab.tasks import task_of

    with timing.phase("data"):
        data = ProcessedData.load(data_dir)
    cfg, net = load_model(model_dir, data)
    title = f"{cfg.get('entry') or cfg.dataset.name}: {cfg.model.get('cell', '')} test".strip()
    evaluation = score(net, data, task_of(data.meta.task), title,
                       stored_in=Path(data_dir).parent / STORED_BASELINES)
    history = Path(model_dir) / HISTORY_FILE
    if history.is_file():
        from seqlab.evaluation import plots  # pyplot: only where a figure is drawn

        evaluation.figures["learning_curves"] = plots.learning_curves(history)
    result = {
        **describe(cfg, data.meta),
        "headline": evaluation.headline,
        "test": {f"test/{k}": v for k, v in evaluation.test.items()},
        "baselines": evaluation.baselines,
        "baseline_info": evaluation.about,  # what each baseline is, and its seconds
    }
    selection = model_folder.read_selection(model_dir)
    if selection is not None:  # what chose: reported beside the test scores it never read
        result["selection"] = selection
    return result, evaluation


def describe(cfg: DictConfig, meta: Any) -> dict[str, Any]:
    """What a run's record says it is: archetype, task, dataset, model, cell, entry."""
    return {"archetype": meta.archetype, "task": meta.task, "dataset": cfg.dataset.name,
            "model": cfg.model._target_.rsplit(".", 1)[-1], "cell": cfg.model.get("cell"),
            "entry": cfg.get("entry")}


def trial_result(model_dir: Path) -> dict[str, Any]:
    """A search trial's record: what it is and its validation, and no test score. The
    search's answer alone is scored on test, once (seqlab.sweeps.ensemble): trials judged
    by validation never read the test split, and spare its baselines and figures."""
    cfg = model_folder.read_config(model_dir)
    meta = model_folder.read_meta(Path(model_dir) / META_FILE)
    return {**describe(cfg, meta), "selection": model_folder.read_selection(model_dir)}


def selection_metric(selection: dict[str, Any]) -> str:
    """The run's metric holding the kept epoch's value of what chose it (`selected/val/acc`):
    a search's objective, a sweep's best child and the registry's alias compare it."""
    return f"selected/{selection['metric']}"


def headline_summary(result: dict[str, Any]) -> dict[str, Any]:
    """The headline alone, as DVC's metrics file holds it: metric, value, baseline, and a
    verdict (one seed: seqlab's sweeps test over seeds, see seqlab.report.verdicts)."""
    from seqlab.evaluation.metrics import versus

    headline = result["headline"]
    value, baseline, up = headline["value"], headline["baseline"], headline["higher_is_better"]
    better = value > baseline if up else value < baseline
    return {"metric": headline["metric"], "value": value, "baseline": baseline,
            "verdict": f"{'beats' if better else 'does not beat'} "
                       f"{headline['baseline_name']} (one seed; {versus(value, baseline, up)})"}


def log_evaluation(run: TrackedRun, result: dict[str, Any], figures_dir: Path) -> None:
    """Log an evaluation's metrics file content and figures to its run."""
    from seqlab.tracking.columns import DETAIL_TABLE, detail_table, split_metrics

    baselines = {f"baseline/{name}/{k}": v
                 for name, scores in result["baselines"].items() for k, v in scores.items()}
    selected = log_selection(run, result.get("selection"))
    # The UI's columns and charts: the figures a person compares. Every test figure
    # (each series', step's, fold's, baseline's) goes to one table beside them.
    top, _ = split_metrics({**result["test"], **baselines, **selected}, result["headline"])
    run.log_metrics(top)
    run.log_table(detail_table({**result["test"], **baselines}), DETAIL_TABLE)
    headline = result["headline"]  # reported: what the run scored on the test split
    run.set_tags({tagnames.HEADLINE_METRIC: headline["metric"],
                  tagnames.HEADLINE_HIGHER: str(headline["higher_is_better"]).lower(),
                  tagnames.HEADLINE_BASELINE: headline["baseline_name"]})
    if Path(figures_dir).is_dir():
        run.log_artifacts(Path(figures_dir), FIGURES_DIR)


def log_selection(run: TrackedRun, selection: dict[str, Any] | None) -> dict[str, float]:
    """Tag the run with what chose its weights (what a sweep's parent and the registry
    choose by); returns the metric to log beside its others."""
    if not selection:
        return {}
    run.set_tags({tagnames.SELECTION_METRIC: selection_metric(selection),
                  tagnames.SELECTION_HIGHER: str(selection["higher_is_better"]).lower(),
                  tagnames.SELECTION_EPOCH: str(selection["epoch"])})
    return {selection_metric(selection): selection["value"]}


def record_trial(result: dict[str, Any], metrics_path: Path, run: TrackedRun | None
                 ) -> dict[str, Any]:
    """Save a search trial's record (trial_result) and log its selection to its run."""
    if run is not None:
        with timing.phase("tracking"):
            run.log_metrics(log_selection(run, result.get("selection")))
            result = {**result, "mlflow_run_id": run.run_id}
    atomic_write_json(Path(metrics_path), result)
    return result


def record(result: dict[str, Any], evaluation: Evaluation, metrics_path: Path,
           figures_dir: Path, run: TrackedRun | None, details_path: Path | None = None
           ) -> dict[str, Any]:
    """Save the figures and the metrics file; log both to the run.

    With `details_path` (the DVC stage), the metrics file holds the headline only and
    the whole record goes to `details_path`.
    """
    import matplotlib.pyplot as plt

    with atomic_dir(Path(figures_dir)) as tmp:
        for stem, figure in evaluation.figures.items():
            with naming(tmp / f"{stem}.png"):  # a full disk: one line naming the figure
                figure.savefig(tmp / f"{stem}.png", dpi=100)
            plt.close(figure)
    if run is not None:
        with timing.phase("tracking"):
            log_evaluation(run, result, Path(figures_dir))
            result = {**result, "mlflow_run_id": run.run_id}
    if details_path is None:
        atomic_write_json(Path(metrics_path), result)
    else:
        Path(details_path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(Path(details_path), result)
        atomic_write_json(Path(metrics_path), headline_summary(result))
    return result


def run_tags(cfg: DictConfig) -> dict[str, str]:
    """What a new run is tagged with besides its lineage: the source of the user's own
    net or dataset kind, hashed, if the config builds one."""
    from seqlab.tracking.lineage import code_sha256

    own = model_folder.own_code(cfg.get("model"), cfg.get("dataset"))
    if not own:
        return {}
    return {tagnames.CODE_OWN: ", ".join(p.name for p in own),
            tagnames.CODE_OWN_SHA256: code_sha256(own)}


# -- one run, start to end (the Hydra app) ------------------------------------------------

def train_and_evaluate(cfg: DictConfig, out_dir: Path, folders: DataFolders | None = None,
                       tags: dict[str, str] | None = None) -> dict[str, Any]:
    """Validate, prepare the data, train, evaluate and record one run in `out_dir`.

    Data are prepared in `folders` (the project's run cache by default). One MLflow run
    holds all of it (with `tags` added); it is FINISHED only once the test metrics are
    in. With `resume` set to a run id, that interrupted run continues from its last
    checkpoint, with the config it recorded. Returns the metrics file's content (empty
    in DDP's other ranks).
    """
    from seqlab import errors
    from seqlab.errors import ConfigError
    from seqlab.sweeps.parent import sweep_tags
    from seqlab.tracking.failures import check_landed
    from seqlab.tracking.run import tracked_run
    from seqlab.tracking.store import require_server

    errors.output_folder.append(str(out_dir))  # where a nameless OSError is reported
    tracking = instantiate(cfg.tracking, "tracking")
    require_server(tracking)  # a tracking server that is down: one line, before any work
    from seqlab.fitting.resume import RESUME_FILE  # (imports Lightning: seconds)

    if cfg.get("resume"):
        cfg = recorded_config(tracking, cfg.resume)
    validate(cfg)
    from seqlab import backtest

    folds = backtest.fold_configs(cfg)  # a rolling-origin backtest: a fit per fold
    data_dir = prepare_data((folds[-1] if folds else cfg).dataset, folders or project().cache)
    archetype = ProcessedData.load(data_dir).meta.archetype
    if cfg.get("resume") and not (project().checkpoints(f"run-{cfg.resume}") / RESUME_FILE
                                  ).is_file():
        raise ConfigError(f"resume: run {cfg.resume} has no checkpoint to continue from (it "
                          "finished, or stopped before its first one); start it again instead")
    with tracked_run(cfg, tracking, data_dir, archetype, resume_id=cfg.get("resume"),
                     tags=run_tags(cfg), child_of=sweep_tags) as run:
        # DDP's other ranks hold no run; resuming, they continue from the same checkpoint.
        run_id = run.run_id if run else cfg.get("resume")
        resume_dir = project().checkpoints(f"run-{run_id}") if run_id else None
        if run and tags:
            run.set_tags(tags)
        trial = bool(cfg.get("trial"))  # a search trial: judged by validation alone
        if folds:
            result, evaluation = run_backtest(folds, out_dir, folders, run, scored=not trial)
        else:
            train(cfg, data_dir, out_dir / RUN_MODEL_DIR, run, resume_dir)
            if not is_global_zero():
                return {}
            result, evaluation = (trial_result(out_dir / RUN_MODEL_DIR), None) if trial else \
                evaluate(out_dir / RUN_MODEL_DIR, data_dir)
        if evaluation is None:
            result = record_trial(result, out_dir / METRICS_FILE, run)
        else:
            result = record(result, evaluation, out_dir / METRICS_FILE, out_dir / FIGURES_DIR,
                            run)
        check_landed(run, out_dir)  # the record is on disk: one line if the store failed
        return result


def run_backtest(folds: list[DictConfig], out_dir: Path, folders: DataFolders | None,
                 run: TrackedRun | None, scored: bool = True
                 ) -> tuple[dict[str, Any], Evaluation | None]:
    """Fit and score each fold of a backtest (seqlab.backtest): earlier folds' models in
    `out_dir`/folds/, the last fold's as the run's model (logged to the run, with its
    epochs); the evaluation returned is the last fold's, for its figures. Not `scored`
    (a search trial), each fold gives its validation alone, and no evaluation."""
    from seqlab import backtest

    kept: dict[str, Any] = {}

    def fit(cfg: DictConfig, train_it: bool) -> dict[str, Any]:
        k = cfg.dataset.backtest_fold
        last = k == len(folds)
        data_dir = prepare_data(cfg.dataset, folders or project().cache)
        model_dir = out_dir / RUN_MODEL_DIR if last else out_dir / "folds" / f"fold{k}"
        if train_it:  # the run logs the epochs of the model it keeps: the last one fitted
            fitted_once = not cfg.dataset.backtest_refit
            train(cfg, data_dir, model_dir, run if last or fitted_once else None)
            kept["model"] = model_dir
        elif last:  # fitted once: the first fold's model is the run's
            shutil.copytree(kept["model"], model_dir)
        fitted = kept["model"] if not train_it else model_dir
        if not scored:
            return trial_result(fitted)
        print(f"seqlab: backtest fold {k}/{len(folds)} scored", file=sys.stderr)
        result, kept["evaluation"] = evaluate(fitted, data_dir)
        return result

    return backtest.run_folds(folds, fit), kept.get("evaluation")


def recorded_config(tracking: Any, run_id: str) -> DictConfig:
    """The config run `run_id` recorded (its config.yaml artifact), to resume it."""
    import tempfile

    from seqlab.errors import ConfigError
    from seqlab.tracking.run import TrackedRun

    if not tracking.enabled:
        raise ConfigError("resume: needs tracking (the run's config and checkpoints are "
                          "found through its MLflow run); set tracking.enabled=true")
    run = TrackedRun(tracking, run_id, "")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = run.client.download_artifacts(run_id, CONFIG_FILE, tmp)
        except Exception:  # MLflow raises several types for a missing run or artifact
            raise ConfigError(f"resume: no run {run_id!r} with a recorded config in the "
                              f"MLflow store {tracking.resolved_uri()}") from None
        cfg = OmegaConf.load(path)
    return OmegaConf.merge(cfg, {"resume": run_id})


def write_history_plot(model_dir: Path, plots_dir: Path) -> None:
    """DVC draws the learning curve from a copy of history.csv outside the model folder."""
    atomic_write_text(Path(plots_dir) / HISTORY_FILE,
                      (Path(model_dir) / HISTORY_FILE).read_text())
