"""What a sweep hands back: its best model by validation, or an ensemble of its best.

`seeds=K ensemble=true` averages the K runs; a search (`search.ensemble=k`, search=auto)
averages its k best trials by validation and keeps whichever of that ensemble and the
best trial validates better. Only members trained on the best one's data (the same
dataset settings) join it. The model kept is then scored once on the test split, beside
each member, saved in the sweep folder (ensemble/: model/, metrics.json, figures/,
ensemble.md, the members' table, and a backtest's earlier folds' models in folds/) and
logged as the sweep's parent run's model, where it competes for the registry's
best-<dataset> alias like any run (by validation).
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from seqlab.layout import (
    FIGURES_DIR,
    META_FILE,
    METRICS_FILE,
    MODEL_FILE,
    RUN_FILE,
    RUN_MODEL_DIR,
    SELECTION_FILE,
)

ENSEMBLE_DIR = "ensemble"
TABLE_FILE = "ensemble.md"


@dataclass(frozen=True)
class Candidate:
    """A sweep's finished run: its output folder (model/ and metrics.json inside) and how
    the table names it ("job 3", "trial 12")."""

    folder: Path
    label: str


def finished(candidates: list[Candidate]) -> list[Candidate]:
    """The candidates whose folder holds a trained model (a pruned or failed job's has
    none), in their order."""
    return [c for c in candidates if (c.folder / RUN_MODEL_DIR / SELECTION_FILE).is_file()]


def by_validation(candidates: list[Candidate]) -> list[Candidate]:
    """Candidates best first by what chose each one's weights (selection.json's
    validation headline): the order a sweep's table ranks them in."""
    def key(candidate: Candidate) -> float:
        chosen = json.loads((candidate.folder / RUN_MODEL_DIR / SELECTION_FILE).read_text())
        value = chosen.get("validation")
        if value is None:
            return float("inf")
        return -value if chosen["higher_is_better"] else value
    return sorted(candidates, key=key)


def check_sweep(config: DictConfig) -> None:
    """`ensemble=true` on a sweep that cannot take it: one line before any job runs."""
    from seqlab.errors import ConfigError

    if config.get("ensemble") and "optuna" in str(config.hydra.sweeper.get("_target_", "")):
        raise ConfigError("ensemble=true: a search keeps the best of its trials or their "
                          "ensemble by itself; set search.ensemble=<k> instead")


def sweep_ensemble(config: DictConfig) -> Path | None:
    """`ensemble=true` at a sweep's end (seeds=K): the ensemble of all its finished jobs
    (a backtest's, fold by fold)."""
    sweep_dir = Path(config.hydra.sweep.dir)
    jobs = sorted((f for f in sweep_dir.iterdir() if f.name.isdigit()), key=lambda f: int(f.name))
    candidates = finished([Candidate(f, f"job {f.name}") for f in jobs])
    return conclude(by_validation(candidates), sweep_dir, config.tracking, size=None,
                    always=True)


def _headline(folder: Path) -> dict[str, Any] | None:
    path = Path(folder) / METRICS_FILE
    return json.loads(path.read_text()).get("headline") if path.is_file() else None


def fold_model(folder: Path, fold: int, folds: int) -> Path:
    """A run's model folder for `fold` (1-based) of a backtest of `folds` (1: no backtest):
    the last fold's is model/, an earlier one's folds/fold<k>/ (seqlab.pipeline.run_backtest;
    fitted once, fold 1's serves every fold)."""
    if fold == folds:
        return Path(folder) / RUN_MODEL_DIR
    own = Path(folder) / "folds" / f"fold{fold}"
    return own if own.is_dir() else Path(folder) / "folds" / "fold1"


@dataclass
class Fold:
    """One fold's data (the whole run's, without a backtest)."""

    data_dir: Path
    data: Any  # ProcessedData


def conclude(candidates: list[Candidate], sweep_dir: Path, tracking_cfg: DictConfig,
             size: int | None, always: bool) -> Path | None:
    """Build the ensemble of the best `size` candidates (None: all) by validation, keep it
    (`always`) or whichever of it and the best one validates better, score that on test
    and record it in `sweep_dir`/ensemble/; returns its model folder (None: no candidate).

    A backtest's runs are ensembled fold by fold, each fold's members averaged on that
    fold's data; their validation is the folds' mean, as a search trial's is.
    """
    from seqlab import backtest
    from seqlab.data.processed import ProcessedData
    from seqlab.ensemble import data_settings
    from seqlab.evaluation.validation import validation_scores
    from seqlab.layout import project
    from seqlab.model_folder import build_net, read_config, read_meta
    from seqlab.models.ensemble import Ensemble, averaging
    from seqlab.pipeline import evaluate
    from seqlab.preparation import prepare_data
    from seqlab.tasks import task_of

    if not candidates:
        return None
    first = read_config(candidates[0].folder / RUN_MODEL_DIR)
    folds = []
    for cfg in backtest.fold_configs(first) or [first]:
        data_dir = prepare_data(cfg.dataset, project().cache)
        folds.append(Fold(data_dir, ProcessedData.load(data_dir)))
    meta = folds[-1].data.meta
    task = task_of(meta.task)
    average = averaging(meta.task)  # one line for a task whose answers do not average
    has_val = all(len(f.data.splits.get("val", ())) > 0 for f in folds)

    @functools.cache  # a member's net serves its own validation and the ensemble's
    def net_of(model: Path) -> Any:
        return build_net(read_config(model).model, read_meta(model / META_FILE),
                         model / MODEL_FILE)

    def models(members: list[Candidate], k: int) -> list[Path]:
        return [fold_model(c.folder, k, len(folds)) for c in members]

    def validations(members: list[Candidate]) -> list[tuple[float, float]] | None:
        """Each fold's validation (headline, loss) of the members averaged (None: no
        validation split)."""
        if not has_val:
            return None
        found = []
        for k, fold in enumerate(folds, start=1):
            nets = [net_of(model) for model in models(members, k)]
            net = nets[0] if len(nets) == 1 else Ensemble(nets, average)
            found.append(validation_scores(net, fold.data, task.headline, task.per_step))
        return found

    def rank(values: list[tuple[float, float]]) -> tuple[float, float]:
        return ranking(values, task.higher_is_better)

    settings = data_settings(candidates[0].folder / RUN_MODEL_DIR)
    same = [c for c in candidates if data_settings(c.folder / RUN_MODEL_DIR) == settings]
    each = {c: validations([c]) for c in same}
    scores = {c: mean(v) for c, v in each.items()}
    ranked = sorted(same, key=lambda c: rank(each[c])) if has_val else same
    members = ranked[: size or len(ranked)]
    metric = f"val/{task.headline}"
    if len(members) < 2:
        alone = "" if size == 1 else " (no ensemble: no other finished run on its data)"
        say(f"{ranked[0].label} is kept{alone}")
        kept, per_fold = ranked[:1], each[ranked[0]]
    else:
        together = validations(members)
        best = each[members[0]]
        better = has_val and rank(together) < rank(best)
        kept = members if always or better else members[:1]
        against = (f"{metric} {mean(together):.4g} against the best one's {mean(best):.4g} "
                   f"({members[0].label})" if has_val else "no validation split to compare")
        if has_val and mean(together) == mean(best):
            against += f", loss {mean(together, 1):.4g} against {mean(best, 1):.4g}"
        say(f"ensemble of {len(members)} ({', '.join(c.label for c in members)}): {against}: "
            + ("the ensemble is kept" if len(kept) > 1 else f"{kept[0].label} is kept"))
        per_fold = together if len(kept) > 1 else best
    target = Path(sweep_dir) / ENSEMBLE_DIR
    results, evaluation = [], None
    for k, fold in enumerate(folds, start=1):  # saved, then scored on test: once
        model_dir = target / (RUN_MODEL_DIR if k == len(folds) else f"folds/fold{k}")
        chosen = None if per_fold is None else per_fold[k - 1][0]
        keep(models(kept, k), model_dir, selection(metric, chosen, task.higher_is_better))
        result, evaluation = evaluate(model_dir, fold.data_dir)
        results.append(result)
    result = backtest.combine(results) if len(folds) > 1 else results[0]
    result = record(result, evaluation, target, tracking_cfg)
    table = members_table(result, kept, scores, metric)
    (target / TABLE_FILE).write_text(table)
    print(table)
    return target / RUN_MODEL_DIR


def selection(metric: str, value: float | None, higher_is_better: bool) -> dict[str, Any] | None:
    """What chose the kept model, as a run's selection.json says it (None: no validation
    split chose it)."""
    if value is None:
        return None
    return {"metric": metric, "value": value, "epoch": None,
            "higher_is_better": higher_is_better, "validation": value}


def mean(values: list[tuple[float, float]] | None, i: int = 0) -> float | None:
    """The folds' mean of each fold's (headline, loss) item `i`; None without values."""
    return None if values is None else sum(v[i] for v in values) / len(values)


def ranking(values: list[tuple[float, float]], higher_is_better: bool) -> tuple[float, float]:
    """A sort key, best first, of the folds' validation (headline, loss): the headline
    in its direction, then (a tie, as a small validation split gives) the lower loss."""
    headline = mean(values)
    return (-headline if higher_is_better else headline), mean(values, 1)


def keep(members: list[Path], model_dir: Path, selection: dict[str, Any] | None) -> None:
    """Save the kept model of one fold: the members' ensemble, or the one member as it is
    (with the selection that chose it, measured as the ensemble's was)."""
    import shutil

    from seqlab.ensemble import write
    from seqlab.io import atomic_dir

    if len(members) > 1:
        write(members, model_dir, selection)
        return
    with atomic_dir(model_dir) as tmp:
        shutil.copytree(members[0], tmp, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(RUN_FILE, SELECTION_FILE))
        if selection is not None:
            (tmp / SELECTION_FILE).write_text(json.dumps(selection) + "\n")


def record(result: dict[str, Any], evaluation: Any, target: Path, tracking_cfg: DictConfig
           ) -> dict[str, Any]:
    """Save the kept model's test scores and figures in `target`, and log them and the
    model to the sweep's parent run (when tracking is on)."""
    from seqlab.evaluation.metrics import say as headline_line
    from seqlab.pipeline import record as save

    run = parent_run(target.parent, tracking_cfg, result)
    result = save(result, evaluation, target / METRICS_FILE, target / FIGURES_DIR, run)
    if run is not None and run.tracking.log_model:
        from seqlab.predict.packaging import package
        from seqlab.tracking.registry import promote_if_best

        run.log_model(target / RUN_MODEL_DIR, package)
        promote_if_best(run.tracking, run.run_id)
    say(f"kept model: {headline_line(result)}")
    return result


def parent_run(sweep_dir: Path, tracking_cfg: DictConfig, result: dict[str, Any]) -> Any:
    """The sweep's parent run, tagged with what the kept model is; None untracked."""
    from seqlab.config import instantiate
    from seqlab.sweeps.parent import parent_id
    from seqlab.tracking import tagnames
    from seqlab.tracking.run import TrackedRun

    tracking = instantiate(tracking_cfg, "tracking")
    run_id = parent_id(sweep_dir)
    if not tracking.enabled or run_id is None:
        return None
    run = TrackedRun(tracking, run_id, result["archetype"])
    run.set_tags({tagnames.ARCHETYPE: result["archetype"], tagnames.DATASET: result["dataset"],
                  tagnames.MODEL: str(result["model"])})
    return run


def members_table(result: dict[str, Any], members: list[Candidate],
                  scores: dict[Candidate, float | None], metric: str) -> str:
    """The kept model beside its members: validation and test headline each."""
    headline = result["headline"]
    name = headline["metric"]

    def shown(value: float | None) -> str:
        return "–" if value is None else f"{value:.4g}"
    rows = [f"| model | {metric} | {name} |", "|---|---|---|"]
    kept = "ensemble" if len(members) > 1 else members[0].label
    chosen = result.get("selection", {}).get("validation")
    rows.append(f"| **{kept}** | {shown(chosen)} | {headline['value']:.4g} |")
    for member in members if len(members) > 1 else []:
        own = _headline(member.folder)
        test = own["value"] if own and own["metric"] == name else None
        rows.append(f"| {member.label} | {shown(scores[member])} | {shown(test)} |")
    rows.append(f"| {headline['baseline_name']} (strongest reference) | | "
                f"{headline['baseline']:.4g} |")
    rows += ["", "Each one alone, trained again:", "", "```bash"]
    rows += [f"python -m seqlab.train {' '.join(rerun(m.folder))}  # {m.label}" for m in members]
    return "\n".join([*rows, "```"]) + "\n"


SWEEP_ONLY = ("search", "hparams_search", "trial=", "hydra", "ensemble=")


def rerun(folder: Path) -> list[str]:
    """A sweep job's overrides as one run's command line: the sweep's own settings (the
    search, the trial, hydra.*) left out."""
    import shlex

    import yaml

    path = Path(folder) / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return [f"# {folder}: no overrides recorded"]
    lines = yaml.safe_load(path.read_text()) or []
    return [shlex.quote(line) for line in lines if not line.lstrip("~+").startswith(SWEEP_ONLY)]


def say(line: str) -> None:
    print(f"seqlab: {line}", file=sys.stderr)
