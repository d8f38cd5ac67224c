"""Where runs are tracked, and preparing the store before any job writes to it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from seqlab.layout import project_root

SQLITE = "sqlite:///"
SERVERS = ("http://", "https://")
# Set, it wins over tracking.uri: `MLFLOW_TRACKING_URI=http://host:5001 python -m
# seqlab.train` sends a run to a server whatever the config says.
URI_VARIABLE = "MLFLOW_TRACKING_URI"
# Read once, as seqlab starts: mlflow.set_tracking_uri() sets this variable itself (for its
# child processes), so read later it could be MLflow's echo of another run's store.
USER_URI = os.environ.get(URI_VARIABLE) or None
PROBE_TIMEOUT_S = 3.0  # MLflow's own client retries a dead server for minutes
# MLflow's client waits out a store that stopped answering for about 12 minutes (7 retries
# with doubling waits, 120 s a request). A run's record stays on disk whatever the store
# does, so seqlab gives up within a minute: 3 attempts of at most 15 s, 1 s and 2 s apart.
# The user's own settings win; child processes inherit these.
BOUNDED_WAITS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                 "MLFLOW_HTTP_REQUEST_TIMEOUT": "15"}
for _name, _value in BOUNDED_WAITS.items():
    os.environ.setdefault(_name, _value)
# The experiment tag that records an experiment's kind: model training, not GenAI. The
# UI's experiment-type selector writes it too; MLflow 3.17's UI itself follows the
# GenAI | Model training switch of its sidebar (see docs: guides/compare.md).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
TRAINING_KIND = "custom_model_development"


def redact_uri(value: str) -> str:
    """`value` with the password of a URL (`scheme://user:secret@host`) replaced by ***;
    anything else unchanged. Params are readable by everyone with access to the store."""
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:  # not a URL after all (e.g. a bad port)
        return value
    if not password:
        return value
    user, _, host = parts.netloc.rpartition("@")
    netloc = f"{user.partition(':')[0]}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def portable_path(path: Path, root: Path) -> str:
    """`path` relative to the project root, or only its name outside the project: a tag
    names the data without revealing (or depending on) this machine's folders."""
    path = Path(path).resolve()
    try:
        return path.relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return path.name


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
        """The tracking URI ($MLFLOW_TRACKING_URI when set, else tracking.uri) with any
        local path made absolute.

        DVC runs queued experiments in a temporary copy of the repository; an absolute
        path sends their runs to the same store as every other run.
        """
        uri = USER_URI or self.uri
        if uri.startswith(SQLITE):
            path = Path(uri[len(SQLITE):])
            return SQLITE + str(path if path.is_absolute() else project_root() / path)
        if urlsplit(uri).password:
            # MLflow prints "View run ... at: <the URI, password and all>" as runs end:
            # console lines end up in CI and DVC logs.
            os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
        return uri

    def recorded_uri(self) -> str:
        """The URI as a run records it: a server's without its password, a SQLite file's
        relative to the project (its name alone outside it): no machine path."""
        uri = self.resolved_uri()
        if uri.startswith(SQLITE):
            return SQLITE + portable_path(Path(uri[len(SQLITE):]), project_root())
        return redact_uri(uri)

    def client(self) -> Any:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.resolved_uri())

    def artifact_location(self, experiment: str) -> str | None:
        if not self.resolved_uri().startswith(SQLITE):
            return None  # a tracking server decides where artifacts go
        root = Path(self.artifact_root)
        root = root if root.is_absolute() else project_root() / root
        return (root / experiment).as_uri()


@contextmanager
def fluent_uri(uri: str) -> Iterator[None]:
    """MLflow's fluent API (mlflow.start_run, log_model) pointed at `uri` for a block.

    mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI for child processes; left
    set, every later job and process of this one would follow this run's store.
    """
    import mlflow
    from mlflow.tracking._tracking_service import utils

    previous, exported = utils._tracking_uri, os.environ.get(URI_VARIABLE)
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)
        if exported is None:
            os.environ.pop(URI_VARIABLE, None)
        else:
            os.environ[URI_VARIABLE] = exported


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


_answered: set[str] = set()  # the servers that answered this process's probe


def require_server(tracking: Tracking) -> None:
    """Fail in seconds, with one line, when tracking.uri names a server nobody answers.

    MLflow's client retries a server that is down with backoff for minutes before it
    gives up; a job should learn it before any work. A no-op for a local store, and
    once a server answered. Any HTTP answer (an auth page, a 404 under a prefix) counts:
    the question is only whether a server is there.
    """
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit, urlunsplit

    from seqlab.errors import ConfigError
    uri = tracking.resolved_uri()
    if not tracking.enabled or not uri.startswith(SERVERS) or uri in _answered:
        return
    parts = urlsplit(uri)
    health = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2],
                                       path=parts.path.rstrip("/") + "/health"))
    try:
        urllib.request.urlopen(health, timeout=PROBE_TIMEOUT_S).close()
    except urllib.error.HTTPError:
        pass  # a server answered
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, ConnectionRefusedError):
            why = "connection refused"
        elif isinstance(reason, TimeoutError):
            why = f"no answer within {PROBE_TIMEOUT_S:.0f} s"
        else:
            why = (str(reason).strip() or type(reason).__name__)[:200]
        raise ConfigError(f"tracking.uri: no MLflow server answers at {redact_uri(uri)} "
                          f"({why}); start it with `make server`, or set tracking=mlflow "
                          "for the local store") from None
    _answered.add(uri)


def init_store(tracking: Tracking, experiments: list[str]) -> dict[str, str]:
    """Create the store's schema and the experiments once, under a file lock.

    Several processes that create a fresh SQLite store (or the same experiment) at once
    race in MLflow's migrations; taking a lock first makes it safe for parallel jobs. A
    server (probed first: require_server) migrates its own database, and of jobs that
    create the same experiment at once, the first wins and the others find it.
    Every experiment is marked as a model-training one (EXPERIMENT_KIND_TAG), those made
    before seqlab set the tag included; a kind chosen in the UI is left alone.
    Returns experiment name -> id.
    """
    from mlflow.tracking import MlflowClient

    require_server(tracking)
    uri = tracking.resolved_uri()
    with store_lock(tracking):
        try:
            client = MlflowClient(tracking_uri=uri)
            ids = {}
            for name in experiments:
                found = client.get_experiment_by_name(name)
                if found is None:
                    created = _create_experiment(client, tracking, name)
                    if created is not None:
                        ids[name] = created
                        continue
                    found = client.get_experiment_by_name(name)
                ids[name] = found.experiment_id
                if not kind_is_chosen(found.tags.get(EXPERIMENT_KIND_TAG)):
                    client.set_experiment_tag(found.experiment_id, EXPERIMENT_KIND_TAG,
                                              TRAINING_KIND)
        except Exception as error:  # MLflow, SQLAlchemy and HTTP raise many types
            from seqlab.errors import ConfigError

            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            reason = reason.replace(uri, redact_uri(uri))[:300]  # MLflow echoes the URI
            raise ConfigError(f"tracking.uri: cannot use the MLflow store "
                              f"{redact_uri(uri)} ({reason}); check tracking.uri, or "
                              "set tracking.enabled=false") from None
        return ids


def _create_experiment(client: Any, tracking: Tracking, name: str) -> str | None:
    """Create an experiment; None if another job created it meanwhile. No file lock holds
    back the jobs of other machines that share a server: the first to ask creates it."""
    from mlflow.exceptions import MlflowException

    try:
        return client.create_experiment(name, artifact_location=tracking.artifact_location(name),
                                        tags={EXPERIMENT_KIND_TAG: TRAINING_KIND})
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return None


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
