"""The sweeper's config, `hydra/sweeper=optuna`: what a conf/hparams_search/ file sets.

The shape follows hydra-optuna-sweeper's (which pins optuna<3), so its users find the
same keys: `params` maps a config key to a search range in Hydra's override grammar,
e.g. `optim.lr: tag(log, interval(1e-4, 1e-1))`, `model.cell: choice(rnn, lstm, gru)`,
`model.hidden_size: range(16, 129, step=16)`.
"""

# No `from __future__ import annotations`: Hydra runs this module before it is in
# sys.modules, where dataclasses look string annotations up.
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


def _tpe() -> dict[str, Any]:
    return {"_target_": "optuna.samplers.TPESampler", "seed": 0}


def _median() -> dict[str, Any]:
    # Steps are epochs: no trial is pruned before it has trained n_warmup_steps of them,
    # nor before n_startup_trials trials have finished to compare it with.
    return {"_target_": "optuna.pruners.MedianPruner", "n_startup_trials": 5,
            "n_warmup_steps": 5}


@dataclass
class OptunaSweeperConf:
    _target_: str = "hydra_plugins.seqlab_optuna_sweeper.sweeper.OptunaSweeper"
    # The sampler and pruner reach the sweeper as configs, not objects: it seeds the one
    # and hands the other to the trials' jobs, and reports their errors as one line.
    _recursive_: bool = False
    # The study's total: a rerun of the same command runs only the trials still missing.
    n_trials: int = 20
    # Trials launched at once, as one batch (null: the launcher's n_jobs, e.g. joblib's).
    n_jobs: int | None = None
    # minimize | maximize; null: the headline metric's own direction (acc up, mse down).
    direction: str | None = None
    # null: the hparams_search name and the experiment's, e.g. course_ex2.
    study_name: str | None = None
    # An Optuna storage URL; null: sqlite:///<project root>/optuna.db, beside mlflow.db.
    # A relative sqlite path is taken from the project root, as the MLflow store's is.
    storage: str | None = None
    # Each a class and its arguments; a seeded sampler replays the same study.
    sampler: Any = field(default_factory=_tpe)
    pruner: Any = field(default_factory=_median)  # null: never prune
    # config key -> search range (or a fixed value) in Hydra's override grammar.
    params: dict[str, str] | None = None


ConfigStore.instance().store(group="hydra/sweeper", name="optuna", node=OptunaSweeperConf,
                             provider="seqlab")
