"""A sweep's parallel jobs share the machine: the cores divided among them, a GPU each.

With `hydra/launcher=joblib hydra.launcher.n_jobs=N`, N jobs train at once. Each takes
cores / N torch threads (two jobs that keep torch's default thread count ran about seven
times slower on 2 cores than with one thread each). On a machine with GPUs each job
trains on one GPU, claimed by a lock file in the sweep folder: the job number picks the
first GPU to try, and with more jobs than GPUs a job waits for a free one.

Jobs of seqlab's submitit launchers (hydra_plugins.seqlab_submitit_launcher) run in
processes of their own: `hydra/launcher=slurm_local` starts all of a sweep's jobs at once
on this machine, so each takes its share as above (or `hydra.launcher.cpus_per_task`
threads, when set); a SLURM job (`hydra/launcher=slurm`) has an allocation of its own:
its cpus_per_task threads and the GPUs SLURM made visible to it, with no lock to claim.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, open_dict

from seqlab.sweeps.parent import _hydra
from seqlab.tracking import tagnames

GPU_ACCELERATORS = ("gpu", "cuda", "auto")
# How many jobs a local submitit launcher started together (set in each job's process).
LOCAL_JOBS_VARIABLE = "SEQLAB_LOCAL_JOBS"


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def submitit_executor() -> str | None:
    """'slurm' or 'local' in a job that submitit started, else None."""
    return os.environ.get("SUBMITIT_EXECUTOR") or None


def parallel_jobs(hydra: Any | None = None) -> int:
    """How many jobs of this sweep run at once here: joblib's n_jobs, the jobs a local
    submitit launcher started together, else 1."""
    hydra = hydra if hydra is not None else _hydra()
    if hydra is not None and submitit_executor() == "local":
        return max(1, int(os.environ.get(LOCAL_JOBS_VARIABLE) or 1))
    n_jobs = hydra.launcher.get("n_jobs") if hydra is not None else None
    if not n_jobs:
        return 1
    return max(1, cores() + 1 + n_jobs if n_jobs < 0 else n_jobs)  # joblib: -1 = all


def threads_per_job(jobs: int) -> int:
    return max(1, cores() // max(1, jobs))


@contextmanager
def job_resources(cfg: DictConfig) -> Iterator[dict[str, str]]:
    """Give a sweep job its share of the cores and, where there are GPUs, one GPU; yield
    what it got, as tags for its run."""
    hydra = _hydra()
    if hydra is not None and submitit_executor() == "slurm":
        yield slurm_job_threads(hydra)
        return
    jobs = parallel_jobs(hydra)
    if jobs == 1:
        yield {}
        return
    import torch

    # A local submitit job's cpus_per_task, when given, is the user's own share.
    torch.set_num_threads(int(hydra.launcher.get("cpus_per_task") or threads_per_job(jobs)))
    got = {tagnames.SWEEP_PARALLEL_JOBS: str(jobs),
           tagnames.TORCH_THREADS: str(torch.get_num_threads())}
    gpus = torch.cuda.device_count()
    if not gpus or str(cfg.trainer.get("accelerator")) not in GPU_ACCELERATORS:
        yield got
        return
    with claim_gpu(Path(hydra.sweep.dir), int(hydra.job.num), gpus) as gpu:
        with open_dict(cfg):
            cfg.trainer.devices = [gpu]
        yield {**got, tagnames.SWEEP_GPU: str(gpu)}


def slurm_job_threads(hydra: Any) -> dict[str, str]:
    """Give a SLURM job's torch the cores SLURM allocated it; return its run's tags."""
    import torch

    given = os.environ.get("SLURM_CPUS_PER_TASK") or hydra.launcher.get("cpus_per_task")
    torch.set_num_threads(int(given or cores()))
    return {"slurm.job_id": os.environ.get("SLURM_JOB_ID", ""),
            tagnames.TORCH_THREADS: str(torch.get_num_threads())}


@contextmanager
def claim_gpu(folder: Path, job: int, gpus: int, poll_s: float = 1.0) -> Iterator[int]:
    """Hold one GPU's lock in `folder` for the block: the job's own first (job mod GPUs),
    then any free one; wait while all are taken."""
    from filelock import FileLock, Timeout

    folder.mkdir(parents=True, exist_ok=True)
    while True:
        for gpu in [(job + k) % gpus for k in range(gpus)]:
            lock = FileLock(str(folder / f".gpu-{gpu}.lock"))
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue
            try:
                yield gpu
            finally:
                lock.release()
            return
        time.sleep(poll_s)
