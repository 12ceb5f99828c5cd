"""Presets: the scale at which every experiment runs (``smoke``, ``cpu``, ``paper``).

A :class:`Preset` names the models and data sets (by *role*), the optimizers and their learning
rates, the epochs, the number of seeds and the resolution of every probe. Experiments never hold a
number of their own: they read it here, so one code path runs at every scale.

Roles
    ``bn``        the main network, with batch normalization (Table 1, Figures 2–7, 9, 10)
    ``nobn``      the same network without batch normalization (Table 2, Figure 8)
    ``conv_bn``   a NIN with BN for the exotic initialisations (Figure 11)
    ``conv_nobn`` the same NIN without BN

Seeds
    Seed ``s`` fixes both the initial weights (``init_seed = s``) and the minibatch order
    (``data_seed = s``), so every optimizer of a comparison starts from the same θ_0 and sees the
    same minibatches; restarts of an optimizer (Figures 4–6) use seeds ``0 … seeds-1``.

Learning rates
    Chosen per (role, optimizer) from ``lr_grid`` (the paper's §3.4 grids: {0.2, 0.1, 0.05, 0.01}
    for SGD, {0.002, 0.001, 0.0005, 0.0001} for adaptive methods, doubled for the Runge–Kutta
    variants; Adadelta η = 1) by pilot runs of ``pilot_fraction`` of the role's epochs
    (:mod:`paper_repro.pilot`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .optimizers import OPTIMIZERS, PAPER_LR_GRID
from .preset import EXOTIC_ROLES, ROLES, Preset, Setup, YuMorozov, json_ready
from .tiers import (
    FASHION_NIN_WIDTH,
    FASHION_OPTIMIZERS,
    FASHION_TEST_SIZE,
    FASHION_TRAIN_SIZE,
    FASHION_VGG_WIDTH,
    LSTM_VOCAB,
    PTB_VOCAB,
    fashion_presets,
    fashion_setup,
    language_model_setup,
    lstm_preset,
)

_ALL_NINE = OPTIMIZERS
_RK_COMPARISON: tuple[tuple[str, str, float], ...] = (
    ("sgd", "sgd", 1.0),
    ("sgd x2", "sgd", 2.0),
    ("midpoint", "midpoint", 1.0),
    ("heun", "heun", 1.0),
    ("ralston", "ralston", 1.0),
    ("adam", "adam", 1.0),
    ("adam_rk2", "adam_rk2", 1.0),
)
_EXOTIC = ("default", "normal(-10,0.01)", "normal(-1,1)")
_BASIN_PAIRS = (("sgd", "adam"), ("heun", "adam_rk2"))
_QUAD = ("sgd", "adam", "heun", "rmsprop")


def _mnist1d(num_samples: int) -> dict[str, Any]:
    return {"num_samples": num_samples, "train_split": 0.8}


def _small_setups(
    model_kwargs: Mapping[str, Any], data: Mapping[str, Any], nin: float | None
) -> dict[str, Setup]:
    """Roles of the reduced presets; ``nin`` = NIN width for Figure 11 (None: the 1-D CNN)."""

    def small(bn: bool) -> Setup:
        kw = {**model_kwargs, "batchnorm": bn}
        return Setup("cnn1d", kw, "mnist1d", data, f"1-D CNN {kw} on MNIST-1D {dict(data)}")

    def conv(bn: bool) -> Setup:
        if nin is None:
            return small(bn)
        kw = {"width": nin, "batchnorm": bn, "dropout": nin}
        return Setup("nin", kw, "digits", {"image_size": 32}, f"NIN {kw} on 8×8 digits at 32×32")

    return {
        "bn": small(True),
        "nobn": small(False),
        "conv_bn": conv(True),
        "conv_nobn": conv(False),
    }


_REDUCED_DEVIATIONS = (
    "Data: MNIST-1D (generated offline by mnist1d.make_dataset) instead of CIFAR-10; Figure 11 "
    "uses scikit-learn's 8×8 digits resized to 3×32×32 instead of CIFAR-10.",
    "Models: a 1-D CNN (with/without BN) stands in for NIN/VGG; Figure 11 uses NIN at reduced "
    "width with its dropout rates scaled by the same factor (the published rates stop narrow "
    "networks from learning).",
    "Epochs and seeds reduced (see the preset table); learning rates chosen from the paper's "
    "grids by pilot runs of a quarter of the epochs on seed 0 (the paper does not say how it "
    "chose); no weight decay; Figure 11 uses batch 32 so the small NIN gets enough steps on "
    "1,438 training images, and 12 epochs (at 8 the default init without BN barely leaves "
    "chance, so Figure 11 would have no control).",
    "Loss surfaces and lines are evaluated on the first `probe_examples` training examples (the "
    "paper: the whole training set); BatchNorm statistics are re-estimated at every probed point.",
    "The LSTM/Penn Treebank experiments of the paper have no figure here (the figures analysed "
    "are the convolutional networks').",
    "Precision fp32 throughout (bf16 autocast is available via --precision bf16 but is not "
    "used: it is no faster on CPU and would perturb the loss-surface comparisons).",
)

_CPU = Preset(
    name="cpu",
    description="every experiment at reduced scale on offline data (the default main job)",
    setups=_small_setups({"channels": (16, 32)}, _mnist1d(5000), 0.125),
    epochs=20,
    exotic_epochs=12,
    batch_size=128,
    exotic_batch_size=32,
    lr_grid=PAPER_LR_GRID,
    seeds=3,
    optimizers=_ALL_NINE,
    quad=_QUAD,
    basin_pairs=_BASIN_PAIRS,
    switch_pair=("sgd", "adam"),
    switch_fractions=(0.25, 0.5, 0.75),
    rk_comparison=_RK_COMPARISON,
    exotic_inits=_EXOTIC,
    exotic_optimizer="sgd",
    resolution=9,
    line_steps=17,
    probe_examples=1000,
    basin_threshold=0.1,
    basin_reach=1.5,
    deviations=_REDUCED_DEVIATIONS,
    freeman_bruna_pairs=(("sgd", "sgd"), ("adam", "adam"), ("sgd", "adam"), ("heun", "adam_rk2")),
    freeman_bruna_margins=(1.0, 0.5, 0.25, 0.1),
    no_wrong_turns_seeds=2,
    no_wrong_turns_full_every=16,
    no_wrong_turns_full_examples=1000,
    no_wrong_turns_shuffled=("sgd", "adam"),
)
"""The default preset; ``smoke`` and ``paper`` are it with only their differences replaced
(rates, comparisons, switch pair, exotic inits and basin criterion are shared by all three)."""

PRESETS: dict[str, Preset] = {
    "smoke": dataclasses.replace(
        _CPU,
        name="smoke",
        description="every experiment end to end on tiny data (the pipeline's test)",
        setups=_small_setups({"channels": (4, 8)}, _mnist1d(400), None),
        epochs=2,
        exotic_epochs=1,
        batch_size=64,
        exotic_batch_size=64,
        seeds=2,
        optimizers=("sgd", "adam", "heun", "rmsprop"),
        basin_pairs=(("sgd", "adam"),),
        switch_fractions=(0.5,),
        resolution=5,
        line_steps=7,
        probe_examples=128,
        device="cpu",
        freeman_bruna_pairs=(("sgd", "sgd"), ("sgd", "adam")),
        freeman_bruna_margins=(1.0, 0.25),
        freeman_bruna_bead_steps=30,
        freeman_bruna_max_depth=2,
        table1_paths_pairs=1,
        table1_paths_fit_steps=10,
        no_wrong_turns_full_every=2,
        no_wrong_turns_full_examples=128,
        no_wrong_turns_shuffled=("sgd",),
        yu_morozov=YuMorozov(solutions=2, iterations=3, modes=1, fit_steps=2, points=3, probe=64),
        deviations=(
            *_REDUCED_DEVIATIONS,
            "Smoke scale: 400 examples, 2 epochs, 2 seeds, one switch point, 5×5 grids, and the "
            "1-D CNN also for Figure 11 — verdicts mean nothing.",
        ),
    ),
    "cpu": _CPU,
    "paper": dataclasses.replace(
        _CPU,
        name="paper",
        description="the paper's settings: VGG (NIN for Fig. 11) on CIFAR-10, batch 128, 200 "
        "epochs (GPU)",
        setups={
            "bn": Setup("vgg", {}, "cifar10", {}, "VGG-BN-drop (cifar.torch) on CIFAR-10"),
            "nobn": Setup("vgg", {"batchnorm": False}, "cifar10", {}, "VGG without BN on CIFAR-10"),
            "conv_bn": Setup("nin", {}, "cifar10", {}, "NIN (cifar.torch) with BN on CIFAR-10"),
            "conv_nobn": Setup(
                "nin", {"batchnorm": False}, "cifar10", {}, "NIN without BN on CIFAR-10"
            ),
        },
        epochs=200,
        exotic_epochs=200,
        exotic_batch_size=128,
        resolution=21,
        line_steps=41,
        probe_examples=10000,
        weight_decay=5e-4,
        freeman_bruna_pairs=(
            *(("sgd", "sgd"), ("adam", "adam"), ("heun", "heun")),
            *(("sgd", "adam"), ("heun", "adam_rk2"), ("sgd", "rmsprop")),
        ),
        freeman_bruna_margins=(2.0, 1.0, 0.5, 0.25, 0.1, 0.05),
        freeman_bruna_bead_steps=2000,
        freeman_bruna_max_depth=8,
        table1_paths_pairs=0,
        table1_paths_fit_steps=2000,
        no_wrong_turns_seeds=3,
        no_wrong_turns_full_every=400,
        no_wrong_turns_full_examples=10000,
        yu_morozov=YuMorozov(
            solutions=5, iterations=500, modes=10, fit_steps=1000, points=50, probe=0
        ),
        deviations=(
            "Learning rates chosen from the paper's grids by pilot runs of a quarter of the epochs "
            "on seed 0 (the paper does not say how it chose).",
            "Loss surfaces are evaluated on the first 10,000 training examples.",
            "The LSTM/Penn Treebank experiments of the paper have no figure here.",
        ),
    ),
}
"""The presets by name: smoke, cpu, paper, then the tiers (fashion, fashion_demo, lstm)."""
PRESETS.update(fashion_presets(_CPU))


def lstm_tier(data_root: str | Path | None = None) -> Preset:
    """The LSTM tier (:func:`paper_repro.tiers.lstm_preset`) derived from the cpu preset: on Penn
    Treebank when ``data_root`` holds it, otherwise on the offline corpus."""
    return lstm_preset(_CPU, data_root)


PRESETS["lstm"] = lstm_tier()


def get_preset(
    name: str,
    *,
    seeds: int | None = None,
    device: str | None = None,
    precision: str | None = None,
    data_root: str | Path | None = None,
) -> Preset:
    """Preset ``name`` with the command-line overrides applied. Where the data files live is not
    part of a preset (nor of any run's key; see ``experiments.Context.data_root``) except for the
    ``lstm`` tier, whose corpus (and so vocabulary) is Penn Treebank when ``data_root`` holds it."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    preset = lstm_tier(data_root) if name == "lstm" else PRESETS[name]
    changes: dict[str, Any] = {}
    if seeds is not None:
        changes["seeds"] = seeds
    if device is not None:
        changes["device"] = device
    if precision is not None:
        changes["precision"] = precision
    return dataclasses.replace(preset, **changes) if changes else preset


__all__ = [
    "EXOTIC_ROLES",
    "FASHION_NIN_WIDTH",
    "FASHION_OPTIMIZERS",
    "FASHION_TEST_SIZE",
    "FASHION_TRAIN_SIZE",
    "FASHION_VGG_WIDTH",
    "LSTM_VOCAB",
    "PRESETS",
    "PTB_VOCAB",
    "ROLES",
    "Preset",
    "Setup",
    "fashion_setup",
    "get_preset",
    "json_ready",
    "language_model_setup",
    "lstm_tier",
]
