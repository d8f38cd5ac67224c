"""Where the time goes, as a table.

    python -m seqlab.profile stages                        # course_ex1 (make profile)
    python -m seqlab.profile stages --entry course_ex2 --repeat 3
    python -m seqlab.profile stages --set entries.course_ex1.optim.max_epochs=5
    python -m seqlab.profile steps                         # course_ex1, per optimiser step
    python -m seqlab.profile steps course_ex2 --repeat 3

`stages` runs each stage of the default pipeline (fetch, preprocess, train, evaluate,
report) for the entries given, each as the subprocess DVC would start, in a scratch
copy of the project (its params.yaml and dvc.yaml; the project's own outputs and MLflow
store are left alone), with $SEQLAB_PROFILE set: each stage writes its phase times
(seqlab/timing.py) to a JSON file read back here.

`steps` times one preset's training as `make bench` does (the plain PyTorch loop, seqlab
with and without its bar), then trains it once more under Lightning's simple profiler
and shows each action of the loop (seqlab.fitting.loop) per optimiser step.

Each subcommand is one function in COMMANDS, with its own arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from seqlab.errors import ConfigError, run_cli
from seqlab.layout import PARAMS_FILE, project_root
from seqlab.timing import ENV, PHASES

# Wall-clock seconds, and the stage's own CPU seconds: on a busy machine the wall lies.
COLUMNS = ("start-up", *PHASES, "other", "total", "cpu")
DEFAULT_ENTRIES = ["course_ex1"]


# -- stages -------------------------------------------------------------------------------

def stage_commands(params: dict[str, Any], entries: list[str]) -> list[list[str]]:
    """The default pipeline's stages for `entries`, in dvc.yaml's order: `[kind, arg]`."""
    unknown = [e for e in entries if e not in params.get("entries", {})]
    if unknown:
        raise ConfigError(f"no pipeline entry {unknown[0]!r} in params.yaml; entries: "
                          + ", ".join(params.get("entries", {})))
    datasets = list(dict.fromkeys(params["entries"][e]["dataset"] for e in entries))
    sources = list(dict.fromkeys(params["datasets"][d]["source"] for d in datasets))
    return ([["fetch", s] for s in sources] + [["preprocess", d] for d in datasets]
            + [[kind, e] for kind in ("train", "evaluate") for e in entries] + [["report"]])


def apply_settings(params: dict[str, Any], settings: list[str]) -> None:
    """Set each `dotted.key=value` (the value read as YAML) in params."""
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep:
            raise ConfigError(f"--set {setting}: expected KEY=VALUE")
        *path, last = key.split(".")
        node = params
        for part in path:
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"--set {setting}: params.yaml has no section {key!r}")
            node = node[part]
        node[last] = yaml.safe_load(value)


def scratch_project(source: Path, target: Path, settings: list[str]) -> dict[str, Any]:
    """A project in `target` with `source`'s dvc.yaml and params.yaml (settings applied)."""
    params = yaml.safe_load((source / PARAMS_FILE).read_text())
    apply_settings(params, settings)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(source / "dvc.yaml", target / "dvc.yaml")
    (target / PARAMS_FILE).write_text(yaml.safe_dump(params, sort_keys=False))
    return params


def create_store(root: Path) -> None:
    """The project's MLflow store, created: a first run's schema migration (seconds) is
    no stage's cost."""
    done = subprocess.run(
        [sys.executable, "-c", "from seqlab.config import instantiate; "
         "from seqlab.params import load; from seqlab.tracking.store import init_store; "
         "init_store(instantiate(load()['tracking'], 'tracking'), [])"],
        cwd=root, env={**os.environ, "SEQLAB_ROOT": str(root)}, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"seqlab: error: cannot create the MLflow store in {root}")


def run_stage(stage: list[str], root: Path, report: Path) -> dict[str, float]:
    """Run one stage as DVC would, its phase times written to `report`; its row of
    seconds (and train's step stamps)."""
    env = {**os.environ, ENV: str(report), "SEQLAB_ROOT": str(root)}
    env.setdefault("OMP_NUM_THREADS", "1")  # as the test suite and `make` runs have it
    launched = time.time()
    done = subprocess.run([sys.executable, "-m", f"seqlab.stages.{stage[0]}", *stage[1:]],
                          cwd=root, env=env, capture_output=True, text=True)
    ended = time.time()
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"seqlab: error: stage {' '.join(stage)} failed "
                         f"(exit {done.returncode})")
    found = json.loads(report.read_text())
    row = {"start-up": found["armed"] - launched, **found["phases"], "total": ended - launched,
           "cpu": found["cpu"]}
    row["other"] = row["total"] - sum(row[c] for c in ("start-up", *PHASES))
    marks = found["marks"]
    if "first_step" in marks:
        row["first step"] = marks["first_step"] - launched
        row["first step cpu"] = marks["first_step_cpu"]
        row["after last step"] = ended - marks["last_step"]
    return row


def table(rows: dict[str, dict[str, float]]) -> str:
    """Seconds per column, one row per stage."""
    width = max(len(name) for name in rows)
    lines = [f"{'stage':<{width}}" + "".join(f"{c:>10}" for c in COLUMNS)]
    for name, row in rows.items():
        lines.append(f"{name:<{width}}" + "".join(f"{row.get(c, 0.0):>10.2f}" for c in COLUMNS))
    for name, row in rows.items():
        if "first step" in row:
            lines.append(f"{name}: first optimiser step {row['first step']:.2f} s after start "
                         f"({row['first step cpu']:.2f} s of CPU); exit "
                         f"{row['after last step']:.2f} s after the last step")
    return "\n".join(lines)


def stages(args: argparse.Namespace) -> None:
    """Profile each stage of the default pipeline; print the medians over --repeat runs."""
    if args.repeat < 1:
        raise ConfigError(f"--repeat: must be at least 1, got {args.repeat}")
    with tempfile.TemporaryDirectory(prefix="seqlab-profile-") as tmp:
        root = Path(args.keep or tmp).resolve()
        params = scratch_project(project_root(), root, args.set)
        commands = stage_commands(params, args.entry or DEFAULT_ENTRIES)
        if params.get("tracking", {}).get("enabled"):
            create_store(root)
        runs: dict[str, list[dict[str, float]]] = {" ".join(c): [] for c in commands}
        records = root / "profile"  # each stage's phase times (the last run's, with --keep)
        records.mkdir(exist_ok=True)
        for _ in range(args.repeat):
            for command in commands:
                report = records / f"{'-'.join(command)}.json"
                runs[" ".join(command)].append(run_stage(command, root, report))
    rows = {name: {key: statistics.median(r[key] for r in found) for key in found[0]}
            for name, found in runs.items()}
    repeats = f"median of {args.repeat} runs" if args.repeat > 1 else "one run"
    print(f"seconds per phase of each stage ({repeats}; import: every import, wherever "
          "it happens; other: the rest; cpu: the stage's own CPU time, not its MLflow "
          "child's)")
    print(table(rows))


def add_stages(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--entry", action="append", metavar="ENTRY",
                        help="an entry of params.yaml (repeatable; default course_ex1)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change params.yaml in the copy, e.g. "
                             "entries.course_ex1.optim.max_epochs=5 (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each stage (median)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="run in DIR and keep its outputs, and in DIR/profile/ each "
                             "stage's phase times as JSON (default: a temporary folder)")


# -- steps --------------------------------------------------------------------------------

# The training loop's profiled actions (seqlab.fitting.loop): per step, then per epoch.
STEP_ACTIONS = {
    "training_step": "forward and loss (training_step)",
    "backward": "zero_grad and backward (Fabric)",
    "optimizer_step": "clipping, optimiser step, schedule (Fabric)",
    "on_step": "progress bar",
}
EPOCH_ACTIONS = {
    "validation": "validation",
    "on_epoch_end": "callbacks: best weights, early stop, resume point, report",
}


def step_table(row: dict[str, Any], timings: dict[str, tuple[int, float]],
               profiled_s: float) -> str:
    """Seconds per optimiser step: the plain loop and seqlab, then seqlab's actions."""
    steps = timings["training_step"][0]
    epochs = timings["run_training_epoch"][0]

    def line(name: str, seconds: float, calls: int | str = "") -> str:
        return f"{name:<58}{seconds / steps * 1000:>9.3f}{seconds:>9.2f}{calls:>8}"

    lines = [f"{row['preset']}: {epochs} epochs x {steps // epochs} steps = {steps} optimiser "
             f"steps, {row['threads']} torch thread(s)",
             f"{'':<58}{'ms/step':>9}{'seconds':>9}{'calls':>8}",
             line("plain PyTorch loop", row["plain"]),
             line("seqlab, progress bar drawn", row["seqlab"]),
             line("seqlab, no bar", row["no bar"]),
             f"ratio {row['preset']}: {row['seqlab'] / row['plain']:.3f}",
             "",
             f"one seqlab training under Lightning's simple profiler ({profiled_s:.2f} s; the "
             "profiler's own cost is in each figure):"]
    inside = 0.0
    for action, name in {**STEP_ACTIONS, **EPOCH_ACTIONS}.items():
        calls, seconds = timings.get(action, (0, 0.0))
        lines.append(line(name, seconds, calls))
        inside += seconds if action != "on_epoch_end" else 0.0
    epoch_s = timings["run_training_epoch"][1]
    lines.append(line("the loop itself: batches, epoch metrics", epoch_s - inside))
    outside = profiled_s - epoch_s - timings.get("on_epoch_end", (0, 0.0))[1]
    lines.append(line("set-up: Fabric, data to the device, net, resume point", outside, 1))
    return "\n".join(lines)


def steps(args: argparse.Namespace) -> None:
    """Time a training per optimiser step against the plain loop, and break it down."""
    import torch

    from seqlab import bench
    from seqlab.config import compose, validate
    from seqlab.fitting.fit import fit
    from seqlab.layout import project
    from seqlab.preparation import prepare_data

    if args.repeat < 1:
        raise ConfigError(f"--repeat: must be at least 1, got {args.repeat}")
    row = bench.compare(args.preset, args.set, args.repeat)
    cfg = compose([f"experiment={args.preset}", "trainer=cpu", "callbacks=last",
                   "trainer.progress_bar=true", "trainer.profiler=simple", *args.set])
    validate(cfg)
    data_dir = prepare_data(cfg.dataset, project().cache)
    before = torch.get_num_threads()
    torch.set_num_threads(row["threads"])  # as the bench ran both paths
    try:
        with tempfile.TemporaryDirectory(prefix="seqlab-profile-") as out:
            start = time.perf_counter()
            result = fit(cfg, data_dir, Path(out))
            profiled_s = time.perf_counter() - start
    finally:
        torch.set_num_threads(before)
    print(step_table(row, result.timings or {}, profiled_s))


def add_steps(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("preset", nargs="?", default="course_ex1",
                        help="an experiment preset (default course_ex1)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a Hydra override, e.g. optim.max_epochs=50 (repeatable)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="timed runs of each path (the best is shown)")


# -- the command --------------------------------------------------------------------------

# name -> (what it does, its arguments, the function)
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None],
                          Callable[[argparse.Namespace], None]]] = {
    "stages": ("start-up, import, data, training, evaluation and tracking time of each "
               "pipeline stage", add_stages, stages),
    "steps": ("one training's cost per optimiser step against a plain PyTorch loop, and "
              "where seqlab's goes", add_steps, steps),
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m seqlab.profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (summary, add_arguments, _) in COMMANDS.items():
        add_arguments(commands.add_parser(name, help=summary, description=summary))
    args = parser.parse_args()
    COMMANDS[args.command][2](args)


if __name__ == "__main__":
    run_cli(main)
