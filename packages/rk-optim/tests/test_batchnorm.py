"""BatchNorm helpers: probe stages leave the running statistics alone."""

import copy

import pytest
import torch
from torch import nn

from rk_optim import Heun, bn_stats_from_first_stage, freeze_bn_stats


def bn_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2))


def bn_buffers(m: nn.Module) -> list[torch.Tensor]:
    return [b.detach().clone() for b in m.buffers()]


def test_freeze_restores_bitwise_even_on_error() -> None:
    m = bn_model()
    before = bn_buffers(m)

    def forward_then_fail() -> None:
        with freeze_bn_stats(m):
            m(torch.randn(8, 4))
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        forward_then_fail()
    assert all(torch.equal(a, b) for a, b in zip(before, bn_buffers(m), strict=True))
    assert m[1].num_batches_tracked.item() == 0


def test_freeze_type_error() -> None:
    with pytest.raises(TypeError, match=r"expects an nn\.Module, got str"):
        freeze_bn_stats("model").__enter__()  # type: ignore[arg-type]


@pytest.mark.parametrize("wrapped", [True, False])
def test_stats_after_heun_step_equal_one_forward(wrapped: bool) -> None:
    m = bn_model()
    reference = copy.deepcopy(m)
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    opt = Heun(m.parameters(), lr=0.1)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(m(x), y)
        loss.backward()
        return loss

    opt.step(bn_stats_from_first_stage(m, closure) if wrapped else closure)
    reference(x)  # exactly one forward pass at the same starting weights
    same = all(torch.equal(a, b) for a, b in zip(bn_buffers(m), bn_buffers(reference), strict=True))
    assert same is wrapped  # unwrapped, the probe stage's forward updates the stats a second time
    assert m[1].num_batches_tracked.item() == (1 if wrapped else 2)
