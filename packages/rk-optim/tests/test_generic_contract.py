"""The generic optimizer contract, in the spirit of torch's ``OptimizerInfo`` tests.

One parametrized set runs over every optimizer × {for-loop, foreach, fused} × {plain,
weight_decay, maximize} × {param groups, frozen group, complex parameters} (fused × complex is
refused at construction, which ``test_error_inputs`` checks, so that pair is not generated).

Adaptations of torch's ``test/test_optim.py``:
- every ``step()`` passes a closure (these optimizers re-evaluate the gradient at each stage),
  so torch tests that set ``p.grad`` by hand and call ``step()`` bare are run with a closure that
  computes the same gradients;
- torch's "grads are never in-placed into" does not apply: the stage gradients are produced by
  the closure inside the step and the combined direction ḡ is written into the last of them
  (documented: ``p.grad`` holds ḡ after a step);
- tests of ``capturable=True``, ``differentiable=True``, CUDA graphs, AMP ``GradScaler`` /
  ``found_inf`` and CUDA devices cannot apply: True is refused for the first two (checked below),
  a closure optimizer cannot run under graph capture or ``GradScaler.step``, and there is no GPU.
"""

from __future__ import annotations

import copy
import itertools
import pickle
from functools import partial
from typing import Any

import pytest
import torch

from rk_optim import RK3, RK4, AdamRK2, Heun, Midpoint, Ralston, RungeKutta

OPTIMIZERS = {
    "heun": partial(Heun, lr=0.05),
    "midpoint": partial(Midpoint, lr=0.05),
    "ralston": partial(Ralston, lr=0.05),
    "rk3": partial(RungeKutta, lr=0.05, tableau=RK3),
    "rk4": partial(RungeKutta, lr=0.05, tableau=RK4),
    "adam_rk2": partial(AdamRK2, lr=0.05),
}
IMPLS = {"forloop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}
CONFIGS = {"plain": {}, "weight_decay": {"weight_decay": 0.1}, "maximize": {"maximize": True}}
LAYOUTS = ("groups", "frozen", "complex")


class Problem:
    """Parameters in two groups and a smooth, non-quadratic real loss of the trainable ones."""

    def __init__(self, layout: str, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        dtype = torch.complex128 if layout == "complex" else torch.float64
        self.layout = layout
        self.weight = torch.randn(3, 4, generator=g, dtype=dtype).requires_grad_()
        self.bias = torch.randn(4, generator=g, dtype=dtype).requires_grad_()
        self.head = torch.randn(4, 2, generator=g, dtype=dtype).requires_grad_()
        self.frozen = torch.randn(5, generator=g, dtype=dtype).requires_grad_()
        self.calls = 0

    @property
    def trainable(self) -> list[torch.Tensor]:
        head = [] if self.layout == "frozen" else [self.head]
        return [self.weight, self.bias, *head]

    @property
    def params(self) -> list[torch.Tensor]:
        return [self.weight, self.bias, self.head, self.frozen]

    def groups(self) -> list[dict[str, Any]]:
        if self.layout == "frozen":
            return [{"params": [self.weight, self.bias, self.head]}, {"params": [self.frozen]}]
        return [{"params": [self.weight, self.bias]}, {"params": [self.head], "lr": 0.02}]

    def loss(self) -> torch.Tensor:
        total = torch.zeros((), dtype=torch.float64)
        for p in self.trainable:
            r = torch.view_as_real(p) if p.is_complex() else p
            total = total + (0.1 * r**4 + torch.sin(3 * r)).sum()
        return total

    def closure(self, opt: torch.optim.Optimizer, backward: bool = True):
        def closure() -> torch.Tensor:
            self.calls += 1
            opt.zero_grad()
            loss = self.loss()
            if backward:
                loss.backward()
            return loss

        return closure


def build(opt_name: str, impl: str, config: str, layout: str, seed: int = 0):
    problem = Problem(layout, seed)
    opt = OPTIMIZERS[opt_name](problem.groups(), **IMPLS[impl], **CONFIGS[config])
    return problem, opt


def train(problem: Problem, opt: torch.optim.Optimizer, steps: int = 2) -> None:
    for _ in range(steps):
        opt.step(problem.closure(opt))


def snapshot(problem: Problem) -> list[torch.Tensor]:
    return [p.detach().clone() for p in problem.params]


def assert_bitwise(a: list[torch.Tensor], b: list[torch.Tensor]) -> None:
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def assert_same_state_dict(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for key, state in a["state"].items():
        assert state.keys() == b["state"][key].keys()
        for name, value in state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["state"][key][name]))


CASES = [
    pytest.param(*case, id="-".join(case))
    for case in itertools.product(OPTIMIZERS, IMPLS, CONFIGS, LAYOUTS)
    if not (case[1] == "fused" and case[3] == "complex")
]
CASE_ARGS = "opt_name, impl, config, layout"


def twin_of(problem: Problem, opt: torch.optim.Optimizer, how: str, case: tuple[str, ...]):
    """A second (problem, optimizer) that should continue exactly like the first."""
    if how == "deepcopy":
        return copy.deepcopy((problem, opt))
    if how == "pickle":
        return pickle.loads(pickle.dumps((problem, opt)))
    twin_problem, twin = build(*case, seed=1)  # type: ignore[call-arg]
    with torch.no_grad():
        for p, q in zip(twin_problem.params, problem.params, strict=True):
            p.copy_(q)
    twin.load_state_dict(copy.deepcopy(opt.state_dict()))  # as torch's tests: no shared state
    return twin_problem, twin


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_state_dict_round_trip(opt_name, impl, config, layout) -> None:
    """Through load_state_dict, deepcopy and pickle: the same state_dict, the same future."""
    for how in ("load_state_dict", "deepcopy", "pickle"):
        problem, opt = build(opt_name, impl, config, layout)
        train(problem, opt)
        before = copy.deepcopy(opt.state_dict())
        twin_problem, twin = twin_of(problem, opt, how, (opt_name, impl, config, layout))
        assert_same_state_dict(twin.state_dict(), before)
        assert_same_state_dict(opt.state_dict(), before)
        train(problem, opt)
        train(twin_problem, twin)
        assert_bitwise(snapshot(twin_problem), snapshot(problem))
        assert_same_state_dict(twin.state_dict(), opt.state_dict())


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_loads_an_older_checkpoint(opt_name, impl, config, layout) -> None:
    """Groups without the newer keys and Python-number steps load and continue identically."""
    problem, opt = build(opt_name, impl, config, layout)
    train(problem, opt)
    old = copy.deepcopy(opt.state_dict())
    for group in old["param_groups"]:
        for key in ("foreach", "fused", "capturable", "differentiable"):
            del group[key]
    for state in old["state"].values():
        state["step"] = float(state["step"])
    twin_problem, twin = copy.deepcopy((problem, opt))
    twin.load_state_dict(old)
    train(problem, opt)
    train(twin_problem, twin)
    assert_bitwise(snapshot(twin_problem), snapshot(problem))


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_refuses_state_of_another_shape(opt_name, impl, config, layout) -> None:
    problem, opt = build(opt_name, impl, config, layout)
    train(problem, opt)
    before = opt.state_dict()
    for shape in ((2,), (30, 30)):
        bad = copy.deepcopy(before)
        bad["state"].setdefault(0, {})["exp_avg"] = torch.zeros(shape)
        with pytest.raises(ValueError, match=r"state\['exp_avg'\] of param_groups\[0\]"):
            opt.load_state_dict(bad)
        assert_same_state_dict(opt.state_dict(), before)  # nothing half-loaded


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_steps_without_or_with_zero_gradients(opt_name, impl, config, layout) -> None:
    """No gradients: a no-op (one closure call, no state). Zero gradients: nothing moves
    (unless weight decay pulls the parameters)."""
    problem, opt = build(opt_name, impl, config, layout)
    before = snapshot(problem)
    loss = opt.step(problem.closure(opt, backward=False))
    assert torch.equal(loss, problem.loss().detach())
    assert_bitwise(snapshot(problem), before)
    assert opt.state_dict()["state"] == {}
    assert problem.calls == 1

    def zero_gradients() -> torch.Tensor:
        opt.zero_grad()
        loss = problem.loss() * 0.0
        loss.backward()
        return loss

    opt.step(zero_gradients)
    moved = [not torch.equal(p, q) for p, q in zip(snapshot(problem), before, strict=True)]
    assert any(moved) == (config == "weight_decay")


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_goes_the_right_direction_and_keeps_storage(opt_name, impl, config, layout) -> None:
    problem, opt = build(opt_name, impl, config, layout)
    storage = [p.data_ptr() for p in problem.params]
    frozen = problem.frozen.detach().clone()
    start = problem.loss().item()
    train(problem, opt, steps=3)
    end = problem.loss().item()
    assert end > start if config == "maximize" else end < start
    assert [p.data_ptr() for p in problem.params] == storage
    if layout == "frozen":
        assert torch.equal(problem.frozen, frozen)


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_closure_error_leaves_parameters_untouched(opt_name, impl, config, layout) -> None:
    problem, opt = build(opt_name, impl, config, layout)
    train(problem, opt, steps=1)
    before, state = snapshot(problem), copy.deepcopy(opt.state_dict())
    storage = [p.data_ptr() for p in problem.params]
    inner = problem.closure(opt)

    def failing() -> torch.Tensor:
        if problem.calls % 2 == 0:  # the second stage of this step
            raise KeyError("data loader broke")
        return inner()

    problem.calls = 1
    with pytest.raises(KeyError, match="data loader broke"):
        opt.step(failing)
    assert_bitwise(snapshot(problem), before)
    assert [p.data_ptr() for p in problem.params] == storage
    assert_same_state_dict(opt.state_dict(), state)


@pytest.mark.parametrize(("config", "layout"), list(itertools.product(CONFIGS, LAYOUTS)))
@pytest.mark.parametrize("opt_name", OPTIMIZERS)
def test_implementations_agree(opt_name, config, layout) -> None:
    """for-loop ≡ foreach bit for bit in float64; fused (real parameters) to rounding."""
    results = {}
    impls = ["forloop", "foreach"] + ([] if layout == "complex" else ["fused"])
    for impl in impls:
        problem, opt = build(opt_name, impl, config, layout)
        train(problem, opt, steps=3)
        results[impl] = snapshot(problem)
    assert_bitwise(results["foreach"], results["forloop"])
    for fused, loop in zip(results.get("fused", []), results["forloop"], strict=False):
        torch.testing.assert_close(fused, loop, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("impl", "config"), list(itertools.product(["forloop", "foreach"], CONFIGS))
)
@pytest.mark.parametrize("opt_name", OPTIMIZERS)
def test_complex_parameters_equal_their_real_view(opt_name, impl, config) -> None:
    problem, opt = build(opt_name, impl, config, "complex")
    real = Problem("groups")
    with torch.no_grad():
        for r, c in zip(real.params, problem.params, strict=True):
            r.data = torch.view_as_real(c).clone()
    real_opt = OPTIMIZERS[opt_name](real.groups(), **IMPLS[impl], **CONFIGS[config])
    train(problem, opt, steps=3)
    train(real, real_opt, steps=3)
    for r, c in zip(real.params, problem.params, strict=True):
        torch.testing.assert_close(r, torch.view_as_real(c), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("opt_name", OPTIMIZERS)
def test_hooks_and_scheduler(opt_name, impl) -> None:
    problem, opt = build(opt_name, impl, "plain", "groups")
    seen: list[str] = []
    opt.register_step_pre_hook(lambda *_: seen.append("step_pre"))
    opt.register_step_post_hook(lambda *_: seen.append("step_post"))
    opt.register_state_dict_pre_hook(lambda *_: seen.append("sd_pre"))
    opt.register_state_dict_post_hook(lambda _, sd: (seen.append("sd_post"), sd)[1])
    opt.register_load_state_dict_pre_hook(lambda _, sd: (seen.append("load_pre"), sd)[1])
    opt.register_load_state_dict_post_hook(lambda *_: seen.append("load_post"))
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    manual_problem, manual = build(opt_name, impl, "plain", "groups")
    for _ in range(3):
        opt.step(problem.closure(opt))
        scheduler.step()
        manual.step(manual_problem.closure(manual))
        for group in manual.param_groups:
            group["lr"] *= 0.5
    assert [g["lr"] for g in opt.param_groups] == [0.05 * 0.5**3, 0.02 * 0.5**3]
    assert_bitwise(snapshot(problem), snapshot(manual_problem))
    opt.load_state_dict(opt.state_dict())
    assert seen == ["step_pre", "step_post"] * 3 + ["sd_pre", "sd_post", "load_pre", "load_post"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"lr": -0.1}, ValueError, "Invalid lr"),
        ({"lr": torch.tensor([0.1, 0.2])}, ValueError, "Tensor lr must be 1-element"),
        ({"weight_decay": -1.0}, ValueError, "Invalid weight_decay"),
        ({"maximize": "yes"}, ValueError, "Invalid maximize"),
        ({"foreach": 1}, ValueError, "Invalid foreach"),
        ({"capturable": True}, ValueError, "capturable=True is not supported"),
        ({"differentiable": True}, ValueError, "differentiable=True is not supported"),
        ({"fused": True, "foreach": True}, ValueError, "cannot be set together"),
    ],
)
@pytest.mark.parametrize("opt_name", OPTIMIZERS)
def test_error_inputs(opt_name, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        OPTIMIZERS[opt_name]([torch.zeros(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("opt_name", OPTIMIZERS)
def test_error_inputs_from_torch_optimizer(opt_name) -> None:
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        OPTIMIZERS[opt_name](p)
    with pytest.raises(ValueError, match="some parameters appear in more than one"):
        OPTIMIZERS[opt_name]([{"params": [p]}, {"params": [p]}])
    with pytest.raises(ValueError, match=r"fused=True requires .* torch.complex128"):
        build(opt_name, "fused", "plain", "complex")


@pytest.mark.parametrize("opt_name", OPTIMIZERS)
def test_mixed_dtypes_in_one_group(opt_name) -> None:
    """float32, float64 and bfloat16 parameters in one group: every implementation steps them,
    for-loop ≡ foreach bit for bit, fused within one ulp of each dtype."""
    results = {}
    for impl in IMPLS:
        params = [
            torch.linspace(-1, 1, 5, dtype=dtype).requires_grad_()
            for dtype in (torch.float32, torch.float64, torch.bfloat16)
        ]
        opt = OPTIMIZERS[opt_name](params, **IMPLS[impl], weight_decay=0.01)

        def closure(opt=opt, params=params) -> torch.Tensor:
            opt.zero_grad()
            loss = sum((torch.sin(3 * p.double()) + p.double() ** 4).sum() for p in params)
            loss.backward()
            return loss

        train_loss = [opt.step(closure) for _ in range(2)]
        assert all(torch.isfinite(x) for x in train_loss)
        assert [p.dtype for p in params] == [torch.float32, torch.float64, torch.bfloat16]
        results[impl] = [p.detach().clone() for p in params]
    assert_bitwise(results["foreach"], results["forloop"])
    for fused, loop in zip(results["fused"], results["forloop"], strict=True):
        ulp = torch.finfo(loop.dtype).eps * 2
        torch.testing.assert_close(fused, loop, rtol=ulp, atol=ulp)
