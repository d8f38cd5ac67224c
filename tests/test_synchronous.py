"""The synchronous many-to-many archetype: a label (or a forecast) at every step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqlab.config import instantiate
from seqlab.data import sources
from seqlab.data.digit_videos import IGNORE, DigitVideos
from seqlab.data.meta import Meta
from seqlab.data.step_forecast import StepForecast
from seqlab.models.synchronous import FrameByFrame, SynchronousNet
from seqlab.tasks import TASKS
from tests.conftest import tiny

HEADLINE_KEYS = {"metric", "value", "higher_is_better", "baseline", "baseline_name"}
SMALL_VIDEOS = ["dataset.train_videos=24", "dataset.val_videos=4", "dataset.test_videos=6"]


@pytest.fixture(scope="module")
def digits_raw(tmp_path_factory):
    return sources.fetch("digits", tmp_path_factory.mktemp("raw") / "digits")


def padded_pair(features: int = 3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two sequences (4 and 7 steps) alone, and together padded with garbage to 7 steps."""
    short, long = torch.randn(1, 4, features), torch.randn(1, 7, features)
    padded = torch.full((2, 7, features), 9.0)  # garbage: masking must make it irrelevant
    padded[0, :4], padded[1] = short[0], long[0]
    return short, long, padded


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_does_not_change_real_step_outputs(cell, bidirectional):
    torch.manual_seed(0)
    net = SynchronousNet(3, 5, cell=cell, hidden_size=6, bidirectional=bidirectional).eval()
    short, long, padded = padded_pair()
    together = net(padded, torch.tensor([4, 7]))
    torch.testing.assert_close(together[0, :4], net(short)[0])
    torch.testing.assert_close(together[1], net(long)[0])


def test_words_read_with_their_characters_ignore_padding_words_and_characters():
    """Token inputs N x T x (1 + C): garbage in padded steps changes no real step's output,
    and a word's padding characters (id 0) change nothing either."""
    torch.manual_seed(0)
    net = SynchronousNet(20, 5, hidden_size=6, bidirectional=True, embed_size=4,
                         token_inputs=True, char_vocab_size=12, chars_per_word=5,
                         char_embed_size=3, char_channels=4).eval()
    words = torch.randint(1, 20, (2, 7, 1))
    chars = torch.randint(1, 12, (2, 7, 5))
    chars[..., 3:] = 0  # words of three characters
    inputs = torch.cat([words, chars], dim=-1)
    short = inputs[:1, :4]
    garbage = inputs.clone()
    garbage[0, 4:] = 7  # padded steps of the short sentence
    together = net(garbage, torch.tensor([4, 7]))
    torch.testing.assert_close(together[0, :4], net(short)[0])
    torch.testing.assert_close(together[1], net(inputs[1:])[0])
    wider = torch.cat([inputs, torch.zeros(2, 7, 3, dtype=torch.long)], dim=-1)
    torch.testing.assert_close(net(wider), net(inputs))  # more padding characters


def tagging_module(net: torch.nn.Module, *overrides: str):
    """The tagging task's LightningModule for `net`, from the registry."""
    task = TASKS["tagging"]
    optim = instantiate(tiny("experiment=video_frames", *overrides).optim, "optim")
    meta = Meta(name="toy", task="tagging", archetype="synchronous", input_size=3,
                output_size=5, steps=7, variable_length=True)
    return task.lightning_module()(net, task.loss, optim, meta)


def test_padding_does_not_change_the_loss():
    torch.manual_seed(0)
    module = tagging_module(SynchronousNet(3, 5, hidden_size=6))
    short, long, padded = padded_pair()
    labels = torch.randint(0, 5, (2, 7))
    separate = [module.training_step({"inputs": x, "targets": y,
                                      "lengths": torch.tensor([n])}, 0)
                for x, y, n in ((short, labels[:1, :4], 4), (long, labels[1:], 7))]
    padded_labels = labels.clone()
    padded_labels[0, 4:] = 3  # a real label on a padded step must still not count
    together = module.training_step({"inputs": padded, "targets": padded_labels,
                                     "lengths": torch.tensor([4, 7])}, 0)
    torch.testing.assert_close(together, (separate[0] * 4 + separate[1] * 7) / 11)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_unidirectional_rnn_is_causal(cell):
    torch.manual_seed(0)
    frames = torch.randn(2, 8, 3)
    changed = frames.clone()
    changed[:, 5] += 1.0
    causal = SynchronousNet(3, 4, cell=cell, hidden_size=6).eval()
    before, after = causal(frames), causal(changed)
    torch.testing.assert_close(before[:, :5], after[:, :5])
    assert not torch.allclose(before[:, 5:], after[:, 5:])
    peeking = SynchronousNet(3, 4, cell=cell, hidden_size=6, bidirectional=True).eval()
    assert not torch.allclose(peeking(frames)[:, :5], peeking(changed)[:, :5])


def test_frame_by_frame_sees_each_frame_alone():
    torch.manual_seed(0)
    net = FrameByFrame(3, 4, hidden_sizes=[5]).eval()
    frames = torch.randn(2, 6, 3)
    outputs = net(frames)
    assert outputs.shape == (2, 6, 4)
    torch.testing.assert_close(outputs[1, 4], net(frames[1:2, 4:5])[0, 0])


def test_overfits_one_small_batch(one_thread):
    torch.manual_seed(0)
    module = tagging_module(SynchronousNet(8, 10, cell="gru", hidden_size=32), "optim.lr=0.02")
    optimizer = module.configure_optimizers()
    lengths = torch.tensor([6, 4, 5, 6, 3, 6, 2, 6])
    batch = {"inputs": torch.rand(8, 6, 8), "targets": torch.randint(0, 10, (8, 6)),
             "lengths": lengths}
    for _ in range(100):
        optimizer.zero_grad()
        loss = module.training_step(batch, 0)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05


def test_video_generator_same_seed_same_bytes(digits_raw):
    def arrays(seed: int) -> dict[str, bytes]:
        data = DigitVideos("v", train_videos=5, val_videos=2, test_videos=3, seed=seed
                           ).preprocess(digits_raw)
        return {"inputs": data.inputs.tobytes(), "targets": data.targets.tobytes(),
                "lengths": data.lengths.tobytes(), "meta": repr(data.meta).encode(),
                **{k: v.tobytes() for k, v in {**data.splits, **data.extras}.items()}}

    assert arrays(3) == arrays(3)
    assert arrays(3)["inputs"] != arrays(4)["inputs"]


def test_videos_hold_digits_and_use_only_their_splits_images(digits_raw):
    spec = DigitVideos("v", train_videos=30, val_videos=5, test_videos=30, noise_std=0.0,
                       occlusion_prob=0.0, min_frames=10, max_frames=20, min_run=2, max_run=4)
    data = spec.preprocess(digits_raw)
    real = np.arange(20)[None, :] < data.lengths[:, None]
    assert set(data.lengths) <= set(range(10, 21)) and len(set(data.lengths)) > 1
    assert (data.targets[~real] == IGNORE).all() and (data.targets[real] >= 0).all()
    assert (data.inputs[~real] == 0).all()
    # A run restarts its position when the digit changes, and lasts at most max_run frames.
    positions, targets = data.extras["run_position"], data.targets
    changes = targets[:, 1:] != targets[:, :-1]
    assert ((positions[:, 1:] == 0) == changes)[real[:, 1:]].all()
    assert positions[real].max() == spec.max_run - 1

    def frames(split: str) -> set[bytes]:
        rows = data.splits[split]
        return {frame.tobytes() for frame in data.inputs[rows][real[rows]]}

    assert not frames("train") & frames("test")  # composed from disjoint images


def test_step_forecast_targets_are_the_next_inputs(tmp_path):
    spec = StepForecast("s", source="sunspots", steps=10, stride=3)
    data = spec.preprocess(sources.fetch("sunspots", tmp_path / "sunspots"))
    series, positions = data.extras["series"], data.extras["target_pos"]
    real = positions >= 0
    np.testing.assert_array_equal(data.targets[..., 0][real], series[positions[real]])
    np.testing.assert_array_equal(data.inputs[..., 0][real], series[positions[real] - 1])
    # Test targets tile the end of the series once each, in order; the last chunk is short.
    test_positions = positions[data.splits["test"]]
    tested = test_positions[test_positions >= 0]
    np.testing.assert_array_equal(tested, np.arange(tested[0], len(series)))
    assert data.lengths[data.splits["test"]].min() < spec.steps
    train_values = data.inputs[data.splits["train"]][real[data.splits["train"]]]
    assert train_values.min() == 0.0 and train_values.max() <= 1.0  # scaler fitted on train


@pytest.mark.parametrize(
    ("experiment", "shrink", "metric"),
    [("video_frames", SMALL_VIDEOS, "test/acc"),
     ("video_frames_fc", SMALL_VIDEOS, "test/acc"),
     ("sunspots_steps", [], "test/mase")],
)
def test_preset_trains_one_epoch_and_reports_the_headline(
    experiment, shrink, metric, tmp_path, run
):
    result = run(tiny(f"experiment={experiment}", "optim.max_epochs=1", *shrink), tmp_path)
    assert result["archetype"] == "synchronous"
    assert set(result["headline"]) == HEADLINE_KEYS
    assert result["headline"]["metric"] == metric
    assert np.isfinite(result["headline"]["value"])
    assert result["test"][metric] == result["headline"]["value"]
    assert (tmp_path / "metrics.json").is_file() and list((tmp_path / "figures").glob("*.png"))
