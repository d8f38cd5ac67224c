"""A run is shown and judged in the user's units: MASE for a series, RMSE in the target's
units for a number per sequence, beside the scaled figure training watched; the console
line says how far it is from the strongest reference, so a tie is never shown where one
is three times worse; a backtest's verdict reads the figure shown."""

from __future__ import annotations

import re

from seqlab.backtest import combine
from seqlab.evaluation.metrics import headline, say
from seqlab.tasks import TASKS

FORECAST = (*TASKS["regression"].judged_by, TASKS["regression"].headline)


def test_a_forecast_is_judged_by_mase_and_a_sequence_value_by_rmse_in_its_units():
    test = {"mse": 0.0021, "rmse_original": 30.0, "mase": 1.5}
    base = {"naive": {"mse": 0.0020, "rmse_original": 29.0, "mase": 0.5},
            "ridge": {"mse": 0.0019, "rmse_original": 28.0, "mase": 0.9}}
    # The scaled MSE would call it near a tie with ridge; MASE says seasonal-scale error.
    found = headline(test, base, FORECAST, higher_is_better=False)
    assert found == {"metric": "test/mase", "value": 1.5, "higher_is_better": False,
                     "baseline": 0.5, "baseline_name": "naive"}
    values = (*TASKS["sequence_regression"].judged_by, "mse")
    assert headline(test, base, values, False)["metric"] == "test/rmse_original"
    # Data without original units (no scaler) fall back to the figure training watched.
    assert headline({"mse": 0.2}, {"mean": {"mse": 0.3}}, values, False)["metric"] == "test/mse"
    assert TASKS["classification"].judged_by == ()


def test_the_console_line_shows_the_gap_in_every_unit():
    result = {"headline": {"metric": "test/mase", "value": 1.68, "higher_is_better": False,
                           "baseline": 0.56, "baseline_name": "seasonal_naive"},
              "test": {"test/mase": 1.68, "test/rmse_original": 123.4, "test/mse": 0.002104},
              "baselines": {"seasonal_naive": {"mase": 0.56, "rmse_original": 45.6,
                                               "mse": 0.002087}}}
    assert say(result) == (
        "test/mase = 1.68 (strongest reference seasonal_naive: 0.56, 3.00x its error); "
        "test/rmse_original = 123.4 (seasonal_naive: 45.6); "
        "scaled test/mse = 0.002104 (seasonal_naive: 0.002087)")
    accuracy = {"headline": {"metric": "test/acc", "value": 0.942, "higher_is_better": True,
                             "baseline": 0.994, "baseline_name": "minirocket_ridge"},
                "test": {"test/acc": 0.942}, "baselines": {"minirocket_ridge": {"acc": 0.994}}}
    assert say(accuracy) == ("test/acc = 0.942 (strongest reference minirocket_ridge: 0.994, "
                             "0.052 below it)")


def test_a_backtest_verdict_reads_the_figure_shown():
    """Lower scaled MSE on every fold, higher MASE: the verdict follows MASE."""
    def fold(mse: float, mase: float) -> dict:
        return {"headline": headline({"mse": mse, "mase": mase},
                                     {"seasonal_naive": {"mse": 0.01, "mase": 0.8}},
                                     FORECAST, False),
                "test": {"test/mse": mse, "test/mase": mase},
                "baselines": {"seasonal_naive": {"mse": 0.01, "mase": 0.8}}}

    result = combine([fold(0.008, 1.1), fold(0.009, 1.3)])
    assert result["headline"]["metric"] == "test/mase"
    assert result["backtest"]["verdict"].startswith("does not beat seasonal_naive on the mean")
    assert re.search(r"backtest: does not beat seasonal_naive", say(result))
