"""Train and evaluate one model: `python -m seqlab.train experiment=course_ex2`.

A Hydra app: any config key can be overridden on the command line, and `-m` sweeps,
e.g. `python -m seqlab.train -m experiment=course_ex2 model.cell=rnn,lstm,gru`.
The work is seqlab.pipeline's; Lightning is imported only when a run trains, so
`--help` and `--cfg job` answer fast.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path

import hydra
from omegaconf import DictConfig

from seqlab.errors import run_cli


@hydra.main(version_base="1.3", config_path="../../conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from seqlab import errors
    from seqlab.config import instantiate
    from seqlab.pipeline import train_and_evaluate
    from seqlab.run_folder import removed_if_left_empty, write_record
    from seqlab.sweeps.jobs import job_resources

    if "search" in cfg:  # the sweep's own settings (search=auto), not a run's
        from omegaconf import open_dict

        with open_dict(cfg):
            del cfg["search"]

    def run() -> dict | None:
        from seqlab.sweeps.pruning import Pruned

        hydra_cfg = HydraConfig.get()
        out_dir = Path(hydra_cfg.runtime.output_dir)
        sweep = hydra_cfg.mode == RunMode.MULTIRUN
        errors.output_folder.append(str(out_dir))  # where a nameless OSError is reported
        # A single run that fails before leaving anything leaves no folder either (a sweep
        # keeps its jobs' numbered folders).
        with nullcontext() if sweep else removed_if_left_empty(out_dir):
            write_record(out_dir, cfg, hydra_cfg)
            with job_resources(cfg) as shares:  # a parallel sweep job's cores and GPU
                if sweep:  # no DDP in a sweep's job
                    instantiate(cfg.trainer, "trainer").require_one_process()
                try:
                    return train_and_evaluate(cfg, out_dir, tags=shares)
                except Pruned as verdict:  # a search trial the study stopped: not an error
                    print(f"seqlab: {verdict}", file=sys.stderr)
                    return None

    result = run_cli(run)
    if not result:
        return None
    from seqlab.evaluation.metrics import say

    selection = result.get("selection")
    chosen = f"chosen by {selection['metric']} = {selection['value']:.4g}" if selection else ""
    # A search trial is judged by validation alone: its record holds no test score.
    print("; ".join(filter(None, [say(result), chosen])) if "headline" in result
          else f"trial {chosen}")
    # What a sweeper (Optuna) optimises: the headline's validation value at the kept
    # epoch (a search needs a validation split), never a test metric.
    return selection.get("validation") if selection else None


SWEEP_KEYS = ("hydra.mode", "hydra/sweeper", "hydra.sweeper")  # hydra.* that make a sweep


def single_run_overrides(args: list[str]) -> list[str] | None:
    """The `key=value` overrides of one run in `args` (Hydra's own hydra.* settings, such
    as hydra.run.dir or a launcher, left out: Hydra checks those), else None.

    Flags (--help, --cfg, -m, ...), deletions (~key) and the hydra.* keys that turn a run
    into a sweep leave the whole command to Hydra.
    """
    kept = []
    for arg in args:
        key = arg.split("=", 1)[0].lstrip("+~")
        if arg.startswith("-") or "=" not in arg or key.startswith(SWEEP_KEYS):
            return None
        if not key.startswith("hydra"):
            kept.append(arg)
    return kept


def check_overrides(args: list[str]) -> None:
    """Compose a single run's overrides before Hydra does: Hydra reports a misspelt key or
    option over several lines with exit status 1; this is one line and status 2."""
    from seqlab.config import compose

    overrides = single_run_overrides(args)
    if overrides is not None:
        run_cli(lambda: compose(overrides) and refuse_search_without_m(overrides))


def refuse_search_without_m(overrides: list[str]) -> None:
    """A search, or an ensemble, is a sweep of runs: without -m, Hydra would run the
    preset once."""
    from seqlab.errors import ConfigError

    for arg in overrides:
        group, _, option = arg.partition("=")
        if group in ("search", "hparams_search") and option not in ("", "null"):
            raise ConfigError(f"{arg}: a search runs many trials; add -m, e.g. python -m "
                              f"seqlab.train -m {' '.join(overrides)}")
        if group == "ensemble" and option.lower() == "true":
            raise ConfigError(f"{arg}: an ensemble averages a sweep's runs; add seeds=K, e.g. "
                              f"python -m seqlab.train {' '.join(overrides)} seeds=5")


if __name__ == "__main__":
    from seqlab.config import own_model_keys
    from seqlab.signals import interruptible
    from seqlab.sweeps.parent import sweep_guard
    from seqlab.sweeps.seeds import expand_seeds

    sys.argv[1:] = run_cli(lambda: expand_seeds(sys.argv[1:]))  # seeds=N: a sweep of N
    sys.argv[1:] = own_model_keys(sys.argv[1:])
    check_overrides(sys.argv[1:])
    with interruptible(), sweep_guard():  # a sweep that stops early ends its parent run
        main()
