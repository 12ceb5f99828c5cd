"""The explicit Runge–Kutta stage loop shared by every rk-optim optimizer."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from .hyper import check_group, read_lr
from .stages import StagePlan, StageTensors, runge_kutta_stage
from .tableau import ButcherTableau

__all__ = ["GroupStep", "StageLoopOptimizer"]

Closure = Callable[[], Any]


@dataclass(kw_only=True)
class GroupStep(StageTensors):
    """One param group's share of a step: its parameters with a gradient, buffers, settings."""

    group: dict[str, Any]
    group_index: int
    indices: list[int]  # positions of ``params`` in ``group["params"]``
    lr: float
    weight_decay: float
    maximize: bool
    foreach: bool
    fused: bool
    state: dict[str, list[Tensor]] = field(default_factory=dict)  # per-parameter state lists
    shared: list[bool] = field(default_factory=list)  # storage also held by another tensor


def _storage_is_shared(p: Tensor) -> bool:
    """Whether a tensor other than ``p`` holds ``p``'s storage (a cached view, a flat buffer
    the parameters are views of, a ``p.data`` kept by the user); unknown counts as shared."""
    try:
        # two references: p and the temporary UntypedStorage object
        return bool(torch._C._storage_Use_Count(p.untyped_storage()._cdata) > 2)
    except (AttributeError, NotImplementedError, RuntimeError):
        return True


class StageLoopOptimizer(Optimizer):
    """Base class: the one explicit Runge–Kutta stage loop; subclasses supply ``_update``.

    For the gradient flow dθ/dt = −∇L(θ) and an explicit tableau (A, b, c), a step of size lr is

        d_i = ±∇L(θ_i) (+ wd·θ_i),     θ_i = θ − lr Σ_{j<i} a_ij d_j     (stage directions)
        ḡ   = Σ_i b_i d_i                                                (combined direction)
        θ  ← update(θ, ḡ)                (RungeKutta: θ − lr ḡ;  AdamRK2: Adam fed with ḡ)

    ``step`` reads like ``torch.optim.SGD.step``: ``_init_group`` collects the parameters with a
    gradient and their state, every stage runs the functional ``runge_kutta_stage`` (for-loop or
    foreach) and ``_update`` applies ḡ. θ is never written before the update: while the closure
    runs at a probe point, each parameter's ``.data`` is a scratch buffer holding θ_i; θ's own
    storage is put back (also when the closure raises), so θ is restored exactly. A parameter
    whose storage another tensor shares (a cached view, a flat buffer) instead gets θ_i written
    into its storage, from a copy of θ that restores it.

    ``step(closure)`` follows :class:`torch.optim.LBFGS`: the closure zeroes the gradients,
    computes the loss, calls ``backward()`` and returns the loss. It is called
    ``tableau.stages`` times per step; ``step`` returns the first stage's loss (the loss at θ).
    After a step ``p.grad`` holds the combined direction ḡ that was fed to the update.
    """

    #: whether weight decay enters every stage direction (True) or only the update (False)
    _weight_decay_in_stages: bool = True
    #: whether ``fused=None`` picks the fused update where every parameter supports it
    _fused_by_default: bool = False

    def __init__(
        self, params: Iterable[Any], defaults: dict[str, Any], tableau: ButcherTableau
    ) -> None:
        if not isinstance(tableau, ButcherTableau):
            raise TypeError(f"tableau must be a ButcherTableau, got {type(tableau).__name__}")
        self.tableau = tableau
        self._plan = StagePlan.of(tableau)
        self._scratch: dict[Tensor, dict[str, Tensor]] = {}
        super().__init__(params, defaults)

    @property
    def evaluations_per_step(self) -> int:
        """Closure (gradient) evaluations per step: the tableau's number of stages."""
        return self.tableau.stages

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        index = len(self.param_groups) - 1
        self._check_group(self.param_groups[index], f" in param_groups[{index}]")

    def _check_group(self, group: dict[str, Any], where: str) -> None:
        check_group(group, where, type(self).__name__)

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        state["tableau"] = self.tableau
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._plan = StagePlan.of(self.tableau)
        self._scratch = {}
        for group in self.param_groups:  # checkpoints of older versions lack newer keys
            for key, value in self.defaults.items():
                group.setdefault(key, value)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As torch's, but a state that does not match the parameters is refused, unloaded."""
        previous = self.state, self.param_groups
        super().load_state_dict(state_dict)
        try:
            for gi, group in enumerate(self.param_groups):
                self._check_group(group, f" in param_groups[{gi}]")
                for pi, p in enumerate(group["params"]):
                    if p in self.state:
                        self._check_state(gi, group, pi, self.state[p])
        except ValueError:
            self.state, self.param_groups = previous
            raise

    def __repr__(self) -> str:
        head, _, rest = super().__repr__().partition("\n")
        return f"{head[:-2]} (tableau={self.tableau.name}) (\n{rest}"

    # -- hooks for subclasses -------------------------------------------------------------
    def _check_state(
        self, gi: int, group: dict[str, Any], index: int, state: dict[str, Any]
    ) -> None:
        """Refuse state whose tensors do not match their parameter ``group["params"][index]``
        (before any kernel reads them)."""
        param = group["params"][index]
        for key, value in state.items():
            if key == "step" or not isinstance(value, Tensor):
                continue
            if (value.shape, value.dtype, value.device) == (param.shape, param.dtype, param.device):
                continue
            where = f"{type(self).__name__}: state[{key!r}] of {self._describe(gi, group, index)}"
            if value.shape != param.shape:
                raise ValueError(
                    f"{where} has shape {tuple(value.shape)}, expected {tuple(param.shape)}; "
                    "the loaded state does not belong to these parameters"
                )
            raise ValueError(
                f"{where} is {value.dtype} on {value.device}, expected {param.dtype} on "
                f"{param.device}"
            )

    def _init_state(self, step: GroupStep) -> None:
        """Create or check the state of ``step.params`` and collect it in ``step.state``."""

    def _update(self, step: GroupStep, combined: list[Tensor]) -> None:
        """Update ``step.params`` (holding θ) with the combined direction ḡ."""
        raise NotImplementedError

    # -- the step -------------------------------------------------------------------------
    @staticmethod
    def _describe(group_index: int, group: dict[str, Any], index: int) -> str:
        p = group["params"][index]
        where = f"param_groups[{group_index}]['params'][{index}] (shape {tuple(p.shape)}"
        names = group.get("param_names")
        if names is not None:
            where += f", name {names[index]!r}"
        return where + ")"

    def _evaluate(self, closure: Closure | None, stage: int) -> Any:
        name = type(self).__name__
        if closure is None:
            raise RuntimeError(
                f"{name}.step() requires a closure: it re-evaluates the gradient "
                f"{self.tableau.stages} times per step. Pass step(closure) where closure() zeroes "
                "the gradients, computes the loss, calls loss.backward() and returns the loss "
                "(as for torch.optim.LBFGS)."
            )
        with torch.enable_grad():
            loss = closure()
        if loss is None:
            raise RuntimeError(
                f"{name}.step(): the closure returned None at stage {stage}; it must return the "
                "loss after calling loss.backward()"
            )
        return loss

    def _check_gradients(
        self, gi: int, group: dict[str, Any], with_grad: set[int], stage: int
    ) -> None:
        """Every stage must give gradients to exactly the parameters stage 0 gave them to."""
        for pi, p in enumerate(group["params"]):
            has = p.grad is not None
            if has != (pi in with_grad):
                state = "has a gradient" if has else "has no gradient (grad is None)"
                other = "had none" if has else "had one"
                raise RuntimeError(
                    f"{type(self).__name__}: {self._describe(gi, group, pi)} {state} at stage "
                    f"{stage} but {other} at stage 0; every stage must produce gradients for the "
                    "same parameters (a closure must recompute them with backward())"
                )
            if has and p.grad is not None and p.grad.is_sparse:
                raise RuntimeError(
                    f"{type(self).__name__} does not support sparse gradients: "
                    f"{self._describe(gi, group, pi)}"
                )

    def _buffer(self, p: Tensor, key: str) -> Tensor:
        """Scratch tensor ``key`` of p, reused across steps; never in ``state_dict``."""
        bufs = self._scratch.setdefault(p, {})
        buf = bufs.get(key)
        if buf is None or buf.shape != p.shape or buf.dtype != p.dtype or buf.device != p.device:
            buf = bufs[key] = torch.empty_like(p, memory_format=torch.preserve_format)
        return buf

    def _init_group(self, gi: int, group: dict[str, Any]) -> GroupStep:
        """Collect the group's parameters with a gradient, their buffers and hyper-parameters."""
        indices = [pi for pi, p in enumerate(group["params"]) if p.grad is not None]
        self._check_gradients(gi, group, set(indices), 0)
        params = [group["params"][pi] for pi in indices]
        fused = group["fused"]
        if fused is None:
            fused = (
                self._fused_by_default
                and group["foreach"] is None
                and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
            )
        foreach = group["foreach"]
        if foreach is None:  # for-loop on CPU (fewest passes), foreach on CUDA
            foreach = not fused and bool(params) and all(p.is_cuda for p in params)
        step = GroupStep(
            params=params,
            group=group,
            group_index=gi,
            indices=indices,
            lr=read_lr(group, f" in param_groups[{gi}]"),
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
            foreach=foreach,
            fused=fused,
        )
        self._init_state(step)
        if self.tableau.stages > 1:
            # shared storage must read θ_i too: probe points are written into it in place
            step.shared = [_storage_is_shared(p) for p in params]
            step.probes = [
                p.data if shared else self._buffer(p, "probe")
                for p, shared in zip(params, step.shared, strict=True)
            ]
            if self._plan.mean_buffer:
                step.mean = [self._buffer(p, "mean") for p in params]
        return step

    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> Any:
        """Perform one Runge–Kutta step; returns the closure's loss at the current θ."""
        loss = self._evaluate(closure, 0)
        steps = [self._init_group(gi, group) for gi, group in enumerate(self.param_groups)]
        steps = [step for step in steps if step.params]
        if not steps:  # no gradients: nothing moves (as for torch's optimizers)
            return loss
        last = self.tableau.stages - 1
        try:
            for stage in range(last + 1):
                if stage > 0:
                    self._evaluate(closure, stage)
                    with_grad = {step.group_index: set(step.indices) for step in steps}
                    for gi, group in enumerate(self.param_groups):
                        self._check_gradients(gi, group, with_grad.get(gi, set()), stage)
                for step in steps:
                    step.directions.append([p.grad for p in step.params])  # type: ignore[misc]
                    for p in step.params:  # taken over: a stale gradient cannot be reused
                        p.grad = None
                    if stage == 0 and last > 0:
                        step.saved = [
                            self._buffer(p, "theta").copy_(p) if shared else p.data
                            for p, shared in zip(step.params, step.shared, strict=True)
                        ]
                    runge_kutta_stage(
                        self._plan,
                        stage,
                        step,
                        lr=step.lr,
                        weight_decay=step.weight_decay if self._weight_decay_in_stages else 0.0,
                        maximize=step.maximize,
                        foreach=step.foreach,
                    )
                    if stage == 0 and last > 0:
                        for p, probe in zip(step.params, step.probes, strict=True):
                            p.data = probe
        finally:
            for step in steps:
                for p, theta, shared in zip(step.params, step.saved, step.shared, strict=False):
                    if shared:
                        p.copy_(theta)
                    else:
                        p.data = theta
        for step in steps:
            combined = step.directions[last]
            for p, d in zip(step.params, combined, strict=True):
                p.grad = d
            self._update(step, combined)
        return loss
