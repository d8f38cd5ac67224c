"""Shared fixtures: the real config, composed and shrunk; data prepared in a temporary cache."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from seqlab.config import compose
from seqlab.layout import DataFolders

REPO = Path(__file__).resolve().parents[1]
FAST = ["trainer=cpu", "trainer.progress_bar=false", "tracking.enabled=false"]


def tiny(*overrides: str):
    """The real config of a preset on the CPU, with no progress bar and no tracking.

    Tests shrink epochs and data themselves, with overrides.
    """
    return compose([*overrides, *FAST])


@pytest.fixture
def one_thread():
    """Tiny models run fastest on one thread; two spin-wait badly on a busy 2-core box."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def cache(tmp_path_factory) -> DataFolders:
    """A run cache for the whole session, as `python -m seqlab.train` keeps in data/cache."""
    root = tmp_path_factory.mktemp("cache")
    return DataFolders(root / "raw", root / "processed")


@pytest.fixture(scope="session")
def prepared(cache):
    """Prepare a config's dataset once per session: prepared(cfg) -> processed folder."""
    from seqlab.pipeline import prepare_data

    return lambda cfg: prepare_data(cfg.dataset, cache)


@pytest.fixture(scope="session")
def run(cache):
    """run(cfg, out_dir) -> the metrics file's content: the whole run, as the app does it."""
    from seqlab.pipeline import run_experiment

    return lambda cfg, out_dir: run_experiment(cfg, Path(out_dir), cache)


def run_module(module: str, *args: str, cwd: Path = REPO, env: dict | None = None,
               timeout: int = 600) -> subprocess.CompletedProcess:
    """Run `python -m module args` as a user would, capturing its output."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def copy_project(target: Path) -> Path:
    """Copy the project's files (tracked and untracked, not ignored) into a fresh git repo."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    git = ["git", "-c", "user.name=seqlab-test", "-c", "user.email=test@localhost"]
    subprocess.run(["git", "init", "-q"], cwd=target, check=True)
    subprocess.run(["git", "add", "-A"], cwd=target, check=True)
    subprocess.run([*git, "commit", "-qm", "copy"], cwd=target, check=True)
    return target
