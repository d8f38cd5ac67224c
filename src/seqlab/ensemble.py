"""An ensemble's model folder, written from its members' folders.

The folder is an ordinary model folder (seqlab.model_folder): the config is the first
member's with `model.members` listing every member's model config, the state dict holds
each member's weights under `members.<i>.`, and the data's meta is the members' one
(they must share it: an ensemble answers one raw input the way each member was trained
to read it). seqlab.models.ensemble averages the members; predict and serve take it as
they take any model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from seqlab.errors import ConfigError
from seqlab.io import atomic_dir, torch_save
from seqlab.layout import CONFIG_FILE, META_FILE, MODEL_FILE, SELECTION_FILE
from seqlab.model_folder import CODE_DIR, read_config
from seqlab.models.ensemble import TARGET


def data_settings(folder: Path) -> Any:
    """The dataset settings a model folder's net was trained with (resolved): two folders
    with equal settings were trained on the same arrays."""
    return OmegaConf.to_container(read_config(folder).dataset, resolve=True)


def ensemble_config(members: list[Path]) -> DictConfig:
    """The first member's run config, its model the ensemble of every member's."""
    configs = [read_config(folder) for folder in members]
    cfg = configs[0].copy()
    cfg.model = OmegaConf.create({"_target_": TARGET,
                                  "members": [c.model for c in configs]})
    cfg.ensemble_of = [str(folder) for folder in members]
    cfg.trial = None  # a search trial's study and number: the members' own, not its
    return cfg


def write(members: list[Path], target: Path, selection: dict[str, Any] | None = None) -> Path:
    """Save the ensemble of the model folders `members` as the model folder `target`
    (replaced only when complete); one line when they were trained on different data."""
    import torch

    metas = [(Path(folder) / META_FILE).read_text() for folder in members]
    other = next((f for f, meta in zip(members, metas, strict=True) if meta != metas[0]), None)
    if other is not None:
        raise ConfigError(f"ensemble: {members[0]} and {other} were trained on different "
                          "data; an ensemble's members share one dataset config")
    with atomic_dir(Path(target)) as tmp:
        state = {f"members.{i}.{name}": weights
                 for i, folder in enumerate(members)
                 for name, weights in torch.load(Path(folder) / MODEL_FILE, map_location="cpu",
                                                 weights_only=True).items()}
        torch_save(state, tmp / MODEL_FILE)
        (tmp / CONFIG_FILE).write_text(OmegaConf.to_yaml(ensemble_config(members)))
        (tmp / META_FILE).write_text(metas[0])
        for folder in members:  # the user's own nets' modules, if any
            if (Path(folder) / CODE_DIR).is_dir():
                shutil.copytree(Path(folder) / CODE_DIR, tmp / CODE_DIR, dirs_exist_ok=True)
        if selection is not None:
            (tmp / SELECTION_FILE).write_text(json.dumps(selection) + "\n")
    return Path(target)
