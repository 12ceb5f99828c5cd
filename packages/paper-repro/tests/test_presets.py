"""Presets: every experiment's training configs build, runs are shared, seeds fix init and data,
and the paper preset instantiates the paper's networks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from paper_repro.data import MissingDataError
from paper_repro.experiments import EXPERIMENTS, Context
from paper_repro.experiments.context import map_plan
from paper_repro.experiments.fig7 import CONTROL_DATA_SEED
from paper_repro.models import count_parameters
from paper_repro.optimizers import PAPER_LR_GRID
from paper_repro.presets import PRESETS, ROLES, get_preset
from paper_repro.train import TrainConfig, build_initial_model


def planned_configs(preset_name: str, tmp_path: Path) -> dict[str, list[TrainConfig]]:
    """The configs each experiment plans, collected without training (the pilots are replaced
    by each grid's first rate)."""
    ctx = Context(preset=get_preset(preset_name), out_dir=tmp_path)
    ctx.rate = lambda role, opt: ctx.preset.lr_grid[opt][0]  # type: ignore[method-assign]
    plan: dict[str, list[TrainConfig]] = {}
    for name, exp in EXPERIMENTS.items():
        recorded: list[TrainConfig] = []
        map_plan(exp.plan(ctx), recorded.append)
        plan[name] = recorded
    return plan


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_experiment_plans_valid_configs(name: str, tmp_path: Path) -> None:
    plan = planned_configs(name, tmp_path)
    assert set(plan) == set(EXPERIMENTS)
    configs = [c for cs in plan.values() for c in cs]
    assert all(cs for cs in plan.values()), "every experiment trains something"
    keys = {c.key() for c in configs}
    assert len(keys) < len(configs), "runs are shared between experiments"
    for c in configs:
        assert TrainConfig.from_dict(c.to_dict()).key() == c.key()
        # same init and minibatch order per seed; Figure 7's control reorders the minibatches
        assert c.data_seed in (c.init_seed, c.init_seed + CONTROL_DATA_SEED)
    if name != "paper":  # building 200 full NINs is slow; the paper models are checked below
        for c in {(c.model, repr(c.model_kwargs)): c for c in configs}.values():
            assert count_parameters(build_initial_model(c)) > 0


def test_optimizers_of_a_comparison_share_init_and_data(tmp_path: Path) -> None:
    table1 = planned_configs("cpu", tmp_path)["table1"]
    assert {c.schedule for c in table1} == set(PRESETS["cpu"].optimizers)
    assert {(c.init_seed, c.data_seed, c.epochs, c.batch_size) for c in table1} == {
        (0, 0, PRESETS["cpu"].epochs, PRESETS["cpu"].batch_size)
    }


def test_learning_rates_are_tried_on_the_paper_grids() -> None:
    for name, preset in PRESETS.items():
        if name == "lstm":  # Adam and Adam&RK2 fixed at one rate of the paper's grid
            assert all(set(g) <= set(PAPER_LR_GRID[o]) for o, g in preset.lr_grid.items())
        else:
            assert preset.lr_grid == PAPER_LR_GRID
    grid = PRESETS["cpu"].lr_grid
    assert grid["sgd"] == (0.2, 0.1, 0.05, 0.01)
    assert grid["adam"] == (0.002, 0.001, 0.0005, 0.0001)
    assert grid["heun"] == tuple(2 * x for x in grid["sgd"])
    assert grid["adam_rk2"] == tuple(2 * x for x in grid["adam"])


def test_cpu_preset_judges_on_spreads() -> None:
    cpu = PRESETS["cpu"]
    assert cpu.seeds >= 3
    assert set(cpu.optimizers) == set(PAPER_LR_GRID)  # all nine optimizers
    assert cpu.setups["bn"].model_kwargs["batchnorm"] is True
    assert cpu.setups["nobn"].model_kwargs["batchnorm"] is False
    assert cpu.setups["conv_bn"].model == "nin"


def test_paper_preset_uses_the_paper_networks() -> None:
    paper = PRESETS["paper"]
    assert (paper.epochs, paper.batch_size) == (200, 128)
    counts = {"bn": 14_991_946, "conv_bn": 969_822}
    for role, count in counts.items():
        model = build_initial_model(paper.config(role, "sgd", seed=0, lr=None))
        assert count_parameters(model) == count
    for role in ("nobn", "conv_nobn"):
        model = build_initial_model(paper.config(role, "sgd", seed=0, lr=None))
        assert not any("BatchNorm" in type(m).__name__ for m in model.modules())
    assert {s.dataset for s in paper.setups.values()} == {"cifar10"}


def test_paper_data_missing_gives_a_clear_error(tmp_path: Path) -> None:
    ctx = Context(preset=get_preset("paper"), out_dir=tmp_path)
    with pytest.raises(MissingDataError, match="cifar10 needs the directory"):
        ctx.data("bn")
    ctx = Context(preset=get_preset("paper"), out_dir=tmp_path, data_root=tmp_path / "nope")
    with pytest.raises(MissingDataError, match="CIFAR-10 not found"):
        ctx.data("bn")


def test_overrides_and_errors() -> None:
    p = get_preset("cpu", seeds=5, device="cpu", precision="bf16")
    assert (p.seeds, p.device, p.precision) == (5, "cpu", "bf16")
    assert p.config("bn", "adam", seed=1).precision == "bf16"
    assert all("root" not in s.dataset_kwargs for s in get_preset("paper").setups.values())
    with pytest.raises(ValueError, match="unknown preset 'gpu'; presets: smoke, cpu, paper"):
        get_preset("gpu")
    with pytest.raises(ValueError, match="unknown role 'main'"):
        PRESETS["cpu"].config("main", "sgd", seed=0)
    assert set(ROLES) <= set(PRESETS["smoke"].setups)
    with pytest.raises(ValueError, match=r"unknown optimizers \['lbfgs'\]"):
        dataclasses.replace(PRESETS["smoke"], optimizers=("sgd", "lbfgs"))
    with pytest.raises(ValueError, match="switch fractions"):
        dataclasses.replace(PRESETS["smoke"], switch_fractions=(0.1,))
