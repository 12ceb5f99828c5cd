"""One forward pass of a model on a batch, the same for every caller (Evaluator, curvature,
paths): at the requested precision (bfloat16 autocast for "bf16"), with half-precision outputs
widened to float32 before the loss, and a failure reported in one line naming the data, the batch
and its input shapes, torch's error kept as the cause.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor

__all__ = ["forward_errors", "forward_precision", "widen"]


def forward_precision(
    precision: str, device: torch.device
) -> contextlib.AbstractContextManager[Any]:
    """The context of a forward pass at ``precision``: bfloat16 autocast for "bf16", else none."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def widen(out: Tensor) -> Tensor:
    """Half-precision (fp16/bf16) outputs as float32, so loss and metrics are reduced in float32
    or wider; others unchanged."""
    return out.float() if out.dtype in (torch.bfloat16, torch.float16) else out


def _shapes(obj: Any) -> str:
    """The shapes and dtypes of the tensors in ``obj``, e.g. ``(8, 5) float32``."""
    if isinstance(obj, Tensor):
        return f"{tuple(obj.shape)} {str(obj.dtype).removeprefix('torch.')}"
    if isinstance(obj, tuple | list):
        return "[" + ", ".join(_shapes(o) for o in obj) + "]"
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{k!r}: {_shapes(v)}" for k, v in obj.items()) + "}"
    return type(obj).__name__


@contextlib.contextmanager
def forward_errors(what: str, index: int | None, inputs: Any) -> Iterator[None]:
    """Re-raise a RuntimeError of ``model(inputs)`` on batch ``index`` (None: unknown) of
    ``what`` as a one-line ValueError naming them and the input shapes (torch's error is its
    ``__cause__``); running out of memory is passed on unchanged."""
    try:
        yield
    except torch.OutOfMemoryError:
        raise
    except RuntimeError as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        batch = f"{what} batch" if index is None else f"{what} batch {index}"
        raise ValueError(
            f"model(inputs) failed on {batch} with inputs {_shapes(inputs)}: {reason}"
        ) from err
