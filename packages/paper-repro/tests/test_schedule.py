"""Schedule parsing (``sgd:100,adam:100`` …) and weight initialisation schemes."""

from __future__ import annotations

import pytest
import torch

from paper_repro.inits import init_weights, parse_init
from paper_repro.models import build_model
from paper_repro.schedule import Phase, parse_schedule, phase_index


def test_parse_paper_schedules() -> None:
    assert parse_schedule("sgd:100,adam:100") == [Phase("sgd", 100), Phase("adam", 100)]
    assert parse_schedule("heun", 7) == [Phase("heun", 7)]
    assert parse_schedule(" sgd@0.1:50 , adam@1e-3:50 ", 100) == [
        Phase("sgd", 50, 0.1),
        Phase("adam", 50, 0.001),
    ]
    assert parse_schedule("sgdm:25,adam", 100) == [Phase("sgdm", 25), Phase("adam", 75)]


def test_phase_index() -> None:
    phases = parse_schedule("sgd:2,adam:3")
    assert [phase_index(phases, e) for e in range(1, 6)] == [0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="past the schedule"):
        phase_index(phases, 6)


@pytest.mark.parametrize(
    ("spec", "epochs", "match"),
    [
        ("sgd:100,adam:100", 150, "covers 200 epochs but the run has epochs=150"),
        ("sdg:10", None, "unknown optimizer 'sdg'"),
        ("sgd:0", None, "epochs must be a positive int"),
        ("sgd:x", None, "epochs must be a positive int"),
        ("sgd@fast:10", None, "learning rate 'fast'"),
        ("sgd@-1:10", None, "learning rate must be positive"),
        ("sgd,adam", 10, "only one phase may omit"),
        ("heun", None, "pass epochs="),
        ("sgd:10,adam", 10, "leaving none"),
        ("", 10, "schedule must be a string"),
        ("sgd:5,,adam:5", 10, "empty optimizer name"),
    ],
)
def test_bad_schedules_raise(spec: str, epochs: int | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_schedule(spec, epochs)


@pytest.mark.parametrize(
    ("scheme", "mean", "std"), [("normal(-10,0.01)", -10.0, 0.01), ("normal(-1,1)", -1.0, 1.0)]
)
def test_normal_init_draws_every_parameter(scheme: str, mean: float, std: float) -> None:
    model = build_model("mlp", in_features=40, num_classes=10, hidden=(200,), batchnorm=True)
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    init_weights(model, scheme, seed=3)
    flat = torch.cat([p.detach().flatten() for p in model.parameters()]).double()
    assert flat.numel() > 10_000
    assert abs(flat.mean().item() - mean) < 4 * std / flat.numel() ** 0.5 + 1e-12
    assert abs(flat.std().item() / std - 1) < 0.03
    for name, p in model.named_parameters():  # BN affine γ, β included
        assert abs(p.detach().double().mean().item() - mean) < 6 * std, name
    for k, v in model.named_buffers():  # running statistics untouched
        assert torch.equal(v, buffers[k]), k
    again = build_model("mlp", in_features=40, num_classes=10, hidden=(200,), batchnorm=True)
    init_weights(again, scheme, seed=3)
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters(), strict=True)
    )


def test_default_init_leaves_model_alone_and_bad_schemes_raise() -> None:
    model = build_model("mlp", in_features=4, num_classes=2, hidden=(3,))
    before = [p.detach().clone() for p in model.parameters()]
    init_weights(model, "default", seed=0)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert parse_init("normal( 0.5 , 2e-1 )") == (0.5, 0.2)
    for bad in ("uniform(0,1)", "normal(0)", "normal(0,-1)", "normal(0,0)", "xavier"):
        with pytest.raises(ValueError, match="init scheme"):
            init_weights(model, bad, seed=0)
