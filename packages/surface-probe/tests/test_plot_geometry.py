"""Geometry figures render the data they are given."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import surface_probe as sp
from surface_probe.maps import SolutionMap
from surface_probe.plot import geometry as plot_geometry
from surface_probe.results import SurfaceResult
from surface_probe.spectral import SpectralDensity


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def test_one_import_path() -> None:
    assert sp.plot.geometry is plot_geometry
    assert {"geometry", "paths"} <= set(sp.plot.__all__)
    for old in ("plot_geometry", "plot_paths"):
        assert not hasattr(sp, old)


def test_spectrum_peaks_at_the_nodes() -> None:
    density = SpectralDensity(np.array([[1.0, 5.0]]), np.array([[0.5, 0.5]]), 2, 2)
    fig = plot_geometry.spectrum(density, log=False)
    x, y = fig.axes[0].lines[0].get_data()
    peaks = np.asarray(x)[np.argsort(np.asarray(y))[-2:]]
    np.testing.assert_allclose(np.sort(peaks), [1.0, 5.0], atol=0.05)


def test_geometry_panels_skip_missing_full_batch_steps() -> None:
    rows = {"step": np.arange(4.0)}
    for stat in ("rsi", "eb", "gamma"):
        rows[f"grad_{stat}"] = np.array([1.0, 2.0, 3.0, 4.0])
        rows[f"full_{stat}"] = np.array([1.0, np.nan, 3.0, np.nan])
    fig = plot_geometry.geometry(rows)
    assert len(fig.axes) == 3
    grad_line, full_line = fig.axes[2].lines
    np.testing.assert_array_equal(full_line.get_xdata(), [0.0, 2.0])
    np.testing.assert_array_equal(grad_line.get_ydata(), [1.0, 2.0, 3.0, 4.0])


def test_solution_map_one_collection_per_group() -> None:
    result = SolutionMap(
        np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]]),
        ["a", "a", "b"],
        {"a": 1.0, "b": 2.0},
        {"a": 0.5, "b": 0.7},
        np.array([1.0, 0.5]),
        {"space": "weights"},
    )
    fig = plot_geometry.solution_map(result)
    offsets = [c.get_offsets() for c in fig.axes[0].collections]
    assert [len(o) for o in offsets] == [2, 1]


def test_trajectory_plane_overlays_the_path() -> None:
    x = y = np.linspace(-1.0, 1.0, 5)
    result = SurfaceResult(
        x,
        y,
        np.add.outer(y**2, x**2),
        meta={
            "kind": "plane",
            "trajectory": [[0.5, 0.5], [0.0, 0.0]],
            "explained_variance": [0.8, 0.2],
        },
    )
    fig = plot_geometry.trajectory_plane(result)
    path = fig.axes[0].lines[0]
    np.testing.assert_array_equal(path.get_xdata(), [0.5, 0.0])
    assert "80.0" in fig.axes[0].get_xlabel()
    with pytest.raises(ValueError, match="trajectory"):
        plot_geometry.trajectory_plane(SurfaceResult(x, y, result.loss, meta={"kind": "plane"}))
