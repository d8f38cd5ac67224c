"""Errors a user can fix, and the one-line way every command reports them."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class SeqlabError(Exception):
    """A problem with the user's input or environment, reported as one line."""


class ConfigError(SeqlabError):
    """A config key or value that cannot be used."""


class DataError(SeqlabError):
    """Data that is missing, malformed or unusable."""


class OutputBusy(SeqlabError):
    """An output another live run is writing."""


class StoreOutage(SeqlabError):
    """The MLflow store stopped answering; the run's record is kept on disk."""


class TrackingBug(SeqlabError):
    """A call to the MLflow store failed, not for an outage: a bug in seqlab or MLflow
    (sending it again fails alike). The run is FAILED; its record is kept on disk."""

    def __init__(self, message: str, tag: str | None = None) -> None:
        super().__init__(message)
        self.tag = tag  # the run's `seqlab.error` tag: the reason, without the advice


class TrainingDiverged(SeqlabError):
    """The loss stopped being a finite number."""


# errno values that only a write causes; for the rest, the file's state tells (see below).
_WRITE_ERRNOS = {errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EEXIST,
                 errno.ENOTDIR, errno.EISDIR}


# The folder a command writes its outputs in, once it knows it: an OSError that names no
# file (a full disk seen by a write() deep in a library) is reported against it.
output_folder: list[str] = []


def describe_file_error(error: OSError) -> str:
    """'cannot write <file>: <reason>' (or read): a full or read-only disk, a denied access."""
    reason = error.strerror or str(error)
    if error.filename is None:
        where = output_folder[-1] if output_folder else os.getcwd()
        return f"cannot write in {where}: {reason}; free some space or fix the folder's access"
    # A copy or rename that fails for want of space names its source first, its target second.
    named = error.filename2 if error.filename2 and error.errno in _WRITE_ERRNOS else error.filename
    name = os.fsdecode(named) if isinstance(named, bytes) else str(named)
    if error.errno in _WRITE_ERRNOS:
        verb = "write"
    elif error.errno == errno.ENOENT:
        verb = "read"  # writes create their file; a missing one is a failed read
    else:  # e.g. permission denied: a file there that cannot be read was being read
        verb = "read" if os.path.exists(name) and not os.access(name, os.R_OK) else "write"
    return f"cannot {verb} {name}: {reason}"


def report(error: SeqlabError | OSError) -> int:
    """Print `error` as the single line a user sees and return the exit status (the line
    is kept in `reported`, for a sweep's parent run to record)."""
    message = describe_file_error(error) if isinstance(error, OSError) else str(error)
    reported[:] = [message]
    print(f"seqlab: error: {message}", file=sys.stderr)
    return 2


reported: list[str] = []  # the last line report() printed


def run_cli(main: Callable[[], T]) -> T:
    """Run `main` and return its result, reporting a user's error as one line, exit status 2,
    and a stop asked by a signal as one line, exit status 128 + its number.

    A user's error is a SeqlabError, or an OSError of the environment: a full or
    read-only disk, a denied permission, on a named file or (none named) in the output
    folder. Other OSErrors (a connection refused, say) keep their traceback.
    """
    from seqlab.signals import interruptible

    with interruptible():  # Ctrl-C and SIGTERM: one line, exit status 130 and 143
        try:
            return main()
        except SeqlabError as error:
            sys.exit(report(error))
        except OSError as error:
            if error.filename is None and error.errno not in _WRITE_ERRNOS | {errno.EACCES,
                                                                                errno.EPERM}:
                raise
            sys.exit(report(error))
