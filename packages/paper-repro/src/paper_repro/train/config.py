"""The configuration of one training run and its key (the name of its run directory)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..device import check_precision
from ..inits import parse_init
from ..optimizers import DEFAULT_LR
from ..schedule import Phase, parse_schedule


@dataclass
class TrainConfig:
    """Everything that determines a training run (JSON-serialisable; see :meth:`key`)."""

    model: str
    model_kwargs: dict[str, Any]
    dataset: str
    dataset_kwargs: dict[str, Any]
    schedule: str
    lr: float | None
    epochs: int
    batch_size: int = 128
    init: str = "default"
    init_seed: int = 0
    data_seed: int = 0
    weight_decay: float = 0.0
    momentum: float = 0.9
    device: str = "auto"
    precision: str = "fp32"
    grad_clip: float | None = None
    phases: list[Phase] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be positive or None, got {self.lr!r}")
        clip = self.grad_clip
        if clip is not None and not (math.isfinite(clip) and clip > 0):
            raise ValueError(f"grad_clip must be positive or None, got {self.grad_clip!r}")
        check_precision(self.precision)
        parse_init(self.init)
        self.phases = parse_schedule(self.schedule, self.epochs)

    def to_dict(self) -> dict[str, Any]:
        """The config's fields as a JSON-ready dict (derived ``phases`` excluded)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error naming them."""
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown TrainConfig keys {unknown}; known: {sorted(names)}")
        return cls(**d)

    def key(self) -> str:
        """Stable 16-hex-digit hash of all fields (sha256 of their sorted-key JSON)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def phase_lr(self, phase: Phase) -> float:
        """Learning rate of ``phase``: its own, else the run's ``lr``, else the default."""
        if phase.lr is not None:
            return phase.lr
        return self.lr if self.lr is not None else DEFAULT_LR[phase.optimizer]
