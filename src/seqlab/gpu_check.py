"""GPU check: train the default pipeline's entries on the GPU and on the CPU, and compare.

For each entry of conf/pipeline.yaml (or those named), the same config is trained with
`trainer=gpu` (every visible GPU, mixed precision) and with `trainer=cpu`, on the same
prepared data; the table gives each training's seconds, the CPU/GPU ratio and both test
headlines. It fails, with one line, when no GPU is visible or when a GPU run left the
GPU unused (no memory ever allocated on it): a CPU build of torch on a GPU machine is
the usual cause.

    python -m seqlab.gpu_check                          # make gpu-check
    python -m seqlab.gpu_check --entries course_ex2 captions optim.max_epochs=5
    python -m seqlab.gpu_check --no-cpu                 # GPU times only
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from omegaconf import OmegaConf

from seqlab.config import compose, validate
from seqlab.errors import ConfigError, SeqlabError, run_cli
from seqlab.layout import project

QUIET = ["tracking.enabled=false", "trainer.progress_bar=false"]


class NoGpu(SeqlabError):
    """A GPU was required and none was used."""


def gpu_state() -> str | None:
    """The visible GPU's name, or None when torch sees none."""
    import torch

    if not torch.cuda.is_available():
        return None
    return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"


def timed_run(overrides: list[str], folders) -> tuple[float, float, str, float]:
    """Train and evaluate one config: (train seconds, total seconds, headline, value)."""
    from seqlab.pipeline import evaluate, train
    from seqlab.preparation import prepare_data

    cfg = compose(overrides)
    validate(cfg)
    data_dir = prepare_data(cfg.dataset, folders)
    with TemporaryDirectory() as out:
        start = time.perf_counter()
        train(cfg, data_dir, Path(out) / "model")
        trained = time.perf_counter() - start
        result, evaluation = evaluate(Path(out) / "model", data_dir)
        total = time.perf_counter() - start
    for figure in evaluation.figures.values():
        import matplotlib.pyplot as plt

        plt.close(figure)
    headline = result["headline"]
    return trained, total, headline["metric"], float(headline["value"])


def entries(names: list[str] | None) -> dict[str, list[str]]:
    from seqlab.params import pipeline_file

    pipeline = OmegaConf.to_container(OmegaConf.load(pipeline_file()).entries)
    unknown = sorted(set(names or ()) - set(pipeline))
    if unknown:
        raise ConfigError(f"--entries: no entry {unknown[0]!r} in conf/pipeline.yaml; "
                          "entries: " + ", ".join(pipeline))
    return {name: list(o) for name, o in pipeline.items() if not names or name in names}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m seqlab.gpu_check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every entry")
    parser.add_argument("--entries", nargs="+", metavar="ENTRY",
                        help="only these entries of conf/pipeline.yaml")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU runs")
    args = parser.parse_args()
    selected = entries(args.entries)
    import torch

    gpu = gpu_state()
    if gpu is None:
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise NoGpu(f"no GPU: torch {torch.__version__} ({build}) sees no CUDA device; on a "
                    "GPU machine install torch's CUDA build (see docs: guides/gpu.md)")
    print(f"GPU check: {gpu}; torch {torch.__version__}, CUDA {torch.version.cuda}; "
          f"CPU runs with {torch.get_num_threads()} threads")
    folders = project().cache
    print(f"{'entry':18}{'GPU s':>8}{'CPU s':>8}{'CPU/GPU':>9}  headline GPU / CPU")
    failed = []
    for name, entry_overrides in selected.items():
        base = [*entry_overrides, *args.overrides, *QUIET, f"entry={name}"]
        try:
            print(check_entry(name, base, folders, cpu=not args.no_cpu), flush=True)
        except NoGpu:
            raise
        except Exception as error:  # noqa: BLE001 (one entry's failure is reported, not fatal)
            reason = " ".join(str(error).split())[:300]
            print(f"{name:18}failed: {type(error).__name__}: {reason}", flush=True)
            failed.append(name)
    if failed:
        raise SeqlabError(f"the GPU check failed for {', '.join(failed)} (see above)")


def check_entry(name: str, base: list[str], folders, cpu: bool) -> str:
    """One entry on the GPU (and the CPU): its row of the table."""
    import torch

    torch.cuda.reset_peak_memory_stats()
    gpu_s, _, metric, gpu_value = timed_run([*base, "trainer=gpu"], folders)
    if torch.cuda.max_memory_allocated() == 0:
        raise NoGpu(f"{name}: trained with trainer=gpu but nothing was allocated on the "
                    "GPU; check trainer.accelerator and CUDA_VISIBLE_DEVICES")
    if not cpu:
        return f"{name:18}{gpu_s:8.1f}{'-':>8}{'-':>9}  {metric} {gpu_value:.4f}"
    cpu_s, _, _, cpu_value = timed_run([*base, "trainer=cpu"], folders)
    return (f"{name:18}{gpu_s:8.1f}{cpu_s:8.1f}{cpu_s / gpu_s:9.2f}  "
            f"{metric} {gpu_value:.4f} / {cpu_value:.4f}")


if __name__ == "__main__":
    run_cli(main)
