"""A search trial's job reports each epoch to its Optuna trial, which may prune it.

The Optuna sweeper (hydra_plugins/seqlab_optuna_sweeper) launches each trial as a job,
maybe in another process (hydra/launcher=joblib), and tells the job which trial it is
through the top-level key `trial`: {study, storage, number}. The job finds its trial
in the study's storage, reports its validation metric after every epoch, and stops with
`Pruned` when the study's pruner says the trial cannot catch up with the others. The
sweeper owns the trial's final state: it reads the mark `reporter` leaves on a pruned
trial, so it does not matter how the job ends once `Pruned` is raised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, OmegaConf

from seqlab.errors import ConfigError

# What the sweeper keeps in the study for its jobs, and what a job leaves on its trial.
PRUNER_ATTR = "seqlab.pruner"  # the pruner's config: pruners live in no storage
HEADLINE_ATTR = "seqlab.headline"  # the headline metric's name, e.g. "acc"
PRUNED_ATTR = "seqlab.pruned_after_epoch"
TRIAL_KEYS = ("study", "storage", "number")


class Pruned(Exception):  # noqa: N818 (a verdict, as optuna.TrialPruned, not an error)
    """The study's pruner stopped this trial.

    Not a SeqlabError on purpose: `run_cli` turns those into exit status 2, which would
    end the whole sweep when the jobs run in the sweeper's process.
    """


def open_storage(url: str) -> Any:
    """The study storage at `url`; SQLite waits for a lock rather than failing at once,
    as parallel jobs write to one file."""
    import optuna

    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None
    return optuna.storages.RDBStorage(url, engine_kwargs=engine)


def monitored(metrics: dict[str, float], headline: str | None, maximize: bool
              ) -> float | None:
    """The epoch's value for the pruner, in the study's direction: the headline's own
    validation metric (val/acc) when there is one, else the validation loss, negated when
    the study maximises. None for an epoch without validation."""
    if headline and f"val/{headline}" in metrics:
        return float(metrics[f"val/{headline}"])
    if "val/loss" in metrics:
        return -float(metrics["val/loss"]) if maximize else float(metrics["val/loss"])
    return None


def reporter(cfg: DictConfig) -> Callable[[dict[str, float]], None] | None:
    """A function to call once per epoch with its metrics (`epoch`, `val/loss`, ...) that
    reports them to the run's trial and raises Pruned when the trial should stop; None
    when the run is no trial (`trial` is null)."""
    spec = cfg.get("trial")
    if not spec:
        return None
    if int(OmegaConf.select(cfg, "dataset.backtest_fold", default=0) or 0) > 1:
        return None  # a backtest trial is pruned on its first fold's epochs alone
    if not isinstance(spec, DictConfig) or any(key not in spec for key in TRIAL_KEYS):
        raise ConfigError(f"trial: expected {{{', '.join(TRIAL_KEYS)}}}; the optuna sweeper "
                          "sets it (search=...), leave it null otherwise")
    import optuna

    from seqlab.config import instantiate

    storage = open_storage(spec.storage)
    try:
        trial_id = storage.get_trial_id_from_study_id_trial_number(
            storage.get_study_id_from_name(spec.study), int(spec.number))
    except KeyError:
        raise ConfigError(f"trial: no trial {spec.number} of study {spec.study!r} in "
                          f"{spec.storage}") from None
    # A sampler that costs nothing: the sweeper has sampled this trial already.
    study = optuna.load_study(study_name=spec.study, storage=storage,
                              sampler=optuna.samplers.RandomSampler())
    pruner = study.user_attrs.get(PRUNER_ATTR)
    study.pruner = (instantiate(pruner, "hydra.sweeper.pruner") if pruner
                    else optuna.pruners.NopPruner())
    trial = optuna.trial.Trial(study, trial_id)
    headline = study.user_attrs.get(HEADLINE_ATTR)
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE

    def report(metrics: dict[str, float]) -> None:
        value = monitored(metrics, headline, maximize)
        if value is None:
            return
        epoch = int(metrics["epoch"])
        trial.report(value, step=epoch - 1)  # Optuna's steps, and n_warmup_steps, count from 0
        if trial.should_prune():
            trial.set_user_attr(PRUNED_ATTR, epoch)
            raise Pruned(f"trial {spec.number} of study {spec.study!r} pruned after epoch "
                         f"{epoch}: worse than the study's other trials by then")

    return report
