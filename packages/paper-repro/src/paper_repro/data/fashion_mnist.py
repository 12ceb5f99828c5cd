"""Fashion-MNIST (Xiao et al. 2017): 70,000 28×28 grey photographs of clothing in 10 classes.

The four IDX files (:data:`FILES`, plain or ``.gz``) are read by our own reader
(:mod:`paper_repro.data.idx`). They are looked for, in this order:

1. ``root`` (the CLI's ``--data-root``), directly or in its ``fashion-mnist/`` or torchvision's
   ``FashionMNIST/raw/`` sub-folder;
2. :data:`DEBIAN_DIR`, where the Debian package ``dataset-fashion-mnist`` installs them;
3. only when ``download=True``: torchvision's download into ``root`` (a connected machine).

Otherwise a one-line :class:`MissingDataError` says where it looked and what to do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from paper_repro._validate import check_int
from paper_repro.data._normalize import standardize
from paper_repro.data.bundle import DataBundle, MissingDataError
from paper_repro.data.idx import read_idx

FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
"""Split → (images file, labels file), each also accepted with a ``.gz`` suffix."""
DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where ``apt-get install dataset-fashion-mnist`` puts the four ``.gz`` files (``dpkg -L``)."""
SUBFOLDERS = (".", "fashion-mnist", "FashionMNIST/raw")
"""Folders of a data root searched in order (the last is torchvision's layout)."""
CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
IMAGE_SIZE = 32
"""Side of the padded images (the 32×32 input of the cifar.torch NIN and VGG)."""


def _find(directory: Path, stem: str) -> Path | None:
    for name in (stem, f"{stem}.gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def find_files(root: Path) -> dict[str, tuple[Path, Path]] | None:
    """Split → (images, labels) in the first :data:`SUBFOLDERS` folder of ``root`` with all four."""
    for sub in SUBFOLDERS:
        directory = root / sub
        found = {
            split: (_find(directory, i), _find(directory, y)) for split, (i, y) in FILES.items()
        }
        if all(i is not None and y is not None for i, y in found.values()):
            return {s: (i, y) for s, (i, y) in found.items() if i is not None and y is not None}
    return None


def _download(root: Path) -> None:
    """Download the four files into ``root/FashionMNIST/raw`` with torchvision."""
    from torchvision.datasets import FashionMNIST

    root.mkdir(parents=True, exist_ok=True)
    try:
        FashionMNIST(str(root), train=True, download=True)
    except Exception as exc:
        raise RuntimeError(f"downloading Fashion-MNIST into {root} failed: {exc}") from None


def locate(root: str | Path | None = None, download: bool = False) -> dict[str, tuple[Path, Path]]:
    """Split → (images, labels) paths, searched in the order of the module docstring."""
    searched = [Path(root)] if root is not None else []
    searched.append(DEBIAN_DIR)
    for directory in searched:
        found = find_files(directory)
        if found is not None:
            return found
    if download:
        if root is None:
            raise MissingDataError(
                "downloading Fashion-MNIST needs a folder to download into", can_download=False
            )
        _download(Path(root))
        found = find_files(Path(root))
        if found is not None:
            return found
    raise MissingDataError(
        f"Fashion-MNIST not found in {' or '.join(str(d) for d in searched)}: install it with "
        f"`apt-get install {DEBIAN_PACKAGE}` (Debian) or put its four IDX files "
        f"({FILES['train'][0]}[.gz], ...) in a folder",
        can_download=True,
    )


def read_split(images_path: Path, labels_path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64 in ``[0, 10)`` of one split."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"{images_path}: expected uint8 images (N, 28, 28), got {images.dtype} {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.shape != images.shape[:1]:
        raise ValueError(
            f"{labels_path}: expected {images.shape[0]} uint8 labels (one per image in "
            f"{images_path.name}), got {labels.dtype} {labels.shape}"
        )
    if labels.size and labels.max() >= len(CLASSES):
        raise ValueError(f"{labels_path}: labels must lie in [0, {len(CLASSES)})")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def _first(
    n: int | None, name: str, split: tuple[torch.Tensor, torch.Tensor], path: Path
) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` examples of ``split`` (all when ``None``), read from ``path``."""
    if n is None:
        return split
    available = split[0].shape[0]
    if check_int(name, n, minimum=1) > available:
        raise ValueError(f"{name}={n} exceeds the {available} examples of {path}")
    return split[0][:n], split[1][:n]


def pad_to_32(images: torch.Tensor) -> torch.Tensor:
    """``(N, 28, 28)`` → ``(N, 1, 32, 32)`` float in ``[0, 1]`` with 2 pixels of zeros each side."""
    border = (IMAGE_SIZE - images.shape[-1]) // 2
    return F.pad(images.unsqueeze(1).float() / 255.0, (border, border, border, border))


def load_fashion_mnist(
    *,
    root: str | Path | None = None,
    download: bool = False,
    train_size: int | None = None,
    test_size: int | None = None,
) -> DataBundle:
    """Fashion-MNIST as ``(N, 3, 32, 32)`` float32 inputs and int64 labels.

    The first ``train_size`` / ``test_size`` images of the files are kept (all when ``None``; the
    files' order is already shuffled across classes). Pixels are scaled to ``[0, 1]``, padded to
    32×32 with zeros (the background colour) and standardised with the training split's scalar mean
    and std; the grey channel is repeated three times for the 3-channel NIN/VGG.
    """
    paths = locate(root, download)
    train_images, train_y = _first(
        train_size, "train_size", read_split(*paths["train"]), paths["train"][0]
    )
    test_images, test_y = _first(
        test_size, "test_size", read_split(*paths["test"]), paths["test"][0]
    )
    train_x, test_x, mean, std = standardize(pad_to_32(train_images), pad_to_32(test_images))
    return DataBundle(
        name="fashion_mnist",
        train_x=train_x.repeat(1, 3, 1, 1),
        train_y=train_y,
        test_x=test_x.repeat(1, 3, 1, 1),
        test_y=test_y,
        num_classes=len(CLASSES),
        task="classification",
        meta={
            "source": str(paths["train"][0].parent),
            "classes": list(CLASSES),
            "train_size": train_x.shape[0],
            "test_size": test_x.shape[0],
            "mean": mean,
            "std": std,
        },
    )
