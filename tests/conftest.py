"""Shared fixtures: the real config, composed and shrunk; data prepared in a temporary cache."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from seqlab.config import build, compose

REPO = Path(__file__).resolve().parents[1]
FAST = ["trainer=cpu", "trainer.progress_bar=false", "tracking.enabled=false"]


def tiny(*overrides: str):
    """The real config of a preset, shrunk to a couple of epochs on the CPU, no tracking."""
    return compose([*overrides, *FAST])


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def prepared(cache_root):
    """Prepare a dataset config once per session: prepared(cfg) -> processed folder."""
    from seqlab.data.cache import prepare

    def _prepare(cfg):
        return prepare(cfg.dataset, build(cfg.dataset, "dataset"), cache_root)

    return _prepare


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
