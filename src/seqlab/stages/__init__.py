"""DVC stages: one module per stage of dvc.yaml, each reading params.yaml."""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Callable
from typing import NoReturn

from seqlab.errors import run_cli


def run_stage(main: Callable[[], object]) -> NoReturn:
    """Run a stage's `main` as a command (seqlab.errors.run_cli), then end the process
    without tearing the interpreter down.

    Python's own exit frees every module and object one by one: after torch and MLflow
    that takes one to two seconds, longer than a small model's evaluation. What it runs
    first still runs here, in its order: the threads' shutdown (MLflow's async logging
    lands, threads are joined), the atexit handlers (logging's flush), the streams' flush.
    An unexpected error keeps Python's usual exit, with its traceback.
    """
    try:
        run_cli(main)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
    threading._shutdown()  # type: ignore[attr-defined]  # what Python's exit calls first
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
