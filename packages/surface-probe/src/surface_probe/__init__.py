"""surface-probe: model-agnostic loss-surface probes for any torch ``nn.Module``.

Lines, planes, bilinear and barycentric patches, basins and functional distance between weight
sets, paths between minima (fitted curves, DSS strings, barriers, alignment), Hessian curvature,
RSI/EB along training paths and kernel-PCA maps of solutions, evaluated without ever modifying the
user's model.  ``__all__`` is what users call; ``surface_probe.plot`` (matplotlib; with
``plot.paths`` and ``plot.geometry``) is imported lazily on first access.  Submodules for the
curious: ``geometry`` (coefficient maps, directions), ``mesh`` (surfaces as triangle meshes),
``distributed`` (sharding under torchrun).
"""

from __future__ import annotations

import importlib
from typing import Any

from surface_probe import spectral
from surface_probe.curvature import (
    CurvatureAlong,
    curvature_along,
    hessian_density,
    hessian_eigenpairs,
    hessian_trace,
)
from surface_probe.evaluate import Evaluator
from surface_probe.geometry import trajectory_pca
from surface_probe.maps import SolutionMap, solution_map
from surface_probe.params import BNPolicy, WeightsLike, WeightSpace
from surface_probe.paths import (
    Path,
    PathResult,
    StringResult,
    align,
    dss,
    fit_path,
    path,
    path_profile,
)
from surface_probe.probes import (
    ProbeOptions,
    barycentric,
    basin,
    bilinear,
    functional_distance,
    functional_distance_line,
    line,
    plane,
    random_direction,
)
from surface_probe.recorder import GeometryRecorder, load_geometry
from surface_probe.results import BasinResult, FunctionalDistance, LineResult, SurfaceResult
from surface_probe.trajectory_plane import trajectory_plane
from surface_probe.two_pass import shuffled_labels, two_pass

__version__ = "0.1.0"

__all__ = [
    "BNPolicy",
    "BasinResult",
    "CurvatureAlong",
    "Evaluator",
    "FunctionalDistance",
    "GeometryRecorder",
    "LineResult",
    "Path",
    "PathResult",
    "ProbeOptions",
    "SolutionMap",
    "StringResult",
    "SurfaceResult",
    "WeightSpace",
    "WeightsLike",
    "__version__",
    "align",
    "barycentric",
    "basin",
    "bilinear",
    "curvature_along",
    "dss",
    "fit_path",
    "functional_distance",
    "functional_distance_line",
    "hessian_density",
    "hessian_eigenpairs",
    "hessian_trace",
    "line",
    "load_geometry",
    "path",
    "path_profile",
    "plane",
    "plot",
    "random_direction",
    "shuffled_labels",
    "solution_map",
    "spectral",
    "trajectory_pca",
    "trajectory_plane",
    "two_pass",
]


def __getattr__(name: str) -> Any:
    """Import the plotting package (and with it matplotlib) only when first used."""
    if name == "plot":
        return importlib.import_module("surface_probe.plot")
    raise AttributeError(f"module 'surface_probe' has no attribute {name!r}")
