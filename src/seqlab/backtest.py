"""Rolling-origin backtests: a forecasting run scored from several origins, not one split.

With `dataset.backtest_folds=K`, fold k (1 = the earliest) is the series cut just after
its k-th origin's `horizon` targets, origins `backtest_stride` apart over the end of the
series; each fold's test split is that one forecast. The model is fitted again on each
fold's past (`backtest_refit=true`, the default) or once on the first fold's. One MLflow
run holds it all: each fold's scores as `test/fold<k>/<metric>`, their mean as
`test/<metric>` and spread as `test/<metric>_sd`, beside the baselines' means; the
verdict against the strongest baseline is a paired t-test over the folds, as seqlab's
sweeps test over seeds. The run's model is the last fold's (fitted on the most data).
A backtest can be a search trial: its objective is the folds' mean validation headline
(a validation split inside each fold's past), and only the first fold reports its
epochs to the pruner, so each trial's curve is comparable with the others'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf, open_dict

from seqlab.errors import ConfigError


def is_backtest(dataset: DictConfig) -> bool:
    """Whether a dataset config asks for forecasts from several origins."""
    return int(dataset.get("backtest_folds") or 1) > 1


def fold_configs(cfg: DictConfig) -> list[DictConfig]:
    """The run's config for each fold, earliest first; none without a backtest."""
    if not is_backtest(cfg.dataset):
        return []
    folds = int(cfg.dataset.backtest_folds)
    if cfg.get("resume"):
        raise ConfigError("dataset.backtest_folds: a backtest is a run of its own; it "
                          "cannot be resumed (set backtest_folds=1)")
    found = []
    for fold in range(1, folds + 1):
        one = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
        with open_dict(one):
            one.dataset.backtest_fold = fold
        found.append(one)
    return found


def run_folds(folds: list[DictConfig], fit: Callable[[DictConfig, bool], dict[str, Any]]
              ) -> dict[str, Any]:
    """Run `fit(fold_cfg, train_it)` for each fold (it trains when asked, evaluates, and
    returns the fold's metrics file content) and combine their results."""
    refit = bool(folds[0].dataset.get("backtest_refit", True))
    results = [fit(cfg, refit or k == 0) for k, cfg in enumerate(folds)]
    return combine(results)


def combine(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One metrics file of K fold results: per fold, mean and spread; the headline is the
    mean against the baseline with the best mean, with a verdict paired over folds."""
    from seqlab.statistics import paired_p

    combined = {k: v for k, v in results[-1].items() if k not in ("test", "baselines")}
    # A search trial's objective: the validation headline inside each fold's training
    # period, averaged over the folds (the last fold's alone would judge one origin).
    validations = [(r.get("selection") or {}).get("validation") for r in results]
    if combined.get("selection") and all(v is not None for v in validations):
        combined["selection"] = {**combined["selection"],
                                 "validation": float(np.mean(validations)),
                                 "fold_validations": [float(v) for v in validations]}
    if "test" not in results[-1]:  # a search trial's folds: validation alone
        return combined
    test: dict[str, float] = {}
    for name in results[0]["test"]:
        values = np.array([r["test"][name] for r in results], dtype=float)
        bare = name.removeprefix("test/")
        test |= {f"test/fold{k + 1}/{bare}": float(v) for k, v in enumerate(values)}
        test[name], test[f"{name}_sd"] = float(values.mean()), float(values.std(ddof=1))
    # A baseline that a fold could not fit (too little series before an early origin)
    # is left out of the mean and the verdict.
    baselines = {base: {m: float(np.mean([r["baselines"][base][m] for r in results]))
                        for m in scores} for base, scores in results[0]["baselines"].items()
                 if all(base in r["baselines"] for r in results)}
    headline = dict(results[-1]["headline"])
    metric, up = headline["metric"], headline["higher_is_better"]
    bare = metric.removeprefix("test/")
    pick = max if up else min
    best = pick(baselines, key=lambda base: baselines[base][bare])
    model = np.array([r["test"][metric] for r in results], dtype=float)
    base = np.array([r["baselines"][best][bare] for r in results], dtype=float)
    p = paired_p(model, base)
    better = model.mean() > base.mean() if up else model.mean() < base.mean()
    headline |= {"value": float(model.mean()), "baseline": float(base.mean()),
                 "baseline_name": best}
    combined |= {"test": test, "baselines": baselines, "headline": headline,
                 "backtest": {"folds": len(results), "p": p,
                              "verdict": f"{'beats' if better else 'does not beat'} {best} "
                                         f"on the mean over {len(results)} folds "
                                         f"(paired t-test p = {p:.3g})"}}
    return combined
