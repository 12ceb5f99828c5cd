"""Permutation groups of a network's hidden units, found from a ``torch.fx`` trace.

Permuting the output units of a Linear/Conv layer — its weight rows, its bias, the BatchNorm or
LayerNorm entries that follow, and the matching input columns of every consumer — leaves the
function unchanged when only elementwise activations, pooling and flatten lie in between.  Values
that are added (residual connections) must share one permutation: their groups are merged
(union-find).  The network's input and output units are fixed.  Anything else is refused with the
name of the node.
"""

from __future__ import annotations

import copy
import operator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import fx, nn

__all__ = ["Axis", "Groups", "find_groups"]

FIXED = 0
_ELEMENTWISE_MODULES = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.ELU, nn.Tanh, nn.Sigmoid,
    nn.Softplus, nn.Hardtanh, nn.Identity, nn.Dropout,
)  # fmt: skip
_POOL_MODULES = (
    nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d,
)  # fmt: skip
_PASS_FUNCTIONS = {
    torch.relu, F.relu, torch.tanh, torch.sigmoid, F.gelu, F.leaky_relu, F.silu, F.elu,
    F.dropout, F.max_pool1d, F.max_pool2d, F.avg_pool1d, F.avg_pool2d, F.adaptive_avg_pool1d,
    F.adaptive_avg_pool2d, F.adaptive_max_pool2d,
}  # fmt: skip
_PASS_METHODS = {"relu", "tanh", "sigmoid", "contiguous"}
_ADD = {operator.add, operator.iadd, torch.add}


@dataclass(frozen=True)
class Axis:
    """Axis ``axis`` of a tensor, of size n · inner, viewed as (n, inner) with n in ``group``."""

    axis: int
    group: int
    inner: int = 1


@dataclass
class Groups:
    """Permutation groups (id → size) and, per tensor name, its permuted axes."""

    sizes: dict[int, int] = field(default_factory=dict)
    axes: dict[str, list[Axis]] = field(default_factory=dict)
    parent: dict[int, int] = field(default_factory=lambda: {FIXED: FIXED})

    def new(self, size: int) -> int:
        g = len(self.parent)
        self.parent[g], self.sizes[g] = g, size
        return g

    def find(self, g: int) -> int:
        while self.parent[g] != g:
            g = self.parent[g]
        return g

    def union(self, g: int, h: int, node: str) -> int:
        g, h = self.find(g), self.find(h)
        if g == h:
            return g
        if FIXED not in (g, h) and self.sizes[g] != self.sizes[h]:
            raise ValueError(
                f"align: node {node} adds values with {self.sizes[g]} and {self.sizes[h]} units"
            )
        keep, drop = (g, h) if g == FIXED or (h != FIXED and g < h) else (h, g)
        self.parent[drop] = keep
        return keep

    def assign(self, name: str, axis: Axis, node: str) -> None:
        if name in self.axes and any(a.axis == axis.axis for a in self.axes[name]):
            raise ValueError(
                f"align: node {node} reuses {name!r} (shared weights are not supported)"
            )
        self.axes.setdefault(name, []).append(axis)

    def free(self) -> list[int]:
        """Root groups that are permutable (not merged with the network's inputs or outputs)."""
        return sorted({self.find(g) for g in self.sizes} - {FIXED})

    def resolved(self) -> dict[str, list[Axis]]:
        """Per tensor, the axes of permutable groups with their root ids."""
        out: dict[str, list[Axis]] = {}
        for name, axes in self.axes.items():
            for a in axes:
                root = self.find(a.group)
                if root != FIXED:
                    out.setdefault(name, []).append(Axis(a.axis, root, a.inner))
        return out


def _layer(
    groups: Groups, prefix: str, module: nn.Module, value: tuple[int, bool], node_name: str
) -> tuple[int, bool]:
    """Record a Linear/Conv/norm layer's permuted axes; return its output value (group, flat)."""
    group, flat = value
    name = f"{prefix}." if prefix else ""
    node = f"{node_name!r} (module {prefix!r}, {type(module).__name__})"
    if isinstance(module, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d):
        if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Conv3d) and (module.groups != 1 or flat):
            raise ValueError(f"align: unsupported node {node}: grouped or flattened convolution")
        width = module.weight.shape[1]
        size = groups.sizes.get(groups.find(group), width) if group != FIXED else width
        if width % size:
            raise ValueError(f"align: node {node} takes {width} inputs, not a multiple of {size}")
        out = groups.new(module.weight.shape[0])
        groups.assign(name + "weight", Axis(0, out), node)
        groups.assign(name + "weight", Axis(1, group, width // size), node)
        if module.bias is not None:
            groups.assign(name + "bias", Axis(0, out), node)
        return out, False
    norm = isinstance(module, nn.modules.batchnorm._BatchNorm) or (
        isinstance(module, nn.LayerNorm) and len(module.normalized_shape) == 1
    )
    if not norm or flat:
        raise ValueError(f"align: unsupported node {node}")
    for leaf, tensor in [*module.named_parameters(), *module.named_buffers()]:
        if tensor is not None and tensor.ndim == 1:
            groups.assign(name + leaf, Axis(0, group), node)
    return value


def find_groups(model: nn.Module) -> Groups:
    """Trace ``model`` (a private copy) and collect its permutation groups."""
    try:
        graph = fx.symbolic_trace(copy.deepcopy(model)).graph
    except Exception as err:
        raise ValueError(
            f"align: torch.fx cannot trace the model ({type(err).__name__}: {err})"
        ) from None
    groups = Groups()
    values: dict[fx.Node, tuple[int, bool]] = {}
    for node in graph.nodes:
        args = [values[a] for a in node.args if isinstance(a, fx.Node)]
        if node.op == "placeholder":
            values[node] = (FIXED, False)
        elif node.op == "output":
            for g, _ in args:
                groups.union(g, FIXED, repr(node.name))
        elif node.op == "call_module":
            module = model.get_submodule(node.target)
            if isinstance(module, _ELEMENTWISE_MODULES + _POOL_MODULES):
                values[node] = args[0]
            elif isinstance(module, nn.Flatten) and module.start_dim == 1:
                values[node] = (args[0][0], True)
            else:
                values[node] = _layer(groups, str(node.target), module, args[0], node.name)
        elif node.op == "call_function" and node.target in _PASS_FUNCTIONS:
            values[node] = args[0]
        elif node.op == "call_function" and node.target is torch.flatten and node.args[1:2] == (1,):
            values[node] = (args[0][0], True)
        elif node.op == "call_function" and node.target in _ADD and len(args) == 2:
            if args[0][1] != args[1][1]:
                raise ValueError(
                    f"align: node {node.name!r} adds a flattened and an unflattened value"
                )
            values[node] = (groups.union(args[0][0], args[1][0], repr(node.name)), args[0][1])
        elif node.op == "call_method" and node.target in _PASS_METHODS:
            values[node] = args[0]
        else:
            raise ValueError(f"align: unsupported node {node.name!r} ({node.op} {node.target})")
    return groups
