"""surface-probe: model-agnostic loss-surface probes for any torch ``nn.Module``.

Lines, planes, bilinear and barycentric patches, basins and functional distance between weight
sets, paths between minima (fitted curves, DSS strings, barriers, alignment), evaluated without
ever modifying the user's model.  ``surface_probe.plot`` and ``surface_probe.plot_paths``
(matplotlib) are imported lazily on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

from surface_probe import distributed, geometry
from surface_probe.evaluate import Evaluator
from surface_probe.geometry import trajectory_pca
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
from surface_probe.results import BasinResult, FunctionalDistance, LineResult, SurfaceResult

__version__ = "0.1.0"

__all__ = [
    "BNPolicy",
    "BasinResult",
    "Evaluator",
    "FunctionalDistance",
    "LineResult",
    "Path",
    "PathResult",
    "ProbeOptions",
    "StringResult",
    "SurfaceResult",
    "WeightSpace",
    "WeightsLike",
    "__version__",
    "align",
    "barycentric",
    "basin",
    "bilinear",
    "distributed",
    "dss",
    "fit_path",
    "functional_distance",
    "functional_distance_line",
    "geometry",
    "line",
    "path",
    "path_profile",
    "plane",
    "plot",
    "plot_paths",
    "random_direction",
    "trajectory_pca",
]


def __getattr__(name: str) -> Any:
    """Import ``surface_probe.plot``/``plot_paths`` (and matplotlib) only when first used."""
    if name in ("plot", "plot_paths"):
        return importlib.import_module(f"surface_probe.{name}")
    raise AttributeError(f"module 'surface_probe' has no attribute {name!r}")
