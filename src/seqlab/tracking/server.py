"""A shared MLflow tracking server: PostgreSQL holds the runs, the server their artifacts.

`make server` (`python -m seqlab.tracking.server start`) starts PostgreSQL on a unix
socket and `mlflow server` on 127.0.0.1, both with their files in the project's .server/
folder; `make server-stop` stops both. Jobs send runs to it with `tracking=server` or
`MLFLOW_TRACKING_URI=http://127.0.0.1:5001`. The server proxies artifacts
(`--serve-artifacts`), so a job needs only its URL, no shared folder: from another
machine, through a tunnel (`ssh -N -L 5001:127.0.0.1:5001 <this host>`), since the
server has no login and listens on loopback only.

PostgreSQL refuses to run as root: as root, its commands run as the user `nobody`, who
then owns .server/postgres/.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from seqlab.errors import ConfigError, run_cli
from seqlab.layout import project_root

HOST = "127.0.0.1"
PORT = 5001  # `make ui` has 5000; conf/tracking/server.yaml names this one
PG_BIN = Path(os.environ.get("SEQLAB_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "nobody"  # who runs PostgreSQL when we are root
DATABASE = "mlflow"
START_TIMEOUT_S = 120  # MLflow answers /health after about 12 s on an idle 2-core machine
SOCKET_PATH_MAX = 107  # a unix socket's path, in bytes (sun_path less its NUL)


@dataclass(frozen=True)
class Server:
    """The files and address of one tracking server."""

    folder: Path
    port: int = PORT

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def postgres(self) -> Path:  # owned by PostgreSQL's user
        return self.folder / "postgres"

    @property
    def pgdata(self) -> Path:
        return self.postgres / "data"

    @property
    def socket_dir(self) -> Path:
        return self.postgres / "run"

    @property
    def pg_log(self) -> Path:
        return self.postgres / "postgres.log"

    @property
    def log(self) -> Path:
        return self.folder / "mlflow.log"

    @property
    def pid_file(self) -> Path:
        return self.folder / "mlflow.pid"

    @property
    def backend_uri(self) -> str:
        # psycopg2 named explicitly: SQLAlchemy 2.1's plain postgresql:// means psycopg 3.
        return f"postgresql+psycopg2://{DATABASE}@/{DATABASE}?host={self.socket_dir}"


def default_folder() -> Path:
    return project_root() / ".server"


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether an MLflow server answers `url`/health."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        # As uvicorn binds: a port a stopped server left in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def mlflow_pid(server: Server) -> int | None:
    """The pid of this folder's MLflow server, if it is alive (not a recycled pid)."""
    try:
        pid = int(server.pid_file.read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"mlflow" in command and str(server.folder).encode() in command else None


# -- PostgreSQL ---------------------------------------------------------------------------

def _as_pg_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", PG_USER, "--", *command] if os.geteuid() == 0 else command


def _pg(server: Server, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a PostgreSQL program (initdb, pg_ctl) as its user, from a folder it can read."""
    done = subprocess.run(_as_pg_user([str(PG_BIN / args[0]), *args[1:]]),
                          cwd=server.postgres, capture_output=True, text=True,
                          start_new_session=True)  # the server it starts outlives us
    if check and done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise ConfigError(f"tracking server: {args[0]} failed ({last[0]}); "
                          f"see {server.pg_log}")
    return done


def _check_reachable(server: Server) -> None:
    """PostgreSQL's user must reach its folder: every folder above needs o+x."""
    if not (PG_BIN / "postgres").is_file():
        raise ConfigError(f"tracking server: no PostgreSQL server in {PG_BIN} (install "
                          "Debian's postgresql-15, or set SEQLAB_PG_BIN)")
    socket = server.socket_dir / ".s.PGSQL.5432"
    if len(os.fsencode(socket)) > SOCKET_PATH_MAX:
        raise ConfigError(f"tracking server: the socket path {socket} is longer than "
                          f"{SOCKET_PATH_MAX} bytes; choose a shorter --dir")
    if os.geteuid() != 0:
        return
    for folder in server.folder.resolve().parents:
        if not folder.stat().st_mode & 0o001:
            raise ConfigError(f"tracking server: PostgreSQL runs as {PG_USER}, who cannot "
                              f"enter {folder}; `chmod o+x {folder}` or choose another --dir")


def start_postgres(server: Server) -> None:
    """Create the database cluster once, start PostgreSQL (a no-op when it runs) and
    create MLflow's database."""
    _check_reachable(server)
    for folder in (server.folder, server.postgres, server.socket_dir):
        folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:  # initdb and pg_ctl, run as PG_USER, create the rest
        user = pwd.getpwnam(PG_USER)
        for path in (server.postgres, server.socket_dir):
            os.chown(path, user.pw_uid, user.pw_gid)
    if not (server.pgdata / "PG_VERSION").is_file():
        # trust: only the socket listens, in a folder that is ours.
        _pg(server, "initdb", "-D", str(server.pgdata), "-U", DATABASE, "--auth=trust",
            "--no-locale", "-E", "UTF8", "--no-instructions")
    if not _pg_running(server):
        options = f"-k {shlex.quote(str(server.socket_dir))} -c listen_addresses=''"
        _pg(server, "pg_ctl", "start", "-w", "-t", "60", "-D", str(server.pgdata),
            "-l", str(server.pg_log), "-o", options)
    import psycopg2

    connection = psycopg2.connect(host=str(server.socket_dir), user=DATABASE, dbname="postgres")
    connection.autocommit = True  # CREATE DATABASE refuses to run in a transaction
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        connection.close()


def _pg_running(server: Server) -> bool:
    if not (server.pgdata / "PG_VERSION").is_file():
        return False
    return _pg(server, "pg_ctl", "status", "-D", str(server.pgdata), check=False
               ).returncode == 0


def stop_postgres(server: Server) -> bool:
    """Stop PostgreSQL; False if it was not running."""
    if not _pg_running(server):
        return False
    _pg(server, "pg_ctl", "stop", "-w", "-m", "fast", "-D", str(server.pgdata))
    return True


# -- MLflow -------------------------------------------------------------------------------

def start_mlflow(server: Server, workers: int, timeout: float) -> None:
    """Start `mlflow server` in a session of its own and wait until /health answers."""
    command = [sys.executable, "-m", "mlflow", "server", "--host", HOST,
               "--port", str(server.port), "--workers", str(workers),
               "--backend-store-uri", server.backend_uri,
               "--serve-artifacts", "--artifacts-destination", str(server.folder / "artifacts")]
    # MLflow's job runner serves GenAI features seqlab does not use: seven fewer processes.
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    env.pop("MLFLOW_TRACKING_URI", None)
    with server.log.open("a") as log:
        offset = log.tell()  # the log of earlier starts is not this one's
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, env=env, cwd=server.folder,
                                   start_new_session=True)  # outlives this command
    server.pid_file.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + timeout
    while not answers(server.url):
        if process.poll() is not None or time.monotonic() > deadline:
            why = ("exited" if process.poll() is not None
                   else f"did not answer {server.url}/health within {timeout:.0f} s")
            stop_mlflow(server)
            raise ConfigError(f"tracking server: MLflow {why} "
                              f"({last_line(server.log, offset)}); "
                              f"see {server.log}")
        time.sleep(0.5)


def last_line(path: Path, offset: int = 0) -> str:
    """The last error-looking line of a log from `offset` on (or its last line): what to
    show in one line."""
    with path.open("rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "ERROR" in line]
    return ((errors or lines)[-1:] or ["empty log"])[0][:200]


def stop_mlflow(server: Server) -> int | None:
    """Stop the server and its uvicorn workers (one session: one process group); returns
    the pid it stopped, None if none ran."""
    pid = mlflow_pid(server)
    if pid is not None:
        for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            if _gone(pid, wait_s):
                break
    server.pid_file.unlink(missing_ok=True)
    return pid


def _gone(group: int, wait_s: float) -> bool:
    """Whether every process of a group has ended within wait_s (reaping our child)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(group, os.WNOHANG)
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


# -- the commands -------------------------------------------------------------------------

def start(server: Server, workers: int = 2, timeout: float = START_TIMEOUT_S) -> str:
    """Start PostgreSQL and MLflow (each only if it is not running); returns what to say."""
    if mlflow_pid(server) is not None and answers(server.url):
        return f"the tracking server is already running at {server.url}"
    if mlflow_pid(server) is None and answers(server.url):
        raise ConfigError(f"tracking server: another server answers at {server.url}; "
                          "stop it, or choose another --port")
    stop_mlflow(server)  # a server that hangs, or a stale pid file
    if not port_free(server.port):
        raise ConfigError(f"tracking server: port {server.port} on {HOST} is taken by "
                          "another program; choose another --port")
    began = time.monotonic()
    postgres_ran = _pg_running(server)
    start_postgres(server)
    try:
        start_mlflow(server, workers, timeout)
    except ConfigError:
        if not postgres_ran:  # leave nothing of a failed start behind
            stop_postgres(server)
        raise
    return (f"the tracking server is up at {server.url} ({time.monotonic() - began:.0f} s; "
            f"runs in PostgreSQL, artifacts in {server.folder / 'artifacts'}); "
            "send runs to it with tracking=server")


def stop(server: Server) -> str:
    pid, postgres = stop_mlflow(server), stop_postgres(server)
    if pid is None and not postgres:
        return "the tracking server is not running"
    stopped = ([f"MLflow (pid {pid})"] if pid else []) + (["PostgreSQL"] if postgres else [])
    return "stopped the tracking server: " + " and ".join(stopped)


def status(server: Server) -> tuple[bool, str]:
    if mlflow_pid(server) is not None and answers(server.url):
        return True, f"the tracking server is running at {server.url} (files in {server.folder})"
    return False, "the tracking server is not running (start it with `make server`)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m seqlab.tracking.server",
        description="A shared MLflow tracking server on 127.0.0.1: runs in PostgreSQL, "
                    "artifacts served by MLflow. Send runs to it with tracking=server or "
                    "MLFLOW_TRACKING_URI=<url>.",
        epilog="make server and make server-stop run start and stop with the defaults. "
               "Example: python -m seqlab.tracking.server start, then python -m "
               "seqlab.train experiment=course_ex1 tracking=server.")
    parser.add_argument("action", choices=["start", "stop", "status"],
                        help="start (also when part of it runs), stop, or tell whether it runs")
    parser.add_argument("--dir", type=Path, default=None,
                        help="where its database, artifacts and logs live (default: .server/ "
                             "in the project)")
    parser.add_argument("--port", type=int, default=PORT,
                        help=f"MLflow's port on {HOST} (default: {PORT}, as "
                             "conf/tracking/server.yaml)")
    parser.add_argument("--workers", type=int, default=2,
                        help="MLflow's worker processes (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=START_TIMEOUT_S,
                        help="seconds to wait for MLflow to answer (default: %(default)s)")
    args = parser.parse_args(argv)
    server = Server((args.dir or default_folder()).resolve(), args.port)
    if args.action == "start":
        print(run_cli(lambda: start(server, args.workers, args.timeout)))
    elif args.action == "stop":
        print(run_cli(lambda: stop(server)))
    else:
        up, line = status(server)
        print(line)
        return 0 if up else 3  # as `pg_ctl status`: 3 is "not running"
    return 0


if __name__ == "__main__":
    sys.exit(main())
