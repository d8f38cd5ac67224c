"""Which failures of a call to the MLflow store are outages, and which are bugs.

An outage is a failure to reach the store: a connection refused, reset or cut, no answer
in time, a server answering 5xx, a database lock that outlasts its wait. The record is
kept on disk and sent later (seqlab.upload). Anything else (MLflow refusing a
value, seqlab's own input check failing inside log_model) fails again the same way
however often it is sent: it is a bug, reported as one, and the run ends FAILED.

Errors are judged by their type, along the chain MLflow, requests and urllib3 build
(`raise ... from`, an exception raised while handling another, MaxRetryError's reason),
and by their text only where a type says nothing more: a database driver's
OperationalError, and an MlflowException that kept the words of the error it replaced.
"""

from __future__ import annotations

import re
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from seqlab.errors import TrackingBug
from seqlab.tracking.store import redact_uri

# The words of a database driver's OperationalError that mean "not reached" (SQLite,
# PostgreSQL, MySQL); any other (no such table, a bad statement) is a bug.
DATABASE_OUTAGES = (
    ("database is locked", "its database stayed locked"),
    ("unable to open database", "its database cannot be opened"),
    ("could not connect", "its database cannot be reached"),
    ("can't connect", "its database cannot be reached"),
    ("connection refused", "its database cannot be reached"),
    ("server closed the connection", "its database closed the connection"),
    ("lost connection", "its database closed the connection"),
    ("server has gone away", "its database closed the connection"),
    ("terminating connection", "its database closed the connection"),
    ("timeout expired", "its database did not answer in time"),
)
# What an MlflowException keeps of a connection's failure it replaced (its REST client
# raises a new one, its text made of the old one's).
MLFLOW_OUTAGES = (
    ("Connection refused", "connection refused"),
    ("Max retries exceeded", "no answer"),
    ("timed out", "no answer in time"),
    ("timeout exception", "no answer in time"),
    ("Connection aborted", "connection lost"),
    ("Connection reset", "connection lost"),
    ("RemoteDisconnected", "connection lost"),
)
SERVER_ERROR = re.compile(r"(?:failed with error code|too many) (5\d\d)\b")


def chain(error: BaseException) -> Iterator[BaseException]:
    """`error`, then each error behind it: its cause or context, urllib3's `reason`, and
    an error given as an argument (requests wraps urllib3's so)."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        found = todo.pop(0)
        if id(found) in seen:
            continue
        seen.add(id(found))
        yield found
        behind = [found.__cause__, found.__context__, getattr(found, "reason", None),
                  *getattr(found, "args", ())]
        todo += [e for e in behind if isinstance(e, BaseException)]


def _module(name: str) -> object | None:
    """A library's module if it is loaded: none of its errors exist otherwise (and the
    check imports nothing)."""
    return sys.modules.get(name)


def _status_said(text: str) -> str | None:
    found = SERVER_ERROR.search(text)
    return f"it answered {found.group(1)}" if found else None


def _one(error: BaseException) -> str | None:
    """Why `error` itself says the store was not reached, or None."""
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ConnectionError):  # reset, aborted, a broken pipe
        return "connection lost"
    if isinstance(error, TimeoutError):  # socket.timeout too
        return "no answer in time"
    if isinstance(error, socket.gaierror):
        return "its host name is not found"
    urllib3 = _module("urllib3.exceptions")
    if urllib3 is not None:
        if isinstance(error, urllib3.NameResolutionError):
            return "its host name is not found"
        if isinstance(error, urllib3.NewConnectionError):
            return "connection failed"
        if isinstance(error, urllib3.TimeoutError):
            return "no answer in time"
        if isinstance(error, urllib3.ProtocolError):
            return "connection lost"
        if isinstance(error, urllib3.ResponseError | urllib3.MaxRetryError):
            return _status_said(str(error)) or "no answer"  # "too many 503 error responses"
    requests = _module("requests.exceptions")
    if requests is not None:
        if isinstance(error, requests.Timeout):
            return "no answer in time"
        if isinstance(error, requests.ConnectionError):
            return "connection failed"
        if isinstance(error, requests.RetryError):
            return _status_said(str(error)) or "no answer"
        if isinstance(error, requests.HTTPError) and error.response is not None and \
                error.response.status_code >= 500:
            return f"it answered {error.response.status_code}"
    sqlalchemy = _module("sqlalchemy.exc")
    if sqlalchemy is not None:
        if isinstance(error, sqlalchemy.DisconnectionError | sqlalchemy.TimeoutError):
            return "its database cannot be reached"
        if isinstance(error, sqlalchemy.DBAPIError) and error.connection_invalidated:
            return "its database closed the connection"
    if type(error).__name__ == "OperationalError":  # SQLAlchemy's, sqlite3's, psycopg's
        # The driver's own words: SQLAlchemy's text adds the statement and its values.
        text = str(getattr(error, "orig", None) or error).lower()
        return next((said for words, said in DATABASE_OUTAGES if words in text), None)
    mlflow = _module("mlflow.exceptions")
    if mlflow is not None and isinstance(error, mlflow.MlflowException):
        if isinstance(error, mlflow.RestException) and error.get_http_status_code() >= 500:
            return f"it answered {error.get_http_status_code()}"  # the server's own answer
        said = _status_said(str(error))  # a 5xx answer with no JSON body
        if said or error.__cause__ is not None or error.__context__ is not None:
            return said  # the errors behind it say the rest
        # Nothing behind it: its text is all that is left of the error it replaced.
        return next((said for words, said in MLFLOW_OUTAGES if words in str(error)), None)
    return None


def outage_reason(error: BaseException) -> str | None:
    """Why the store could not be reached, in a few words (no URI, no password), when
    `error` says it could not; None for any other error: a bug."""
    # The first error raised says most (a refused connection, under MLflow's wrapper).
    for found in reversed(list(chain(error))):
        said = _one(found)
        if said:
            return said
    return None


def bug_reason(error: BaseException) -> str:
    """A bug's error in one line: its type and the first line of its text."""
    text = str(error).strip()
    first = text.splitlines()[0].strip() if text else ""
    name = type(error).__name__
    return f"{name}: {first}"[:300] if first else name


# -- the one line a run ends with, once its record is safe on disk ---------------------

def tracking_bug(tracking: Any, refused: tuple[str, str], kept: Path | None = None
                 ) -> TrackingBug:
    """The one line of a store call's bug, (what, why) as `refusal` gives it: no outage,
    so the upload command would fail alike; the run is FAILED (see finish)."""
    doing, reason = refused
    where = f"its record is kept in {kept}" if kept else "its record is on disk"
    return TrackingBug(
        f"{doing} failed ({reason}): an error in seqlab or MLflow, not an outage of the "
        f"MLflow store {redact_uri(tracking.resolved_uri())} (sending it again fails "
        f"alike); the run is marked FAILED and {where}",
        tag=f"{doing} failed: {reason}")


def check_landed(run: Any, kept: Path, stage: str | None = None) -> None:
    """Once a run's record is safe in `kept`: StoreOutage, one line naming the store and
    the folder, if the store stopped answering meanwhile (see survives_outage); else
    TrackingBug, one line, if a store call failed with a bug (the run then ends FAILED,
    see lifetime). A DVC `stage` failed for an outage, though its outputs are whole: the
    line says how to keep them."""
    from seqlab.errors import StoreOutage

    if run is None:
        return
    reason = run.down()
    refused = run.refusal()
    if refused and not reason:
        raise tracking_bug(run.tracking, refused, kept)
    if reason:
        # DVC deletes a failed stage's outputs when it runs it again; `dvc commit` records
        # them as they are instead.
        keep = f", then `dvc commit -f {stage}` keeps it without running again" if stage else ""
        raise StoreOutage(
            f"the MLflow store {redact_uri(run.tracking.resolved_uri())} stopped answering "
            f"({reason[:160]}); the run's record is kept in {kept}: send it with `python -m "
            f"seqlab.upload {kept}` once the store answers again{keep}")
