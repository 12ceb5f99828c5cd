"""Hyper-parameters shared by every stage-loop optimizer: defaults, validation, reading.

One place defines the keys every param group carries (``lr``, ``weight_decay``, ``maximize``,
``foreach``, ``fused``, ``capturable``, ``differentiable``) and how they are checked, so the
constructor, ``add_param_group`` and ``step`` agree on what is accepted.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

__all__ = ["check_group", "read_lr", "shared_defaults"]


def shared_defaults(
    lr: float | Tensor,
    weight_decay: float,
    maximize: bool,
    foreach: bool | None,
    fused: bool | None,
    capturable: bool,
    differentiable: bool,
) -> dict[str, Any]:
    """The defaults every stage-loop optimizer stores (validated with the first param group)."""
    return {
        "lr": lr,
        "weight_decay": weight_decay,
        "maximize": maximize,
        "foreach": foreach,
        "fused": fused,
        "capturable": capturable,
        "differentiable": differentiable,
    }


def _non_negative(name: str, value: Any, where: str) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0.0:
        raise ValueError(f"Invalid {name}: {value!r}{where} (must be a non-negative float)")


def read_lr(group: dict[str, Any], where: str = "") -> float:
    """The group's lr as a Python float; a Tensor lr must have one element (as in torch)."""
    lr = group["lr"]
    if isinstance(lr, Tensor):
        if lr.numel() != 1:
            raise ValueError(f"Tensor lr must be 1-element{where}, got shape {tuple(lr.shape)}")
        if lr.is_complex() or lr.requires_grad:
            raise ValueError(f"Invalid lr: {lr!r}{where} (a real tensor without grad is needed)")
        lr = lr.item()
    _non_negative("lr", lr, where)
    return float(lr)


def check_group(group: dict[str, Any], where: str, owner: str) -> None:
    """Validate one param group's shared keys; ``where`` names the group in messages."""
    read_lr(group, where)
    _non_negative("weight_decay", group["weight_decay"], where)
    for key in ("maximize", "capturable", "differentiable"):
        if not isinstance(group[key], bool):
            raise ValueError(f"Invalid {key}: {group[key]!r}{where} (must be a bool)")
    for key in ("foreach", "fused"):
        if group[key] is not None and not isinstance(group[key], bool):
            raise ValueError(f"Invalid {key}: {group[key]!r}{where} (must be None or a bool)")
    if group["capturable"]:
        raise ValueError(
            f"{owner}: capturable=True is not supported{where}: the step calls the closure "
            "between stages, which CUDA-graph capture of the step cannot contain; use "
            "capturable=False"
        )
    if group["differentiable"]:
        raise ValueError(
            f"{owner}: differentiable=True is not supported{where}: the stages write the probe "
            "points in place under no_grad; use differentiable=False"
        )
    if group["fused"] and group["foreach"]:
        raise ValueError(f"{owner}: fused=True and foreach=True cannot be set together{where}")
    if group["fused"]:
        supported = _get_fused_kernels_supported_devices()
        for index, p in enumerate(group["params"]):
            if not (p.device.type in supported and torch.is_floating_point(p)):
                raise ValueError(
                    f"{owner}: fused=True requires real floating-point parameters on {supported}"
                    f"{where}: params[{index}] is {p.dtype} on {p.device.type}"
                )
