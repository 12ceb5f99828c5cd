"""Probe results: small dataclasses of coordinates, metric arrays and metadata.

Each result saves to one ``.npz`` file holding its arrays and its metadata as a JSON string
(``__meta__``) plus the class name (``__kind__``); no pickles.  Writes go to a temporary file in
the same directory and are moved into place with ``os.replace``, so a reader never sees a
half-written file.  :func:`save_arrays` / :func:`load_arrays` are the shared mechanism, also used
for resumable checkpoints.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, TypeVar, cast

import numpy as np

__all__ = [
    "BasinResult",
    "FunctionalDistance",
    "LineResult",
    "SurfaceResult",
    "atomic_write",
    "load_arrays",
    "save_arrays",
]

_METRIC = "metric/"
T = TypeVar("T", bound="_Saveable")


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(file)`` on a temporary file in ``path``'s directory (created), then move it
    onto ``path`` with ``os.replace``: a reader sees the old file or the new one, never a part."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_arrays(
    path: str | os.PathLike[str], arrays: dict[str, np.ndarray], meta: dict[str, Any]
) -> None:
    """Atomically write ``arrays`` and JSON ``meta`` to the ``.npz`` file ``path``."""
    payload: dict[str, Any] = {"__meta__": np.array(json.dumps(meta, sort_keys=True))}
    payload.update(arrays)
    atomic_write(path, lambda fh: np.savez(fh, **payload))


def load_arrays(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by :func:`save_arrays`: (arrays, meta)."""
    try:
        with np.load(Path(path), allow_pickle=False) as z:
            broken = z.zip.testzip()  # CRC of every member
            if broken is not None:
                raise ValueError(f"Bad CRC-32 for {broken}")
            arrays = {k: z[k] for k in z.files if k != "__meta__"}
            if not all(isinstance(v, np.ndarray) for v in arrays.values()):
                raise ValueError("a member is not a .npy array")
            meta: dict[str, Any] = json.loads(str(z["__meta__"])) if "__meta__" in z.files else {}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        reason = " ".join(str(err).split())[:200] or type(err).__name__
        raise ValueError(f"{path} is not a readable surface-probe file ({reason})") from None
    return arrays, meta


class _Saveable:
    """``save``/``load`` for result dataclasses: arrays, floats, ``metrics`` and ``meta``."""

    meta: dict[str, Any]
    _arrays: ClassVar[tuple[str, ...]]
    _floats: ClassVar[tuple[str, ...]] = ()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write this result atomically to ``path`` (npz + JSON metadata)."""
        arrays = {name: np.asarray(getattr(self, name)) for name in self._arrays}
        arrays.update({name: np.asarray(float(getattr(self, name))) for name in self._floats})
        metrics: dict[str, np.ndarray] = getattr(self, "metrics", {})
        arrays.update({_METRIC + k: np.asarray(v) for k, v in metrics.items()})
        arrays["__kind__"] = np.array(type(self).__name__)
        save_arrays(path, arrays, self.meta)

    @classmethod
    def load(cls: type[T], path: str | os.PathLike[str]) -> T:
        """Read a result written by :meth:`save`; refuses a file holding another result type."""
        arrays, meta = load_arrays(path)
        kind = str(arrays.pop("__kind__", ""))
        if kind != cls.__name__:
            raise ValueError(f"{path} holds a {kind or 'unknown'} result, not a {cls.__name__}")
        kwargs: dict[str, Any] = {name: arrays[name] for name in cls._arrays}
        kwargs.update({name: float(arrays[name]) for name in cls._floats})
        if "metrics" in {f for f in cls.__dataclass_fields__}:  # type: ignore[attr-defined]
            kwargs["metrics"] = {
                k[len(_METRIC) :]: v for k, v in arrays.items() if k.startswith(_METRIC)
            }
        return cast(T, cast(Any, cls)(meta=meta, **kwargs))


@dataclass
class LineResult(_Saveable):
    """Loss and metrics at θ(α) = (1 − α) θ_start + α θ_end: arrays of shape (S,)."""

    alphas: np.ndarray
    loss: np.ndarray
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    _arrays: ClassVar[tuple[str, ...]] = ("alphas", "loss")


@dataclass
class SurfaceResult(_Saveable):
    """Values on a grid: ``loss[j, i]`` is at (x[i], y[j]); shapes (ny, nx).

    ``meta["kind"]`` is "plane" (x, y along two directions), "bilinear" (x = α, y = β over four
    corners) or "barycentric" (x = α, y = β over three vertices)."""

    x: np.ndarray
    y: np.ndarray
    loss: np.ndarray
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    _arrays: ClassVar[tuple[str, ...]] = ("x", "y", "loss")


@dataclass
class BasinResult(_Saveable):
    """Basin radii (n,) along n unit directions, the sampled loss curves ``loss[k, s]`` at absolute
    distances ``distances[s]`` (paper eq. 1), the center's loss and the threshold ε."""

    radius: np.ndarray
    distances: np.ndarray
    loss: np.ndarray
    center_loss: float
    threshold: float
    meta: dict[str, Any] = field(default_factory=dict)
    _arrays: ClassVar[tuple[str, ...]] = ("radius", "distances", "loss")
    _floats: ClassVar[tuple[str, ...]] = ("center_loss", "threshold")


@dataclass
class FunctionalDistance(_Saveable):
    """rms = sqrt(1/N Σ_i ‖F(x_i, θ_a) − F(x_i, θ_b)‖²) and the arg-max disagreement rate."""

    rms: float
    disagreement: float
    meta: dict[str, Any] = field(default_factory=dict)
    _arrays: ClassVar[tuple[str, ...]] = ()
    _floats: ClassVar[tuple[str, ...]] = ("rms", "disagreement")
