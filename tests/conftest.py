"""Shared fixtures: the real config, composed and shrunk; data prepared in a temporary cache."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# The suite runs on two workers (pyproject's addopts): two torch processes on two cores
# need one thread each, or both slow down many times over. Subprocesses inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# MLFLOW_TRACKING_URI wins over tracking.uri (read as seqlab is imported, just below): one
# exported in the developer's shell must not send the tests' runs to a real server.
os.environ.pop("MLFLOW_TRACKING_URI", None)

from seqlab.config import compose  # noqa: E402
from seqlab.layout import DataFolders  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FAST = ["trainer=cpu", "trainer.progress_bar=false", "tracking.enabled=false"]


def tiny(*overrides: str):
    """The real config of a preset on the CPU, with no progress bar and no tracking.

    Tests shrink epochs and data themselves, with overrides.
    """
    return compose([*overrides, *FAST])


@pytest.fixture(autouse=True)
def own_tracking_uri():
    """mlflow.set_tracking_uri exports MLFLOW_TRACKING_URI: a test that calls it must not
    send the later tests' subprocesses (which inherit it) to its store."""
    exported = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    if exported is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = exported


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
def data_cache(tmp_path_factory) -> Path:
    """One `data/cache` for the session's project folders: see `sharing_data_cache`."""
    return tmp_path_factory.mktemp("data-cache")


def sharing_data_cache(root: Path, data_cache: Path) -> Path:
    """`root` as a project whose data/cache is the session's: the commands run there
    prepare each dataset, and fit its baselines, once for every test (the cache is keyed
    by content and locked, as several projects of one user may share it)."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "cache").symlink_to(data_cache, target_is_directory=True)
    return root


@pytest.fixture(scope="session")
def prepared(cache):
    """Prepare a config's dataset once per session: prepared(cfg) -> processed folder."""
    from seqlab.preparation import prepare_data

    return lambda cfg: prepare_data(cfg.dataset, cache)


@pytest.fixture(scope="session")
def run(cache):
    """run(cfg, out_dir) -> the metrics file's content: the whole run, as the app does it."""
    from seqlab.pipeline import train_and_evaluate

    return lambda cfg, out_dir: train_and_evaluate(cfg, Path(out_dir), cache)


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


def sha256(data: bytes) -> str:
    """A checksum in the form Remote pins them."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Handler(SimpleHTTPRequestHandler):
    """Serves a folder; `/truncated/<file>` promises the whole file and sends half."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.server.requests.append(self.path)
        if self.path.startswith("/truncated/"):
            data = (Path(self.directory) / self.path.rsplit("/", 1)[-1]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            return
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


class Served(tuple):
    """(url, folder) of the test server, and the paths it was asked for."""

    requests: list[str]


@pytest.fixture
def server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving tmp_path/served: yields (url, folder) with
    `.requests`, the paths asked for."""
    served = tmp_path / "served"
    served.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(served)))
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    result = Served((f"http://127.0.0.1:{httpd.server_address[1]}", served))
    result.requests = httpd.requests
    yield result
    httpd.shutdown()
    httpd.server_close()


@dataclass
class Mirror:
    """The test server as $SEQLAB_DATA_MIRROR: every remote download comes from it."""

    url: str
    folder: Path
    requests: list[str] = field(default_factory=list)

    def serve(self, name: str, data: bytes) -> str:
        """Serve `data` as `<mirror>/<name>`; return its checksum, to pin in place of the
        real file's (the tests build files in the real format, not the real files)."""
        (self.folder / name).write_bytes(data)
        return sha256(data)


@pytest.fixture
def mirror(server, monkeypatch) -> Mirror:
    from seqlab.data.downloads import MIRROR_VARIABLE

    url, folder = server
    monkeypatch.setenv(MIRROR_VARIABLE, url)
    return Mirror(url, folder, server.requests)


# The test files that take longest (minutes, with processes of their own), longest first.
LONGEST_FIRST = ("test_pipeline.py", "test_tracking_server.py", "test_crash_safety.py",
                 "test_optuna_sweep.py", "test_user_series.py", "test_ddp.py",
                 "test_sweeps.py", "test_startup.py", "test_dates.py",
                 "test_mlflow_ui_browser.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist's `--dist loadfile` a worker takes the next file in collection order
    when it is free: the longest files go first, so the last to finish are short ones
    (alphabetically, a 4-minute file came last and left the other core idle)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: others keep order
