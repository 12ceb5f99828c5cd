"""What a run records after every epoch: loss and accuracy over each split, distance from θ_0.

``{split}_loss``/``{split}_acc`` are evaluated in eval mode over the whole split (example-weighted
means; token-weighted for language models); ``dist_from_init`` = ‖θ_e − θ_0‖₂ over all
parameters (buffers excluded), accumulated in float64.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..device import autocast

EVAL_BATCH_SIZE = 256
"""Minimum batch size of the per-epoch evaluation passes (no gradients, so larger is cheaper)."""

Split = tuple[torch.Tensor, torch.Tensor]


def flat_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy; (B, T, V) language-model logits are flattened against (B, T) targets."""
    return F.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1))


@torch.no_grad()
def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int,
    device: torch.device,
    precision: str,
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` (eval mode) over ``(x, y)``, weighted by
    example (by token for language models). One host sync at the end."""
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    for start in range(0, x.shape[0], batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        with autocast(device, precision):
            out = model(xb)
        logits = out.reshape(-1, out.shape[-1]).float()
        target = yb.reshape(-1)
        loss_sum += F.cross_entropy(logits, target, reduction="sum").double()
        correct += (logits.argmax(dim=1) == target).sum()
    model.train(was_training)
    count = y.numel()
    return loss_sum.item() / count, correct.item() / count


def distance(model: nn.Module, init_params: list[torch.Tensor]) -> float:
    """‖θ − θ_0‖₂ over all parameters, accumulated in float64."""
    with torch.no_grad():
        sq = torch.zeros((), dtype=torch.float64, device=init_params[0].device)
        for p, p0 in zip(model.parameters(), init_params, strict=True):
            sq += (p.detach().double() - p0.double()).pow(2).sum()
    return math.sqrt(sq.item())


def epoch_metrics(
    model: nn.Module,
    splits: Mapping[str, Split],
    init_params: list[torch.Tensor],
    *,
    batch_size: int,
    device: torch.device,
    precision: str,
) -> dict[str, float]:
    """``{split}_loss`` and ``{split}_acc`` for every split, and ``dist_from_init``."""
    record: dict[str, float] = {}
    for name, (x, y) in splits.items():
        loss, acc = evaluate(model, x, y, batch_size=batch_size, device=device, precision=precision)
        record[f"{name}_loss"], record[f"{name}_acc"] = loss, acc
    record["dist_from_init"] = distance(model, init_params)
    return record
