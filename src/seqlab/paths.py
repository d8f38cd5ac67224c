"""Where a project's files live, wherever a command is started from."""

from __future__ import annotations

import os
from pathlib import Path

# DVC runs queued experiments in a temporary copy at <repo>/.dvc/tmp/exps/<tmp>/.
_DVC_EXP_COPY = (".dvc", "tmp", "exps")


def project_root(start: Path | None = None) -> Path:
    """The seqlab project folder: $SEQLAB_ROOT, else the nearest folder holding dvc.yaml.

    Inside one of DVC's temporary experiment copies this is the original repository,
    so that runs from `dvc exp run --queue` land in the same MLflow store.
    """
    if os.environ.get("SEQLAB_ROOT"):
        return Path(os.environ["SEQLAB_ROOT"]).resolve()
    here = (start or Path.cwd()).resolve()
    parts = here.parts
    for i in range(len(parts) - len(_DVC_EXP_COPY)):
        if parts[i : i + len(_DVC_EXP_COPY)] == _DVC_EXP_COPY:
            return Path(*parts[:i])
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file():
            return folder
    return here


def conf_dir() -> Path:
    """The Hydra config folder shipped with the code (conf/ beside src/)."""
    return Path(__file__).resolve().parents[2] / "conf"
