"""Benchmark: seqlab's training against a plain PyTorch loop, in one run.

Both train the same network (same class, same seed, same initial weights) on the same
preprocessed data with the same optimiser, batch size and epochs, and both compute the
validation loss as often. Prints both times, their ratio and both test metrics.

    python -m seqlab.bench                     # course_ex1 (make bench)
    python -m seqlab.bench experiment=course_ex2 optim.max_epochs=10
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import torch
from omegaconf import DictConfig

from seqlab.config import compose, instantiate, validate
from seqlab.errors import run_cli
from seqlab.layout import project
from seqlab.pipeline import prepare_data


def plain_loop(cfg: DictConfig, data_dir: Path) -> tuple[torch.nn.Module, float]:
    """What a user would write by hand: shuffled slices, forward, backward, step."""
    import pytorch_lightning as pl

    from seqlab.fitting.batches import SequenceDataModule
    from seqlab.models import net_for_data
    from seqlab.tasks import task_of

    pl.seed_everything(cfg.seed, verbose=False)
    optim = instantiate(cfg.optim, "optim")
    data = SequenceDataModule(data_dir, optim.batch_size, seed=cfg.seed)
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
    from seqlab.data.processed import ProcessedData
    from seqlab.evaluation.evaluate import evaluate
    from seqlab.tasks import task_of

    data = ProcessedData.load(data_dir)
    task = task_of(data.meta.task)
    evaluation = evaluate(net.cpu(), data, task, "bench")
    for figure in evaluation.figures.values():
        import matplotlib.pyplot as plt

        plt.close(figure)
    return {k: v for k, v in evaluation.test.items() if k in (task.headline, "r2")}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m seqlab.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides (default: course_ex1)")
    args = parser.parse_args()
    overrides = ["experiment=course_ex1", *args.overrides]
    # Time the training alone, on the CPU, as a user's run would do it (progress bar on);
    # the last epoch's weights, as the plain loop keeps them.
    base = [*overrides, "trainer=cpu", "callbacks=last"]
    cfg = compose(base)
    validate(cfg)
    data_dir = prepare_data(cfg.dataset, project().cache)
    print(f"benchmark: {' '.join(overrides)}; {torch.get_num_threads()} threads")
    plain_loop(cfg, data_dir)  # warm-up: first calls pay for lazy initialisation
    raw_net, raw_time = plain_loop(cfg, data_dir)
    lit_net, lit_time = seqlab_fit(cfg, data_dir)
    # The same without the progress bar, to show what drawing it costs on tiny epochs.
    quiet_net, quiet_time = seqlab_fit(compose([*base, "trainer.progress_bar=false"]), data_dir)
    rows = [("plain PyTorch", raw_net, raw_time), ("seqlab", lit_net, lit_time),
            ("seqlab, no bar", quiet_net, quiet_time)]
    print(f"{'':16}{'seconds':>9}  {'ratio':>6}  test metrics")
    for name, net, seconds in rows:
        shown = "  ".join(f"{k} {v:.4f}" for k, v in test_metrics(net, data_dir).items())
        print(f"{name:16}{seconds:9.2f}  {seconds / raw_time:6.3f}  {shown}")
    print(f"ratio seqlab / plain PyTorch: {lit_time / raw_time:.3f} (target <= 1.10)")


if __name__ == "__main__":
    run_cli(main)
