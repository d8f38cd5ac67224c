"""One MLflow run per training: opened by training, reopened by evaluation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from seqlab.layout import CONFIG_FILE, RUN_FILE, project_root
from seqlab.tracking import lineage
from seqlab.tracking.store import Tracking, init_store

MAX_PARAMS_PER_CALL = 100  # MLflow's limit for one log_batch


def run_name(cfg: DictConfig) -> str:
    """Say dataset, model and cell: `elec_equip-ManyToOneRNN-lstm`."""
    model = cfg.model._target_.rsplit(".", 1)[-1]
    parts = [cfg.dataset.name, model, cfg.model.get("cell")]
    name = "-".join(str(p) for p in parts if p)
    return f"{cfg.entry}: {name}" if cfg.get("entry") else name


def flat_params(cfg: DictConfig) -> dict[str, str]:
    plain = OmegaConf.to_container(cfg, resolve=True)
    row = pd.json_normalize(plain, sep=".").iloc[0].to_dict()
    return {key: str(value) for key, value in row.items()}


class TrackedRun:
    """A handle on one MLflow run, named in the model folder's run.json.

    run.json holds the run's id only: whoever reopens the run finds the store from its
    own tracking config, so a copy of the project logs to its own store.
    """

    def __init__(self, tracking: Tracking, run_id: str, experiment: str) -> None:
        from mlflow.tracking import MlflowClient

        self.tracking, self.run_id, self.experiment = tracking, run_id, experiment
        self.uri = tracking.resolved_uri()
        self.client = MlflowClient(tracking_uri=self.uri)

    @classmethod
    def start(cls, cfg: DictConfig, tracking: Tracking, data_dir: Path, archetype: str
              ) -> TrackedRun:
        """Create the run in the archetype's experiment, with the config as params and
        artifact, and lineage tags."""
        from mlflow.entities import Param

        experiment = archetype
        experiment_id = init_store(tracking, [experiment])[experiment]
        root = project_root()
        tags = {
            **lineage.git_state(root),
            **lineage.library_versions(),
            "seed": str(cfg.seed),
            "archetype": archetype,
            "dataset": cfg.dataset.name,
            "entry": str(cfg.get("entry") or ""),
            "data.path": str(data_dir),
            "data.sha256": lineage.folder_sha256(data_dir),
        }
        dvc_md5 = lineage.dvc_out_hash(root, data_dir)
        if dvc_md5:
            tags["data.dvc_md5"] = dvc_md5
        if tags["git.commit"] != "unknown":
            tags["mlflow.source.git.commit"] = tags["git.commit"]
        from mlflow.tracking import MlflowClient

        created = MlflowClient(tracking_uri=tracking.resolved_uri()).create_run(
            experiment_id, run_name=run_name(cfg), tags=tags
        )
        run = cls(tracking, created.info.run_id, experiment)
        params = [Param(k, v) for k, v in flat_params(cfg).items()]
        for start in range(0, len(params), MAX_PARAMS_PER_CALL):
            run.client.log_batch(run.run_id, params=params[start : start + MAX_PARAMS_PER_CALL])
        run.client.log_text(run.run_id, OmegaConf.to_yaml(cfg), CONFIG_FILE)
        return run

    @classmethod
    def load(cls, model_dir: Path, tracking: Tracking) -> TrackedRun | None:
        """The run a model folder belongs to, in the store `tracking` names; None if none."""
        path = Path(model_dir) / RUN_FILE
        if not tracking.enabled or not path.is_file():
            return None
        info = json.loads(path.read_text())
        return cls(tracking, info["run_id"], info["experiment"])

    def save(self, model_dir: Path) -> None:
        info = {"run_id": self.run_id, "experiment": self.experiment}
        (Path(model_dir) / RUN_FILE).write_text(json.dumps(info, indent=2) + "\n")

    def set_tags(self, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, value)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    def lightning_logger(self) -> Any:
        from pytorch_lightning.loggers import MLFlowLogger

        # Asynchronous logging keeps the store's writes off the training loop.
        return MLFlowLogger(tracking_uri=self.uri, run_id=self.run_id, synchronous=False)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step or 0) for k, v in metrics.items()]
        self.client.log_batch(self.run_id, metrics=batch)

    def log_artifacts(self, folder: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifacts(self.run_id, str(folder), artifact_path)

    def log_model(self, net: Any, example_inputs: Any) -> None:
        """Log the trained network as an MLflow PyTorch model, servable with its code."""
        from importlib.metadata import version

        import mlflow
        import torch

        import seqlab

        with torch.no_grad():
            example_outputs = net(example_inputs).numpy()
        signature = mlflow.models.infer_signature(example_inputs.numpy(), example_outputs)
        requirements = [f"{p}=={version(p)}" for p in ("torch", "numpy", "omegaconf",
                                                       "hydra-core")]
        mlflow.set_tracking_uri(self.uri)
        with mlflow.start_run(run_id=self.run_id):
            mlflow.pytorch.log_model(
                net, name="model", signature=signature, pip_requirements=requirements,
                serialization_format="pickle",  # with code_paths: loads without a pt2 trace
                code_paths=[str(Path(seqlab.__file__).parent)],
            )

    def finish(self, status: str = "FINISHED") -> None:
        self.client.set_terminated(self.run_id, status)


@contextmanager
def tracked_run(cfg: DictConfig, tracking: Tracking, data_dir: Path, archetype: str
                ) -> Iterator[TrackedRun | None]:
    """A new run (None when tracking is off or in DDP's other ranks), FINISHED when the
    block succeeds and FAILED when it raises."""
    from seqlab.pipeline import is_global_zero

    if not tracking.enabled or not is_global_zero():
        yield None
        return
    run = TrackedRun.start(cfg, tracking, data_dir, archetype)
    try:
        yield run
    except BaseException:
        run.finish("FAILED")
        raise
    run.finish()
