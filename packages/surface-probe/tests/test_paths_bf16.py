"""bfloat16 models: paths are built, profiled, fitted and strung (with checkpoints) like float32."""

from __future__ import annotations

from pathlib import Path as FilePath

import numpy as np
import torch
from torch import nn

import surface_probe as sp


def _net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2)).bfloat16()


def test_bfloat16_paths_run_and_leave_the_model(tmp_path: FilePath) -> None:
    a, b = _net(0), _net(1)
    before = {k: v.clone() for k, v in a.state_dict().items()}
    g = torch.Generator().manual_seed(0)
    data = (torch.randn(16, 2, generator=g).bfloat16(), torch.randint(0, 2, (16,), generator=g))
    profile = sp.path_profile(a, sp.path(a, a, b), data, steps=5, checkpoint=tmp_path / "p.npz")
    assert np.isfinite(profile.loss).all()
    start = sp.path(a, a, b, kind="bezier")
    fitted = sp.fit_path(a, start, data, steps=2, checkpoint=tmp_path / "fit.pt")
    assert fitted.free.dtype == torch.bfloat16
    string = sp.dss(
        a, a, b, data, level=0.0, max_depth=1, bead_steps=2, checkpoint=tmp_path / "dss.npz"
    )
    again = sp.dss(
        a, a, b, data, level=0.0, max_depth=1, bead_steps=2, checkpoint=tmp_path / "dss.npz"
    )
    assert np.array_equal(again.beads, string.beads)
    assert all(torch.equal(v, before[k]) for k, v in a.state_dict().items())
