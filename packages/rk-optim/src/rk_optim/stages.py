"""The arithmetic of one Runge–Kutta stage, as one function per implementation.

``runge_kutta_stage`` dispatches, like ``torch.optim.sgd.sgd``, to ``_single_tensor_stage``
(a for-loop over the parameters) or ``_multi_tensor_stage`` (``torch._foreach_*``). Both run the
same elementwise kernels in the same order, so they agree bit for bit. At stage i, with the
stage gradient g_i already taken over from ``.grad`` into ``directions[i]``:

    d_i  = ±g_i (+ wd·θ_i)                                      (in place in the gradient)
    i < s−1:  probe ← θ − lr Σ_{j≤i} a_{i+1,j} d_j               (θ itself is never written)
    i = s−1:  ḡ = Σ_j b_j d_j, formed in place in d_{s−1}

ḡ is accumulated as a running weighted mean m ← m + (b_i / Σ_{j≤i} b_j)(d_i − m) (``lerp``),
exact when all stage directions are equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from .tableau import ButcherTableau

__all__ = ["StagePlan", "StageTensors", "runge_kutta_stage"]


@dataclass(frozen=True)
class StagePlan:
    """What every stage of a tableau does, precomputed once.

    ``probe_terms[i]``: the (j, a_ij) with a_ij ≠ 0 that form probe point i (i ≥ 1).
    ``mean_weights[i]``: b_i / Σ_{j≤i} b_j (0 where b_i = 0); ``first_weighted``: the first
    stage with b_i ≠ 0, which starts the running mean; ``mean_buffer``: whether a stage between
    it and the last one updates the mean (then it needs its own buffer).
    """

    stages: int
    probe_terms: tuple[tuple[tuple[int, float], ...], ...]
    mean_weights: tuple[float, ...]
    first_weighted: int
    mean_buffer: bool

    @classmethod
    def of(cls, tableau: ButcherTableau) -> StagePlan:
        weights, partial = [], 0.0
        for i, bi in enumerate(tableau.b):
            if bi != 0.0:
                partial += bi
                if partial == 0.0:
                    raise ValueError(
                        f"tableau {tableau.name!r}: partial sum b[0] + ... + b[{i}] is 0, so the "
                        "combined direction cannot be accumulated as a running weighted mean"
                    )
            weights.append(bi / partial if bi != 0.0 else 0.0)
        first = next(i for i, bi in enumerate(tableau.b) if bi != 0.0)
        terms = tuple(
            tuple((j, a) for j, a in enumerate(row[:i]) if a != 0.0)
            for i, row in enumerate(tableau.A)
        )
        s = tableau.stages
        return cls(s, terms, tuple(weights), first, any(weights[first + 1 : s - 1]))

    def starts_mean(self, stage: int) -> bool:
        """Whether ``stage`` is the first intermediate stage that updates the mean buffer."""
        w = self.mean_weights
        return (
            w[stage] != 0.0
            and stage != self.first_weighted
            and not any(w[self.first_weighted + 1 : stage])
        )


@dataclass(kw_only=True)
class StageTensors:
    """The lists a stage works on, one entry per parameter with a gradient.

    ``params`` hold θ_i during stage i; ``saved`` hold θ (the parameters' own storage);
    ``directions[i]`` the stage directions; ``probes`` receive the next probe point; ``mean`` is
    the running-mean buffer (empty unless ``StagePlan.mean_buffer``).
    """

    params: list[Tensor]
    saved: list[Tensor] = field(default_factory=list)
    directions: list[list[Tensor]] = field(default_factory=list)
    probes: list[Tensor] = field(default_factory=list)
    mean: list[Tensor] = field(default_factory=list)


def runge_kutta_stage(
    plan: StagePlan,
    stage: int,
    tensors: StageTensors,
    *,
    lr: float,
    weight_decay: float,
    maximize: bool,
    foreach: bool,
) -> None:
    """Finish direction d_stage in place, then write the next probe point or form ḡ."""
    impl = _multi_tensor_stage if foreach else _single_tensor_stage
    impl(plan, stage, tensors, lr, weight_decay, maximize)


def _single_tensor_stage(
    plan: StagePlan, stage: int, t: StageTensors, lr: float, weight_decay: float, maximize: bool
) -> None:
    last = stage == plan.stages - 1
    weight = plan.mean_weights[stage]
    first = plan.first_weighted
    for k, param in enumerate(t.params):
        d = t.directions[stage][k]
        if maximize:
            d.neg_()
        if weight_decay != 0.0:
            d.add_(param, alpha=weight_decay)
        if last:
            if first < stage:
                d.lerp_(t.mean[k] if plan.mean_buffer else t.directions[first][k], 1.0 - weight)
            continue
        if plan.starts_mean(stage):
            t.mean[k].copy_(t.directions[first][k])
        if weight != 0.0 and stage != first:
            t.mean[k].lerp_(d, weight)
        terms = plan.probe_terms[stage + 1]
        if not terms:
            t.probes[k].copy_(t.saved[k])
        for n, (j, a) in enumerate(terms):
            if n == 0:
                torch.add(t.saved[k], t.directions[j][k], alpha=-lr * a, out=t.probes[k])
            else:
                t.probes[k].add_(t.directions[j][k], alpha=-lr * a)


def _multi_tensor_stage(
    plan: StagePlan, stage: int, t: StageTensors, lr: float, weight_decay: float, maximize: bool
) -> None:
    d = t.directions[stage]
    weight = plan.mean_weights[stage]
    first = plan.first_weighted
    if maximize:
        torch._foreach_neg_(d)
    if weight_decay != 0.0:
        torch._foreach_add_(d, t.params, alpha=weight_decay)
    if stage == plan.stages - 1:
        if first < stage:
            torch._foreach_lerp_(
                d, t.mean if plan.mean_buffer else t.directions[first], 1.0 - weight
            )
        return
    if plan.starts_mean(stage):
        torch._foreach_copy_(t.mean, t.directions[first])
    if weight != 0.0 and stage != first:
        torch._foreach_lerp_(t.mean, d, weight)
    torch._foreach_copy_(t.probes, t.saved)
    for j, a in plan.probe_terms[stage + 1]:
        torch._foreach_add_(t.probes, t.directions[j], alpha=-lr * a)
