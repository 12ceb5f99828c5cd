"""Paths between minima: path families, fitting (expected, discrete, NEB), loss profiles with
every barrier, Dynamic String Sampling and permutation alignment, for any ``nn.Module``."""

from __future__ import annotations

from surface_probe.paths.align import align
from surface_probe.paths.build import path
from surface_probe.paths.dss import dss
from surface_probe.paths.families import Path
from surface_probe.paths.fit import fit_path
from surface_probe.paths.profile import path_profile
from surface_probe.paths.results import PathResult, StringResult

__all__ = ["Path", "PathResult", "StringResult", "align", "dss", "fit_path", "path", "path_profile"]
