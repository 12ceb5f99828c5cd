"""Contract of the RK optimizers: oracles (SGD, Adam), paths, errors, torch.optim citizenship."""

import copy
import io

import pytest
import torch
from torch import nn

import rk_optim
from rk_optim import EULER, HEUN, MIDPOINT, RALSTON, RK3, RK4, AdamRK2, Heun, RungeKutta

ALL = [EULER, MIDPOINT, HEUN, RALSTON, RK3, RK4]


def make_model(dtype: torch.dtype = torch.float32, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).to(dtype)


def data(dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(16, 4, generator=g, dtype=dtype), torch.randint(0, 3, (16,), generator=g)


def closure_for(model: nn.Module, opt: torch.optim.Optimizer, x, y, counter=None):
    def closure() -> torch.Tensor:
        if counter is not None:
            counter.append(1)
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss

    return closure


def run(model: nn.Module, opt: torch.optim.Optimizer, steps: int = 4, dtype=torch.float32) -> None:
    x, y = data(dtype)
    for _ in range(steps):
        opt.step(closure_for(model, opt, x, y))


def same_params(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


# -- oracles ---------------------------------------------------------------------------------
@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize(("wd", "maximize"), [(0.0, False), (0.01, False), (0.01, True)])
def test_euler_equals_sgd_bitwise(foreach: bool, wd: float, maximize: bool) -> None:
    a, b = make_model(), make_model()
    run(
        a,
        RungeKutta(
            a.parameters(),
            lr=0.1,
            tableau=EULER,
            weight_decay=wd,
            maximize=maximize,
            foreach=foreach,
        ),
    )
    run(
        b,
        torch.optim.SGD(
            b.parameters(), lr=0.1, weight_decay=wd, maximize=maximize, foreach=foreach
        ),
    )
    assert same_params(a, b)


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize(("wd", "maximize"), [(0.0, False), (0.01, True)])
def test_adam_rk2_euler_equals_adam_bitwise(foreach: bool, wd: float, maximize: bool) -> None:
    a, b = make_model(), make_model()
    run(
        a,
        AdamRK2(
            a.parameters(),
            lr=0.01,
            weight_decay=wd,
            tableau=EULER,
            maximize=maximize,
            foreach=foreach,
        ),
    )
    run(
        b,
        torch.optim.Adam(
            b.parameters(), lr=0.01, weight_decay=wd, maximize=maximize, foreach=foreach
        ),
    )
    assert same_params(a, b)


@pytest.mark.parametrize("fused", [None, True])
def test_adam_rk2_default_uses_fused_adam_bitwise(fused) -> None:
    a, b = make_model(), make_model()
    run(a, AdamRK2(a.parameters(), lr=0.01, weight_decay=0.01, tableau=EULER, fused=fused))
    run(b, torch.optim.Adam(b.parameters(), lr=0.01, weight_decay=0.01, fused=True))
    assert same_params(a, b)


@pytest.mark.parametrize("tableau", [MIDPOINT, HEUN, RALSTON])
@pytest.mark.parametrize("foreach", [False, True])
def test_adam_rk2_constant_gradient_equals_adam_bitwise(tableau, foreach: bool) -> None:
    torch.manual_seed(0)
    w0 = torch.randn(7, 5)
    c = torch.randn(7, 5)
    p, q = w0.clone().requires_grad_(), w0.clone().requires_grad_()
    opt = AdamRK2([p], lr=0.05, weight_decay=0.1, tableau=tableau, foreach=foreach)
    ref = torch.optim.Adam([q], lr=0.05, weight_decay=0.1, foreach=foreach)
    for _ in range(5):

        def cl(t=p, o=opt):
            o.zero_grad()
            loss = (c * t).sum()  # ∇L = c everywhere
            loss.backward()
            return loss

        def cl_ref(t=q, o=ref):
            o.zero_grad()
            loss = (c * t).sum()
            loss.backward()
            return loss

        opt.step(cl)
        ref.step(cl_ref)
    assert torch.equal(p, q)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_heun_step_matches_formula_and_grad_holds_combination(set_to_none: bool) -> None:
    x0 = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    lr, wd = 0.1, 0.2

    def grad(x: torch.Tensor) -> torch.Tensor:
        return 4 * x**3 + wd * x  # ∇(Σx⁴ + wd/2‖x‖²)

    x = x0.clone().requires_grad_()
    opt = Heun([x], lr=lr, weight_decay=wd)
    calls = []
    loss = opt.step(closure_for_fn(x, opt, calls, set_to_none))
    g1 = grad(x0)
    g2 = grad(x0 - lr * g1)
    gbar = 0.5 * g1 + 0.5 * g2
    torch.testing.assert_close(x.detach(), x0 - lr * gbar, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(x.grad, gbar, rtol=1e-14, atol=1e-14)
    assert len(calls) == opt.evaluations_per_step == 2
    assert loss.item() == pytest.approx((x0**4).sum().item())  # first stage's loss


def closure_for_fn(x, opt, calls, set_to_none=True):
    def closure():
        calls.append(1)
        opt.zero_grad(set_to_none=set_to_none)  # in-place zeroing must not corrupt stage 1
        loss = (x**4).sum()
        loss.backward()
        return loss

    return closure


@pytest.mark.parametrize("tableau", ALL, ids=lambda t: t.name)
@pytest.mark.parametrize("cls", ["rk", "adam"])
def test_foreach_and_loop_paths_agree_float64(tableau, cls: str) -> None:
    models = []
    for foreach in (False, True):
        m = make_model(torch.float64)
        kw = {"weight_decay": 0.01, "maximize": False, "foreach": foreach}
        opt = (
            RungeKutta(m.parameters(), lr=0.05, tableau=tableau, **kw)
            if cls == "rk"
            else AdamRK2(m.parameters(), lr=0.01, tableau=tableau, **kw)
        )
        assert opt.evaluations_per_step == tableau.stages
        run(m, opt, steps=3, dtype=torch.float64)
        models.append(m)
    assert same_params(*models)


def test_rk4_is_the_classic_step() -> None:
    x0 = torch.tensor([0.7, -0.3], dtype=torch.float64)
    x = x0.clone().requires_grad_()
    opt = RungeKutta([x], lr=0.2, tableau=RK4)
    opt.step(closure_for_fn(x, opt, []))

    def f(z):
        return 4 * z**3

    h = 0.2
    k1 = f(x0)
    k2 = f(x0 - h / 2 * k1)
    k3 = f(x0 - h / 2 * k2)
    k4 = f(x0 - h * k3)
    torch.testing.assert_close(
        x.detach(), x0 - h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), rtol=1e-14, atol=1e-14
    )


def test_scratch_reused_and_not_in_state_dict() -> None:
    m = make_model()
    opt = Heun(m.parameters(), lr=0.1)
    run(m, opt, steps=1)
    ptrs = [b.data_ptr() for bufs in opt._scratch.values() for b in bufs.values()]
    run(m, opt, steps=2)
    assert ptrs == [b.data_ptr() for bufs in opt._scratch.values() for b in bufs.values()]
    sd = opt.state_dict()
    assert sd["state"] == {}
    assert set(sd) == {"state", "param_groups"}


# -- errors ----------------------------------------------------------------------------------
def test_error_without_closure() -> None:
    m = make_model()
    with pytest.raises(RuntimeError, match=r"Heun.step\(\) requires a closure"):
        Heun(m.parameters(), lr=0.1).step()


def test_error_closure_returns_none() -> None:
    m = make_model()
    opt = Heun(m.parameters(), lr=0.1)
    x, y = data()

    def closure() -> None:
        nn.functional.cross_entropy(m(x), y).backward()

    with pytest.raises(RuntimeError, match="closure returned None at stage 0"):
        opt.step(closure)


def test_error_sparse_gradient() -> None:
    emb = nn.Embedding(10, 3, sparse=True)
    opt = Heun(emb.parameters(), lr=0.1)

    def closure():
        opt.zero_grad()
        loss = emb(torch.tensor([1, 2])).sum()
        loss.backward()
        return loss

    with pytest.raises(
        RuntimeError,
        match=r"sparse gradients: param_groups\[0\]\['params'\]\[0\] \(shape \(10, 3\)",
    ):
        opt.step(closure)


def test_error_gradient_in_one_stage_only() -> None:
    a = torch.ones(2, requires_grad=True)
    b = torch.ones(3, requires_grad=True)
    opt = Heun([{"params": [a, b], "param_names": ["a", "b"]}], lr=0.1)
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = a.sum() + (b.sum() if len(calls) == 1 else 0)
        loss.backward()
        return loss

    with pytest.raises(
        RuntimeError,
        match=r"param_groups\[0\]\['params'\]\[1\] \(shape \(3,\), name 'b'\) "
        r"has no gradient .* at stage 1",
    ):
        opt.step(closure)


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda p: RungeKutta(p, lr=-1.0), "Invalid lr"),
        (lambda p: RungeKutta(p, lr=0.1, weight_decay=-1.0), "Invalid weight_decay"),
        (lambda p: AdamRK2(p, betas=(0.9, 1.0)), "Invalid betas"),
        (lambda p: AdamRK2(p, eps=-1.0), "Invalid eps"),
        (lambda p: AdamRK2(p, fused=True, foreach=True), "cannot be set together"),
        (lambda p: RungeKutta(p, lr=0.1, tableau="heun"), "tableau must be a ButcherTableau"),
        (
            lambda p: RungeKutta(
                p,
                lr=0.1,
                tableau=rk_optim.ButcherTableau(
                    ((0, 0, 0), (1, 0, 0), (0, 1, 0)), (1, -1, 1), (0, 1, 1), "zig"
                ),
            ),
            r"partial sum b\[0\] \+ ... \+ b\[1\] is 0",
        ),
    ],
)
def test_invalid_hyper_parameters(factory, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        factory([torch.zeros(2, requires_grad=True)])


# -- torch.optim citizenship -----------------------------------------------------------------
def test_param_groups_with_own_lr_and_add_param_group() -> None:
    a, b = make_model(), make_model()
    opt = RungeKutta([{"params": a[0].parameters(), "lr": 0.3}], lr=0.1, tableau=EULER)
    opt.add_param_group({"params": a[2].parameters()})
    ref = torch.optim.SGD([{"params": b[0].parameters(), "lr": 0.3}], lr=0.1)
    ref.add_param_group({"params": b[2].parameters()})
    run(a, opt)
    run(b, ref)
    assert same_params(a, b)
    assert opt.param_groups[1]["lr"] == 0.1


def _with_scheduler(opt, sched, model, steps=6):
    x, y = data()
    for _ in range(steps):
        opt.step(closure_for(model, opt, x, y))
        sched.step()


def test_step_lr() -> None:
    a, b = make_model(), make_model()
    oa = RungeKutta(a.parameters(), lr=0.1, tableau=EULER)
    ob = torch.optim.SGD(b.parameters(), lr=0.1)
    _with_scheduler(oa, torch.optim.lr_scheduler.StepLR(oa, 2, 0.5), a)
    _with_scheduler(ob, torch.optim.lr_scheduler.StepLR(ob, 2, 0.5), b)
    assert oa.param_groups[0]["lr"] == 0.1 * 0.5**3
    assert same_params(a, b)


def test_one_cycle_lr_cycles_betas_of_adam_rk2() -> None:
    a, b = make_model(), make_model()
    oa = AdamRK2(a.parameters(), lr=0.01, tableau=EULER, fused=False)
    ob = torch.optim.Adam(b.parameters(), lr=0.01)
    kw = {"max_lr": 0.05, "total_steps": 8, "cycle_momentum": True}
    sa = torch.optim.lr_scheduler.OneCycleLR(oa, **kw)
    _with_scheduler(oa, sa, a)
    _with_scheduler(ob, torch.optim.lr_scheduler.OneCycleLR(ob, **kw), b)
    assert oa.param_groups[0]["betas"][0] != 0.9  # β1 was cycled
    assert same_params(a, b)


def test_reduce_lr_on_plateau_fed_with_step_loss() -> None:
    m = make_model()
    opt = Heun(m.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    x, y = data()
    for _ in range(3):
        loss = opt.step(closure_for(m, opt, x, y))
        sched.step(loss.item() + 10.0 * sched.last_epoch)  # a rising metric: plateau every step
    assert opt.param_groups[0]["lr"] < 0.1


@pytest.mark.parametrize(
    "make", [lambda p: Heun(p, lr=0.05), lambda p: AdamRK2(p, lr=0.01, weight_decay=0.01)]
)
def test_resume_from_state_dict_is_bitwise(make) -> None:
    unbroken = make_model()
    opt = make(unbroken.parameters())
    run(unbroken, opt, steps=6)

    first = make_model()
    opt1 = make(first.parameters())
    run(first, opt1, steps=3)
    buf = io.BytesIO()
    torch.save({"model": first.state_dict(), "opt": opt1.state_dict()}, buf)
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)
    resumed = make_model(seed=123)
    resumed.load_state_dict(ckpt["model"])
    opt2 = make(resumed.parameters())
    opt2.load_state_dict(ckpt["opt"])
    run(resumed, opt2, steps=3)
    assert same_params(unbroken, resumed)


def test_step_hooks_run_once_per_step() -> None:
    m = make_model()
    opt = Heun(m.parameters(), lr=0.1)
    seen = []
    opt.register_step_pre_hook(lambda o, a, k: seen.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: seen.append("post"))
    run(m, opt, steps=2)
    assert seen == ["pre", "post", "pre", "post"]


def test_deepcopy_continues_identically() -> None:
    m = make_model()
    opt = AdamRK2(m.parameters(), lr=0.01)
    run(m, opt, steps=2)
    m2, opt2 = copy.deepcopy((m, opt))  # the copy's param groups point at m2's parameters
    assert opt2.tableau == opt.tableau
    assert opt2.param_groups[0]["params"][0] is next(m2.parameters())
    run(m, opt, steps=2)
    run(m2, opt2, steps=2)
    assert same_params(m, m2)


def test_repr_names_tableau_and_hyper_parameters() -> None:
    text = repr(RungeKutta([torch.zeros(1, requires_grad=True)], lr=0.1, tableau=RK3))
    assert text.startswith("RungeKutta (tableau=rk3) (")
    assert "lr: 0.1" in text


def test_bf16_autocast_closure() -> None:
    m = make_model()
    opt = Heun(m.parameters(), lr=0.1)
    x, y = data()

    def closure():
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = nn.functional.cross_entropy(m(x), y)
        loss.backward()
        return loss

    before = [p.detach().clone() for p in m.parameters()]
    first = opt.step(closure)
    assert torch.isfinite(first)
    assert all(p.dtype == torch.float32 for p in m.parameters())
    assert any(not torch.equal(p, q) for p, q in zip(m.parameters(), before, strict=True))


def test_public_api() -> None:
    assert rk_optim.__version__ == "0.1.0"
    for name in rk_optim.__all__:
        assert hasattr(rk_optim, name)
