"""Data sets of the reproduction as in-memory tensors, and the shared minibatch order.

``load_dataset(name, ...)`` returns a :class:`DataBundle`; ``minibatch_order`` gives the index
batches of one epoch, a function of ``(seed, epoch)`` only. No loader writes into the working
directory.

Images (N, C, H, W) are handed out channels-last (NHWC strides; the values and shape are the
same): oneDNN's CPU convolutions run in that layout, and a convolution follows its input's
layout, so batches indexed from these tensors train the paper's VGG at width 1/8 1.3-1.7× faster
per step on one thread here, and its 15-epoch runs on Fashion-MNIST 1.33-1.39× faster end to end
(BENCHMARKS.md). It is fp32 either way; only the order of the sums changes.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

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
    bundle = channels_last(call_registered("dataset", DATASETS, name, kwargs))
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


def channels_last(bundle: DataBundle) -> DataBundle:
    """``bundle`` with its images (4-D inputs) in the channels-last layout; other data unchanged."""
    if bundle.train_x.dim() != 4:
        return bundle
    layout = torch.channels_last
    return dataclasses.replace(
        bundle,
        train_x=bundle.train_x.contiguous(memory_format=layout),
        test_x=bundle.test_x.contiguous(memory_format=layout),
    )


__all__ = [
    "DATASETS",
    "DataBundle",
    "MissingDataError",
    "Task",
    "channels_last",
    "epoch_generator",
    "load_dataset",
    "minibatch_order",
]
