"""The Hydra callback around a multirun: the MLflow store first, then one parent run."""

from __future__ import annotations

from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class SweepRun(Callback):
    """Before a sweep's jobs start, create the MLflow store, the sweep's experiment and
    its parent run (seqlab.sweeps.parent); when they end, give the parent its table.

    The store and experiment are made once, before jobs run in parallel (jobs whose
    overrides pick another archetype create its experiment under the store's lock).
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from seqlab.errors import run_cli
        from seqlab.sweeps.ensemble import check_sweep
        from seqlab.sweeps.parent import start_parent

        run_cli(lambda: check_sweep(config))  # before any job runs
        start_parent(config)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from seqlab.sweeps.parent import finish_parent

        if config.get("ensemble"):  # seeds=K ensemble=true: before the parent ends
            from seqlab.errors import run_cli
            from seqlab.sweeps.ensemble import sweep_ensemble

            run_cli(lambda: sweep_ensemble(config))
        finish_parent(config)
