"""Materialise evaluation data once as device tensors: a list of (inputs, targets) batches.

Floating-point inputs are cast to the dtype of the model's parameters (a float32 dataset feeds a
float64 or bfloat16 model as it would after ``model.to(dtype)``); integer inputs (token ids) and
all targets keep their dtype.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeAlias

import torch
from torch import Tensor

__all__ = ["Batch", "batch_size", "materialise", "to_device"]

Batch: TypeAlias = tuple[Any, Any]


def to_device(obj: Any, device: torch.device, dtype: torch.dtype | None = None) -> Any:
    """Move a tensor, or tensors nested in tuples/lists/dicts, to ``device``; floating-point ones
    also to ``dtype`` when given."""
    if isinstance(obj, Tensor):
        return (
            obj.to(device, dtype)
            if dtype is not None and obj.is_floating_point()
            else obj.to(device)
        )
    if isinstance(obj, tuple | list):
        return type(obj)(to_device(o, device, dtype) for o in obj)
    if isinstance(obj, dict):
        return {k: to_device(v, device, dtype) for k, v in obj.items()}
    return obj


def batch_size(targets: Any) -> int:
    """Number of examples in a batch: the leading dimension of its targets."""
    if isinstance(targets, Tensor):
        if targets.ndim == 0:
            raise ValueError("targets must have a leading batch dimension, got a 0-d tensor")
        return int(targets.shape[0])
    return len(targets)


def materialise(
    data: Any, device: torch.device, what: str = "data", dtype: torch.dtype | None = None
) -> list[Batch]:
    """Normalise ``data`` to a list of (inputs, targets) batches on ``device``, floating-point
    inputs cast to ``dtype`` (the model's parameter dtype) when given.

    ``data`` is one ``(X, Y)`` pair of tensors or any iterable of such pairs (a DataLoader, a list).
    It is iterated exactly once, so a shuffling loader yields one fixed order for every point.
    """
    if (
        isinstance(data, tuple | list)
        and len(data) == 2
        and all(isinstance(t, Tensor) for t in data)
    ):
        items: Iterable[Any] = [tuple(data)]
    elif isinstance(data, Iterable):
        items = data
    else:
        raise TypeError(
            f"{what} must be an (inputs, targets) pair or an iterable of such batches, "
            f"got {type(data).__name__}"
        )
    batches: list[Batch] = []
    for i, item in enumerate(items):
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise ValueError(
                f"{what} batch {i} must be an (inputs, targets) pair, got {type(item).__name__}"
                + (f" of length {len(item)}" if isinstance(item, tuple | list) else "")
            )
        inputs, targets = to_device(item[0], device, dtype), to_device(item[1], device)
        n = batch_size(targets)
        if isinstance(inputs, Tensor) and (inputs.ndim == 0 or inputs.shape[0] != n):
            raise ValueError(
                f"{what} batch {i}: inputs of shape {tuple(inputs.shape)} hold "
                f"{inputs.shape[0] if inputs.ndim else 0} examples but targets hold {n}"
            )
        if n == 0:
            continue
        batches.append((inputs, targets))
    if not batches:
        raise ValueError(f"{what} is empty: no (inputs, targets) batch with at least one example")
    return batches
