"""Forecast intervals (`model.quantiles`): the pinball loss, the quantile net, coverage
and width, and the settings refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqlab.config import compose, validate
from seqlab.errors import ConfigError
from seqlab.evaluation.evaluate import evaluate
from seqlab.losses import pinball
from seqlab.models import net_for_data
from seqlab.models.quantiles import Quantiles
from seqlab.tasks import task_of
from tests.test_forecast_windows import lambda_net, spec, write_series

LEVELS = [0.1, 0.5, 0.9]


def test_the_pinball_loss_is_least_at_each_levels_quantile():
    values = torch.arange(101.0)[:, None]  # 0 .. 100: the q-quantile is 100 q
    loss = pinball(LEVELS)
    grid = torch.arange(101.0)
    for i, level in enumerate(LEVELS):
        others = torch.full((len(grid), 3), 50.0)
        others[:, i] = grid
        # each candidate value of quantile i, against every value in turn
        found = [loss(row.expand(101, 1, 3), values).item() for row in others]
        assert grid[int(np.argmin(found))].item() == pytest.approx(100 * level, abs=1)


def test_quantiles_never_cross_and_move_with_the_level(tmp_path):
    """The net's outputs laid out N x H x Q, ascending; a window-relative net adds the
    window's last value to every quantile alike."""
    write_series(tmp_path, 50 + np.arange(40.0) + 5 * np.sin(np.arange(40)))
    meta = spec(horizon=2, normalise="window").preprocess(tmp_path).meta
    model = compose(["experiment=course_ex1", f"model.quantiles={LEVELS}"]).model
    torch.manual_seed(0)
    net = net_for_data(model, meta)
    assert isinstance(net, Quantiles) and net.levels == LEVELS
    window = torch.randn(5, meta.steps, meta.input_size)
    found = net(window)
    assert found.shape == (5, 2, 3)
    assert (found.diff(dim=-1) >= 0).all()
    np.testing.assert_allclose((net(window + 7.5) - found).detach().numpy(), 7.5, rtol=1e-5)


def test_coverage_and_width_count_what_the_interval_holds(tmp_path):
    """A net whose interval is the window's last value +- 0.05 (scaled): the coverage is
    the share of test values that close to it, the width 0.1 in original units."""
    values = 100 + 40 * np.sin(np.arange(60) / 3)
    write_series(tmp_path, values)
    data = spec(horizon=1).preprocess(tmp_path)
    newest = data.meta.series_lags[-1]

    def band(inputs):
        last = inputs[:, newest[0], newest[1]][:, None]
        return torch.cat([last - 0.05, last, last + 0.05], dim=1)

    net = Quantiles(lambda_net(band), LEVELS, horizon=1)
    result = evaluate(net, data, task_of("regression"), "toy")
    rows = data.splits["test"]
    truth = data.targets[rows, 0]
    last = data.inputs[rows, newest[0], newest[1]]
    span = data.meta.scaler["max"] - data.meta.scaler["min"]
    assert result.test["coverage"] == pytest.approx(np.mean(np.abs(truth - last) <= 0.05))
    assert 0 < result.test["coverage"] < 1  # the check can tell a bad interval
    assert result.test["width"] == pytest.approx(0.1 * span, rel=1e-5)
    assert result.test["nominal_coverage"] == pytest.approx(0.8)
    assert result.test["mse"] == pytest.approx(np.mean((truth - last) ** 2), rel=1e-5)
    # the figure shades the interval under the forecast lines
    [axes] = result.figures["forecast"].axes
    assert "model 0.1-0.9 quantiles" in [t.get_text() for t in axes.get_legend().get_texts()]
    assert len(axes.collections) == 1


@pytest.mark.parametrize("levels, message", [
    ("[0.1,0.9]", "lacks 0.5"), ("[0.5,1.2]", "1.2 is not a level"),
    ("[0.5,0.5]", "names a level twice"), ("0.5", "expected a list")])
def test_levels_that_make_no_interval_are_one_line(levels, message):
    with pytest.raises(ConfigError, match=f"model.quantiles: .*{message}"):
        validate(compose(["experiment=course_ex1", f"model.quantiles={levels}"]))


def test_quantiles_are_refused_where_they_mean_nothing(tmp_path):
    write_series(tmp_path, 50 + np.arange(40.0) + 5 * np.sin(np.arange(40)))
    recursive = compose(["experiment=course_ex1", f"model.quantiles={LEVELS}",
                         "model.forecast=recursive"]).model
    with pytest.raises(ConfigError, match="not quantiles; with model.quantiles use model"):
        net_for_data(recursive, spec(horizon=3).preprocess(tmp_path).meta)
    classes = compose(["experiment=course_ex2", f"model.quantiles={LEVELS}"])
    from seqlab.data.meta import Meta

    meta = Meta(name="digits", task="classification", archetype="many_to_one",
                input_size=8, output_size=10, steps=8)
    with pytest.raises(ConfigError, match="classification task; set model.quantiles=null"):
        net_for_data(classes.model, meta)


def test_calibration_moves_the_interval_to_cover_its_share_of_held_out_windows():
    """Conformalised quantile regression: the margin per step ahead is the
    ceil((n + 1) 0.8)-th smallest distance outside the interval, so the calibrated
    interval covers at least 80 % of the windows it was calibrated on."""
    torch.manual_seed(0)
    inputs = torch.randn(40, 3, 1)

    def narrow(x):  # an interval much too narrow for values spread by 1
        return torch.cat([x[:, -1] - 0.1, x[:, -1], x[:, -1] + 0.1], dim=1).repeat(1, 2)

    net = Quantiles(lambda_net(narrow), LEVELS, horizon=2)
    targets = inputs[:, -1] + torch.randn(40, 2)
    before = net(inputs)
    assert ((targets >= before[..., 0]) & (targets <= before[..., -1])).float().mean() < 0.3
    assert net.calibrate(inputs, None, targets) == 40
    after = net(inputs)
    inside = (targets >= after[..., 0]) & (targets <= after[..., -1])
    assert (inside.float().mean(dim=0) >= 0.8).all()  # each step ahead
    outside = torch.maximum(before[..., 0] - targets, targets - before[..., -1])
    np.testing.assert_allclose(net.margin.numpy(), outside.sort(dim=0).values[32].numpy())
    torch.testing.assert_close(after[..., 1], before[..., 1])  # the median stays
    assert "margin" in net.state_dict()  # saved with the weights, so predict uses it
    # Too few windows for an 80 % rank (3: the 4th smallest does not exist): as trained.
    fresh = Quantiles(lambda_net(narrow), LEVELS, horizon=2)
    assert fresh.fewest() == 4 and fresh.calibrate(inputs[:3], None, targets[:3]) == 0
    assert (fresh.margin == 0).all()
