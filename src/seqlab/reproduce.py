"""Reproduce a tracked run from what MLflow recorded: `python -m seqlab.reproduce RUN_ID`.

It takes the run's recorded config, compares the checkout and the data with what the run
recorded (commit, uncommitted changes, data hash) and warns where they differ, trains and
evaluates the run again as a new MLflow run tagged `seqlab.reproduces`, and reports
whether the test metrics match. Exit status 0 when they match, 1 when they do not.
Tracking overrides (`tracking.uri=...`) choose the store; the default is the project's.
"""

from __future__ import annotations

import argparse
import math
import sys
from datetime import datetime

from seqlab.config import compose, instantiate
from seqlab.errors import run_cli
from seqlab.layout import project
from seqlab.tracking import tagnames


def warn(message: str) -> None:
    print(f"seqlab: warning: {message}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m seqlab.reproduce", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_id", help="the MLflow run to reproduce")
    parser.add_argument("overrides", nargs="*", help="tracking.* overrides (the store)")
    args = parser.parse_args()
    tracking_cfg = compose(args.overrides).tracking
    tracking = instantiate(tracking_cfg, "tracking")

    from seqlab.pipeline import recorded_config, train_and_evaluate
    from seqlab.preparation import prepare_data
    from seqlab.tracking import lineage

    cfg = recorded_config(tracking, args.run_id)
    cfg.resume, cfg.tracking = None, tracking_cfg  # a new run, in the chosen store
    original = tracking.client().get_run(args.run_id)
    tags, layout = original.data.tags, project()
    now = lineage.git_state(layout.root)
    if tags.get("git.commit") != now["git.commit"]:
        warn(f"the run was made at commit {tags.get('git.commit')}, the checkout is at "
             f"{now['git.commit']}: git checkout {tags.get('git.commit')} to rebuild it exactly")
    if tags.get("git.dirty") == "true":
        warn("the run was made with uncommitted changes: its git_diff.patch artifact holds them")
    if now["git.dirty"] == "true":
        warn("the checkout has uncommitted changes to code or config")
    data_dir = prepare_data(cfg.dataset, layout.cache)
    if tags.get(tagnames.DATA_SHA256) not in (None, lineage.folder_sha256(data_dir)):
        warn("the data preprocessed now differ from the run's (data.sha256)")

    out_dir = layout.reproduction(args.run_id, f"{datetime.now():%Y-%m-%d_%H-%M-%S-%f}")
    result = train_and_evaluate(cfg, out_dir)
    if result.get("mlflow_run_id"):
        tracking.client().set_tag(result["mlflow_run_id"], tagnames.REPRODUCES, args.run_id)
    before = {k: v for k, v in original.data.metrics.items() if k.startswith("test/")}
    differ = [k for k in sorted(before) if not math.isclose(
        before[k], result["test"].get(k, math.nan), rel_tol=1e-6, abs_tol=1e-9)]
    for key in sorted(before):
        mark = "differs" if key in differ else "same"
        print(f"{key:24} {before[key]:12.6g} {result['test'].get(key, math.nan):12.6g}  {mark}")
    if differ:
        print(f"metrics differ from run {args.run_id}: {', '.join(differ)}")
        return 1
    print(f"metrics match run {args.run_id}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
