"""Loss-surface probes (re-exported by ``surface_probe``), one module per family over one
shared setup step (:mod:`._setup`):

- :mod:`.lines`: :func:`line` between two weight sets;
- :mod:`.surfaces`: :func:`plane`, :func:`bilinear`, :func:`barycentric`;
- :mod:`.basin`: :func:`basin` radii in absolute parameter distance;
- :mod:`.functional_distance`: :func:`functional_distance`, :func:`functional_distance_line`;
- :mod:`.directions`: :func:`random_direction`.
"""

from surface_probe.probes._setup import ProbeOptions as ProbeOptions
from surface_probe.probes.basin import basin as basin
from surface_probe.probes.directions import random_direction as random_direction
from surface_probe.probes.functional_distance import (
    functional_distance as functional_distance,
)
from surface_probe.probes.functional_distance import (
    functional_distance_line as functional_distance_line,
)
from surface_probe.probes.lines import line as line
from surface_probe.probes.surfaces import (
    barycentric as barycentric,
)
from surface_probe.probes.surfaces import (
    bilinear as bilinear,
)
from surface_probe.probes.surfaces import (
    plane as plane,
)
