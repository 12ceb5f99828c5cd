"""Parameters whose storage other tensors share (cached views, flat buffers) see every probe point.

While the closure runs at a probe point, a parameter is normally backed by a scratch buffer; a
tensor that shares the parameter's storage (a view cached at construction, a flat buffer the
parameters are views of) must still read θ_i, as with a Runge–Kutta step written by hand.
"""

import pytest
import torch
from torch import nn

from rk_optim import Heun

LR = 0.1


class CachedView(nn.Module):
    """Uses half of its weight through a view taken once, at construction."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(4, 8, dtype=torch.float64))
        self.half = self.weight[:, :4]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x @ self.weight[:, 4:]) @ self.half


class FlatBuffer(nn.Module):
    """Parameters are views of one flat tensor, which the forward pass reads."""

    def __init__(self) -> None:
        super().__init__()
        self.flat = torch.randn(32, dtype=torch.float64)
        self.w1 = nn.Parameter(self.flat[:16].view(4, 4))
        self.w2 = nn.Parameter(self.flat[16:].view(4, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w1, w2 = self.flat.view(2, 4, 4)
        return torch.tanh(x @ (w1 + 0 * self.w1)) @ (w2 + 0 * self.w2)


def loss_closure(model: nn.Module, fail_at: int | None = None):
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(8, 4, generator=g, dtype=torch.float64), torch.randn(8, 4, generator=g)
    calls = []

    def closure() -> torch.Tensor:
        calls.append(1)
        if len(calls) == fail_at:
            raise KeyError("loader broke")
        for p in model.parameters():
            p.grad = None
        loss = ((model(x) - y.double()) ** 2).mean()
        loss.backward()
        return loss

    return closure


def heun_by_hand(model: nn.Module, closure) -> None:
    """θ ← θ − lr (g(θ) + g(θ − lr g(θ))) / 2, writing the probe point into θ itself."""
    params = list(model.parameters())
    closure()
    g1 = [p.grad.clone() for p in params]
    theta = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, g in zip(params, g1, strict=True):
            p.sub_(LR * g)
    closure()
    with torch.no_grad():
        for p, t, a, b in zip(params, theta, g1, [p.grad for p in params], strict=True):
            p.copy_(t - LR * (a + b) / 2)


@pytest.mark.parametrize("module", [CachedView, FlatBuffer])
@pytest.mark.parametrize("foreach", [False, True])
def test_shared_storage_sees_the_probe_point(module, foreach: bool) -> None:
    torch.manual_seed(0)
    model = module()
    torch.manual_seed(0)
    reference = module()
    opt = Heun(model.parameters(), lr=LR, foreach=foreach)
    storage = [p.data_ptr() for p in model.parameters()]
    for _ in range(2):
        opt.step(loss_closure(model))
        heun_by_hand(reference, loss_closure(reference))
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-15)
    assert [p.data_ptr() for p in model.parameters()] == storage


@pytest.mark.parametrize("foreach", [False, True])
def test_shared_storage_restored_when_the_probe_closure_raises(foreach: bool) -> None:
    torch.manual_seed(0)
    model = FlatBuffer()
    opt = Heun(model.parameters(), lr=LR, foreach=foreach)
    before = model.flat.clone()
    with pytest.raises(KeyError, match="loader broke"):
        opt.step(loss_closure(model, fail_at=2))
    assert torch.equal(model.flat, before)
    assert all(p.grad is None for p in model.parameters())


class Recurrent(nn.Module):
    """nn.LSTM keeps its parameters in ``_flat_weights``."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 4, batch_first=True).double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lstm(x.unsqueeze(1))[0].squeeze(1)


class Parametrized(nn.Module):
    """weight = g v / ‖v‖ recomputed from its parametrization at every forward pass."""

    def __init__(self) -> None:
        super().__init__()
        linear = nn.Linear(4, 4).double()
        self.linear = nn.utils.parametrizations.weight_norm(linear)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.tanh(self.linear(x)))


def halve_grad(p: torch.Tensor) -> None:
    assert p.grad is not None
    p.grad.mul_(0.5)


class Hooked(nn.Module):
    """Gradient hooks on the parameters rescale the stage gradients."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4).double()
        self.linear.weight.register_hook(lambda g: 2 * g)
        self.linear.bias.register_post_accumulate_grad_hook(halve_grad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.tanh(self.linear(x)))


@pytest.mark.parametrize("module", [Recurrent, Parametrized, Hooked])
def test_modules_that_hold_their_parameters_match_heun_by_hand(module) -> None:
    torch.manual_seed(0)
    model = module()
    torch.manual_seed(0)
    reference = module()
    opt = Heun(model.parameters(), lr=LR)
    for _ in range(2):
        opt.step(loss_closure(model))
        heun_by_hand(reference, loss_closure(reference))
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-15)
    scratch = {b.untyped_storage().data_ptr() for s in opt._scratch.values() for b in s.values()}
    held = [t for m in model.modules() for t in vars(m).get("_flat_weights", [])]
    assert all(t.untyped_storage().data_ptr() not in scratch for t in held)
