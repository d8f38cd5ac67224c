"""params.yaml is generated from conf/, the single source of truth.

conf/pipeline.yaml lists the entries `dvc repro` runs; each entry composes conf/train.yaml
with its overrides, exactly as `python -m seqlab.train <overrides>` would. The composed
configs are split so DVC can tell what changed:

- `datasets.<name>`: a dataset's settings, shared by every entry that reads it;
- `entries.<name>`: everything else an entry's training depends on (dataset by name);
- `sources.<name>`: the raw sources the datasets need, each with the file its fetch
  reads (`reads`): the module that writes a shipped or remote source, or the user's own
  file for bring-your-own data, a DVC dependency so that editing it refetches;
- `tracking`: where runs are logged (no stage depends on it: changing it does not
  retrain anything).

Run `python -m seqlab.params` (or `make params`) after editing conf/; `--check` fails
when params.yaml is out of date. Extra overrides apply to every entry, e.g.
`python -m seqlab.params optim.max_epochs=2` for a quick smoke run of the pipeline.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from seqlab.config import compose, validate
from seqlab.errors import ConfigError, run_cli
from seqlab.layout import PARAMS_FILE, conf_dir, project_root
from seqlab.sweeps.seeds import pipeline_entries

HEADER = (
    "# Generated from conf/ by `python -m seqlab.params` (make params): edit conf/, not this\n"
    "# file. A test fails when the two disagree. See docs: concepts/configuration.md.\n"
)


def pipeline_file() -> Path:
    """The entries of the project run from (its conf/pipeline.yaml), else the shipped ones."""
    local = project_root() / "conf" / "pipeline.yaml"
    return local if local.is_file() else conf_dir() / "pipeline.yaml"


def generate(
    overrides: list[str] | tuple[str, ...] = (), only: list[str] | None = None
) -> dict[str, Any]:
    """Compose every pipeline entry (or those in `only`) into params.yaml's sections."""
    pipeline = OmegaConf.load(pipeline_file())
    unknown = sorted(set(only or ()) - set(pipeline.entries))
    if unknown:
        raise ConfigError(f"--only: no entry {unknown[0]!r} in conf/pipeline.yaml; entries: "
                          + ", ".join(pipeline.entries))
    datasets: dict[str, Any] = {}
    entries: dict[str, Any] = {}
    # An entry with `seeds=N` is N entries, `<name>` and `<name>-seed<k>` (the report
    # groups them): DVC runs each seed as a stage of its own.
    tracking = OmegaConf.to_container(compose(list(overrides)).tracking, resolve=True)
    for name, entry_overrides in pipeline_entries(pipeline.entries).items():
        if only and name not in only:
            continue
        cfg = compose([*entry_overrides, *overrides, f"entry={name}"])
        validate(cfg)
        plain = OmegaConf.to_container(cfg, resolve=True)
        dataset = plain.pop("dataset")
        own = plain.pop("tracking")
        if own != tracking:  # one store for the pipeline: said, not silently dropped
            keys = ", ".join(f"tracking.{k}" for k in sorted(set(own) | set(tracking))
                             if own.get(k) != tracking.get(k))
            raise ConfigError(
                f"entries.{name}: sets {keys}, but tracking is the pipeline's (every entry "
                f"shares it); remove it from the entry and give it to every entry at once: "
                f"python -m seqlab.params tracking...=..."
            )
        key = dataset["name"]
        if datasets.setdefault(key, dataset) != dataset:
            raise ConfigError(
                f"entries: two entries use dataset {key!r} with different settings; "
                f"give one of them its own dataset.name (entry {name!r})"
            )
        entries[name] = {**plain, "dataset": key}
    return {
        "sources": source_reads(datasets),
        "datasets": datasets,
        "entries": entries,
        "tracking": tracking,
    }


def source_reads(datasets: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Each source the datasets need, with the file its fetch stage reads."""
    from seqlab.data import sources

    found: dict[str, dict[str, str]] = {}
    for name, dataset in datasets.items():
        source, path = dataset["source"], dataset.get("path")
        if (dataset.get("backtest_folds") or 1) > 1:  # the train stage fits once
            raise ConfigError(f"datasets.{name}.backtest_folds: a backtest fits a model per "
                              "fold, the pipeline's train stage one; run it with "
                              "python -m seqlab.train")
        if dataset.get("test_path") is not None:  # a fetch stage copies one file
            raise ConfigError(f"datasets.{name}.test_path: the pipeline's fetch stage copies "
                              "one file per source; give the pipeline one file (its "
                              "test_fraction splits it), or train on both with "
                              "python -m seqlab.train")
        if path is not None and source in sources.SOURCES:
            raise ConfigError(f"datasets.{name}.source: {source!r} is a built-in source; "
                              "give your file's dataset its own name")
        entry = {"reads": str(path) if path is not None else sources.reads(source)}
        if found.setdefault(source, entry) != entry:
            raise ConfigError(f"datasets.{name}: source {source!r} is read from two files "
                              f"({found[source]['reads']}, {entry['reads']}); give each "
                              "file's dataset its own name")
    return dict(sorted(found.items()))


def load(root: Path | None = None) -> dict[str, Any]:
    path = (root or project_root()) / PARAMS_FILE
    if not path.is_file():
        raise ConfigError(f"{path} is missing; run `make params` to generate it from conf/")
    return yaml.safe_load(path.read_text())


def write(params: dict[str, Any], root: Path | None = None) -> Path:
    from seqlab.io import atomic_write_text

    path = (root or project_root()) / PARAMS_FILE
    atomic_write_text(path, HEADER + yaml.safe_dump(params, sort_keys=False))
    return path


def entry_config(params: dict[str, Any], entry: str) -> DictConfig:
    """The full run config of one pipeline entry, as `seqlab.train` would compose it."""
    if entry not in params.get("entries", {}):
        known = ", ".join(params.get("entries", {}))
        raise ConfigError(f"no pipeline entry {entry!r} in params.yaml; entries: {known}")
    config = dict(params["entries"][entry])
    dataset = config["dataset"]
    if dataset not in params.get("datasets", {}):
        raise ConfigError(f"entries.{entry}.dataset: {dataset!r} is not under datasets")
    config["dataset"] = params["datasets"][dataset]
    config["tracking"] = params["tracking"]
    return OmegaConf.create(config)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m seqlab.params",
        description="Generate params.yaml (what DVC tracks) from conf/ (the source of truth).",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides applied to every entry")
    parser.add_argument("--only", nargs="+", metavar="ENTRY",
                        help="keep only these entries of conf/pipeline.yaml (a smaller run)")
    parser.add_argument("--check", action="store_true",
                        help="only check that params.yaml matches conf/; exit 1 if not")
    args = parser.parse_args()
    params = generate(args.overrides, args.only)
    if args.check:
        if load() != params:
            print("params.yaml is out of date with conf/; run `make params`", file=sys.stderr)
            sys.exit(1)
        print("params.yaml matches conf/")
        return
    print(f"wrote {write(params)}")


if __name__ == "__main__":
    run_cli(main)
