"""A run's output folder (outputs/<date>/<time>/): its record of the Hydra config, and its
removal when the command failed before leaving anything in it.

seqlab writes the `.hydra/` record itself (conf/train.yaml sets `hydra.output_subdir:
null`): Hydra's own save happens before the app starts, where a full or read-only disk
is a traceback; here it is one line (seqlab.errors.run_cli).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from seqlab.io import atomic_write_text

RECORD_DIR = ".hydra"  # the folder name Hydra would use, so tools that read it still do
# What Hydra and seqlab put in a run's folder before any work: the config record, the log
# file of Hydra's job logging (<job name>.log), and locks (.<name>.lock) of atomic writes.
_BOOKKEEPING = {RECORD_DIR}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # outputs/<date>/, hydra.run.dir's default


def write_record(out_dir: Path, cfg: DictConfig, hydra_cfg: DictConfig) -> None:
    """config.yaml (the run's config), hydra.yaml and overrides.yaml in out_dir/.hydra/,
    as Hydra writes them; only by the first process of a DDP run (its other processes run
    the same command in the same folder)."""
    if os.environ.get("LOCAL_RANK", "0") != "0":
        return
    folder = out_dir / RECORD_DIR
    for name, node in (("config.yaml", cfg), ("hydra.yaml", OmegaConf.create({"hydra": hydra_cfg})),
                       ("overrides.yaml", hydra_cfg.overrides.task)):
        atomic_write_text(folder / name, OmegaConf.to_yaml(node))


def only_bookkeeping(out_dir: Path) -> bool:
    """Whether out_dir holds nothing but the config record, log files and the locks of
    seqlab.io.atomic_dir."""
    return all(path.name in _BOOKKEEPING or (path.suffix in (".log", ".lock") and path.is_file())
               for path in out_dir.iterdir())


@contextmanager
def removed_if_left_empty(out_dir: Path) -> Iterator[None]:
    """On a failure (an error, a signal) that left nothing in out_dir but bookkeeping, remove
    the folder, and its date folder when that is left empty, so a failed command leaves no
    empty outputs/<date>/<time>/ behind. A folder with anything else in it is kept."""
    existed = out_dir.is_dir() and not only_bookkeeping(out_dir)
    try:
        yield
    except BaseException:
        if not existed and out_dir.is_dir() and only_bookkeeping(out_dir):
            shutil.rmtree(out_dir, ignore_errors=True)
            if _DATE.fullmatch(out_dir.parent.name):
                with suppress(OSError):  # only if empty: the date folder of no other run
                    out_dir.parent.rmdir()
        raise
