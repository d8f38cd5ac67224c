"""Where runs are tracked, and preparing the store before any job writes to it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqlab.layout import project_root

SQLITE = "sqlite:///"
# The experiment tag that records an experiment's kind: model training, not GenAI. The
# UI's experiment-type selector writes it too; MLflow 3.17's UI itself follows the
# GenAI | Model training switch of its sidebar (see the README's "Compare in MLflow").
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
TRAINING_KIND = "custom_model_development"


def kind_is_chosen(kind: str | None) -> bool:
    """Whether an experiment's kind was chosen (in the UI, or by seqlab), not guessed:
    the UI may record a guess such as `no_inferred_type` or `genai_development_inferred`."""
    return bool(kind) and kind != "no_inferred_type" and not kind.endswith("_inferred")


@dataclass
class Tracking:
    """MLflow settings (conf/tracking). Relative paths are taken from the project root."""

    enabled: bool = True
    uri: str = "sqlite:///mlflow.db"
    artifact_root: str = "mlartifacts"  # used for experiments seqlab creates in a local store
    log_model: bool = True

    def resolved_uri(self) -> str:
        """The tracking URI with any local path made absolute.

        DVC runs queued experiments in a temporary copy of the repository; an absolute
        path sends their runs to the same store as every other run.
        """
        if self.uri.startswith(SQLITE):
            path = Path(self.uri[len(SQLITE):])
            return SQLITE + str(path if path.is_absolute() else project_root() / path)
        return self.uri

    def client(self) -> Any:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.resolved_uri())

    def artifact_location(self, experiment: str) -> str | None:
        if not self.resolved_uri().startswith(SQLITE):
            return None  # a tracking server decides where artifacts go
        root = Path(self.artifact_root)
        root = root if root.is_absolute() else project_root() / root
        return (root / experiment).as_uri()


def store_lock(tracking: Tracking) -> Any:
    """A file lock beside a SQLite store (a no-op for a server): held while creating the
    schema or experiments, or moving a registry alias, which parallel jobs would race in."""
    from filelock import FileLock

    uri = tracking.resolved_uri()
    if not uri.startswith(SQLITE):
        return _NoLock()
    lock_path = Path(uri[len(SQLITE):] + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(lock_path))


def init_store(tracking: Tracking, experiments: list[str]) -> dict[str, str]:
    """Create the store's schema and the experiments once, under a file lock.

    Several processes that create a fresh SQLite store (or the same experiment) at once
    race in MLflow's migrations; taking a lock first makes it safe for parallel jobs.
    Every experiment is marked as a model-training one (EXPERIMENT_KIND_TAG), those made
    before seqlab set the tag included; a kind chosen in the UI is left alone.
    Returns experiment name -> id.
    """
    from mlflow.tracking import MlflowClient

    uri = tracking.resolved_uri()
    with store_lock(tracking):
        try:
            client = MlflowClient(tracking_uri=uri)
            ids = {}
            for name in experiments:
                found = client.get_experiment_by_name(name)
                if found is None:
                    ids[name] = client.create_experiment(
                        name, artifact_location=tracking.artifact_location(name),
                        tags={EXPERIMENT_KIND_TAG: TRAINING_KIND})
                    continue
                ids[name] = found.experiment_id
                if not kind_is_chosen(found.tags.get(EXPERIMENT_KIND_TAG)):
                    client.set_experiment_tag(found.experiment_id, EXPERIMENT_KIND_TAG,
                                              TRAINING_KIND)
        except Exception as error:  # MLflow, SQLAlchemy and HTTP raise many types
            from seqlab.errors import ConfigError
            from seqlab.tracking.run import redact_uri

            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            reason = reason.replace(uri, redact_uri(uri))[:300]  # MLflow echoes the URI
            raise ConfigError(f"tracking.uri: cannot use the MLflow store "
                              f"{redact_uri(uri)} ({reason}); check tracking.uri, or "
                              "set tracking.enabled=false") from None
        return ids


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
