"""Baselines and reference weights for :class:`surface_probe.recorder.GeometryRecorder`.

``two_pass``: w* is the run's own end point w_T (Guille-Escuret et al.): a deterministic first run
gives w_T, the same seeded run is repeated with the recorder, and must end at w_T bit for bit.
``shuffled_labels``: the targets of the shuffled-label baseline run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from surface_probe.recorder import GeometryRecorder, load_geometry

__all__ = ["shuffled_labels", "two_pass"]


def shuffled_labels(targets: Tensor, seed: int = 0) -> Tensor:
    """A seeded permutation of ``targets`` along dim 0: the shuffled-label baseline's data."""
    perm = torch.randperm(len(targets), generator=torch.Generator().manual_seed(seed))
    return targets[perm.to(targets.device)]


def two_pass(
    run: Callable[[Callable[[nn.Module, Optimizer], Any] | None], nn.Module],
    directory: str | os.PathLike[str],
    **recorder: Any,
) -> dict[str, np.ndarray]:
    """Record against the run's own end point w_T.

    ``run(attach)`` must build its model and optimizer from fixed seeds, call ``attach(model,
    optimizer)`` when ``attach`` is not None, train, and return the model. Pass 1 gives w_T; pass 2
    repeats the run with a :class:`GeometryRecorder` (keyword options ``recorder``) against w_T and
    must end at w_T bit for bit, else the run is not deterministic and ``RuntimeError`` is raised.
    ``directory`` must not hold an earlier recording.
    """
    if any(Path(directory).glob("chunk_*.npz")):
        raise FileExistsError(f"{directory} already holds a recording; two_pass needs a fresh one")
    final = {k: v.detach().clone() for k, v in run(None).state_dict().items()}
    made: list[GeometryRecorder] = []

    def attach(model: nn.Module, optimizer: Optimizer) -> Any:
        made.append(GeometryRecorder(model, optimizer, final, directory, **recorder))
        return made[-1]

    again = run(attach)
    if len(made) != 1:
        raise RuntimeError(f"run must call attach exactly once, called it {len(made)} times")
    made[0].close()
    for key, value in again.state_dict().items():
        if not torch.equal(value, final[key]):
            raise RuntimeError(f"the two runs differ at {key!r}: the run is not deterministic")
    return load_geometry(directory)
