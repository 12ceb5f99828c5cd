"""Atomic file writes and ``weights_only`` loading for run directories.

A write goes to a temporary file in the same directory, is flushed to disk, and is moved over the
target with ``os.replace`` (atomic on POSIX), so a killed process leaves either the old file or the
new one, never a torn file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(obj: Any, path: Path) -> None:
    """``torch.save(obj)`` to ``path`` atomically. ``obj`` must hold only tensors and plain
    Python containers/scalars so that :func:`load` (``weights_only=True``) can read it."""
    _atomic_write(Path(path), lambda fh: torch.save(obj, fh))


def load(path: Path) -> Any:
    """``torch.load(path, weights_only=True)`` onto the CPU."""
    return torch.load(Path(path), map_location="cpu", weights_only=True)


def save_json(obj: Any, path: Path) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    text = json.dumps(obj, indent=1, sort_keys=True, allow_nan=True).encode()
    _atomic_write(Path(path), lambda fh: fh.write(text))
