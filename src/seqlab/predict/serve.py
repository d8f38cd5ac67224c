"""`python -m seqlab.predict.serve MODEL [--port PORT]` (`make serve`): the logged model of a
run, or a registered one, served on 127.0.0.1 with the project's environment.

It answers POST /invocations of raw inputs, as `python -m seqlab.predict` does, with
MLflow's scoring server (`mlflow models serve --env-manager local`). The server needs
the environment's programs (uvicorn) on PATH and the project's MLflow store: both are
set here, so it works from a shell with no environment activated.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from seqlab.predict.trained import RUN_ID

DEFAULT_PORT = 5002


def model_uri(model: str) -> str:
    """MODEL as MLflow's model URI: a run id becomes runs:/<id>/model."""
    from seqlab.errors import ConfigError

    if RUN_ID.fullmatch(model):
        return f"runs:/{model}/model"
    if model.startswith(("runs:/", "models:/")):
        return model
    hint = (" (a model folder predicts with `python -m seqlab.predict`; the server takes "
            "its MLflow run id, in the folder's run.json)") if Path(model).is_dir() else ""
    raise ConfigError(f"MODEL: {model!r} is not an MLflow run id, runs:/<id>/model or "
                      f"models:/<name>@<alias>{hint}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m seqlab.predict.serve",
                                     description="Serve a logged model on 127.0.0.1: POST "
                                                 "raw inputs to /invocations (make serve).")
    parser.add_argument("model", metavar="MODEL",
                        help="an MLflow run id, runs:/<id>/model or models:/<name>@<alias>")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port on 127.0.0.1 (default {DEFAULT_PORT})")
    args = parser.parse_args(argv)

    import tempfile

    from seqlab.predict.trained import download, model_store

    uri = model_uri(args.model)
    store = model_store()
    # The model is fetched once before the server starts: one that is not in the store (or
    # not seqlab's) is one line here, not a traceback after "serving ... on".
    with tempfile.TemporaryDirectory(prefix="seqlab-serve-") as tmp:
        download(uri, Path(tmp), folders=False)
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "MLFLOW_TRACKING_URI": store,
           "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}
    env.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", uri,
               "--env-manager", "local", "-h", "127.0.0.1", "-p", str(args.port)]
    print(f"serving {uri} on http://127.0.0.1:{args.port}/invocations", file=sys.stderr)
    os.execve(sys.executable, command, env)  # the server replaces this process


if __name__ == "__main__":
    from seqlab.errors import run_cli

    run_cli(main)
