"""A trained model's folder: what training writes, and what evaluation, predict, serving
and the upload command read back, all through this module.

The folder is `outputs/<date>/<time>/model/`, `models/<entry>/`, or the artifacts of a
logged MLflow model. It holds the kept weights (model.pt), the resolved run config
(config.yaml), the data's meta.json, the per-epoch history, what chose the weights
(selection.json), the MLflow run it belongs to (run.json, written by tracking) and, when
the net or the dataset kind is the user's own code, that code (code/): so it predicts on
its own, anywhere.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from seqlab.errors import DataError
from seqlab.io import torch_save
from seqlab.layout import (
    CONFIG_FILE,
    HISTORY_FILE,
    META_FILE,
    MODEL_FILE,
    RUN_MODEL_DIR,
    SELECTION_FILE,
)

if TYPE_CHECKING:
    from torch import nn

    from seqlab.data.meta import Meta

CODE_DIR = "code"  # the user's own modules, beside the weights


@dataclass(frozen=True)
class ModelFiles:
    """The files a trained model is rebuilt from."""

    weights: Path
    config: Path
    meta: Path
    code: Path | None = None  # a folder of the user's own modules, if any


def own_code(*nodes: DictConfig | None) -> list[Path]:
    """The source of the user's own classes these config nodes build (a `_target_` outside
    seqlab): the module's file, or its top-level package's folder."""
    found = []
    for node in nodes:
        target = node.get("_target_") if node is not None else None
        if not target or target.startswith("seqlab."):
            continue
        top = target.split(".")[0]
        spec = importlib.util.find_spec(top)
        if spec is None or spec.origin in (None, "built-in", "frozen"):
            continue
        path = Path(spec.origin)
        found.append(path.parent if path.name == "__init__.py" else path)
    return list(dict.fromkeys(found))


def write(folder: Path, net: nn.Module, cfg: DictConfig, data_dir: Path,
          history: list[dict[str, float]], selection: dict[str, Any] | None) -> None:
    """Save a trained net into `folder` (an atomic folder's temporary one), with what
    prediction needs besides the weights: the config, the data's meta (scaler, vocabulary,
    raw format) and the user's own modules."""
    import pandas as pd  # after the last step: its import is 0.3 s of start-up

    folder = Path(folder)
    torch_save(net.state_dict(), folder / MODEL_FILE)
    (folder / CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg))
    shutil.copyfile(Path(data_dir) / META_FILE, folder / META_FILE)
    for source in own_code(cfg.get("model"), cfg.get("dataset")):
        target = folder / CODE_DIR / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    pd.DataFrame(history).to_csv(folder / HISTORY_FILE, index=False)
    if selection is not None:
        (folder / SELECTION_FILE).write_text(json.dumps(selection) + "\n")


def find(folder: Path) -> Path | None:
    """The model folder itself, or a run's output folder's (its model/ inside); None if
    neither holds weights."""
    folder = Path(folder)
    for candidate in (folder, folder / RUN_MODEL_DIR):
        if (candidate / MODEL_FILE).is_file():
            return candidate
    return None


def files(folder: Path) -> ModelFiles:
    """The files of a model folder, or of a run's output folder (its model/ inside)."""
    found = find(folder)
    if found is None:
        raise DataError(f"{folder} holds no trained model ({MODEL_FILE}); give a run's output "
                        "folder (outputs/<date>/<time>/), models/<entry>/, a run id or a "
                        "model URI")
    missing = [n for n in (CONFIG_FILE, META_FILE) if not (found / n).is_file()]
    if missing:
        raise DataError(f"{found} has no {missing[0]} (saved by an older seqlab); "
                        "predict from its MLflow run id, or train it again")
    code = found / CODE_DIR
    return ModelFiles(found / MODEL_FILE, found / CONFIG_FILE, found / META_FILE,
                      code if code.is_dir() else None)


def read_config(folder: Path) -> DictConfig:
    """The resolved run config a model was trained with."""
    return OmegaConf.load(Path(folder) / CONFIG_FILE)  # type: ignore[return-value]


def read_selection(folder: Path) -> dict[str, Any] | None:
    """What chose the kept weights (a validation metric's value), if anything did."""
    path = Path(folder) / SELECTION_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def read_meta(path: Path) -> Meta:
    """The data's meta a model was trained on (its scaler, vocabulary, raw format)."""
    from seqlab.data.meta import Meta

    return Meta.from_json(json.loads(Path(path).read_text()), str(path))


def build_net(model_cfg: DictConfig, meta: Meta, weights: Path) -> nn.Module:
    """The net `model_cfg` describes for `meta`'s data, with its trained weights, in
    evaluation mode."""
    import torch

    from seqlab.models import net_for_data

    net = net_for_data(model_cfg, meta)
    # weights_only: the state dict is tensors only; refuse anything that would run code.
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return net.eval()
