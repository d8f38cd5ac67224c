"""A Hydra callback that prepares the MLflow store before a sweep's jobs start."""

from __future__ import annotations

from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class PrepareStore(Callback):
    """Create the store and the sweep's experiment once, before jobs run in parallel."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from seqlab.config import build
        from seqlab.tracking.store import prepare_store

        tracking = build(config.tracking, "tracking")
        if tracking.enabled:
            prepare_store(tracking, [config.archetype.name])
