"""The tiers of the paper's own networks: Fashion-MNIST presets (VGG/NIN at reduced width) and
the LSTM on the offline corpus or Penn Treebank — definitions, data path, unigram baseline, smoke
runs."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch

from paper_repro.data import DataBundle, load_dataset
from paper_repro.data.text import PTB_FILES, unigram_perplexity
from paper_repro.models import build_model, count_parameters
from paper_repro.presets import (
    FASHION_OPTIMIZERS,
    LSTM_VOCAB,
    PRESETS,
    ROLES,
    language_model_setup,
    lstm_tier,
)
from paper_repro.train import TrainConfig, train

# ---------------------------------------------------------------- definitions


def test_fashion_presets_run_the_papers_networks_with_scaled_dropout() -> None:
    full, demo = PRESETS["fashion"], PRESETS["fashion_demo"]
    for preset in (full, demo):
        models = {role: preset.setups[role].model for role in ROLES}
        assert models == {"bn": "vgg", "nobn": "vgg", "conv_bn": "nin", "conv_nobn": "nin"}
        for setup in preset.setups.values():
            assert setup.dataset == "fashion_mnist"
            assert setup.model_kwargs["dropout"] == setup.model_kwargs["width"] < 1
    vgg = build_model("vgg", **full.setups["bn"].model_kwargs)
    assert count_parameters(vgg) == 236_562  # the pilot network (dropout adds none)
    assert sum(isinstance(m, torch.nn.Dropout) for m in vgg.modules()) > 0
    assert demo.optimizers == FASHION_OPTIMIZERS == ("sgd", "adam", "heun", "adam_rk2")
    assert demo.seeds == 2


def test_language_model_setup_prefers_ptb_when_present(tmp_path: Path) -> None:
    offline = language_model_setup(None)
    assert (offline.model, offline.dataset) == ("lstm_lm", "pydoc")
    assert offline.model_kwargs["vocab_size"] == offline.dataset_kwargs["vocab_size"] == LSTM_VOCAB
    assert language_model_setup(tmp_path).dataset == "pydoc"  # no PTB files there
    for name in PTB_FILES.values():
        (tmp_path / name).write_text("a b c\nb c a\n", encoding="utf-8")
    ptb = language_model_setup(tmp_path)
    assert ptb.dataset == "ptb"
    assert "root" not in ptb.dataset_kwargs  # the context passes --data-root to the loaders
    bundle = load_dataset("ptb", root=tmp_path, **{**ptb.dataset_kwargs, "bptt": 2})
    assert bundle.num_classes <= ptb.model_kwargs["vocab_size"]
    tier = lstm_tier(tmp_path)
    assert all(tier.setups[role] == ptb for role in ROLES)
    assert tier.probe_examples == 200
    assert tier.grad_clip is not None


# ---------------------------------------------------------------- LSTM data and its baseline


def test_unigram_perplexity_known_answer() -> None:
    train_tokens = torch.tensor([0, 0, 1])
    # add-one: p(0) = 3/6, p(1) = 2/6, p(2) = 1/6 over V = 3
    expected = math.exp(-(math.log(3 / 6) + math.log(2 / 6) + math.log(1 / 6)) / 3)
    assert unigram_perplexity(train_tokens, torch.tensor([[0, 1, 2]]), 3) == pytest.approx(expected)
    # a uniform training stream gives perplexity V on anything
    uniform = torch.arange(5).repeat(20)
    assert unigram_perplexity(uniform, torch.tensor([4, 4, 1]), 5) == pytest.approx(5.0)
    with pytest.raises(ValueError, match=r"heldout_tokens must hold ids in \[0, 3\)"):
        unigram_perplexity(train_tokens, torch.tensor([3]), 3)
    with pytest.raises(ValueError, match="at least one held-out token"):
        unigram_perplexity(train_tokens, torch.tensor([], dtype=torch.int64), 3)


def test_offline_corpus_for_the_lstm() -> None:
    setup = language_model_setup(None)
    bundle = load_dataset(setup.dataset, **setup.dataset_kwargs)
    vocab = bundle.meta["vocab"]
    assert bundle.num_classes == setup.model_kwargs["vocab_size"] == LSTM_VOCAB == len(vocab)
    assert {"(", ".", ":", "N", "def"} <= set(vocab)  # punctuation and numbers are tokens
    assert bundle.meta["train_tokens"] > 100_000
    assert bundle.train_x.shape[1] == 35
    assert bundle.meta["unigram_perplexity"] == pytest.approx(
        unigram_perplexity(bundle.train_y, bundle.test_y, LSTM_VOCAB)
    )
    assert 50 < bundle.meta["unigram_perplexity"] < 200


# ---------------------------------------------------------------- smoke runs of every new setup


def tiny(bundle_like: DataBundle | None, shape: tuple[int, ...], classes: int) -> DataBundle:
    """A few random examples of ``shape`` (or the first ones of ``bundle_like``)."""
    if bundle_like is not None:
        return dataclasses.replace(
            bundle_like,
            train_x=bundle_like.train_x[:24],
            train_y=bundle_like.train_y[:24],
            test_x=bundle_like.test_x[:8],
            test_y=bundle_like.test_y[:8],
        )
    g = torch.Generator().manual_seed(0)
    return DataBundle(
        "tiny",
        torch.randn(24, *shape, generator=g),
        torch.randint(0, classes, (24,), generator=g),
        torch.randn(8, *shape, generator=g),
        torch.randint(0, classes, (8,), generator=g),
        classes,
        "classification",
    )


@pytest.mark.parametrize(
    ("role", "optimizer"),
    [("bn", "heun"), ("nobn", "sgd"), ("conv_bn", "adam_rk2"), ("conv_nobn", "adam")],
)
def test_fashion_setups_train(role: str, optimizer: str, tmp_path: Path) -> None:
    config = PRESETS["fashion_demo"].config(role, optimizer, seed=0, epochs=1, batch_size=8)
    result = train(config, tmp_path, data=tiny(None, (3, 32, 32), 10), progress=False)
    assert [h["epoch"] for h in result.history] == [0, 1]
    assert all(math.isfinite(h["train_loss"]) for h in result.history)
    assert any(not torch.equal(result.init_state[k], v) for k, v in result.final_state.items())


def test_lstm_tier_trains(tmp_path: Path) -> None:
    tier = lstm_tier(None)
    setup = tier.setups["bn"]
    data = tiny(load_dataset(setup.dataset, **setup.dataset_kwargs), (), 0)
    config: TrainConfig = tier.config("bn", "adam_rk2", seed=0, epochs=1, batch_size=8)
    assert config.grad_clip == tier.grad_clip
    result = train(config, tmp_path, data=data, progress=False)
    first, last = result.history[0]["train_loss"], result.history[-1]["train_loss"]
    assert first == pytest.approx(math.log(LSTM_VOCAB), rel=0.05)  # uniform at init
    assert last < first


@pytest.mark.slow
def test_lstm_learns_the_offline_corpus_with_adam(tmp_path: Path) -> None:
    """The tier's claim: with Adam the LSTM reaches ≤ 0.3× the unigram perplexity (minutes)."""
    tier = lstm_tier(None)
    setup = tier.setups["bn"]
    data = load_dataset(setup.dataset, **setup.dataset_kwargs)
    result = train(tier.config("bn", "adam", seed=0), tmp_path, data=data, progress=False)
    perplexity = math.exp(result.history[-1]["test_loss"])
    assert perplexity <= 0.3 * data.meta["unigram_perplexity"]
