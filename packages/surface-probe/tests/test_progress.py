"""Progress bars: on only when stderr is a terminal unless forced."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

import surface_probe as sp
from surface_probe._progress import progress_bar


def test_default_follows_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert progress_bar(5, enabled=None, desc="x").disable
    assert not progress_bar(5, enabled=True, desc="x").disable
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert not progress_bar(5, enabled=None, desc="x").disable


def test_forced_bar_reports_all_points(capsys: pytest.CaptureFixture[str]) -> None:
    net = nn.Linear(2, 2).double()
    data = (torch.randn(4, 2, dtype=torch.float64), torch.tensor([0, 1, 0, 1]))
    sp.plane(net, net, data, seed=0, resolution=3, progress=True, chunk_size=4)
    err = capsys.readouterr().err
    assert "plane" in err
    assert "/9" in err
