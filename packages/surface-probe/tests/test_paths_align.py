"""Permutation alignment: hidden-unit relabellings are undone exactly, trained networks align."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn

import surface_probe as sp
from surface_probe.paths._groups import find_groups
from surface_probe.paths.align import _permute

from ._nets import conv_bn, mlp, residual


def _relabelled(net: nn.Module, seed: int) -> nn.Module:
    """A copy of ``net`` whose hidden units are randomly permuted (the same function)."""
    groups = find_groups(net)
    gen = torch.Generator().manual_seed(seed)
    perms = {g: torch.randperm(groups.sizes[g], generator=gen) for g in groups.free()}
    assert any(not torch.equal(p, torch.arange(p.numel())) for p in perms.values())
    state = {k: v.clone() for k, v in net.state_dict().items()}
    for name, axes in groups.resolved().items():
        state[name] = _permute(state[name], axes, perms)
    other = copy.deepcopy(net)
    other.load_state_dict(state)
    return other.eval()


CASES: list[tuple[Callable[[], nn.Module], tuple[int, ...]]] = [
    (mlp, (10, 4)),
    (conv_bn, (10, 1, 8, 8)),
    (residual, (10, 4)),
]


@pytest.mark.parametrize(("make", "shape"), CASES, ids=["mlp", "conv_bn", "residual"])
def test_alignment_recovers_a_random_relabelling(
    make: Callable[[], nn.Module], shape: tuple[int, ...]
) -> None:
    net = make().eval()
    other = _relabelled(net, seed=3)
    x = torch.randn(*shape, dtype=torch.float64)
    y = torch.randint(0, 3, (shape[0],))
    before = {k: v.clone() for k, v in other.state_dict().items()}
    aligned = sp.align(net, net, other)
    for name, tensor in net.state_dict().items():
        assert torch.equal(aligned[name], tensor), name
    assert all(torch.equal(v, other.state_dict()[k]) for k, v in before.items())
    result = make().eval()
    result.load_state_dict(aligned)
    with torch.no_grad():
        assert (result(x) - net(x)).abs().max() <= 1e-5
    profile = sp.path_profile(net, sp.path(net, net, aligned), (x, y), steps=5)
    assert profile.lmc_barrier == 0.0
    unaligned = sp.path_profile(net, sp.path(net, net, other), (x, y), steps=5)
    assert unaligned.lmc_barrier > 0.0


def _train(seed: int, x: Tensor, y: Tensor) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3)).double()
    opt = torch.optim.Adam(net.parameters(), lr=0.03)
    for _ in range(100):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        torch.autograd.backward(loss)
        opt.step()
    return net


def test_aligned_barrier_between_trained_networks_is_lower() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(128, 4, generator=g, dtype=torch.float64)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    a, b = _train(1, x, y), _train(2, x, y)
    plain = sp.path_profile(a, sp.path(a, a, b), (x, y), steps=11)
    aligned = sp.path_profile(a, sp.path(a, a, sp.align(a, a, b)), (x, y), steps=11)
    assert aligned.lmc_barrier < plain.lmc_barrier


class _Gated(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 6)
        self.out = nn.Linear(6, 3)

    def forward(self, x: Tensor) -> Tensor:
        h = self.fc(x)
        out: Tensor = self.out(h * torch.sigmoid(h))
        return out


def test_unsupported_graphs_are_refused_naming_the_node() -> None:
    with pytest.raises(ValueError, match="unsupported node 'mul'"):
        sp.align(_Gated(), _Gated(), _Gated())
    grouped = nn.Sequential(nn.Conv2d(4, 4, 3, groups=2), nn.Flatten(), nn.LazyLinear(3))
    with pytest.raises(ValueError, match=r"unsupported node '_0' \(module '0', Conv2d\): grouped"):
        sp.align(grouped, grouped, grouped)
