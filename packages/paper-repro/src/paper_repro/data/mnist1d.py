"""MNIST-1D (Greydanus 2020) generated offline by the ``mnist1d`` package.

Only ``mnist1d.data.make_dataset`` is called: it builds the signals from ten hard-coded templates
with NumPy and touches neither the network nor the file system (unlike ``get_dataset``, which
downloads and writes a pickle into the working directory and is never used here).
"""

from __future__ import annotations

from typing import Any

import torch

from paper_repro._validate import check_fraction, check_int
from paper_repro.data._normalize import standardize
from paper_repro.data.bundle import DataBundle
from paper_repro.seeding import legacy_rngs_kept

_FIXED_ARGS = ("seed", "url")


def load_mnist1d(*, seed: int = 0, **overrides: Any) -> DataBundle:
    """Generate MNIST-1D: inputs ``(N, 40)`` float32, labels ``(N,)`` int64 in ``[0, 10)``.

    ``overrides`` replace entries of ``mnist1d.data.get_dataset_args()`` (e.g. ``num_samples``,
    default 5000, and ``train_split``, default 0.8); the generator seed is ``seed`` (``seed=42``
    reproduces the published MNIST-1D). ``make_dataset`` reseeds NumPy's and Python's global RNGs;
    their states are restored afterwards. Inputs are standardised with the scalar mean and standard
    deviation of the training split.
    """
    import mnist1d.data

    args = mnist1d.data.get_dataset_args()
    allowed = sorted(k for k in vars(args) if k not in _FIXED_ARGS)
    for key, value in overrides.items():
        if key not in allowed:
            raise TypeError(
                f"mnist1d got unknown argument {key!r}; accepted: seed, {', '.join(allowed)}"
            )
        setattr(args, key, value)
    check_int("seed", seed, minimum=0)
    check_int("num_samples", args.num_samples, minimum=10)
    check_fraction("train_split", args.train_split)
    n_total = (args.num_samples // 10) * 10
    n_train = int(n_total * args.train_split)
    if not 0 < n_train < n_total:
        raise ValueError(
            f"train_split={args.train_split!r} leaves an empty split of {n_total} examples"
        )
    args.seed = seed

    # make_dataset seeds and draws from the legacy global RNGs; put them back as they were.
    with legacy_rngs_kept():
        raw = mnist1d.data.make_dataset(args)

    train_x, test_x, mean, std = standardize(
        torch.as_tensor(raw["x"], dtype=torch.float32),
        torch.as_tensor(raw["x_test"], dtype=torch.float32),
    )
    return DataBundle(
        name="mnist1d",
        train_x=train_x,
        train_y=torch.as_tensor(raw["y"], dtype=torch.int64),
        test_x=test_x,
        test_y=torch.as_tensor(raw["y_test"], dtype=torch.int64),
        num_classes=10,
        task="classification",
        meta={
            "source": "mnist1d.data.make_dataset",
            "seed": seed,
            "args": {k: getattr(args, k) for k in allowed},
            "mean": mean,
            "std": std,
        },
    )
