"""Benchmark: seqlab's training against a plain PyTorch loop, in one run, per workload.

Both paths train the same network (same class, same seed, same initial weights) on the
same preprocessed data with the same optimiser, clipping, batch size, epochs and torch
threads, and compute the validation loss as often; they must reach the same test
metrics, or the benchmark fails. Both run on the torch threads seqlab picks for the net
(trainer.threads). seqlab is timed with its progress bar and without, so the bar's own
cost shows. With --repeat N each path runs N times, interleaved, and each path's best
time is shown (as timeit does: on a shared machine the slower runs measure the
neighbours). The table ends with one line per workload,
`ratio <preset>: <seqlab seconds / plain seconds>`.

    python -m seqlab.bench                                 # course_ex1 and course_ex2
    python -m seqlab.bench course_ex1 --set optim.max_epochs=50
    python -m seqlab.bench --repeat 3 --save docs/bench.txt  # make bench: keep the result
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

import torch
from omegaconf import DictConfig

from seqlab.config import compose, instantiate, validate
from seqlab.errors import ConfigError, SeqlabError, run_cli
from seqlab.layout import project
from seqlab.preparation import prepare_data

# A tiny model with many short epochs (600 x 6 steps: per-step and per-epoch overhead
# dominate), and a larger one (80 x 43 steps over 64-step sequences).
WORKLOADS = {"course_ex1": 1.25, "course_ex2": 1.10}  # preset -> target ratio
RELATIVE_TOLERANCE = 1e-6  # the same float32 operations in the same order: equal


def plain_loop(cfg: DictConfig, data_dir: Path) -> tuple[torch.nn.Module, float]:
    """What a user would write by hand: shuffled slices, forward, backward, step."""
    import pytorch_lightning as pl

    from seqlab.fitting.batches import SequenceData
    from seqlab.models import net_for_data
    from seqlab.tasks import task_of

    pl.seed_everything(cfg.seed, verbose=False)
    optim = instantiate(cfg.optim, "optim")
    data = SequenceData(data_dir)
    net = net_for_data(cfg.model, data.meta)
    optimizer = optim.make_optimizer(net.parameters())
    loss_fn = task_of(data.meta.task).loss
    train, val = data.splits["train"], data.splits.get("val")
    generator = torch.Generator().manual_seed(cfg.seed)
    start = time.perf_counter()
    for epoch in range(optim.max_epochs):
        net.train()
        order = torch.randperm(len(train["targets"]), generator=generator)
        inputs, targets = train["inputs"][order], train["targets"][order]
        for i in range(0, len(targets), optim.batch_size):
            loss = loss_fn(net(inputs[i : i + optim.batch_size]),
                           targets[i : i + optim.batch_size])
            optimizer.zero_grad()
            loss.backward()
            if optim.gradient_clip_val:
                torch.nn.utils.clip_grad_norm_(net.parameters(), optim.gradient_clip_val)
            optimizer.step()
        if val is not None and len(val["targets"]) and (epoch + 1) % optim.val_every_n_epochs == 0:
            net.eval()
            with torch.no_grad():
                loss_fn(net(val["inputs"]), val["targets"]).item()
    return net, time.perf_counter() - start


def seqlab_fit(cfg: DictConfig, data_dir: Path) -> tuple[torch.nn.Module, float]:
    from seqlab.fitting.fit import fit

    with TemporaryDirectory() as out:
        start = time.perf_counter()
        result = fit(cfg, data_dir, Path(out))
        return result.net, time.perf_counter() - start


def test_metrics(net: torch.nn.Module, data_dir: Path) -> dict[str, float]:
    """The net's own test scores: no baselines (they take longer than the trainings timed)
    and no figures."""
    from seqlab.data.processed import ProcessedData
    from seqlab.evaluation.predict import scored
    from seqlab.tasks import task_of

    data = ProcessedData.load(data_dir)
    task = task_of(data.meta.task)
    truth = scored(data.targets, data, "test", task.per_step)
    test = task.metrics(truth, task.predict(net.cpu(), data, "test"), data.meta)
    return {k: v for k, v in test.items() if k in (task.headline, "r2")}


def same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(
        math.isclose(a[k], b[k], rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12) for k in a)


def compare(preset: str, overrides: list[str], repeat: int = 1) -> dict[str, object]:
    """Time the plain loop and seqlab (with and without its bar) on one preset: the
    best of `repeat` runs of each."""
    # The training alone, on the CPU, keeping the last epoch's weights as the plain loop
    # does; the bar drawn (progress_bar=true) as on a user's terminal.
    base = [f"experiment={preset}", "trainer=cpu", "callbacks=last", *overrides]
    cfg = compose([*base, "trainer.progress_bar=true"])
    validate(cfg)
    data_dir = prepare_data(cfg.dataset, project().cache)
    paths = {"plain": lambda: plain_loop(cfg, data_dir),
             "seqlab": lambda: seqlab_fit(cfg, data_dir),
             "no bar": lambda: seqlab_fit(compose([*base, "trainer.progress_bar=false"]),
                                          data_dir)}
    before = torch.get_num_threads()
    try:
        # Warm-ups: the first calls of each path pay for lazy imports and initialisation.
        net, _ = paths["plain"]()
        seqlab_fit(compose([*base, "trainer.progress_bar=true", "optim.max_epochs=1"]),
                   data_dir)
        threads = instantiate(cfg.trainer, "trainer").torch_threads(
            sum(p.numel() for p in net.parameters()), available=before)
        torch.set_num_threads(threads)  # the plain loop's; seqlab's fit picks the same
        seconds: dict[str, list[float]] = {name: [] for name in paths}
        metrics: dict[str, dict[str, float]] = {}
        for _ in range(repeat):
            for name, path in paths.items():
                net, elapsed = path()
                seconds[name].append(elapsed)
                metrics[f"{name} {len(seconds[name])}"] = test_metrics(net, data_dir)
    finally:
        torch.set_num_threads(before)
    reference = metrics["plain 1"]
    if not all(same(reference, found) for found in metrics.values()):
        raise SeqlabError(f"bench: {preset}: seqlab and the plain loop reach different test "
                          f"metrics ({metrics}); they must train the same way")
    return {"preset": preset, "threads": threads, "runs": repeat, "metrics": reference,
            **{name: min(found) for name, found in seconds.items()}}


def table(rows: list[dict[str, object]]) -> str:
    runs = rows[0]["runs"] if rows else 1
    shown = f"best of {runs} runs" if runs > 1 else "one run"
    lines = [f"seqlab vs a plain PyTorch loop ({shown} of each), {platform.machine()}, "
             f"torch {torch.__version__}, {date.today()}",
             f"{'workload':12}{'threads':>8}{'plain s':>9}{'seqlab s':>10}{'no bar s':>10}"
             f"{'bar cost':>10}{'target':>8}  test metrics (equal on both paths)"]
    for row in rows:
        bar = (row["seqlab"] - row["no bar"]) / row["no bar"]
        shown = "  ".join(f"{k} {v:.5g}" for k, v in row["metrics"].items())
        lines.append(f"{row['preset']:12}{row['threads']:8d}{row['plain']:9.2f}{row['seqlab']:10.2f}"
                     f"{row['no bar']:10.2f}{bar:10.1%}{WORKLOADS.get(row['preset'], 0):8.2f}"
                     f"  {shown}")
    lines += [f"ratio {row['preset']}: {row['seqlab'] / row['plain']:.3f}" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m seqlab.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workloads", nargs="*", default=list(WORKLOADS),
                        help=f"presets to time (default: {' '.join(WORKLOADS)})")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a Hydra override for every workload (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="runs of each path per workload; the best of each is shown")
    parser.add_argument("--save", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    if args.repeat < 1:
        raise ConfigError(f"--repeat: must be at least 1, got {args.repeat}")
    rows = []
    for preset in args.workloads:
        print(f"benchmark: {preset} {' '.join(args.set)}", flush=True)
        rows.append(compare(preset, args.set, args.repeat))
    shown = table(rows)
    print(shown)
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(shown + "\n")


if __name__ == "__main__":
    run_cli(main)
