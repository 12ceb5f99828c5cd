"""CIFAR-10 from the official "python version" pickles (``cifar-10-batches-py/``).

The files are always read by our own reader (no MD5 check, so a re-packed or partial copy works and
tests can write tiny files in the real format); torchvision is used only to download them when
``download=True`` and they are missing. The pickles are loaded with an unpickler that resolves only
the NumPy array reconstructors, so a file cannot run arbitrary code.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from paper_repro.data.bundle import DataBundle, MissingDataError

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"
MEAN = (0.4914, 0.4822, 0.4465)
"""Per-channel mean of the CIFAR-10 training images in [0, 1]."""
STD = (0.2470, 0.2435, 0.2616)
"""Per-channel standard deviation of the CIFAR-10 training images in [0, 1]."""

_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that only resolves the globals needed for dicts of NumPy arrays."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR-10 file")
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict[bytes, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-10 file not found: {path}")
    with path.open("rb") as f:
        obj = _ArrayUnpickler(f, encoding="bytes").load()
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(obj).__name__}")
    return obj


def read_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Read one batch file: images ``(N, 3, 32, 32)`` uint8 and labels ``(N,)`` int64.

    The file is a pickled dict with ``b"data"`` (uint8 ``(N, 3072)``, each row the 1024 red, then
    green, then blue values in row-major order) and ``b"labels"`` (N integers in ``[0, 10)``).
    """
    batch = _unpickle(path)
    for key in (b"data", b"labels"):
        if key not in batch:
            raise ValueError(f"{path}: missing key {key!r}")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: b'data' must be uint8 (N, 3072), got {data.dtype} {data.shape}")
    if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{path}: b'labels' must hold {data.shape[0]} integers, "
            f"got {labels.dtype} {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= 10):
        raise ValueError(f"{path}: labels must lie in [0, 10)")
    images = torch.from_numpy(data.reshape(-1, 3, 32, 32).copy())
    return images, torch.from_numpy(labels.astype(np.int64))


def read_label_names(path: Path) -> list[str]:
    """Class names from ``batches.meta`` (``b"label_names"``, a list of 10 byte strings)."""
    meta = _unpickle(path)
    names = meta.get(b"label_names")
    if not isinstance(names, list) or len(names) != 10:
        raise ValueError(f"{path}: b'label_names' must be a list of 10 names")
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def normalize(images: torch.Tensor) -> torch.Tensor:
    """``(images / 255 - mean_c) / std_c`` per channel ``c`` with :data:`MEAN` and :data:`STD`."""
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (images.float() / 255.0 - mean) / std


def _batch_dir(root: Path) -> Path | None:
    """``root/cifar-10-batches-py`` or ``root`` itself, whichever holds the batch files."""
    for candidate in (root / FOLDER, root):
        if (candidate / TEST_FILE).is_file():
            return candidate
    return None


def load_cifar10(*, root: str | Path | None = None, download: bool = False) -> DataBundle:
    """CIFAR-10 from ``root`` (holding ``cifar-10-batches-py/`` or its files directly).

    Train: ``data_batch_1..5`` (50,000 images); test: ``test_batch`` (10,000); inputs
    ``(N, 3, 32, 32)`` float32 normalised per channel (:func:`normalize`), labels int64. With
    ``download=True`` and no files, torchvision downloads and extracts the archive into ``root``.
    No augmentation is applied (cifar.torch trained with random horizontal flips).
    """
    if root is None:
        raise MissingDataError(
            "cifar10 needs the directory holding cifar-10-batches-py/", can_download=True
        )
    root = Path(root)
    directory = _batch_dir(root) if root.is_dir() else None
    if directory is None and download:
        from torchvision.datasets import CIFAR10

        root.mkdir(parents=True, exist_ok=True)
        try:
            CIFAR10(str(root), train=True, download=True)
        except Exception as exc:
            raise RuntimeError(f"downloading CIFAR-10 into {root} failed: {exc}") from exc
        directory = _batch_dir(root)
    if directory is None:
        where = root if root.is_dir() else f"{root} (no such directory)"
        raise MissingDataError(
            f"CIFAR-10 not found in {where}: expected {root / FOLDER / TEST_FILE}",
            can_download=True,
        )
    train = [read_batch(directory / name) for name in TRAIN_FILES]
    test_images, test_labels = read_batch(directory / TEST_FILE)
    return DataBundle(
        name="cifar10",
        train_x=normalize(torch.cat([images for images, _ in train])),
        train_y=torch.cat([labels for _, labels in train]),
        test_x=normalize(test_images),
        test_y=test_labels,
        num_classes=10,
        task="classification",
        meta={
            "source": str(directory),
            "classes": read_label_names(directory / META_FILE),
            "mean": list(MEAN),
            "std": list(STD),
            "augmentation": None,
        },
    )
