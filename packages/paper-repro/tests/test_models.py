"""Models: published parameter counts, shapes, width/BN/dropout knobs, init, registry errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from paper_repro.models import (
    MODELS,
    build_model,
    cnn1d,
    count_parameters,
    lstm_lm,
    mlp,
    nin,
    vgg,
)

NIN_CONVS = [(192, 5), (160, 1), (96, 1), (192, 5), (192, 1), (192, 1), (192, 3), (192, 1)]
VGG_CHANNELS = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]


def conv_params(c_in: int, c_out: int, k: int, bn: bool) -> int:
    return c_in * c_out * k * k + c_out + (2 * c_out if bn else 0)


def expected_nin(width: float, bn: bool, classes: int = 10) -> int:
    total, c_in = 0, 3
    for c, k in NIN_CONVS:
        c_out = max(1, round(c * width))
        total += conv_params(c_in, c_out, k, bn)
        c_in = c_out
    return total + conv_params(c_in, classes, 1, bn)


def expected_vgg(width: float, bn: bool, classes: int = 10) -> int:
    total, c_in = 0, 3
    for c in VGG_CHANNELS:
        c_out = max(1, round(c * width))
        total += conv_params(c_in, c_out, 3, bn)
        c_in = c_out
    hidden = max(1, round(512 * width))
    return total + c_in * hidden + hidden + (2 * hidden if bn else 0) + hidden * classes + classes


def dropout_rates(model: nn.Module) -> list[float]:
    return [m.p for m in model.modules() if isinstance(m, nn.Dropout)]


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


@pytest.mark.parametrize(
    ("model", "count"),
    [
        (lambda: nin(), 969_822),
        (lambda: vgg(), 14_991_946),
        (lambda: lstm_lm(10_000), 4_653_200),
    ],
    ids=["nin", "vgg", "lstm_lm"],
)
def test_published_parameter_counts(model, count) -> None:
    assert count_parameters(model()) == count


def test_count_parameters_of_a_known_module() -> None:
    assert count_parameters(nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))) == 3 * 2 + 2 + 2 * 2


@pytest.mark.parametrize("width", [0.25, 0.5, 1.5])
@pytest.mark.parametrize("bn", [True, False])
def test_width_and_batchnorm_parameter_counts(width: float, bn: bool) -> None:
    assert count_parameters(nin(width=width, batchnorm=bn)) == expected_nin(width, bn)
    if width <= 0.5:
        assert count_parameters(vgg(width=width, batchnorm=bn)) == expected_vgg(width, bn)


def test_width_scales_channels_but_not_the_output() -> None:
    convs = [m for m in nin(width=0.5, num_classes=7).modules() if isinstance(m, nn.Conv2d)]
    assert [m.out_channels for m in convs] == [c // 2 for c, _ in NIN_CONVS] + [7]
    model = vgg(width=0.25, num_classes=7)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [m.out_channels for m in convs] == [c // 4 for c in VGG_CHANNELS]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(128, 128), (128, 7)]


def test_shapes_of_every_model() -> None:
    x = torch.randn(2, 3, 32, 32)
    for model in (nin(width=0.1), vgg(width=0.0625), nin(width=0.1, batchnorm=False)):
        for train in (True, False):
            model.train(train)
            assert model(x).shape == (2, 10)
    grey = torch.randn(2, 1, 32, 32)
    assert nin(width=0.1, in_channels=1, num_classes=4)(grey).shape == (2, 4)
    assert vgg(width=0.0625, in_channels=1, num_classes=4)(grey).shape == (2, 4)
    assert mlp()(torch.randn(2, 40)).shape == (2, 10)
    assert mlp(in_features=64, hidden=(8,), batchnorm=True)(torch.randn(2, 8, 8)).shape == (2, 10)
    assert cnn1d()(torch.randn(2, 40)).shape == (2, 10)
    assert cnn1d(in_length=41, channels=(4, 4, 4))(torch.randn(2, 41)).shape == (2, 10)
    assert lstm_lm(50, emb=8, hidden=6)(torch.randint(0, 50, (2, 7))).shape == (2, 7, 50)


def test_full_size_models_run_on_a_tiny_batch() -> None:
    x = torch.randn(2, 3, 32, 32)
    for model in (nin(), vgg()):
        assert model.eval()(x).shape == (2, 10)


@pytest.mark.parametrize("name", ["nin", "vgg", "mlp", "cnn1d"])
def test_batchnorm_switch(name: str) -> None:
    small = {"nin": {"width": 0.1}, "vgg": {"width": 0.0625}}.get(name, {})
    assert has_batchnorm(build_model(name, batchnorm=True, **small))
    assert not has_batchnorm(build_model(name, batchnorm=False, **small))


def test_vgg_batchnorm_eps_is_cifar_torch() -> None:
    bns = [m for m in vgg(width=0.0625).modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert len(bns) == 14
    assert all(m.eps == 1e-3 for m in bns)


def test_dropout_scales_the_published_rates() -> None:
    published = [0.3] + [0.4] * 7 + [0.5, 0.5]
    assert dropout_rates(vgg(width=0.0625)) == pytest.approx(published)
    assert dropout_rates(vgg(width=0.0625, dropout=0.5)) == pytest.approx(
        [p / 2 for p in published]
    )
    assert dropout_rates(nin(width=0.1)) == [0.5, 0.5]
    assert dropout_rates(nin(width=0.1, dropout=0.2)) == pytest.approx([0.1, 0.1])
    assert dropout_rates(vgg(width=0.0625, dropout=0)) == []
    assert dropout_rates(nin(width=0.1, dropout=0)) == []


def test_dropout_does_not_rename_parameters() -> None:
    torch.manual_seed(0)
    a = vgg(width=0.0625).state_dict()
    torch.manual_seed(0)
    b = vgg(width=0.0625, dropout=0).state_dict()
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("bad", [-0.1, 2.0, float("nan")])
def test_bad_dropout_scale_is_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="dropout"):
        vgg(width=0.0625, dropout=bad)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"width": 0}, "width"),
        ({"width": float("inf")}, "width"),
        ({"in_channels": 0}, "in_channels"),
        ({"num_classes": 0}, "num_classes"),
    ],
)
def test_bad_conv_arguments(kwargs: dict[str, float], match: str) -> None:
    for factory in (nin, vgg):
        with pytest.raises(ValueError, match=match):
            factory(**kwargs)


def test_wrong_input_shapes_are_named() -> None:
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 32\), got \(2, 3, 28, 28\)"):
        nin(width=0.1)(torch.randn(2, 3, 28, 28))
    with pytest.raises(ValueError, match=r"\(B, 1, 32, 32\)"):
        vgg(width=0.0625, in_channels=1)(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match="40 features"):
        mlp()(torch.randn(2, 41))
    with pytest.raises(ValueError, match=r"\(B, 40\)"):
        cnn1d()(torch.randn(2, 2, 40))
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        lstm_lm(10, emb=4, hidden=4)(torch.randn(2, 3))


def test_cnn1d_accepts_flat_and_channel_inputs() -> None:
    model = cnn1d().eval()
    x = torch.randn(3, 40)
    torch.testing.assert_close(model(x), model(x.unsqueeze(1)), rtol=0, atol=0)


def test_msr_initialisation() -> None:
    torch.manual_seed(0)
    model = vgg()
    conv = model.features.conv4_1.conv  # 512 → 512, 3×3: 2.4M weights
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (9 * 512)), rel=0.01)
    assert abs(conv.weight.mean().item()) < 1e-3
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            assert torch.count_nonzero(m.bias) == 0
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            assert torch.all(m.weight == 1)
            assert torch.count_nonzero(m.bias) == 0


def test_lstm_initialisation_and_dropout() -> None:
    model = lstm_lm(1000, dropout=0.25)
    assert model.encoder.weight.abs().max() <= 0.1
    assert model.decoder.weight.abs().max() <= 0.1
    assert torch.count_nonzero(model.decoder.bias) == 0
    assert model.rnn.dropout == 0.25
    assert dropout_rates(model) == [0.25]
    with pytest.raises(ValueError, match="dropout"):
        lstm_lm(10, dropout=1.0)


def test_lstm_is_causal_and_stateless() -> None:
    torch.manual_seed(0)
    model = lstm_lm(30, emb=8, hidden=6).double()
    tokens = torch.randint(0, 30, (2, 9))
    full = model(tokens)
    torch.testing.assert_close(model(tokens[:, :4]), full[:, :4], rtol=0, atol=1e-12)
    torch.testing.assert_close(model(tokens), full, rtol=0, atol=0)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_parameter_gets_a_gradient(name: str) -> None:
    torch.manual_seed(0)
    kwargs: dict[str, object] = {
        "nin": {"width": 0.1},
        "vgg": {"width": 0.0625},
        "lstm_lm": {"vocab_size": 20, "emb": 4, "hidden": 5},
    }.get(name, {})
    model = build_model(name, **kwargs)
    if name == "lstm_lm":
        x = torch.randint(0, 20, (2, 5))
    elif name in ("nin", "vgg"):
        x = torch.randn(2, 3, 32, 32)
    else:
        x = torch.randn(2, 40)
    model(x).square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_registry_errors_list_the_known_names() -> None:
    with pytest.raises(ValueError, match=r"unknown model 'resnet'.*cnn1d, lstm_lm, mlp, nin, vgg"):
        build_model("resnet")
    with pytest.raises(TypeError, match=r"wdth.*width"):
        build_model("nin", wdth=0.5)
    assert count_parameters(build_model("mlp", hidden=(3,))) == 40 * 3 + 3 + 3 * 10 + 10


@pytest.mark.parametrize("name", ["nin", "vgg", "mlp", "cnn1d"])
def test_feedforward_models_vmap_over_weight_sets(name: str) -> None:
    """The surface probes evaluate many weight vectors at once with functional_call + vmap."""
    from torch.func import functional_call, vmap

    torch.manual_seed(0)
    small = {"nin": {"width": 0.1}, "vgg": {"width": 0.0625}}.get(name, {})
    model = build_model(name, **small).double().eval()
    x = torch.randn(3, 3, 32, 32) if name in ("nin", "vgg") else torch.randn(3, 40)
    x = x.double()
    buffers = dict(model.named_buffers())
    stacked = {k: torch.stack([v, v + 0.01]) for k, v in model.named_parameters()}
    out = vmap(lambda p: functional_call(model, (p, buffers), (x,)))(stacked)
    for i in range(2):
        single = {k: v[i] for k, v in stacked.items()}
        expected = functional_call(model, (single, buffers), (x,))
        torch.testing.assert_close(out[i], expected, rtol=1e-10, atol=1e-10)
