"""Every file the package writes or reads back: one atomic writer, and readers whose failures name
the file.

Writes
    :func:`write_atomic` writes to a hidden temporary file in the target's directory, flushes it to
    disk and moves it over the target with ``os.replace`` (atomic on POSIX): a killed process
    leaves the old file or the new one, never a torn file. The temporary file is created with mode
    ``0o666`` filtered by the process umask, so results get the permissions any other file would
    (``tempfile.mkstemp`` would make them ``0o600``).

    Under ``torch.distributed`` (``run`` started by ``torchrun``) only rank 0 writes: the ranks
    compute the same numbers, and a single writer means no two processes race on one file. On
    the other ranks every write is a no-op (:func:`is_writer`).

Reads
    :func:`read_json` and :func:`load_tensors` raise :class:`RunFileError` — one line naming the
    file and what is wrong with it — for a file that is missing, empty, truncated or malformed.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

from surface_probe.distributed import rank_and_world


class RunFileError(ValueError):
    """A file of a reproduction cannot be read; the message names it."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)


def is_writer() -> bool:
    """False on the ranks > 0 of an initialised ``torch.distributed`` group, else True."""
    return rank_and_world()[0] == 0


def write_atomic(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Create or replace ``path`` with what ``write(fh)`` writes to a binary handle, atomically
    (on rank 0 only, see the module doc)."""
    if not is_writer():
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    data = text.encode("utf-8")
    write_atomic(path, lambda fh: fh.write(data))


def write_json(obj: Any, path: Path) -> None:
    """Write ``obj`` as indented, key-sorted JSON (NaN allowed) to ``path`` atomically."""
    write_text(path, json.dumps(obj, indent=1, sort_keys=True, allow_nan=True))


def save_tensors(obj: Any, path: Path) -> None:
    """``torch.save(obj)`` to ``path`` atomically. ``obj`` must hold only tensors and plain
    Python containers/scalars so that :func:`load_tensors` (``weights_only=True``) can read it."""
    write_atomic(path, lambda fh: torch.save(obj, fh))


def read_json(path: Path) -> Any:
    """The JSON value in ``path``; :class:`RunFileError` if it is missing, empty or malformed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RunFileError(path, f"cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise RunFileError(path, "is not UTF-8 text") from None
    if not text.strip():
        raise RunFileError(path, "is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunFileError(path, f"is not valid JSON ({exc})") from None


def load_tensors(path: Path) -> Any:
    """``torch.load(path, weights_only=True)`` onto the CPU; :class:`RunFileError` if the file is
    missing, empty, truncated or holds anything but tensors and plain containers."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise RunFileError(path, f"cannot be read ({exc.strerror})") from None
    if size == 0:
        raise RunFileError(path, "is empty")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises OSError, EOFError, RuntimeError, UnpicklingError…
        raise RunFileError(path, f"is not a readable checkpoint ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    """The first sentence of ``exc``'s message (torch's can span dozens of lines), with its type."""
    text = str(exc).strip().splitlines()
    first = text[0].split(". ")[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
