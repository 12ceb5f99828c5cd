"""Permutation alignment by weight matching (Ainsworth, Hayase & Srinivasa 2023).

For permutation groups g (from :mod:`surface_probe.paths._groups`) with permutations P_g, find

    max_P Σ_W ⟨W_a, P(W_b)⟩,

where P(W_b) permutes every axis of every tensor of θ_b by its group's permutation.  Coordinate
descent: for one group g at a time, with the others fixed, the objective is linear in P_g,

    C_g[i, j] = Σ_{W, axis in g} ⟨W_a[i], P_{−g}(W_b)[j]⟩     (rows: unit i of g along that axis),

solved exactly by ``scipy.optimize.linear_sum_assignment``; sweeps (groups in a seeded random order)
repeat until no permutation changes or ``max_sweeps`` is reached.  Running statistics are permuted
with their layer, so the aligned θ_b computes exactly the same function; probes afterwards apply
their own BatchNorm policy (``recompute`` by default).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor, nn

from surface_probe.params import WeightsLike, WeightSpace
from surface_probe.paths._common import endpoint
from surface_probe.paths._groups import Axis, find_groups

__all__ = ["align"]


def _view(t: Tensor, a: Axis, size: int) -> Tensor:
    """``t`` with axis ``a.axis`` split into (size, inner)."""
    return t.reshape(*t.shape[: a.axis], size, a.inner, *t.shape[a.axis + 1 :])


def _permute(
    t: Tensor, axes: list[Axis], perms: dict[int, Tensor], skip: int | None = None
) -> Tensor:
    for a in axes:
        if a.group != skip:
            perm = perms[a.group]
            t = _view(t, a, perm.numel()).index_select(a.axis, perm).reshape(t.shape)
    return t


def _rows(t: Tensor, a: Axis, size: int) -> Tensor:
    """(size, rest): unit i of the group along axis ``a`` as row i."""
    return _view(t, a, size).movedim(a.axis, 0).reshape(size, -1)


def align(
    model: nn.Module,
    a: WeightsLike,
    b: WeightsLike,
    *,
    max_sweeps: int = 100,
    seed: int = 0,
) -> dict[str, Tensor]:
    """θ_b with its hidden units permuted to match θ_a, as a new state_dict (nothing is modified).

    The permutation groups come from a ``torch.fx`` trace of ``model`` (Linear, Conv, BatchNorm,
    LayerNorm, elementwise activations, pooling, flatten, residual additions); an unsupported
    graph raises ``ValueError`` naming the node.
    """
    groups = find_groups(model)
    space = WeightSpace.of(model)
    named_a = {
        **space.params_dict(endpoint(space, a, "a")[0]),
        **space.buffers_dict(endpoint(space, a, "a")[1]),
    }
    named_b = {
        **space.params_dict(endpoint(space, b, "b")[0]),
        **space.buffers_dict(endpoint(space, b, "b")[1]),
    }
    axes = groups.resolved()
    missing = [n for n in space.param_names if n not in groups.axes]
    if missing:
        raise ValueError(f"align: parameter(s) {missing} are not used by a supported layer")
    free = groups.free()
    sizes = {g: groups.sizes[g] for g in free}
    perms = {g: torch.arange(sizes[g]) for g in free}
    # The running variance is not matched (it is not a weight); it follows its layer.
    matched = {n: ax for n, ax in axes.items() if n in space.param_names}
    rng = np.random.default_rng(seed)
    for _ in range(max_sweeps):
        changed = False
        for g in rng.permutation(free):
            cost = torch.zeros(sizes[g], sizes[g], dtype=torch.float64)
            for name, name_axes in matched.items():
                wb = _permute(named_b[name], name_axes, perms, skip=int(g)).double()
                for ax in name_axes:
                    if ax.group == g:
                        cost += (
                            _rows(named_a[name].double(), ax, sizes[g]) @ _rows(wb, ax, sizes[g]).T
                        )
            _, cols = linear_sum_assignment(cost.numpy(), maximize=True)
            new = torch.as_tensor(cols, dtype=torch.long)
            changed |= not torch.equal(new, perms[int(g)])
            perms[int(g)] = new
        if not changed:
            break
    state = dict(b.state_dict() if isinstance(b, nn.Module) else b)
    out = {k: v.detach().clone() for k, v in state.items()}
    for name, tensor in named_b.items():
        dtype = out[name].dtype if name in out else tensor.dtype
        out[name] = _permute(tensor, axes.get(name, []), perms).to(dtype).clone()
    return out
