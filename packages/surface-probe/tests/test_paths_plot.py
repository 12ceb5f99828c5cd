"""Path figures: profiles against t or distance, and the plane through θ_a, θ_b and θ(1/2)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import surface_probe as sp

from ._toys import DATA, ring, ring_ends


def _paths() -> dict[str, sp.Path]:
    a, b = ring_ends()
    bend = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    return {
        "chain": sp.path(a, a, b, kind="polychain", bends=bend),
        "line": sp.path(a, a, b),
    }


def test_plane_coordinates_put_the_ends_on_the_x_axis_and_keep_distances() -> None:
    paths = _paths()
    chain, line = sp.plot.paths.plane_coordinates(list(paths.values()), np.linspace(0, 1, 5))
    chord = 2 * np.sin(3 * np.pi / 8)
    assert np.allclose(chain[0], [0.0, 0.0])
    assert np.allclose(chain[-1], [chord, 0.0])
    assert np.allclose(line[:, 1], 0.0)
    assert np.allclose(chain[2], [chord / 2, 1.0 - np.cos(3 * np.pi / 8)])  # the bend at (0, 1)


def test_profile_and_plane_figures_draw_every_path() -> None:
    paths = _paths()
    a, _ = ring_ends()
    results = {k: sp.path_profile(a, p, DATA, loss_fn=ring, steps=11) for k, p in paths.items()}
    ax = sp.plot.paths.profiles(results, x="distance")
    assert len(ax.lines) == 2
    assert "H = " in ax.get_legend().get_texts()[0].get_text()
    ax = sp.plot.paths.path_plane(paths)
    assert len(ax.lines) == 2 + 1 + 1  # two curves, the chain's nodes, the endpoints
    plt.close("all")
    with pytest.raises(ValueError, match="x must be"):
        sp.plot.paths.profiles(results, x="alpha")
    with pytest.raises(KeyError, match="no metric 'accuracy'"):
        sp.plot.paths.profiles(results, metric="accuracy")


@pytest.mark.parametrize("empty", [{}, []])
def test_empty_collections_are_refused_by_both_figures(empty: object) -> None:
    with pytest.raises(ValueError, match="results is empty"):
        sp.plot.paths.profiles(empty)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="paths is empty"):
        sp.plot.paths.path_plane(empty)  # type: ignore[arg-type]
    plt.close("all")
