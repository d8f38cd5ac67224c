"""A Hydra callback that creates the MLflow store before a sweep's jobs start."""

from __future__ import annotations

from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class InitStore(Callback):
    """Create the store and the sweep's experiment once, before jobs run in parallel.

    Jobs whose overrides pick another archetype create its experiment under the store's
    lock when they start.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from seqlab.config import instantiate
        from seqlab.tracking.store import init_store

        tracking = instantiate(config.tracking, "tracking")
        if tracking.enabled:
            init_store(tracking, [instantiate(config.dataset, "dataset").archetype])
