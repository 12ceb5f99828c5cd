"""Loss-surface probes, one module per family, over one shared setup step (:mod:`._setup`):

- :mod:`.lines`: :func:`line` between two weight sets;
- :mod:`.surfaces`: :func:`plane`, :func:`bilinear`, :func:`barycentric`;
- :mod:`.basin`: :func:`basin` radii in absolute parameter distance;
- :mod:`.functional_distance`: :func:`functional_distance`, :func:`functional_distance_line`;
- :mod:`.directions`: :func:`random_direction`.
"""

from surface_probe.probes._setup import ProbeOptions
from surface_probe.probes.basin import basin
from surface_probe.probes.directions import random_direction
from surface_probe.probes.functional_distance import functional_distance, functional_distance_line
from surface_probe.probes.lines import line
from surface_probe.probes.surfaces import barycentric, bilinear, plane

__all__ = [
    "ProbeOptions",
    "barycentric",
    "basin",
    "bilinear",
    "functional_distance",
    "functional_distance_line",
    "line",
    "plane",
    "random_direction",
]
