"""Every random number of the package comes from a seed made here.

* :func:`derive_seed` mixes integers (a run's seed, an epoch, a purpose tag) into one 64-bit seed
  with NumPy's ``SeedSequence`` — a hash, so nearby tuples give unrelated streams and distinct
  tuples never share a seed by arithmetic coincidence.
* :func:`cpu_generator` is a private ``torch.Generator`` on the CPU (the same draws on every
  device); :func:`seeded_torch` seeds torch's global RNG for a block and restores the caller's
  state after it (model constructors draw from the global RNG).
* :func:`reseed_torch` reseeds the global RNG in place (dropout masks of a training epoch; the
  training loop runs inside :func:`forked_torch_rng`, so the caller's state comes back).
* :func:`rng_rewinder` rewinds the global RNG to a captured state (Runge–Kutta stages re-draw
  the same dropout masks); :func:`legacy_rngs_kept` restores NumPy's and Python's global RNGs
  around code that reseeds them.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator

import numpy as np
import torch


def derive_seed(*keys: int) -> int:
    """One 64-bit seed from the integers ``keys`` (``SeedSequence(keys)``'s first word)."""
    (state,) = np.random.SeedSequence(list(keys)).generate_state(1, dtype=np.uint64)
    return int(state)


def cpu_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``."""
    return torch.Generator(device="cpu").manual_seed(seed)


def forked_torch_rng(device: torch.device) -> contextlib.AbstractContextManager[None]:
    """Context restoring torch's global RNG of the CPU (and of ``device`` if CUDA) on exit."""
    return torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])


@contextlib.contextmanager
def seeded_torch(seed: int) -> Iterator[None]:
    """Run the block with torch's global CPU RNG seeded with ``seed``; restore it afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def reseed_torch(seed: int) -> None:
    """Seed torch's global RNG (CPU and every CUDA device) with ``seed``, in place."""
    torch.manual_seed(seed)


def rng_rewinder(device: torch.device) -> Callable[[], None]:
    """A function that sets the global RNG of ``device`` back to its state now."""
    if device.type == "cuda":
        cuda_state = torch.cuda.get_rng_state(device)
        return lambda: torch.cuda.set_rng_state(cuda_state, device)
    cpu_state = torch.get_rng_state()
    return lambda: torch.set_rng_state(cpu_state)


@contextlib.contextmanager
def legacy_rngs_kept() -> Iterator[None]:
    """Restore NumPy's and Python's global RNG states after the block (which may reseed them)."""
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
