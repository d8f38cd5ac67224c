"""Every folder and file name of a seqlab project, defined once.

dvc.yaml names the same folders (DVC needs them literally); tests/test_pipeline.py
checks that the two agree by running the pipeline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Files inside a raw source folder, data/raw/<source>/.
SERIES_FILE = "series.csv"  # a `date,value` series
IMAGES_FILE = "images.npz"  # images and labels
PACKAGE_FILE = "package.json"  # the version of a package that generates data
# Files inside a preprocessed dataset folder, data/processed/<dataset>/.
ARRAYS_FILE = "arrays.npz"
META_FILE = "meta.json"
# A model folder: models/<entry>/ in the pipeline, outputs/<date>/<time>/model/ in a run.
RUN_MODEL_DIR = "model"
MODEL_FILE = "model.pt"  # the network's state dict
CONFIG_FILE = "config.yaml"  # the resolved run config
HISTORY_FILE = "history.csv"  # per-epoch metrics
SELECTION_FILE = "selection.json"  # what chose the kept weights: a validation metric's value
RUN_FILE = "run.json"  # the MLflow run the model belongs to
PROFILE_FILE = "profile.txt"  # Lightning's profiler report (debug=profile)
DIFF_FILE = "git_diff.patch"  # in a dirty run: the uncommitted changes it was made with
# The metrics file and figures folder of an evaluation.
METRICS_FILE = "metrics.json"
FIGURES_DIR = "figures"
PARAMS_FILE = "params.yaml"

# DVC runs queued experiments in a temporary copy at <repo>/.dvc/tmp/exps/<tmp>/.
_DVC_EXP_COPY = (".dvc", "tmp", "exps")


@dataclass(frozen=True)
class DataFolders:
    """Where raw sources and preprocessed datasets live: DVC's folders or the run cache,
    and where remote files are downloaded to (data/downloads/ unless given)."""

    raw_root: Path
    processed_root: Path
    downloads_root: Path | None = None

    @property
    def downloads(self) -> Path:
        return self.downloads_root or self.raw_root.parent / "downloads"

    def raw(self, source: str) -> Path:
        return self.raw_root / source

    def processed(self, dataset: str) -> Path:
        return self.processed_root / dataset


@dataclass(frozen=True)
class Layout:
    """The folders of one project, under its root."""

    root: Path

    @property
    def data(self) -> DataFolders:
        """What the DVC stages fetch and preprocess (DVC caches these)."""
        return DataFolders(self.root / "data" / "raw", self.root / "data" / "processed")

    @property
    def cache(self) -> DataFolders:
        """What `python -m seqlab.train` prepares for itself, outside DVC."""
        return DataFolders(self.root / "data" / "cache" / "raw",
                           self.root / "data" / "cache" / "processed",
                           self.root / "data" / "downloads")  # shared: files are checked

    @property
    def params(self) -> Path:
        return self.root / PARAMS_FILE

    def model(self, entry: str) -> Path:
        return self.root / "models" / entry

    def metrics(self, entry: str) -> Path:
        """DVC's metrics file of an entry: its headline only, so `dvc metrics show` and
        `dvc exp show` stay readable."""
        return self.root / "metrics" / f"{entry}.json"

    def details(self, entry: str) -> Path:
        """Everything an entry's evaluation measured (test metrics, every baseline)."""
        return self.root / "metrics" / "details" / f"{entry}.json"

    def plots(self, entry: str) -> Path:
        """DVC's plots of an entry: history.csv and figures/."""
        return self.root / "plots" / entry

    def reproduction(self, run_id: str, stamp: str) -> Path:
        """The output folder of `python -m seqlab.reproduce run_id`."""
        return self.root / "outputs" / "reproduce" / f"{run_id}-{stamp}"

    def checkpoints(self, key: str) -> Path:
        """Where a training keeps the checkpoints it can resume from (ignored by git and
        DVC; removed when the training ends)."""
        return self.root / "checkpoints" / key


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


def project() -> Layout:
    """The layout of the project the command runs in."""
    return Layout(project_root())


def conf_dir() -> Path:
    """The Hydra config folder shipped with the code (conf/ beside src/)."""
    return Path(__file__).resolve().parents[2] / "conf"
