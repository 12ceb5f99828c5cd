"""Dynamic String Sampling on losses whose level sets are known."""

from __future__ import annotations

from pathlib import Path as FilePath

import numpy as np
import pytest
import torch

import surface_probe as sp

from ._toys import ARC_OVER_CHORD, DATA, Point, ring, ring_ends, wells


def _sgd(params: list[torch.Tensor]) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=0.1)


def test_ring_is_connected_along_a_string_as_long_as_the_arc(tmp_path: FilePath) -> None:
    a, b = ring_ends()
    r = sp.dss(a, a, b, DATA, level=0.05, optimizer=_sgd, loss_fn=ring)
    assert r.connected
    assert len(r.beads) > 2
    assert np.all(r.segment_max <= 0.05)
    assert r.segment_max.shape == (len(r.beads) - 1,)
    assert r.normalized_length == pytest.approx(ARC_OVER_CHORD, rel=0.05)
    assert np.array_equal(r.beads[0], a.theta.detach().numpy())
    profile = sp.path_profile(a, r.path, DATA, loss_fn=ring, steps=101)
    assert profile.height <= 0.05
    r.save(tmp_path / "s.npz")
    back = sp.StringResult.load(tmp_path / "s.npz")
    assert back.connected is True
    assert np.array_equal(back.beads, r.beads)


def test_two_wells_connect_only_above_the_saddle() -> None:
    a, b = Point(-1.0, 0.0), Point(1.0, 0.0)
    below = sp.dss(a, a, b, DATA, level=0.5, optimizer=_sgd, bead_steps=100, loss_fn=wells)
    assert not below.connected
    assert below.segment_max.max() == pytest.approx(1.0)
    above = sp.dss(a, a, b, DATA, level=1.2, optimizer=_sgd, loss_fn=wells)
    assert above.connected
    assert above.normalized_length == 1.0


def test_depth_limit_and_bad_input() -> None:
    a, b = ring_ends()
    shallow = sp.dss(a, a, b, DATA, level=0.05, max_depth=0, loss_fn=ring)
    assert not shallow.connected
    assert len(shallow.beads) == 2
    with pytest.raises(ValueError, match="alpha"):
        sp.dss(a, a, b, DATA, level=0.05, alpha=0.0, loss_fn=ring)


def test_dss_checkpoint_reuses_finished_beads(tmp_path: FilePath) -> None:
    a, b = ring_ends()
    ck = tmp_path / "dss.npz"
    first = sp.dss(a, a, b, DATA, level=0.05, optimizer=_sgd, loss_fn=ring, checkpoint=ck)
    descents = 0

    def counting_sgd(params: list[torch.Tensor]) -> torch.optim.Optimizer:
        nonlocal descents
        descents += 1
        return _sgd(params)

    again = sp.dss(a, a, b, DATA, level=0.05, optimizer=counting_sgd, loss_fn=ring, checkpoint=ck)
    assert np.array_equal(again.beads, first.beads)
    assert descents == 0
    assert again.meta["descent_steps"] == []
    with pytest.raises(ValueError, match="another dss call"):
        sp.dss(a, a, b, DATA, level=0.06, optimizer=_sgd, loss_fn=ring, checkpoint=ck)
