"""Reader of the IDX format of (Fashion-)MNIST, plain or gzipped.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the array in C
order with big-endian items::

    magic = 0x00 0x00 <type code> <number of dimensions>
    type codes: 0x08 uint8 · 0x09 int8 · 0x0B int16 · 0x0C int32 · 0x0D float32 · 0x0E float64

A file starting with the gzip signature ``1f 8b`` is decompressed first, whatever its name. Every
defect (bad magic, unknown type code, truncated header or data, trailing bytes, broken gzip
stream) raises a one-line ``ValueError`` that names the file.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

IDX_TYPES: dict[int, np.dtype[np.generic]] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
"""IDX type code → big-endian NumPy dtype of the items."""

_GZIP_SIGNATURE = b"\x1f\x8b"


def _raw_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when they start with the gzip signature."""
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_SIGNATURE):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: broken gzip stream ({exc})") from None


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in IDX file ``path`` (see the module docstring), in native byte order."""
    path = Path(path)
    raw = _raw_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, magic needs 4)")
    zero, code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or code not in IDX_TYPES:
        raise ValueError(
            f"{path}: bad IDX magic {raw[:4].hex()} (expected 0000 then a type code among "
            f"{', '.join(f'{c:02x}' for c in IDX_TYPES)}, then the number of dimensions)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"{path}: truncated IDX header ({len(raw)} bytes, {ndim} dimensions need {header})"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_TYPES[code]
    expected = header + dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    if len(raw) != expected:
        problem = "truncated IDX data" if len(raw) < expected else "trailing bytes after IDX data"
        raise ValueError(
            f"{path}: {problem} ({len(raw)} bytes; shape {shape} of {dtype.name} needs {expected})"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))
