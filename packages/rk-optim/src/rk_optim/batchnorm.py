"""BatchNorm helpers: keep probe stages from updating running statistics.

A Runge–Kutta step runs the closure (a forward pass in training mode) once per stage, so every
BatchNorm layer would update running_mean / running_var / num_batches_tracked s times per step.
These helpers make the running statistics reflect exactly one forward pass per step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import torch
from torch import nn

__all__ = ["bn_stats_from_first_stage", "freeze_bn_stats"]

T = TypeVar("T")


@contextmanager
def freeze_bn_stats(module: nn.Module) -> Iterator[None]:
    """Restore the running statistics of every BatchNorm submodule bitwise on exit.

    Inside the block BatchNorm still normalises with batch statistics in training mode (the
    forward pass is unchanged); only the buffers running_mean, running_var and
    num_batches_tracked are copied back afterwards (also when the block raises).
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"freeze_bn_stats expects an nn.Module, got {type(module).__name__}")
    saved: list[tuple[torch.Tensor, torch.Tensor]] = []
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._NormBase):
            for buf in (m.running_mean, m.running_var, m.num_batches_tracked):
                if buf is not None:
                    saved.append((buf, buf.detach().clone()))
    try:
        yield
    finally:
        with torch.no_grad():
            for buf, copy in saved:
                buf.copy_(copy)


def bn_stats_from_first_stage(module: nn.Module, closure: Callable[[], T]) -> Callable[[], T]:
    """Wrap a per-step closure: its first call updates BatchNorm statistics as usual, every
    later call (the probe stages of the same step) runs inside :func:`freeze_bn_stats`.

    Build a new wrapper for every step (the wrapper counts its own calls)::

        optimizer.step(bn_stats_from_first_stage(model, closure))
    """
    calls = 0

    def wrapped() -> T:
        nonlocal calls
        calls += 1
        if calls == 1:
            return closure()
        with freeze_bn_stats(module):
            return closure()

    return wrapped
