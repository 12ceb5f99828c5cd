"""The in-memory data set handed to training and probing: tensors plus a description."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import torch

Task = Literal["classification", "language_model"]


class MissingDataError(FileNotFoundError):
    """A data set's files are not where the caller said, or no place was given.

    ``problem`` says what is missing; the message adds how to say where the files are in Python
    (``root=``, ``download=True``) — the command line words it with its own flags.
    """

    def __init__(self, problem: str, *, can_download: bool) -> None:
        hint = "pass root=DIR" + (" or download=True" if can_download else "")
        super().__init__(f"{problem}; {hint}")
        self.problem = problem
        self.can_download = can_download


@dataclass(frozen=True)
class DataBundle:
    """Train and test tensors of one data set.

    Classification: ``train_x`` (N, *feature shape) float32, ``train_y`` (N,) int64 labels in
    ``[0, num_classes)``. Language model: ``train_x`` (N, bptt) int64 token windows and ``train_y``
    the same windows shifted by one token (``y[i, t] = x[i, t + 1]`` in the token stream);
    ``num_classes`` is the vocabulary size, also in ``meta["vocab_size"]``. ``meta`` describes how
    the tensors were made (source, normalisation, split rule, seed).
    """

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    task: Task
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in ("classification", "language_model"):
            raise ValueError(
                f"task must be 'classification' or 'language_model', got {self.task!r}"
            )
        for split in ("train", "test"):
            x: torch.Tensor = getattr(self, f"{split}_x")
            y: torch.Tensor = getattr(self, f"{split}_y")
            if x.shape[0] != y.shape[0]:
                raise ValueError(
                    f"{self.name}: {split}_x has {x.shape[0]} examples but "
                    f"{split}_y has {y.shape[0]}"
                )
            if y.dtype != torch.int64:
                raise ValueError(f"{self.name}: {split}_y must be int64, got {y.dtype}")

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input example (``train_x.shape[1:]``)."""
        return tuple(self.train_x.shape[1:])
