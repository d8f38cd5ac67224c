"""One-to-many (captions) and encoder-decoder (translation): data, masking, training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqlab.config import instantiate
from seqlab.data.digit_sequences import load_images, stratified_splits
from seqlab.data.meta import Meta
from seqlab.data.sources import fetch
from seqlab.data.vocab import Vocab, split
from seqlab.models.many_to_many import Seq2Seq
from seqlab.models.one_to_many import Captioner
from seqlab.tasks import TASKS
from tests.conftest import tiny

HEADLINE_KEYS = {"metric", "value", "higher_is_better", "baseline", "baseline_name"}
SMALL_DATA = {
    "captions": ["dataset.train_strips=300", "dataset.val_strips=30", "dataset.test_strips=60"],
    "translate_numbers": ["dataset.max_number=300"],
    "normalise_dates": ["dataset.pairs=300"],
}
SOURCE = {"captions": "digits", "translate_numbers": "num2words", "normalise_dates": "babel"}
pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread


@pytest.mark.parametrize("text", ["sept mille sept cent soixante-dix-sept",
                                  "one thousand, two hundred and thirty-four", "2023-01-12"])
@pytest.mark.parametrize("level", ["word", "char"])
def test_vocab_gives_the_text_back(text, level):
    vocab = Vocab.from_texts([text], level)
    ids = vocab.encode(text)
    assert ids[-1] == vocab.eos_id and vocab.decode(ids + [vocab.pad_id]) == text
    assert vocab.decode(Vocab.from_texts(["x"], level).encode(text)) != text  # unknowns


def test_word_pieces_keep_their_separators():
    assert split("soixante-dix, mille", "word") == ["soixante-", "dix, ", "mille"]


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw")
    return {name: fetch(name, root / name) for name in SOURCE.values()}


@pytest.mark.parametrize("preset", SOURCE)
def test_generators_give_the_same_bytes_for_the_same_seed(preset, raw, tmp_path):
    source = SOURCE[preset]
    cfg = tiny(f"experiment={preset}", *SMALL_DATA[preset])
    files = []
    for attempt in ("a", "b"):
        instantiate(cfg.dataset, "dataset").preprocess(raw[source]).save(tmp_path / attempt)
        files.append([(tmp_path / attempt / f).read_bytes()
                      for f in ("arrays.npz", "meta.json")])
    assert files[0] == files[1]
    other = tiny(f"experiment={preset}", *SMALL_DATA[preset], "dataset.seed=1")
    instantiate(other.dataset, "dataset").preprocess(raw[source]).save(tmp_path / "c")
    assert (tmp_path / "c" / "arrays.npz").read_bytes() != files[0][0]


@pytest.mark.parametrize(("preset", "total"), [("translate_numbers", 10000),
                                               ("normalise_dates", 10000)])
def test_no_test_number_or_date_is_seen_in_training(preset, total, raw):
    spec = instantiate(tiny(f"experiment={preset}").dataset, "dataset")
    data = spec.preprocess(raw[SOURCE[preset]])
    # Targets: every number (or day) is one pair, so distinct targets are distinct items.
    rows = {name: {tuple(r) for r in data.targets[idx]} for name, idx in data.splits.items()}
    assert not rows["test"] & rows["train"] and not rows["val"] & rows["train"]
    assert sum(len(r) for r in rows.values()) == total


def test_caption_images_come_from_their_own_split(raw):
    cfg = tiny("experiment=captions", *SMALL_DATA["captions"])
    spec = instantiate(cfg.dataset, "dataset")
    data = spec.preprocess(raw["digits"])
    images, labels = load_images(raw["digits"])
    pools = stratified_splits(labels, spec.test_fraction, spec.val_fraction, spec.seed)
    vocab = Vocab(data.meta.target_vocab, data.meta.target_level)
    from num2words import num2words

    for name, rows in data.splits.items():
        allowed = {(images[i] / 16.0).astype(np.float32).tobytes() for i in pools[name]}
        for row in rows:
            blocks = np.split(data.inputs[row], spec.max_digits, axis=1)
            used = [b for b in blocks if b.any()]
            assert used and all(b.tobytes() in allowed for b in used)
            assert vocab.decode(data.targets[row]) == num2words(int(data.extras["numbers"][row]))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("attention", [True, False])
def test_padding_does_not_change_per_sequence_outputs(cell, attention):
    torch.manual_seed(0)
    net = Seq2Seq(12, 9, target_steps=6, cell=cell, hidden_size=8, embed_size=4,
                  attention=attention, decoding={"strategy": "beam", "beam_size": 2}).eval()
    short, long = torch.randint(4, 12, (1, 3)), torch.randint(4, 12, (1, 7))
    padded = torch.zeros(2, 7, dtype=torch.long)
    padded[0, :3], padded[1] = short[0], long[0]
    lengths = torch.tensor([3, 7])
    targets = torch.randint(3, 9, (2, 6))
    together = net.scores(padded, lengths, targets)
    torch.testing.assert_close(together[0], net.scores(short, None, targets[:1])[0])
    torch.testing.assert_close(together[1], net.scores(long, None, targets[1:])[0])
    decoded = net(padded, lengths)
    for row, alone in enumerate((net(short), net(long))):
        assert decoded[row, : alone.shape[1]].tolist() == alone[0].tolist()
    torch.testing.assert_close(net(padded), decoded)  # serving finds lengths from padding


def small_caption_batch():
    vocab = Vocab.from_texts(["one", "twenty-one", "two hundred"], "word")
    captions = torch.tensor([0, 1, 2, 0] * 4)
    ids, _ = vocab.encode_all([["one", "twenty-one", "two hundred"][c] for c in captions])
    images = torch.rand(3, 8, 24)[captions] + 0.1 * torch.rand(16, 8, 24)
    return vocab, {"inputs": images, "targets": torch.from_numpy(ids),
                   "lengths": torch.full((16,), 8)}


def small_number_batch():
    source = Vocab.from_texts(["one", "two", "three"], "word")
    target = Vocab.from_texts(["un", "deux", "trois"], "char")
    texts = [("one", "un"), ("two", "deux"), ("three", "trois"), ("two", "deux")] * 4
    inputs, lengths = source.encode_all([s for s, _ in texts])
    targets, _ = target.encode_all([t for _, t in texts])
    return source, target, {"inputs": torch.from_numpy(inputs), "lengths":
                            torch.from_numpy(lengths), "targets": torch.from_numpy(targets)}


@pytest.mark.parametrize("archetype", ["one_to_many", "many_to_many"])
def test_overfits_one_small_batch(archetype):
    import pytorch_lightning as pl

    pl.seed_everything(0, verbose=False)
    if archetype == "one_to_many":
        vocab, batch = small_caption_batch()
        net = Captioner(24, len(vocab), 8, hidden_size=32, image_size=32)
        variable_length = False
    else:
        source, vocab, batch = small_number_batch()
        net = Seq2Seq(len(source), len(vocab), hidden_size=32, teacher_forcing=0.5)
        variable_length = True
    optim = instantiate(tiny("experiment=captions", "optim.lr=0.01").optim, "optim")
    meta = Meta(name="toy", task="generation", archetype=archetype, input_size=24,
                output_size=len(vocab), steps=8, variable_length=variable_length)
    task = TASKS["generation"]
    module = task.lightning_module()(net, task.loss, optim, meta)
    optimizer = module.configure_optimizers()
    for _ in range(150):
        optimizer.zero_grad()
        loss = module.training_step(batch, 0)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    net.eval()
    lengths = batch["lengths"] if variable_length else None
    decoded = [vocab.decode(row) for row in net(batch["inputs"], lengths)]
    assert decoded == [vocab.decode(row) for row in batch["targets"]]


@pytest.mark.parametrize("preset", ["captions", "translate_numbers", "normalise_dates"])
def test_preset_trains_one_epoch_and_scores_with_the_headline_shape(preset, run, tmp_path):
    import pandas as pd

    cfg = tiny(f"experiment={preset}", *SMALL_DATA[preset], "optim.max_epochs=1",
               "model.decoding.strategy=beam")
    result = run(cfg, tmp_path)
    history = pd.read_csv(tmp_path / "model" / "history.csv").iloc[-1]
    assert np.isfinite(history["train/loss"]) and "val/token_acc" in history
    headline = result["headline"]
    assert set(headline) == HEADLINE_KEYS and headline["metric"] == "test/exact"
    assert headline["higher_is_better"] and headline["baseline_name"] == "most_frequent"
    assert 0 <= headline["value"] <= 1 and 0 <= headline["baseline"] <= 1
    assert {"test/exact", "test/token_acc", "test/bleu", "test/chrf", "test/exact_greedy"
            } <= set(result["test"])
    figure = "captions.png" if preset == "captions" else "attention.png"
    assert (tmp_path / "figures" / figure).is_file()
    assert (tmp_path / "figures" / "learning_curves.png").is_file()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["experiment=captions", "model.decoding.strategy=sample"],
         "model.decoding.strategy: 'sample' is not one of: greedy, beam"),
        (["experiment=translate_numbers", "model.decoding.beam_size=0"],
         "model.decoding.beam_size: must be at least 1"),
        (["experiment=translate_numbers", "model.teacher_forcing=1.5"],
         r"model.teacher_forcing: must be in \[0, 1\]"),
        (["experiment=captions", "model.encoder=rnn"], "model.encoder: 'rnn' is not one of"),
        (["experiment=translate_numbers", "dataset.target_lang=xx"],
         "dataset.target_lang: 'xx' is not one of"),
        (["experiment=normalise_dates", "dataset.locales=[en_US,xx_YY]"],
         "dataset.locales\\[1\\]: 'xx_YY' is not a babel locale"),
    ],
)
def test_bad_generation_settings_name_the_key(overrides, message):
    from seqlab.config import compose, validate
    from seqlab.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        validate(compose(overrides))


def test_caption_language_is_a_config_value(raw):
    cfg = tiny("experiment=captions", *SMALL_DATA["captions"], "dataset.lang=fr")
    data = instantiate(cfg.dataset, "dataset").preprocess(raw["digits"])
    vocab = Vocab(data.meta.target_vocab, data.meta.target_level)
    from num2words import num2words

    rows = data.splits["train"]
    captions = [vocab.decode(t) for t in data.targets[rows]]
    assert captions == [num2words(int(n), lang="fr") for n in data.extras["numbers"][rows]]
