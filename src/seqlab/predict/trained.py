"""A trained model, ready for raw inputs: found in a folder, an MLflow run or the registry.

`TrainedModel` rebuilds the net from a model folder's files (seqlab.model_folder) and
answers a table of raw inputs with a table of answers: the one implementation behind
`python -m seqlab.predict` and the served MLflow model.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from seqlab.data.raw_inputs import Place
from seqlab.errors import ConfigError, DataError
from seqlab.layout import CONFIG_FILE, META_FILE, MODEL_FILE
from seqlab.model_folder import CODE_DIR, ModelFiles, build_net, read_meta
from seqlab.model_folder import files as folder_files

if TYPE_CHECKING:
    from seqlab.data.raw_inputs import Encoded
    from seqlab.predict.warnings import Warnings

BATCH_SIZE = 1024
RUN_ID = re.compile(r"[0-9a-f]{32}")
CHANGEABLE = "model.decoding."  # what --set may change: the weights fix everything else


def installed_project() -> Path:
    """The project folder this seqlab runs from (the checkout of an editable install)."""
    from seqlab.layout import conf_dir

    return conf_dir().parent


def model_store() -> str:
    """The MLflow store a model is read from: $MLFLOW_TRACKING_URI, else the project's
    tracking.uri. A SQLite store is only read, never created (MLflow would make an empty
    one in whatever folder the command runs from): outside a project, the store of the
    project this seqlab runs from (its checkout) is used; with none, one line says how to
    name the store."""
    from seqlab.config import compose, instantiate
    from seqlab.layout import project_root
    from seqlab.tracking.store import SQLITE, USER_URI, require_server

    tracking = instantiate(compose([]).tracking, "tracking")
    require_server(tracking)
    uri = tracking.resolved_uri()
    if not uri.startswith(SQLITE) or Path(uri[len(SQLITE):]).is_file():
        return uri
    path = Path(uri[len(SQLITE):])
    configured = Path(tracking.uri[len(SQLITE):]) if tracking.uri.startswith(SQLITE) else None
    if USER_URI is None and configured is not None and not configured.is_absolute():
        installed = installed_project() / configured
        if installed.is_file():
            return SQLITE + str(installed)
    root = project_root()
    why = ("no run was tracked there yet" if (root / "dvc.yaml").is_file() else
           f"{root} is not in a seqlab project: no dvc.yaml there or above")
    raise ConfigError(f"MODEL: no MLflow store at {path} ({why}); run from the project "
                      "whose runs hold the model, or set MLFLOW_TRACKING_URI to its store, "
                      "e.g. sqlite:////path/to/project/mlflow.db")


def download(uri: str, into: Path, folders: bool = True) -> ModelFiles:
    """A logged model's files, downloaded from the project's MLflow store (`folders`:
    whether the command also takes a model folder, for the advice when it is not there)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from seqlab.tracking.store import fluent_uri, redact_uri

    store = model_store()
    try:
        with fluent_uri(store):
            folder = Path(mlflow.artifacts.download_artifacts(
                artifact_uri=uri, dst_path=str(into), tracking_uri=store))
    except (MlflowException, OSError) as error:
        reason = " ".join(str(error).split())[:200].replace(store, redact_uri(store))
        raise ConfigError(f"MODEL: no model {uri} in the MLflow store {redact_uri(store)} "
                          f"({reason}); give a run id, runs:/<id>/model"
                          + (", models:/<name>@<alias> or a model folder" if folders else
                             " or models:/<name>@<alias>")) from None
    found = {p.name: p for p in folder.rglob("*") if p.is_file() and CODE_DIR not in
             p.relative_to(folder).parts[:1]}
    missing = [n for n in (MODEL_FILE, CONFIG_FILE, META_FILE) if n not in found]
    if missing:
        raise DataError(f"MODEL: {uri} has no {missing[0]}; it was not logged by seqlab "
                        "(or by an older version): train it again")
    code = folder / CODE_DIR
    return ModelFiles(found[MODEL_FILE], found[CONFIG_FILE], found[META_FILE],
                      code if code.is_dir() else None)


def locate(model: str, into: Path) -> ModelFiles:
    """MODEL as a folder, an MLflow run id, or a runs:/ or models:/ URI (downloaded
    into `into`)."""
    if Path(model).is_dir():
        return folder_files(Path(model))
    if RUN_ID.fullmatch(model):
        return download(f"runs:/{model}/model", into)
    if model.startswith(("runs:/", "models:/")):
        return download(model, into)
    raise ConfigError(f"MODEL: {model!r} is not a model folder, an MLflow run id, or a "
                      "runs:/<id>/model or models:/<name>@<alias> URI")


def with_overrides(cfg: DictConfig, overrides: Sequence[str]) -> DictConfig:
    """The run config with `--set KEY=VALUE` changes to how the model decodes."""
    import yaml

    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.startswith(CHANGEABLE):
            raise ConfigError(f"--set {item!r}: expected {CHANGEABLE}<key>=<value> (e.g. "
                              "model.decoding.strategy=beam); the trained weights fix the rest")
        parent, _, name = key.rpartition(".")
        node = OmegaConf.select(cfg, parent)
        if node is None or name not in node:
            known = ", ".join(node) if node is not None else "none (this model does not decode)"
            raise ConfigError(f"--set {key}: no such key; {parent} has: {known}")
        OmegaConf.update(cfg, key, yaml.safe_load(text), merge=False)
    return cfg


class TrainedModel:
    """A trained net with its data's meta: raw inputs in, answers in the user's terms out."""

    def __init__(self, files: ModelFiles, overrides: Sequence[str] = (),
                 fill_gaps: str | None = None) -> None:
        from seqlab.tasks import task_of

        if files.code is not None and str(files.code) not in sys.path:
            sys.path.append(str(files.code))  # after seqlab's own: the user's modules only
        self.cfg = with_overrides(OmegaConf.load(files.config), overrides)
        self.meta = read_meta(files.meta)
        if fill_gaps is not None:  # a series' gaps: refused or filled as training did, unless
            self.meta.raw["fill_gaps"] = fill_gaps  # the command says otherwise
        self.task = task_of(self.meta.task)
        self.net = build_net(self.cfg.model, self.meta, files.weights)

    def predict(self, frame: pd.DataFrame, place: Place | None = None) -> pd.DataFrame:
        """Answers to a table of raw inputs (see seqlab.predict.inputs for its columns)."""
        return self.answer(frame, place)[0]

    def answer(self, frame: pd.DataFrame, place: Place | None = None
               ) -> tuple[pd.DataFrame, Warnings]:
        """Answers to a table of raw inputs, and what they cannot be sure of."""
        from seqlab.predict.inputs import encode
        from seqlab.predict.warnings import Warnings, refuse_other_sizes, review

        place = place or Place("input")
        frame = frame.reset_index(drop=True)
        encoded = encode(frame, self.meta, place)
        refuse_other_sizes(frame, self.meta, place)
        answers = self.answers(encoded)
        found = Warnings(place)
        review(frame, encoded, self.meta, found)
        # The input each answer row answers: one row each, a row per real step, or (a
        # forecast of several dates) the same number each.
        count = len(encoded.lengths)
        if self.task.per_step:
            found.owners = np.repeat(np.arange(count), encoded.lengths)
        else:
            found.owners = np.repeat(np.arange(count), len(answers) // max(count, 1))
        if encoded.blank is not None and encoded.blank.any():  # an empty answer: keys kept
            keys = {*encoded.keys.columns, *([] if encoded.steps is None else encoded.steps)}
            emptied = encoded.blank[found.owners]
            for column in answers.columns.difference(list(keys)):
                answers[column] = answers[column].astype(object).where(~emptied, None)
        return answers, found

    def answers(self, encoded: Encoded) -> pd.DataFrame:
        """The net's answers to encoded inputs, in the user's terms."""
        import torch

        inputs = torch.from_numpy(encoded.inputs)
        lengths = torch.from_numpy(encoded.lengths) if self.meta.variable_length else None
        outputs: list[Any] = []
        with torch.no_grad():
            for i in range(0, len(inputs), BATCH_SIZE):
                outputs.extend(self.net(inputs[i : i + BATCH_SIZE],
                                        None if lengths is None else lengths[i : i + BATCH_SIZE]))
        from seqlab.models.quantiles import Quantiles

        # A quantile forecast answers its quantiles beside the median.
        levels = {"levels": self.net.levels} if isinstance(self.net, Quantiles) else {}
        return self.task.answer(outputs, encoded, self.meta, **levels)


def load(model: str, overrides: Sequence[str] = (), fill_gaps: str | None = None
         ) -> TrainedModel:
    """The trained model MODEL names (a folder, a run id, a model URI)."""
    with tempfile.TemporaryDirectory(prefix="seqlab-model-") as tmp:
        return TrainedModel(locate(model, Path(tmp)), overrides, fill_gaps)
