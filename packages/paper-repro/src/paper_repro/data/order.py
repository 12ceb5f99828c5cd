"""The minibatch order shared by every optimizer of a comparison."""

from __future__ import annotations

import torch

from paper_repro._validate import check_int
from paper_repro.seeding import cpu_generator, derive_seed


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """CPU ``torch.Generator`` seeded from ``(seed, epoch)`` only.

    The two integers are mixed by :func:`paper_repro.seeding.derive_seed`.
    """
    check_int("seed", seed, minimum=0)
    check_int("epoch", epoch, minimum=0)
    return cpu_generator(derive_seed(seed, epoch))


def minibatch_order(
    num_examples: int, batch_size: int, *, seed: int, epoch: int
) -> list[torch.Tensor]:
    """Index batches of one epoch: a random permutation of ``range(num_examples)`` cut into batches.

    The permutation depends on ``(seed, epoch)`` only (see :func:`epoch_generator`), never on global
    RNG state, so every optimizer of a comparison sees the same minibatches in the same order. All
    batches have ``batch_size`` int64 indices except the last, which keeps the remainder.
    """
    check_int("num_examples", num_examples, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    perm = torch.randperm(num_examples, generator=epoch_generator(seed, epoch))
    return list(torch.split(perm, batch_size))
