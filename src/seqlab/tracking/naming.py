"""A run's name in the MLflow UI: what sets it apart, first (`elec_equip lstm
hidden_size=32 lr=0.01`), from the config and the command line's overrides."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig


def model_class(cfg: DictConfig) -> str:
    """The net's class name, `ManyToOneNet`: its config's `_target_` less the module."""
    return str(cfg.model._target_).rsplit(".", 1)[-1]


# Overrides left out of run names: what says nothing of what a run learns (where it logs,
# how it shows progress: any key under these groups) ...
NOISE_GROUPS = ("hydra", "tracking", "trainer", "callbacks", "debug")
# ... and what the name says already (dataset, cell or model class) or the entry names.
NOISE_KEYS = ("experiment", "dataset", "dataset.name", "dataset.path", "model", "model.cell",
              "model._target_", "entry", "resume")
MAX_NAME_CHARS = 200


def task_overrides() -> list[str]:
    """The command line's overrides of the Hydra job this process runs (Hydra's
    `hydra.overrides.task`); none outside a Hydra app (a DVC stage, a test)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return [str(o) for o in HydraConfig.get().overrides.task]
    except (ImportError, ValueError):  # ValueError: no Hydra job is running
        return []


def key_overrides(overrides: list[str]) -> list[str]:
    """`overrides` less the noise (NOISE_GROUPS, NOISE_KEYS, paths), each key by its last
    part: `optim.lr=0.01` -> `lr=0.01`."""
    kept = []
    for override in overrides:
        key, _, value = override.lstrip("+~").partition("=")
        # How a file is read (`dataset.date_column`, `..._format`) names the data, not a change.
        noise = (key in NOISE_KEYS or key.split(".")[0].split("/")[0] in NOISE_GROUPS
                 or key.endswith(("_column", "_format")))
        if not (noise or "/" in value):  # a path says where, not what
            kept.append(f"{key.rsplit('.', 1)[-1]}={value}")
    return kept


def run_name(cfg: DictConfig, overrides: list[str] | None = None) -> str:
    """What sets the run apart, first: `elec_equip lstm hidden_size=32 lr=0.01` (the data,
    cell or else model class, the key overrides of the command line), then its pipeline
    entry if any. The UI cuts long names: the parts that differ come early."""
    # A user's own file is named by its file: `csv_series` names only the kind of data.
    data = Path(cfg.dataset.path).stem if cfg.dataset.get("path") else cfg.dataset.name
    label = cfg.model.get("cell") or model_class(cfg)
    given = task_overrides() if overrides is None else overrides
    parts = [data, label, *key_overrides(given), cfg.get("entry")]
    return " ".join(str(p) for p in parts if p)[:MAX_NAME_CHARS]
