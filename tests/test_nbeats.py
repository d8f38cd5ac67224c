"""N-BEATS' generic stack: doubly residual blocks, every step ahead at once."""

from __future__ import annotations

import pytest
import torch

from seqlab.errors import ConfigError
from seqlab.models.nbeats import NBeats
from tests.conftest import tiny


def test_each_block_reads_the_residual_and_the_forecasts_add_up():
    torch.manual_seed(0)
    net = NBeats(input_size=2, output_size=3, steps=5, blocks=3, layers=2, width=8).eval()
    inputs = torch.randn(4, 5, 2)
    residual, expected = inputs.flatten(1), torch.zeros(4, 3)
    for block in net.blocks:
        hidden = block.body(residual)
        expected = expected + block.forecast(hidden)
        residual = residual - block.backcast(hidden)
    assert net(inputs).shape == (4, 3)
    assert torch.allclose(net(inputs), expected)


def test_a_setting_that_cannot_work_is_one_line():
    with pytest.raises(ConfigError, match="blocks"):
        NBeats(input_size=1, output_size=1, steps=4, blocks=0)


def test_the_preset_composes_and_forecasts_the_horizon(prepared):
    from seqlab.data.processed import ProcessedData
    from seqlab.models import net_for_data

    cfg = tiny("experiment=course_ex1", "model=nbeats", "~model.cell",
               "~model.hidden_size", "dataset.horizon=3")
    meta = ProcessedData.load(prepared(cfg)).meta
    net = net_for_data(cfg.model, meta)
    inputs = torch.randn(3, meta.steps, meta.input_size)
    assert net(inputs).shape == (3, 3)
