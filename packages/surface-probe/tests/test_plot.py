"""Plots render, return the right objects, and put values where the geometry says they belong."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from mpl_toolkits.mplot3d.art3d import Poly3DCollection
from mpl_toolkits.mplot3d.axes3d import Axes3D

from surface_probe import plot
from surface_probe.mesh import mapped_grid
from surface_probe.results import BasinResult, LineResult, SurfaceResult

META = {"bn": "none", "precision": "fp32", "num_examples": 8}


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def grid(
    kind: str, x: np.ndarray, y: np.ndarray, loss: np.ndarray, **meta: object
) -> SurfaceResult:
    return SurfaceResult(
        x=x, y=y, loss=loss, metrics={"acc": -loss}, meta={**META, "kind": kind, **meta}
    )


def barycentric(res: int = 6) -> SurfaceResult:
    """Loss linear in θ: L(θ(α, β)) = L0 + α[β (L1 - L0) + (1-β)(L2 - L0)], L0, L1, L2 = 1, 2, 3."""
    a = np.linspace(0.0, 1.0, res)
    b = np.linspace(0.0, 1.0, res)
    aa, bb = np.meshgrid(a, b)
    return grid("barycentric", a, b, 1.0 + aa * (bb * 1.0 + (1.0 - bb) * 2.0))


def data(line: Line2D, axis: str = "y") -> np.ndarray:
    return np.asarray(line.get_ydata() if axis == "y" else line.get_xdata(), dtype=np.float64)


def legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


def node_value_at(mesh: plot.SurfaceMesh, point: np.ndarray) -> float:
    tri = mesh.triangulation
    hits = np.flatnonzero(np.hypot(tri.x - point[0], tri.y - point[1]) < 1e-9)
    assert len(hits) == 1, f"expected exactly one node at {point}, found {len(hits)}"
    return float(mesh.values[hits[0]])


def test_triangle_vertices_carry_the_vertex_values() -> None:
    res = 6
    mesh = plot.surface_mesh(barycentric(res), labels=None)
    corners = mesh.corners
    assert mesh.labels == ("θ0", "θ1", "θ2")
    # θ0 (α = 0), θ1 (α = 1, β = 1), θ2 (α = 1, β = 0) sit at the three corners of the triangle.
    assert [node_value_at(mesh, c) for c in corners] == [1.0, 2.0, 3.0]
    # The α = 0 column collapsed into the θ0 vertex: res*res grid points, res - 1 of them merged.
    assert len(mesh.triangulation.x) == res * res - (res - 1)
    # Every node lies inside the triangle, and the triangles tile it exactly (area √3/4).
    tri = mesh.triangulation
    pts = np.stack([tri.x, tri.y], 1)[tri.triangles]
    e1, e2 = pts[:, 1] - pts[:, 0], pts[:, 2] - pts[:, 0]
    area = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    assert area.min() > 0
    assert area.sum() == pytest.approx(np.sqrt(3) / 4, rel=1e-12)
    # Linear values: each node's value is the barycentric combination of the corner values.
    lam = np.linalg.solve(
        np.vstack([corners.T, np.ones(3)]), np.vstack([tri.x, tri.y, np.ones_like(tri.x)])
    )
    np.testing.assert_allclose(mesh.values, np.array([1.0, 2.0, 3.0]) @ lam, atol=1e-12)


def test_quad_corners_carry_the_corner_values_and_labels() -> None:
    a = np.linspace(0.0, 1.0, 4)
    b = np.linspace(0.0, 1.0, 3)
    aa, bb = np.meshgrid(a, b)
    values = {1: 10.0, 2: 20.0, 3: 30.0, 4: 40.0}
    # θ(α, β) = β[α θ1 + (1-α) θ2] + (1-β)[α θ3 + (1-α) θ4], applied to the corner values.
    loss = bb * (aa * values[1] + (1 - aa) * values[2]) + (1 - bb) * (
        aa * values[3] + (1 - aa) * values[4]
    )
    labels = ["sgd", "adam", "heun", "rmsprop"]
    mesh = plot.surface_mesh(grid("bilinear", a, b, loss, labels=labels))
    assert mesh.labels == tuple(labels)
    assert [node_value_at(mesh, c) for c in mesh.corners] == [10.0, 20.0, 30.0, 40.0]
    fig = plot.surface(grid("bilinear", a, b, loss, labels=labels), style="contour")
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert set(labels) <= texts


def test_non_square_plane_puts_x_on_the_horizontal_axis() -> None:
    x = np.linspace(-2.0, 2.0, 5)
    y = np.linspace(-0.5, 0.5, 3)
    loss = np.tile(x**2, (3, 1)) + 10.0 * y[:, None]  # (ny, nx): depends on x along axis 1
    result = grid("plane", x, y, loss)
    mx, my, _ = mapped_grid(result, "plane")
    assert mx.shape == my.shape == (3, 5)
    np.testing.assert_array_equal(mx[0], x)
    np.testing.assert_array_equal(my[:, 0], y)
    mesh = plot.surface_mesh(result)
    tri = mesh.triangulation
    np.testing.assert_allclose(mesh.values, tri.x**2 + 10.0 * tri.y, atol=1e-12)
    fig = plot.surface(result, style="both")
    ax3, ax2 = fig.axes[0], fig.axes[1]
    assert isinstance(ax3, Axes3D)
    assert ax2.dataLim.x0 == pytest.approx(-2.0)
    assert ax2.dataLim.x1 == pytest.approx(2.0)
    assert ax2.dataLim.y0 == pytest.approx(-0.5)
    assert ax2.dataLim.y1 == pytest.approx(0.5)


def test_surface_styles_metrics_and_log() -> None:
    result = barycentric()
    fig = plot.surface(result, style="3d")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    assert any(isinstance(c, Poly3DCollection) for c in fig.axes[0].collections)
    mesh = plot.surface_mesh(result, "acc")
    assert node_value_at(mesh, mesh.corners[2]) == -3.0
    logged = plot.surface_mesh(result, log=True)
    np.testing.assert_allclose(logged.values, np.log10(plot.surface_mesh(result).values))
    assert logged.value_label == "log10 loss"
    with pytest.raises(ValueError, match=r"'nope'.*available: loss, acc"):
        plot.surface(result, metric="nope")
    with pytest.raises(ValueError, match="style"):
        plot.surface(result, style="wire")  # type: ignore[arg-type]
    bad = grid("sphere", result.x, result.y, result.loss)
    with pytest.raises(ValueError, match="kind"):
        plot.surface(bad)


def test_nan_points_are_blank_not_fatal(tmp_path: Path) -> None:
    result = barycentric(5)
    result.loss[2, 3] = np.nan
    result.loss[4, 4] = np.inf
    mesh = plot.surface_mesh(result)
    tri = mesh.triangulation
    bad_nodes = np.flatnonzero(~np.isfinite(mesh.values))
    assert len(bad_nodes) == 2
    masked = tri.mask
    touches_bad = np.isin(tri.triangles, bad_nodes).any(axis=1)
    np.testing.assert_array_equal(masked, touches_bad)
    fig = plot.surface(result, log=True)
    fig.savefig(tmp_path / "nan.png")
    everything_bad = grid("plane", result.x, result.y, np.full_like(result.loss, np.nan))
    blank = plot.surface(everything_bad)
    blank.savefig(tmp_path / "blank.png")
    assert [t.get_text() for ax in blank.axes for t in ax.texts] == ["no finite values"] * 2
    line = LineResult(
        alphas=np.linspace(0, 1, 5),
        loss=np.array([1.0, np.nan, 0.5, np.inf, 0.1]),
        metrics={},
        meta=META,
    )
    fig, ax = plt.subplots()
    plot.lines([line], ax=ax, log=True)
    fig.savefig(tmp_path / "line.png")


def test_lines_overlay_named_runs_and_distance_axis() -> None:
    alphas = np.linspace(-0.5, 2.0, 11)
    runs = {
        name: LineResult(
            alphas=alphas,
            loss=(alphas - 1) ** 2 + k,
            metrics={"accuracy": 1 - alphas / 3},
            meta={**META, "distance": 2.0 + k},
        )
        for k, name in enumerate(["sgd", "adam"])
    }
    ax = plot.lines(runs, metric="accuracy", x="distance")
    assert isinstance(ax, Axes)
    assert legend_texts(ax) == ["sgd", "adam"]
    np.testing.assert_allclose(data(ax.lines[1], "x"), alphas * 3.0)
    np.testing.assert_allclose(data(ax.lines[0]), 1 - alphas / 3)
    _, given = plt.subplots()
    assert plot.lines(list(runs.values()), ax=given) is given
    no_distance = LineResult(alphas=alphas, loss=alphas, metrics={}, meta=META)
    with pytest.raises(ValueError, match=r"meta\['distance'\]"):
        plot.lines({"x": no_distance}, x="distance")


def test_basins_threshold_and_radius_markers() -> None:
    d = np.linspace(0.0, 4.0, 9)
    result = BasinResult(
        radius=np.array([1.0, 2.0]),
        distances=d,
        loss=np.stack([0.1 + d**2 / 10, 0.1 + d**2 / 40]),
        center_loss=0.1,
        threshold=0.1,
        meta={**META, "censored": [False, True]},
    )
    ax = plot.basins({"adam": result})
    curves = [line for line in ax.lines if len(data(line, "x")) == len(d)]
    assert len(curves) == 2
    solid, hollow = (line for line in ax.lines if line.get_marker() == "o")
    np.testing.assert_allclose(data(solid, "x"), [1.0])
    np.testing.assert_allclose(data(solid), [0.2])
    np.testing.assert_allclose(data(hollow, "x"), [2.0])  # censored: a lower bound
    assert hollow.get_markerfacecolor() == "none"
    assert legend_texts(ax) == ["adam"]


@pytest.mark.parametrize("style", ["3d", "contour"])
def test_pairwise_matrix_layout(style: str, tmp_path: Path) -> None:
    names = ["sgd", "adam", "heun"]
    n = len(names)
    alphas = np.linspace(0, 1, 7)
    distances = {
        (i, j): LineResult(
            alphas=alphas,
            loss=np.ones_like(alphas),
            metrics={"rms": 0.16 * alphas, "disagreement": 0.08 * alphas},
            meta=META,
        )
        for i in range(n)
        for j in range(i + 1, n)
    }
    surfaces = {(i, j): barycentric(5) for i in range(n) for j in range(i)}
    fig = plot.pairwise_matrix(names, surfaces, distances, style=style)  # type: ignore[arg-type]
    cells: dict[tuple[int, int], list[Axes]] = {}
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        if spec is not None:
            cells.setdefault((spec.rowspan.start, spec.colspan.start), []).append(ax)
    assert sorted(cells) == [(i, j) for i in range(n) for j in range(n)]
    for (i, j), axes in cells.items():
        if i > j:
            (ax,) = axes
            if style == "3d":
                assert isinstance(ax, Axes3D)
                assert any(isinstance(c, Poly3DCollection) for c in ax.collections)
            else:
                assert len(ax.collections) > 0
                assert {t.get_text() for t in ax.texts} >= {"init", names[i], names[j]}
        elif i < j:
            main, twin = axes
            np.testing.assert_allclose(data(main.lines[0]), 0.16 * alphas)
            np.testing.assert_allclose(data(twin.lines[0]), 0.08 * alphas)
        else:
            assert [t.get_text() for t in axes[0].texts] == [names[i]]
    fig.savefig(tmp_path / "pairwise.png")
    assert (tmp_path / "pairwise.png").stat().st_size > 0
    with pytest.raises(ValueError, match=r"surfaces key \(0, 1\)"):
        plot.pairwise_matrix(names, {(0, 1): barycentric()}, {})


def test_saves_png(tmp_path: Path) -> None:
    path = tmp_path / "surface.png"
    plot.surface(barycentric()).savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "module", ["surface_probe.plot", "surface_probe.plot.paths", "surface_probe.plot.geometry"]
)
def test_missing_matplotlib_gives_install_hint(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    for name in [m for m in sys.modules if m.startswith("surface_probe.plot")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError, match=r"pip install 'surface-probe\[plot\]'"):
        importlib.import_module(module)


def test_matplotlib_is_imported_only_with_the_plot_package() -> None:
    code = (
        "import sys, surface_probe as sp; assert 'matplotlib' not in sys.modules; "
        "sp.plot.paths.profiles, sp.plot.geometry.spectrum; assert 'matplotlib' in sys.modules"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, env={**os.environ, "MPLBACKEND": "Agg"}
    )
