"""The non-recurrent encoders (`model.cell=transformer`, `tcn`, `fcn`, `resnet`): what a
step may see, padding that changes nothing, and every archetype that reads them."""

from __future__ import annotations

import pytest
import torch

from seqlab.config import compose
from seqlab.errors import ConfigError
from seqlab.models.cells import sequence_encoder
from seqlab.models.many_to_one import ManyToOneNet
from seqlab.models.nonrecurrent import ConvEncoder
from seqlab.models.synchronous import SynchronousNet

CELLS = ["transformer", "tcn", "fcn", "resnet"]


@pytest.mark.parametrize("cell", CELLS)
def test_a_one_way_encoder_sees_only_the_past(cell):
    torch.manual_seed(0)
    encoder = sequence_encoder(3, cell, hidden_size=8, num_layers=2, steps=10).eval()
    inputs = torch.randn(2, 10, 3)
    changed = inputs.clone()
    changed[:, 6:] = torch.randn(2, 4, 3)  # the future of step 5
    before, _ = encoder(inputs)
    after, _ = encoder(changed)
    torch.testing.assert_close(after[:, :6], before[:, :6])
    assert not torch.allclose(after[:, 6:], before[:, 6:])
    both_ways = sequence_encoder(3, cell, hidden_size=8, bidirectional=True, steps=10).eval()
    assert not torch.allclose(both_ways(changed)[0][:, :6], both_ways(inputs)[0][:, :6])


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_changes_no_real_step(cell, bidirectional):
    torch.manual_seed(0)
    net = SynchronousNet(3, 5, cell=cell, hidden_size=8, bidirectional=bidirectional,
                         steps=7).eval()
    short, long = torch.randn(1, 4, 3), torch.randn(1, 7, 3)
    padded = torch.full((2, 7, 3), 9.0)  # garbage the lengths must hide
    padded[0, :4], padded[1] = short[0], long[0]
    together = net(padded, torch.tensor([4, 7]))
    torch.testing.assert_close(together[0, :4], net(short)[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(together[1], net(long)[0], rtol=1e-4, atol=1e-5)
    reader = ManyToOneNet(3, 2, cell=cell, hidden_size=8, bidirectional=bidirectional,
                          readout="mean", steps=7).eval()
    torch.testing.assert_close(reader(padded, torch.tensor([4, 7]))[0], reader(short)[0],
                               rtol=1e-4, atol=1e-5)


def test_the_tcn_sees_every_step_it_is_given():
    """As many dilated blocks as it takes for the last step to see the first."""
    assert len(ConvEncoder(1, 4, steps=64).blocks) == 5  # 1 + 4 (2^5 - 1) = 125 >= 64
    assert len(ConvEncoder(1, 4, num_layers=6, steps=2).blocks) == 6


@pytest.mark.parametrize("cell", ["fcn", "resnet"])
def test_the_convolutional_classifiers_have_the_papers_shape_and_read_tokens(cell):
    """FCN: convolutions of widths 8, 5, 3, the middle one twice as wide; ResNet: blocks of
    those three with a shortcut, channels h then 2h (Wang et al. 2017)."""
    encoder = sequence_encoder(2, cell, hidden_size=16, num_layers=3, bidirectional=True)
    convs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv1d)]
    if cell == "fcn":
        assert [(c.kernel_size[0], c.out_channels) for c in convs] == [(8, 16), (5, 32), (3, 16)]
    else:  # 3 blocks x 3 convolutions, and a 1 x 1 shortcut where the channels change
        assert [c.kernel_size[0] for c in convs if c.kernel_size[0] > 1] == [8, 5, 3] * 3
        assert [c.out_channels for c in convs if c.kernel_size[0] == 1] == [16, 32]
        assert encoder.output_size == 32
    net = ManyToOneNet(30, 2, cell=cell, hidden_size=8, token_inputs=True, embed_size=6,
                       readout="mean")
    assert net(torch.randint(1, 30, (3, 5)), torch.tensor([5, 3, 1])).shape == (3, 2)


def test_token_inputs_and_settings_that_cannot_work_are_one_line():
    net = ManyToOneNet(30, 2, cell="transformer", hidden_size=8, token_inputs=True,
                       embed_size=6)
    assert net(torch.randint(1, 30, (3, 5))).shape == (3, 2)
    with pytest.raises(ConfigError, match="model.heads: 3 does not divide model.hidden_size 8"):
        ManyToOneNet(3, 2, cell="transformer", hidden_size=8, heads=3)
    with pytest.raises(ConfigError, match="cell: 'lstmm' is not one of: rnn, lstm, gru, "
                                          "transformer, tcn, fcn, resnet"):
        sequence_encoder(3, "lstmm")


@pytest.mark.slow  # a preset trained per cell (fcn shares resnet's encoder class)
@pytest.mark.parametrize("cell", ["transformer", "tcn", "resnet"])
def test_presets_take_the_non_recurrent_cells(cell, run, tmp_path):
    from tests.conftest import tiny

    # translate_numbers: the encoder-decoder takes them as its encoder (a GRU decoder)
    shrink = {"video_frames": ["dataset.train_videos=8", "dataset.val_videos=2",
                               "dataset.test_videos=2"],
              "translate_numbers": ["dataset.max_number=120"]}
    for preset in ("course_ex2", "video_frames", "translate_numbers"):
        cfg = tiny(f"experiment={preset}", f"model.cell={cell}", "optim.max_epochs=1",
                   "model.hidden_size=8", *shrink.get(preset, []))
        assert compose([f"experiment={preset}", f"model.cell={cell}"]).model.cell == cell
        result = run(cfg, tmp_path / f"{preset}-{cell}")
        assert 0 <= result["headline"]["value"] <= 1
