"""The MLflow tag names seqlab gives its runs: one owner, so the code that writes a tag
and the code that reads it (the report, the registry, sweeps, the docs) spell it alike.

The UI filters and groups runs by them, e.g. `tags.archetype = 'many_to_one'`.
"""

from __future__ import annotations

# What a run is
ARCHETYPE = "archetype"
DATASET = "dataset"
ENTRY = "entry"  # the pipeline entry that trained it, if any
SEED = "seed"
MODEL = "model"  # the net's class
MODEL_CELL = "model.cell"  # its recurrent, transformer or tcn cell, where it has one

# Which process runs it, and where it logs
HOST = "seqlab.host"
PID = "seqlab.pid"
TRACKING_URI = "seqlab.tracking_uri"
ERROR = "seqlab.error"  # why a FAILED or KILLED run stopped, in one line
REPRODUCES = "seqlab.reproduces"  # the run a `seqlab.reproduce` run evaluates again

# Its data and code
DATA_PATH = "data.path"
DATA_SHA256 = "data.sha256"
DATA_DVC_MD5 = "data.dvc_md5"
DATA_RAW_DVC_MD5 = "data.raw.dvc_md5"
DATA_FILE = "data.file"  # the user's own file
DATA_FILE_SHA256 = "data.file.sha256"
CODE_OWN = "code.own"  # the user's own net or dataset kind
CODE_OWN_SHA256 = "code.own.sha256"

# How it trained
WEIGHTS_KEPT = "weights.kept"
WORLD_SIZE = "trainer.world_size"
TORCH_THREADS = "torch.threads"

# How it is judged
HEADLINE_METRIC = "headline.metric"
HEADLINE_HIGHER = "headline.higher_is_better"
HEADLINE_BASELINE = "headline.baseline"
HEADLINE_VALUE = "headline.value"
SELECTION_METRIC = "selection.metric"
SELECTION_HIGHER = "selection.higher_is_better"
SELECTION_EPOCH = "selection.epoch"
VERDICT = "verdict"

# Sweeps: a parent run and its children
PARENT = "mlflow.parentRunId"  # MLflow's own: the UI nests a child under its parent
SWEEP = "sweep"  # "parent" on a sweep's parent run
SWEEP_JOB = "sweep.job"
SWEEP_OVERRIDES = "sweep.overrides"
SWEEP_DIR = "sweep.dir"
SWEEP_CHILDREN = "sweep.children"
SWEEP_BEST_CHILD = "sweep.best_child"
SWEEP_BEST_OVERRIDES = "sweep.best_overrides"
SWEEP_GPU = "sweep.gpu"
SWEEP_PARALLEL_JOBS = "sweep.parallel_jobs"
DVC_EXPERIMENT = "dvc.experiment"
DVC_BASELINE = "dvc.baseline_rev"
