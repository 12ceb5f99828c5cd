"""Data sets of the reproduction as in-memory tensors, and the shared minibatch order.

``load_dataset(name, ...)`` returns a :class:`DataBundle`; ``minibatch_order`` gives the index
batches of one epoch, a function of ``(seed, epoch)`` only. No loader writes into the working
directory.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paper_repro._registry import call_registered
from paper_repro.data.bundle import DataBundle, MissingDataError, Task
from paper_repro.data.cifar10 import load_cifar10
from paper_repro.data.digits import load_digits
from paper_repro.data.fashion_mnist import load_fashion_mnist
from paper_repro.data.mnist1d import load_mnist1d
from paper_repro.data.order import epoch_generator, minibatch_order
from paper_repro.data.text import load_ptb, load_pydoc
from surface_probe import shuffled_labels

DATASETS: dict[str, Callable[..., DataBundle]] = {
    "cifar10": load_cifar10,
    "fashion_mnist": load_fashion_mnist,
    "ptb": load_ptb,
    "mnist1d": load_mnist1d,
    "digits": load_digits,
    "pydoc": load_pydoc,
}
"""Registry of data-set loaders by name."""


def load_dataset(
    name: str,
    *,
    root: str | Path | None = None,
    download: bool = False,
    seed: int = 0,
    shuffle_labels: int | None = None,
    **kwargs: Any,
) -> DataBundle:
    """Load data set ``name`` (see :data:`DATASETS`) with loader-specific ``kwargs``.

    ``root`` and ``download`` go to the loaders that read files (cifar10, fashion_mnist, ptb; ptb
    cannot download); ``seed`` to those with randomness (mnist1d generation, digits split). A loader
    ignores the common arguments it has no use for. Unknown names or keywords raise errors listing
    the accepted ones. ``shuffle_labels`` (a seed) makes the shuffled-label baseline of a
    classification set: its training labels permuted by ``surface_probe.shuffled_labels`` (the
    test labels are kept, so held-out accuracy stays at chance).
    """
    if name in DATASETS:
        accepted = inspect.signature(DATASETS[name]).parameters
        common = {"root": root, "download": download, "seed": seed}
        kwargs = {**{k: v for k, v in common.items() if k in accepted}, **kwargs}
    bundle = call_registered("dataset", DATASETS, name, kwargs)
    if shuffle_labels is None:
        return bundle
    if bundle.task != "classification":
        raise ValueError(
            f"shuffle_labels needs a classification data set; {name!r} is a {bundle.task}"
        )
    return dataclasses.replace(
        bundle,
        train_y=shuffled_labels(bundle.train_y, shuffle_labels),
        meta={**bundle.meta, "shuffle_labels": shuffle_labels},
    )


__all__ = [
    "DATASETS",
    "DataBundle",
    "MissingDataError",
    "Task",
    "epoch_generator",
    "load_dataset",
    "minibatch_order",
]
