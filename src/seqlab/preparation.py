"""The data a run reads: a dataset fetched and preprocessed, into DVC's folders (the
fetch and preprocess stages) or, for a run outside DVC, the run cache (`prepare_data`,
keyed by the code that builds data, the settings and the user's file)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from seqlab.config import instantiate
from seqlab.data.meta import training_bounds
from seqlab.data.processed import ProcessedData
from seqlab.layout import DataFolders


def fetch(source: str, folders: DataFolders, paths: Sequence[str | Path] = ()) -> Path:
    """Materialise a raw source into its folder (the fetch stage); with `paths`, the source
    is the user's own files, copied there."""
    from seqlab.data import sources

    return sources.fetch(source, folders.raw(source), folders.downloads, paths)


def preprocess(dataset_cfg: DictConfig | dict, folders: DataFolders,
               folder_name: str | None = None, raw_name: str | None = None) -> ProcessedData:
    """Preprocess a dataset from its raw source into its folder (the preprocess stage)."""
    from seqlab.data.user_files import named_as_given, own_files

    spec = instantiate(dataset_cfg, "dataset")
    raw = folders.raw(raw_name or spec.source)
    with named_as_given(raw, own_files(spec)):  # errors name the user's file, not its copy
        data = spec.preprocess(raw)
    # What predict compares a user's inputs with: the training rows' lengths and ranges.
    data.meta.raw.update(training_bounds(data.meta, data.inputs, data.lengths,
                                         data.splits.get("train", [])))
    data.save(folders.processed(folder_name or spec.name))
    return data


def digest(node: DictConfig) -> str:
    """A short hash of a config's resolved values."""
    plain = OmegaConf.to_container(node, resolve=True)
    return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:12]


def data_code_hash(dataset_cfg: DictConfig) -> str:
    """A hash of the code that fetches and preprocesses data: seqlab/data/*.py, and the
    user's own dataset kind's module when the dataset is theirs."""
    from seqlab import data
    from seqlab.model_folder import own_code
    from seqlab.tracking.lineage import code_sha256

    return code_sha256([*sorted(Path(data.__file__).parent.glob("*.py")),
                        *own_code(dataset_cfg)])


def prepare_data(dataset_cfg: DictConfig, folders: DataFolders) -> Path:
    """Fetch and preprocess a dataset for a run outside DVC, unless already done.

    The cache is kept apart for each version of the code that builds data, so a code
    change never serves old arrays; within it a folder is named by the dataset and a
    hash of its settings, so two configs never share one. The user's own file (a dataset
    with a `path`) is keyed by its content too, so editing it prepares the data again.
    A raw folder that lost its file is fetched again. A lock lets parallel sweep jobs
    share the cache.
    """
    from filelock import FileLock

    from seqlab.data.sources import raw_files
    from seqlab.data.user_files import own_files
    from seqlab.tracking.lineage import file_sha256

    spec = instantiate(dataset_cfg, "dataset")
    code = data_code_hash(dataset_cfg)[:12]
    folders = DataFolders(folders.raw_root / code, folders.processed_root / code,
                          folders.downloads)
    paths = own_files(spec)
    content = "".join(f"-{file_sha256(p)[:12]}" for p in paths)
    raw_name = f"{spec.source}{content}"
    folder = folders.processed(f"{spec.name}-{digest(dataset_cfg)}{content}")
    folders.processed_root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folders.processed_root / ".lock")):
        if not all((folders.raw(raw_name) / f).is_file()
                   for f in raw_files(spec.source, paths)):
            fetch(raw_name, folders, paths)
        if not folder.is_dir():
            preprocess(dataset_cfg, folders, folder.name, raw_name)
    return folder
