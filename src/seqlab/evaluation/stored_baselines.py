"""Baselines answered once per dataset, then read back by every run, trial and seed.

MiniRocket and 1-NN DTW take seconds on digits, AutoETS and ridge a second on a series:
a sweep of fifty trials would fit them fifty times over the same test split. Their
answers are kept beside the processed data (`data/processed/.baselines/`, outside DVC's
outputs and git) under a key made of everything they depend on: the data's arrays and
meta, the baseline function, the code of `seqlab.evaluation` and the versions of the
libraries that fit them. A change to any of these is a new key, so a stored answer is
the one a fresh fit would give; its `seconds` are those of the fit that made it.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from seqlab.data.processed import ProcessedData
from seqlab.evaluation.baselines import Answers

FOLDER = ".baselines"  # beside the datasets' folders: data/processed/.baselines/
LIBRARIES = ("numpy", "scipy", "scikit-learn", "statsmodels", "sktime", "dtaidistance")
CODE = Path(__file__).parent  # the baselines, the references and what scores them


def _code_digest() -> bytes:
    found = hashlib.blake2b(digest_size=16)
    for path in sorted(CODE.glob("*.py")):
        found.update(path.name.encode() + path.read_bytes())
    for library in LIBRARIES:
        try:
            found.update(f"{library}={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            found.update(f"{library}=none".encode())
    return found.digest()


def key(answer: Callable[..., Any], data: ProcessedData, per_step: bool) -> str:
    """What the answers of `answer(data, per_step)` depend on, as one hex digest."""
    found = hashlib.blake2b(_code_digest(), digest_size=16)
    found.update(f"{answer.__module__}.{answer.__qualname__} {per_step}".encode())
    found.update(json.dumps(data.meta.to_json(), sort_keys=True).encode())
    arrays = data.arrays()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        found.update(f"{name} {array.dtype.str} {array.shape}".encode())
        found.update(array.data)
    return found.hexdigest()


def answered(answer: Callable[..., Any], data: ProcessedData, per_step: bool,
             folder: Path | None) -> dict[str, Any]:
    """`answer(data, per_step)`, read from `folder` when a run before fitted the same;
    else fitted and kept there (a folder that cannot be written keeps nothing)."""
    if folder is None:
        return answer(data, per_step)
    path = Path(folder) / f"{key(answer, data, per_step)}.pkl"
    try:
        kept = pickle.loads(path.read_bytes())
        found = Answers(kept["answers"])
        found.info = dict(kept["info"])
        return found
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, KeyError,
            TypeError):
        pass  # none yet, or unreadable: fitted again and replaced
    found = answer(data, per_step)
    stored = {"answers": dict(found), "info": getattr(found, "info", {})}
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A file of its own per writer, then a rename: runs of one sweep that store the
        # same key at once each replace the file whole.
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                             dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(pickle.dumps(stored, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(temporary, path)
    except OSError:  # a read-only project (or a full disk) still evaluates, at the fit's cost
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
    return found
