"""Checkpoints of the probes, profile_path, fit_path, dss and GeometryRecorder refuse to resume
from other inputs through one mechanism (one message naming the field that differs), and an
unreadable checkpoint is a one-line error naming the file."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Any

import numpy as np
import pytest
import torch

import surface_probe as sp

from ._toys import DATA, Point, ring, ring_ends

OTHER_DATA = (torch.ones(1, 1, dtype=torch.float64), torch.ones(1, dtype=torch.float64))


def _refusal(made_by: str, field: str) -> str:
    """The one message of ``_fingerprint.check_fingerprint``."""
    return (
        rf"^checkpoint \S+ was made by {made_by} with different arguments \(differs in: {field}\); "
        r"delete it or choose another checkpoint path$"
    )


def _fit(data: object, ck: FilePath, lam: float = 1e-4) -> sp.Path:
    a, b = ring_ends()
    start = sp.path(a, a, b, kind="bezier", bends=1)
    return sp.fit_path(a, start, data, steps=2, lam=lam, loss_fn=ring, checkpoint=ck)


def test_fit_path_checkpoint_names_the_differing_input(tmp_path: FilePath) -> None:
    ck = tmp_path / "fit.pt"
    _fit(DATA, ck)
    with pytest.raises(ValueError, match=_refusal("another fit", "data")):
        _fit(OTHER_DATA, ck)
    with pytest.raises(ValueError, match=r"differs in: settings\b"):
        _fit(DATA, ck, lam=1.0)


def test_probe_and_profile_checkpoints_use_the_shared_refusal(tmp_path: FilePath) -> None:
    a, b = ring_ends()
    line_kw: dict[str, Any] = {"loss_fn": ring, "steps": 3, "progress": False}
    sp.line(a, a, b, DATA, checkpoint=tmp_path / "line.npz", **line_kw)
    with pytest.raises(ValueError, match=_refusal("another line run", "data")):
        sp.line(a, a, b, OTHER_DATA, checkpoint=tmp_path / "line.npz", **line_kw)
    straight = sp.path(a, a, b)
    prof_kw: dict[str, Any] = {"loss_fn": ring, "progress": False}
    sp.path_profile(a, straight, DATA, checkpoint=tmp_path / "p.npz", **prof_kw)
    with pytest.raises(ValueError, match=_refusal("another path_profile/linear run", "data")):
        sp.path_profile(a, straight, OTHER_DATA, checkpoint=tmp_path / "p.npz", **prof_kw)


def test_fit_path_unreadable_checkpoint_is_named(tmp_path: FilePath) -> None:
    ck = tmp_path / "fit.pt"
    ck.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match=f"cannot read checkpoint {ck}") as err:
        _fit(DATA, ck)
    assert "\n" not in str(err.value)


def test_dss_checkpoint_names_the_differing_input(tmp_path: FilePath) -> None:
    a, b = ring_ends()
    ck = tmp_path / "dss.npz"
    sp.dss(a, a, b, DATA, level=0.05, max_depth=1, bead_steps=5, loss_fn=ring, checkpoint=ck)
    with pytest.raises(ValueError, match=_refusal("another dss call", "data")):
        sp.dss(
            a, a, b, OTHER_DATA, level=0.05, max_depth=1, bead_steps=5, loss_fn=ring, checkpoint=ck
        )


def _record(directory: FilePath, reference: torch.Tensor, steps: int, seed: int = 0) -> None:
    model = Point(1.0, 2.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rec = sp.GeometryRecorder(model, opt, reference, directory, chunk_size=2, seed=seed)
    for _ in range(steps):
        opt.zero_grad()
        ring(model(DATA[0]), DATA[1]).backward()
        opt.step()
    rec.close()


def test_recorder_refuses_a_directory_recorded_against_another_reference(
    tmp_path: FilePath,
) -> None:
    reference = torch.tensor([0.0, 1.0], dtype=torch.float64)
    _record(tmp_path, reference, steps=2)
    with pytest.raises(ValueError, match=_refusal("another recording", "reference")):
        _record(tmp_path, reference + 1.0, steps=2)
    with pytest.raises(ValueError, match=r"differs in: seed\b"):
        _record(tmp_path, reference, steps=2, seed=1)


def test_recorder_resumed_random_baseline_continues_the_stream(tmp_path: FilePath) -> None:
    reference = torch.tensor([0.0, 1.0], dtype=torch.float64)
    _record(tmp_path / "whole", reference, steps=4)
    _record(tmp_path / "split", reference, steps=2)
    _record(tmp_path / "split", reference, steps=2)  # resumed: the run is a fresh Point again
    whole = sp.load_geometry(tmp_path / "whole")["random_gamma"]
    split = sp.load_geometry(tmp_path / "split")["random_gamma"]
    assert np.array_equal(split[2:], whole[2:])
    assert len(set(split.tolist())) == 4  # resuming drew new baseline values, not the first ones


def test_recorder_records_a_bfloat16_model(tmp_path: FilePath) -> None:
    model = torch.nn.Linear(2, 2).bfloat16()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rec = sp.GeometryRecorder(model, opt, torch.nn.Linear(2, 2).bfloat16(), tmp_path)
    opt.zero_grad()
    model(torch.ones(3, 2, dtype=torch.bfloat16)).float().pow(2).sum().backward()
    opt.step()
    rec.close()
    assert np.isfinite(sp.load_geometry(tmp_path)["grad_gamma"]).all()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("level", float("nan")),
        ("alpha", 0.0),
        ("alpha", 1.5),
        ("max_depth", -1),
        ("samples", 2),
        ("bead_steps", 0),
    ],
)
def test_dss_names_the_bad_number(option: str, value: float) -> None:
    a, b = ring_ends()
    kwargs = {"level": 0.05, option: value}
    with pytest.raises(ValueError, match=f"^{option} must be ") as err:
        sp.dss(a, a, b, DATA, loss_fn=ring, **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("option", "value"), [("chunk_size", 0), ("stages", -1), ("seed", -1)])
def test_recorder_names_the_bad_number(option: str, value: int, tmp_path: FilePath) -> None:
    model = Point(1.0, 2.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=f"^{option} must be ") as err:
        sp.GeometryRecorder(model, opt, model, tmp_path, **{option: value})  # type: ignore[arg-type]
    assert "\n" not in str(err.value)
    assert not tmp_path.joinpath("meta.npz").exists()
