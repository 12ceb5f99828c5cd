"""scikit-learn's bundled 8×8 handwritten digits (1,797 images, no download)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from paper_repro._validate import check_fraction, check_int
from paper_repro.data._normalize import standardize
from paper_repro.data.bundle import DataBundle
from paper_repro.seeding import cpu_generator


def load_digits(
    *, seed: int = 0, image_size: int | None = None, test_fraction: float = 0.2
) -> DataBundle:
    """Load the digits, split by ``seed``, standardise, optionally resize for NIN/VGG.

    Pixels ``0..16`` are scaled to ``[0, 1]``; a permutation drawn from a ``torch.Generator`` seeded
    with ``seed`` puts the last ``round(N · test_fraction)`` images in the test split; inputs are
    standardised with the training split's scalar mean and std. ``image_size=None`` gives flat
    ``(N, 64)`` inputs; an integer ``s`` gives ``(N, 3, s, s)`` by bilinear resizing
    (``align_corners=False``) and repeating the grey channel three times.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    check_int("seed", seed, minimum=0)
    check_fraction("test_fraction", test_fraction)
    if image_size is not None:
        check_int("image_size", image_size, minimum=1)

    raw = sklearn_digits()
    x = torch.as_tensor(raw.data, dtype=torch.float32) / 16.0
    y = torch.as_tensor(raw.target, dtype=torch.int64)
    n = x.shape[0]
    n_test = round(n * test_fraction)
    if not 0 < n_test < n:
        raise ValueError(f"test_fraction={test_fraction!r} leaves an empty split of {n} images")
    perm = torch.randperm(n, generator=cpu_generator(seed))
    train_idx, test_idx = perm[: n - n_test], perm[n - n_test :]
    train_x, test_x, mean, std = standardize(x[train_idx], x[test_idx])
    if image_size is not None:
        side = math.isqrt(x.shape[1])
        train_x, test_x = (
            F.interpolate(
                t.reshape(-1, 1, side, side),
                size=(image_size, image_size),
                mode="bilinear",
                align_corners=False,
            ).repeat(1, 3, 1, 1)
            for t in (train_x, test_x)
        )
    return DataBundle(
        name="digits",
        train_x=train_x.contiguous(),
        train_y=y[train_idx],
        test_x=test_x.contiguous(),
        test_y=y[test_idx],
        num_classes=10,
        task="classification",
        meta={
            "source": "sklearn.datasets.load_digits",
            "seed": seed,
            "test_fraction": test_fraction,
            "image_size": image_size,
            "mean": mean,
            "std": std,
        },
    )
