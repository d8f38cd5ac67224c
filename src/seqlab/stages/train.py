"""DVC stage: train one pipeline entry of params.yaml into models/<entry>/.

Its checkpoints are kept in checkpoints/<entry>-<config hash>/ while it trains: after
an interruption the same `dvc repro` continues the same MLflow run from the last one.
The run is left SCHEDULED: the evaluate stage finishes it. With `trainer=ddp` among the
entry's overrides, this command runs once per rank; rank zero alone writes.
"""

from __future__ import annotations

import argparse
import json
import shutil

from seqlab import timing  # first: with $SEQLAB_PROFILE set it times the imports below
from seqlab.config import instantiate, validate
from seqlab.layout import RUN_FILE, project
from seqlab.params import entry_config, load
from seqlab.stages import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m seqlab.stages.train", description=__doc__)
    parser.add_argument("entry", help="a key under `entries` in params.yaml")
    args = parser.parse_args()
    layout = project()
    cfg = entry_config(load(layout.root), args.entry)
    from seqlab.tracking.background import fork_tracker, training_run
    from seqlab.tracking.failures import check_landed

    # Before torch: a child process imports MLflow while this one imports Lightning.
    tracking = instantiate(cfg.tracking, "tracking")
    tracker = fork_tracker(tracking)
    validate(cfg)  # before importing Lightning: a bad value fails in a second

    from seqlab.data.processed import ProcessedData
    from seqlab.fitting.resume import RESUME_FILE
    from seqlab.pipeline import run_tags, train, write_history_plot
    from seqlab.preparation import digest
    from seqlab.ranks import is_global_zero
    from seqlab.sweeps.parent import sweep_tags

    data_dir = layout.data.processed(cfg.dataset.name)
    with timing.phase("data"):
        archetype = ProcessedData.load(data_dir).meta.archetype
    model_dir = layout.model(args.entry)
    resume_dir = layout.checkpoints(f"{args.entry}-{digest(cfg)}")
    if not is_global_zero():
        # DDP's other ranks (started by rank zero running this command again) train their
        # share and write nothing DVC sees; the resume folder is rank zero's to clean.
        train(cfg, data_dir, model_dir, None, resume_dir)
        return
    resume_id = None
    if (resume_dir / RESUME_FILE).is_file() and (resume_dir / RUN_FILE).is_file():
        resume_id = json.loads((resume_dir / RUN_FILE).read_text())["run_id"]
    elif tracking.enabled:  # checkpoints of no known run: their epochs were never logged
        shutil.rmtree(resume_dir, ignore_errors=True)
    with training_run(tracker, cfg, tracking, data_dir, archetype, resume_id,
                      done="SCHEDULED", tags=run_tags(cfg), child_of=sweep_tags) as run:
        if run is not None:  # a later start after a crash continues this run
            resume_dir.mkdir(parents=True, exist_ok=True)
            run.save(resume_dir)
        result = train(cfg, data_dir, model_dir, run, resume_dir)
        write_history_plot(model_dir, layout.plots(args.entry))
        # The model is on disk: one line if the store failed.
        check_landed(run, model_dir, f"train@{args.entry}")
    last = result.history[-1] if result.history else {}
    shown = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k != "epoch")
    resumed = f"; resumed after epoch {result.resumed_after}" if result.resumed_after else ""
    print(f"trained {args.entry}: {shown}; kept the {result.kept} weights{resumed}")


if __name__ == "__main__":
    run_stage(main)
