"""Lineage tags: which code, data, seed and library versions produced a run."""

from __future__ import annotations

import difflib
import hashlib
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import yaml

# What a run is made from: a change here makes it dirty. Pipeline outputs that DVC
# rewrites (dvc.lock, metrics/, plots/) are not among them.
SOURCE_PATHS = ("src", "conf", "params.yaml", "dvc.yaml", "pyproject.toml", "constraints.txt")


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def git_state(root: Path) -> dict[str, str]:
    """The commit, and whether the code and config differ from it, untracked files
    included ('unknown' outside git)."""
    commit = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=all", "--",
                  *SOURCE_PATHS)
    return {
        "git.commit": commit.strip() if commit else "unknown",
        "git.dirty": "unknown" if status is None else str(bool(status.strip())).lower(),
    }


def git_diff(root: Path) -> str:
    """The changes to the code and config since the commit, as a patch: tracked files'
    diff, then each untracked file whole."""
    patch = _git(root, "diff", "HEAD", "--", *SOURCE_PATHS) or ""
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "--",
                     *SOURCE_PATHS) or ""
    for name in filter(None, untracked.splitlines()):
        lines = (Path(root) / name).read_text(errors="replace").splitlines(keepends=True)
        patch += "".join(difflib.unified_diff([], lines, "/dev/null", f"b/{name}"))
    return patch


def folder_sha256(folder: Path) -> str:
    """A content hash of every file below `folder`, names included."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes (the user's own data file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def code_sha256(paths: list[Path]) -> str:
    """A content hash of source files and package folders (the user's own code; caches
    left out), their names included."""
    digest = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(file.name.encode() + file.read_bytes())
    return digest.hexdigest()


def dvc_out_hash(root: Path, out_path: Path) -> str | None:
    """The md5 that dvc.lock records for an output path, if DVC produced it."""
    lock = Path(root) / "dvc.lock"
    if not lock.is_file():
        return None
    try:
        relative = Path(out_path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return None
    stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {})
    for stage in stages.values():
        for out in stage.get("outs", []):
            if out.get("path") == relative:
                return out.get("md5")
    return None


def lineage_tags(root: Path) -> dict[str, str]:
    """What every run records of the code that made it, training and report alike: the
    commit, whether the code differs from it, and the library versions. The commit is
    also MLflow's own tag, which its UI shows as the run's source version."""
    tags = {**git_state(root), **library_versions()}
    if tags["git.commit"] != "unknown":
        tags["mlflow.source.git.commit"] = tags["git.commit"]
    return tags


def library_versions() -> dict[str, str]:
    tags = {"version.python": platform.python_version()}
    for package in ("torch", "pytorch-lightning", "mlflow", "seqlab"):
        try:
            tags[f"version.{package}"] = version(package)
        except PackageNotFoundError:
            tags[f"version.{package}"] = "missing"
    return tags
