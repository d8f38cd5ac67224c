"""Test metrics from answers and truth, and the headline a run is judged by.

Plain numpy, with scikit-learn's definitions: scikit-learn would cost the evaluate stage
a second of imports (scipy.stats) for a few sums.
"""

from __future__ import annotations

import numpy as np

from seqlab.data.meta import Meta


def f1_macro(truth: np.ndarray, answers: np.ndarray) -> float:
    """The mean F1 over the classes found in either array; a class never right nor
    predicted scores 0 (sklearn's f1_score, average="macro", zero_division=0)."""
    scores = []
    for label in np.union1d(truth, answers):
        hit = np.sum((truth == label) & (answers == label))
        wrong = np.sum((truth == label) != (answers == label))  # false positives and negatives
        scores.append(2 * hit / (2 * hit + wrong) if hit else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def classification(truth: np.ndarray, answers: np.ndarray, meta: Meta) -> dict[str, float]:
    """Accuracy and macro F1."""
    truth, answers = np.ravel(truth), np.ravel(answers)
    return {"acc": float(np.mean(truth == answers)), "f1_macro": f1_macro(truth, answers)}


def r2(truth: np.ndarray, answers: np.ndarray) -> float:
    """The coefficient of determination; for a constant truth 1 if matched exactly, else 0
    (sklearn's r2_score)."""
    residual = np.sum((truth - answers) ** 2, dtype=np.float64)
    total = np.sum((truth - np.mean(truth)) ** 2, dtype=np.float64)
    if total == 0:
        return 1.0 if residual == 0 else 0.0
    return float(1 - residual / total)


def regression(truth: np.ndarray, answers: np.ndarray, meta: Meta) -> dict[str, float]:
    """MSE, MAE and R² in scaled units; MSE, RMSE, MAE and sMAPE (%) in the series'
    original units, and MASE (MAE over the training period's seasonal naive MAE) for a
    series. Forecasts of several steps ahead (N x H) are scored overall and at each step
    ahead (`mse_h1`, `mase_h1`, ...)."""
    truth, answers = np.asarray(truth), np.asarray(answers)
    ahead = {}
    if truth.ndim == 2 and truth.shape[1] > 1:
        answers = answers.reshape(truth.shape)
        for k in range(truth.shape[1]):
            step = regression(truth[:, k], answers[:, k], meta)
            ahead |= {f"{name}_h{k + 1}": step[name] for name in ("mse", "mase") if name in step}
    truth, answers = np.ravel(truth), np.ravel(answers)
    result = {
        "mse": float(np.mean((truth - answers) ** 2)),
        "mae": float(np.mean(np.abs(truth - answers))),
        "r2": r2(truth, answers),
    }
    if meta.scaler is not None:
        original_truth, original_answers = meta.unscale(truth), meta.unscale(answers)
        mse = float(np.mean((original_truth - original_answers) ** 2))
        errors = np.abs(original_truth - original_answers)
        sizes = np.abs(original_truth) + np.abs(original_answers)
        result |= {
            "mse_original": mse,
            "rmse_original": float(np.sqrt(mse)),
            "mae_original": float(np.mean(errors)),
            # 0/0 (both zero) counts as no error, as in the M4 competition's definition.
            "smape": float(100 * np.mean(np.divide(2 * errors, sizes, out=np.zeros_like(errors),
                                                   where=sizes > 0))),
        }
        if meta.naive_mae is not None:
            result["mase"] = float(np.mean(errors) / meta.naive_mae)
    return result | ahead


def headline(test: dict[str, float], baselines: dict[str, dict[str, float]],
             metrics: tuple[str, ...], higher_is_better: bool) -> dict[str, object]:
    """The first of `metrics` that the test scores and every baseline have, beside the
    strongest baseline on it: the figure a run is shown and judged by.

    "Beats the baseline" then means it beats every trivial baseline reported.
    """
    metric = next(m for m in metrics if m in test and all(m in b for b in baselines.values()))
    pick = max if higher_is_better else min
    strongest = pick(baselines, key=lambda name: baselines[name][metric])
    return {"metric": f"test/{metric}", "value": test[metric],
            "higher_is_better": higher_is_better,
            "baseline": baselines[strongest][metric], "baseline_name": strongest}


# Shown beside a headline in other terms: the error in the user's units, then the scaled
# figure training watched, so a reader can match either.
BESIDE = ("rmse_original", "mse")


def versus(value: float, reference: float, higher_is_better: bool) -> str:
    """How `value` stands against `reference`: a ratio for an error ("2.90x its error"),
    a difference for a score ("0.042 below it")."""
    if higher_is_better:
        return f"{abs(value - reference):.3g} {'above' if value >= reference else 'below'} it"
    if reference > 0:
        return f"{value / reference:.2f}x its error"
    return "equal" if value == reference else "it is exact"


def say(result: dict[str, object]) -> str:
    """The console's line for a scored run: the headline beside the strongest reference
    and how far apart they are, then the same comparison in the user's units and scaled,
    so a tie is never shown where the figures differ."""
    h = result["headline"]
    name, strongest = h["metric"].removeprefix("test/"), h["baseline_name"]
    parts = [f"{h['metric']} = {h['value']:.4g} (strongest reference {strongest}: "
             f"{h['baseline']:.4g}, {versus(h['value'], h['baseline'], h['higher_is_better'])})"]
    reference = result["baselines"].get(strongest, {})
    for other in BESIDE:
        if other != name and f"test/{other}" in result["test"] and other in reference:
            scaled = "scaled " if other == "mse" and "test/rmse_original" in result["test"] else ""
            parts.append(f"{scaled}test/{other} = {result['test'][f'test/{other}']:.4g} "
                         f"({strongest}: {reference[other]:.4g})")
    if "backtest" in result:
        parts.append(f"backtest: {result['backtest']['verdict']}")
    return "; ".join(parts)
