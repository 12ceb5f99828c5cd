"""One test per contract violation found by torch's generic optimizer tests (issue 10)."""

import copy
import pickle
import re

import pytest
import torch

from rk_optim import EULER, AdamRK2, Heun, Midpoint, Ralston, RungeKutta


def quadratic_closure(opt, params, scale=1.0, backward=True):
    def closure():
        opt.zero_grad()
        loss = sum(((p - 0.5) ** 2).sum() * scale for p in params)
        if backward:
            loss.backward()
        return loss

    return closure


def test_foreach_skips_a_group_without_gradients() -> None:
    runs = []
    for foreach in (False, True):
        w = torch.arange(4.0, requires_grad=True)
        frozen = torch.ones(3, requires_grad=True)
        opt = Heun([{"params": [w]}, {"params": [frozen]}], lr=0.1, foreach=foreach)
        opt.step(quadratic_closure(opt, [w]))
        assert torch.equal(frozen, torch.ones(3))
        runs.append(w.detach().clone())
    assert torch.equal(*runs)


@pytest.mark.parametrize("make", [lambda p: Heun(p, lr=0.1), lambda p: AdamRK2(p, lr=0.1)])
@pytest.mark.parametrize("how", ["load", "deepcopy", "pickle"])
def test_state_dict_is_stable(make, how: str) -> None:
    w = torch.ones(3, requires_grad=True)
    opt = make([w])
    opt.step(quadratic_closure(opt, [w]))
    before = opt.state_dict()
    if how == "load":
        other = make([torch.ones(3, requires_grad=True)])
        other.load_state_dict(before)
    elif how == "deepcopy":
        other = copy.deepcopy(opt)
    else:
        other = pickle.loads(pickle.dumps(opt))
    assert other.state_dict()["param_groups"] == before["param_groups"]


@pytest.mark.parametrize(
    "impl", [{"foreach": False}, {"foreach": True}, {"fused": True}, {}], ids=str
)
def test_adam_rk2_steps_after_loading_a_python_number_step(impl) -> None:
    w = torch.ones(3, requires_grad=True)
    opt = AdamRK2([w], lr=0.1, **impl)
    opt.step(quadratic_closure(opt, [w]))
    sd = opt.state_dict()
    sd["state"][0]["step"] = 1  # an older checkpoint
    opt.load_state_dict(sd)
    opt.step(quadratic_closure(opt, [w]))
    assert opt.state[w]["step"].item() == 2.0


@pytest.mark.parametrize("shape", [(2,), (60, 60)], ids=["smaller", "larger"])
@pytest.mark.parametrize("impl", [{"foreach": False}, {"foreach": True}, {"fused": True}, {}])
def test_adam_rk2_refuses_state_of_another_shape(shape, impl) -> None:
    small = torch.ones(shape, requires_grad=True)
    donor = AdamRK2([small], lr=0.1)
    donor.step(quadratic_closure(donor, [small]))
    w = torch.randn(50, 50, requires_grad=True)
    opt = AdamRK2([w], **impl)
    with pytest.raises(ValueError, match=r"state\['exp_avg'\] of param_groups\[0\]\['params'\]"):
        opt.load_state_dict(donor.state_dict())
    opt.step(quadratic_closure(opt, [w]))  # a valid state, then corrupted in place
    opt.state[w]["exp_avg_sq"] = torch.zeros(shape)
    before = w.detach().clone()
    with pytest.raises(ValueError, match=re.escape(f"has shape {shape}, expected (50, 50)")):
        opt.step(quadratic_closure(opt, [w]))
    assert torch.equal(w, before)  # refused before any stage moved the parameters


@pytest.mark.parametrize("cls", [Heun, AdamRK2])
def test_tensor_lr_is_supported_like_a_float(cls) -> None:
    runs = []
    for lr in (0.1, torch.tensor(0.1)):
        w = torch.arange(3.0, requires_grad=True)
        opt = cls([w], lr=lr)
        for _ in range(2):
            opt.step(quadratic_closure(opt, [w]))
        runs.append(w.detach().clone())
    assert torch.equal(*runs)


@pytest.mark.parametrize("cls", [Heun, AdamRK2])
def test_multi_element_tensor_lr_refused_everywhere(cls) -> None:
    bad = torch.tensor([0.1, 0.2])
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        cls([torch.ones(2, requires_grad=True)], lr=bad)
    w = torch.ones(2, requires_grad=True)
    opt = cls([w], lr=0.1)
    with pytest.raises(ValueError, match=r"Tensor lr must be 1-element in param_groups\[1\]"):
        opt.add_param_group({"params": [torch.ones(1, requires_grad=True)], "lr": bad})
    opt.param_groups[0]["lr"] = bad
    with pytest.raises(ValueError, match=r"Tensor lr must be 1-element in param_groups\[0\]"):
        opt.step(quadratic_closure(opt, [w]))


@pytest.mark.parametrize("cls", [Heun, AdamRK2])
@pytest.mark.parametrize(
    ("param", "what"),
    [
        (torch.ones(2, dtype=torch.complex64), "torch.complex64 on cpu"),
        (torch.ones(2, device="meta"), "torch.float32 on meta"),
    ],
)
def test_fused_validated_at_construction(cls, param, what) -> None:
    p = param.requires_grad_()
    with pytest.raises(ValueError, match=rf"fused=True requires .*params\[0\] is {what}"):
        cls([p], fused=True)
    opt = cls([torch.ones(1, requires_grad=True)], fused=True)
    with pytest.raises(ValueError, match=rf"in param_groups\[1\]: params\[0\] is {what}"):
        opt.add_param_group({"params": [p]})


@pytest.mark.parametrize("cls", [Heun, AdamRK2])
@pytest.mark.parametrize("key", ["capturable", "differentiable"])
def test_capturable_and_differentiable(cls, key: str) -> None:
    w = torch.ones(2, requires_grad=True)
    opt = cls([w], **{key: False})
    opt.step(quadratic_closure(opt, [w]))
    with pytest.raises(ValueError, match=rf"{key}=True is not supported"):
        cls([torch.ones(1, requires_grad=True)], **{key: True})
    with pytest.raises(ValueError, match=rf"{key}=True is not supported in param_groups\[1\]"):
        opt.add_param_group({"params": [torch.ones(1, requires_grad=True)], key: True})


@pytest.mark.parametrize("cls", [Heun, AdamRK2])
@pytest.mark.parametrize("kw", [{"maximize": True}, {"weight_decay": 0.1}, {}], ids=str)
def test_closure_that_does_not_recompute_gradients_is_refused(cls, kw) -> None:
    w = torch.ones(2, requires_grad=True)
    opt = cls([w], lr=0.1, **kw)
    calls = []

    def closure():  # computes gradients once, then only returns the loss
        loss = (w**2).sum()
        if not calls:
            loss.backward()
        calls.append(1)
        return loss

    with pytest.raises(RuntimeError, match=r"has no gradient .* at stage 1"):
        opt.step(closure)
    assert torch.equal(w, torch.ones(2))  # θ restored


@pytest.mark.parametrize("cls", [RungeKutta, Heun, Midpoint, Ralston])
def test_default_lr_is_sgds(cls) -> None:
    w = torch.ones(1, requires_grad=True)
    assert cls([w]).defaults["lr"] == torch.optim.SGD([w]).defaults["lr"] == 1e-3


def test_euler_default_lr_matches_sgd_bitwise() -> None:
    a = torch.arange(3.0, requires_grad=True)
    b = torch.arange(3.0, requires_grad=True)
    opt_a, opt_b = RungeKutta([a], tableau=EULER), torch.optim.SGD([b])
    opt_a.step(quadratic_closure(opt_a, [a]))
    opt_b.step(quadratic_closure(opt_b, [b]))
    assert torch.equal(a, b)
