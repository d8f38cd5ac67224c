"""Sweeps on a SLURM cluster (`hydra/launcher=slurm`), or in local processes to try one
out (`hydra/launcher=slurm_local`): Hydra's submitit launchers, with seqlab's habits.

The launching process keeps the sweep's parent run (seqlab.sweeps.parent); each job runs
in a process of its own, started from a cloudpickled copy of this launcher, the config
and the task function, so none of them may hold a lock, an open file or an MLflow client
(the parent run lives as an id in the sweep folder). On top of Hydra's launchers:
- a job that stops with seqlab's one-line error comes back as that line and its exit
  status, which the launching process reports and exits with, as a sequential sweep does
  (so the parent run ends FAILED with the line);
- local jobs all start at once: each learns how many, to take its share of the cores;
- `sbatch` (or `srun`) missing, or refusing the jobs, is one line, not a traceback.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra_plugins.hydra_submitit_launcher import submitit_launcher

from seqlab.errors import SeqlabError, report
from seqlab.sweeps.jobs import LOCAL_JOBS_VARIABLE


class JobExit(Exception):
    """A job that called sys.exit: its status and the line it reported (picklable)."""

    def __init__(self, code: int, line: str | None) -> None:
        super().__init__(code, line)
        self.code, self.line = code, line


class _Seqlab:
    """What seqlab adds to a submitit launcher; mixed in before Hydra's class."""

    _EXECUTOR: str
    jobs_at_once = 1

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
               ) -> Sequence[JobReturn]:
        from submitit.core.utils import UncompletedJobError

        # Set before Hydra's launch pickles this launcher for the jobs.
        self.jobs_at_once = len(job_overrides)
        try:
            returns = super().launch(job_overrides, initial_job_idx)  # type: ignore[misc]
        except UncompletedJobError as error:  # and its subclass FailedJobError
            sys.exit(report(SeqlabError(f"hydra/launcher: {self._why(error)}")))
        for job in returns:  # the first job that exited stops the sweep, as it would here
            if job.status == JobStatus.FAILED and isinstance(job._return_value, JobExit):
                stop = job._return_value
                if stop.line:
                    report(SeqlabError(stop.line))
                else:  # a signal stopped it (its own log says which)
                    print(f"seqlab: the job {' '.join(job.overrides or [])} stopped with "
                          f"exit status {stop.code}", file=sys.stderr)
                sys.exit(stop.code)
        return returns

    def _why(self, error: Exception) -> str:
        """One line for submitit's error: sbatch refused the jobs (its first line), a job's
        launch raised (its traceback's last line), or a job died outside Python: memory,
        time, scancel (its first two lines)."""
        from submitit.core.utils import FailedJobError

        lines = [line.strip() for line in str(error).splitlines() if line.strip()] or ["?"]
        logs = f"(job logs: {self.config.hydra.sweep.dir}/.submitit)"  # type: ignore[attr-defined]
        if not isinstance(error, FailedJobError):
            return f"{' '.join(lines[:2])[:300]} {logs}"
        if any(line.startswith("Traceback") for line in lines):
            return f"{lines[-1][:300]} {logs}"
        return f"submitting failed: {lines[0][:300]}"

    def __call__(self, sweep_overrides: list[str], job_dir_key: str, job_num: int,
                 job_id: str, singleton_state: dict[type, Any]) -> JobReturn:
        """Run one job, in the job's own process."""
        from seqlab.errors import reported

        os.environ[LOCAL_JOBS_VARIABLE] = str(self.jobs_at_once)
        try:
            return super().__call__(  # type: ignore[misc]
                sweep_overrides, job_dir_key, job_num, job_id, singleton_state)
        except SystemExit as stop:  # run_cli's one-line error (2), or a signal (128 + n)
            code = stop.code if isinstance(stop.code, int) else 1
            line = reported[-1] if reported and code == 2 else None
            return JobReturn(overrides=list(sweep_overrides), status=JobStatus.FAILED,
                             _return_value=JobExit(code, line))


class LocalLauncher(_Seqlab, submitit_launcher.LocalLauncher):
    """hydra/launcher=slurm_local: each job a subprocess of this machine, all at once."""


class SlurmLauncher(_Seqlab, submitit_launcher.SlurmLauncher):
    """hydra/launcher=slurm: each job a SLURM job (an array), submitted with sbatch."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
               ) -> Sequence[JobReturn]:
        missing = [tool for tool in ("sbatch", "srun") if shutil.which(tool) is None]
        if missing:  # submitit needs both, and would say so in a traceback
            sys.exit(report(SeqlabError(
                f"hydra/launcher=slurm: {' and '.join(missing)} not found: send the sweep "
                "from a SLURM login node, or run its jobs on this machine with "
                "hydra/launcher=slurm_local (--cfg hydra shows the settings without "
                "submitting)")))
        return super().launch(job_overrides, initial_job_idx)
