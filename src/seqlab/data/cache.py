"""Prepared datasets for runs outside DVC (Hydra runs, sweeps, the benchmark).

`dvc repro` writes data/raw/<source> and data/processed/<dataset> through its stages.
A run started with `python -m seqlab.train` prepares the same folders itself, in
data/cache/, keyed by a hash of the dataset config so that two configs never share one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from filelock import FileLock
from omegaconf import DictConfig, OmegaConf

from seqlab.data import sources


def config_hash(dataset_cfg: DictConfig | dict[str, Any]) -> str:
    plain = OmegaConf.to_container(dataset_cfg, resolve=True) if isinstance(
        dataset_cfg, DictConfig) else dataset_cfg
    return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:12]


def prepare(dataset_cfg: DictConfig, spec: Any, cache_root: Path) -> Path:
    """Fetch and preprocess `spec` into cache_root unless already there; return the folder."""
    cache_root = Path(cache_root)
    cache_root.mkdir(parents=True, exist_ok=True)
    folder = cache_root / "processed" / f"{spec.name}-{config_hash(dataset_cfg)}"
    raw = cache_root / "raw" / spec.source
    with FileLock(str(cache_root / ".lock")):  # parallel sweep jobs share the cache
        if not raw.is_dir():
            sources.fetch(spec.source, cache_root / "raw")
        if not folder.is_dir():
            spec.build(raw).save(folder)
    return folder
