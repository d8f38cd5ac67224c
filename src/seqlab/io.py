"""Atomic writes: a failed stage leaves no half-written output for DVC to cache."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _umask() -> int:
    """The process umask: os.umask can only read it by setting it, so set it back at once
    (to a strict mask meanwhile, should another thread create a file in between)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    """Flush a file's data, or a folder's entries, to disk (a rename alone may not be)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield an empty temporary folder that replaces `target` only if the block succeeds.

    Before the rename the folder gets the mode `mkdir` would give it (mkdtemp's is 0700)
    and everything in it is synced, so a crash never leaves a renamed but empty output.
    """
    from filelock import FileLock, Timeout

    from seqlab.errors import OutputBusy

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # One writer at a time: a second run must not replace what a live one is writing.
    # The OS releases the lock when its process dies, so a crash never leaves it held.
    lock = FileLock(str(target.parent / f".{target.name}.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise OutputBusy(f"{target}: another run is writing it; wait for that run to end "
                         "or write elsewhere") from None
    try:
        with _replacing(target) as tmp:
            yield tmp
    finally:
        lock.release()


@contextmanager
def _replacing(target: Path) -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        tmp.chmod(0o777 & ~_umask())
        for path in tmp.rglob("*"):
            if not path.is_symlink() and (path.is_file() or path.is_dir()):
                _fsync(path)
        _fsync(tmp)
    except OSError as error:  # name the file the user will look for, not the temporary one
        shutil.rmtree(tmp, ignore_errors=True)
        for attribute in ("filename", "filename2"):
            name = getattr(error, attribute)
            if isinstance(name, str) and name.startswith(f"{tmp}{os.sep}"):
                setattr(error, attribute, str(target / Path(name).relative_to(tmp)))
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target.exists():
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    os.replace(tmp, target)
    _fsync(target.parent)  # the rename itself


def atomic_write_text(target: Path, text: str) -> None:
    """Write `text` to `target` through a synced temporary file and a rename; the file
    gets the mode `open` would give it (mkstemp's is 0600)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with naming(target), os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync(target.parent)


def atomic_write_json(target: Path, data: Any) -> None:
    atomic_write_text(target, json.dumps(data, indent=2, sort_keys=False) + "\n")


def torch_save(obj: Any, target: Path) -> None:
    """torch.save, with a full disk an OSError naming `target` (torch's own writer reports
    it as "RuntimeError: basic_ios::clear: iostream error")."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with naming(target):
        Path(target).write_bytes(buffer.getbuffer())


@contextmanager
def naming(target: Path) -> Iterator[None]:
    """An OSError inside names `target` when it names no file: a write() on a full disk
    does not say which file it was for, and a one-line error should."""
    try:
        yield
    except OSError as error:
        if error.filename is None:
            error.filename = str(target)
        raise
