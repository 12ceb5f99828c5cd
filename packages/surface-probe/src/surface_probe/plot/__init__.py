"""Matplotlib figures for surface-probe results (the optional extra ``surface-probe[plot]``).

Every function draws onto a figure or axes it is given (or a new one), returns it, and never calls
``plt.show()``: saving, showing and closing are the caller's business.  Surfaces are drawn in the
shape of the weight-space region they sample; the mesh geometry is :mod:`surface_probe.mesh`.

- surfaces, lines, basins, pairwise matrices: ``surface_probe.plot.surface`` etc. (below);
- paths between minima: :mod:`surface_probe.plot.paths` (``profiles``, ``path_plane``);
- curvature, gradient geometry, solution maps: :mod:`surface_probe.plot.geometry` (``spectrum``,
  ``geometry``, ``solution_map``, ``trajectory_plane``).
"""

try:
    import matplotlib.pyplot  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised with matplotlib hidden in test_plot.py
    raise ImportError(
        "surface_probe.plot needs matplotlib, an optional extra: pip install 'surface-probe[plot]'"
    ) from exc

from surface_probe.plot import geometry, paths
from surface_probe.plot.curves import basins, lines
from surface_probe.plot.pairwise import pairwise_matrix
from surface_probe.plot.surfaces import CMAP, SurfaceMesh, surface, surface_mesh

__all__ = [
    "CMAP",
    "SurfaceMesh",
    "basins",
    "geometry",
    "lines",
    "pairwise_matrix",
    "paths",
    "surface",
    "surface_mesh",
]
