"""The directory of one run, ``out_dir/<config.key()>/``, and what survives a crash in it.

Files
    ``config.json``          the :class:`TrainConfig` (``TrainConfig.from_dict`` reads it back)
    ``init.pt``              θ_0's state_dict, checked against the code's θ_0 on every resume
    ``checkpoint.pt``        after every epoch: model and optimizer state, epoch, phase, history
    ``checkpoint.prev.pt``   the checkpoint before it, while the run is unfinished
    ``history.json``         ``{"complete", "device", "history"}``, rewritten after every epoch
    ``final.pt``             the final state_dict, once finished

All ``.pt`` files load with ``torch.load(weights_only=True)``; every write is atomic
(:func:`paper_repro.files.write_atomic`). A run is finished when ``final.pt`` exists and
``history.json`` says ``"complete": true``.

Recovery
    An unreadable or inconsistent checkpoint of an unfinished run is moved aside to
    ``<name>.corrupt`` (``.corrupt.1``, … if taken) with a warning, and the run resumes from the
    previous checkpoint, or restarts from θ_0 if that one is unusable too. Any other unreadable
    file raises :class:`paper_repro.files.RunFileError` naming it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch

from .. import files
from ..files import RunFileError
from .config import TrainConfig

StateDict = dict[str, torch.Tensor]
T = TypeVar("T")

RESTORE_ERRORS = (RunFileError, KeyError, IndexError, TypeError, ValueError, RuntimeError)
"""What restoring a checkpoint of the wrong shape raises (``load_state_dict``, a missing key…)."""


@dataclass
class RunResult:
    """A finished run: its config, per-epoch history, and initial/final weights (CPU tensors)."""

    config: TrainConfig
    history: list[dict[str, Any]]
    init_state: StateDict
    final_state: StateDict
    run_dir: Path


def finished(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a finished run: ``final.pt`` and a readable, complete
    ``history.json`` (the one definition of "done" for the loop, the launcher and ``status``)."""
    run_dir = Path(run_dir)
    if not (run_dir / "final.pt").exists():
        return False
    try:
        record = files.read_json(run_dir / "history.json")
    except RunFileError:
        return False
    return isinstance(record, dict) and bool(record.get("complete"))


class RunDir:
    """The files of ``config``'s run under ``out_dir`` (see the module docstring)."""

    def __init__(self, out_dir: Path, config: TrainConfig) -> None:
        self.config = config
        self.path = Path(out_dir) / config.key()
        self.init = self.path / "init.pt"
        self.checkpoint = self.path / "checkpoint.pt"
        self.previous = self.path / "checkpoint.prev.pt"
        self.history = self.path / "history.json"
        self.final = self.path / "final.pt"

    def load_finished(self) -> RunResult | None:
        """The finished run, or None when it has not finished."""
        if not (self.history.exists() and self.final.exists()):
            return None
        record = files.read_json(self.history)
        if not isinstance(record, dict) or not isinstance(record.get("history"), list):
            raise RunFileError(self.history, "holds no 'history' list; delete it to resume the run")
        if not record.get("complete"):
            return None
        return RunResult(
            config=self.config,
            history=record["history"],
            init_state=files.load_tensors(self.init),
            final_state=files.load_tensors(self.final),
            run_dir=self.path,
        )

    def start(self, built: StateDict) -> StateDict:
        """Write ``config.json`` (and ``init.pt`` on the first start); return θ_0, which must equal
        ``built``, the state this code builds for the config."""
        files.write_json(self.config.to_dict(), self.path / "config.json")
        if not self.init.exists():
            files.save_tensors(built, self.init)
        init_state: StateDict = files.load_tensors(self.init)
        same = init_state.keys() == built.keys() and all(
            torch.equal(init_state[k], built[k]) for k in built
        )
        if not same:
            raise RuntimeError(
                f"{self.init} does not match the initial weights this code builds for the config; "
                "the model or init code changed since the run started — use a new out_dir"
            )
        return init_state

    def resume(self, restore: Callable[[dict[str, Any]], T]) -> T | None:
        """``restore(checkpoint)`` of the newest usable checkpoint; None when there is none.

        A checkpoint that cannot be read, or that ``restore`` rejects with one of
        :data:`RESTORE_ERRORS`, is set aside with a warning and the previous one is tried.
        """
        candidates = [p for p in (self.checkpoint, self.previous) if p.exists()]
        for i, path in enumerate(candidates):
            try:
                return restore(files.load_tensors(path))
            except torch.OutOfMemoryError:  # a RuntimeError, but says nothing about the file
                raise
            except RESTORE_ERRORS as exc:
                fallback = (
                    f"resuming from {candidates[i + 1].name}"
                    if i + 1 < len(candidates)
                    else "restarting the run from its initial weights"
                )
                aside = _set_aside(path)
                problem = str(exc) if isinstance(exc, RunFileError) else f"{path}: {exc!r}"
                warnings.warn(
                    f"{problem}; moved to {aside.name}, {fallback}", RuntimeWarning, stacklevel=2
                )
        return None

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Write ``state`` as the new checkpoint; the one it replaces becomes the previous."""
        if self.checkpoint.exists():
            os.replace(self.checkpoint, self.previous)
        files.save_tensors(state, self.checkpoint)

    def write_history(self, history: list[dict[str, Any]], device: torch.device) -> None:
        """``history.json`` of an unfinished run."""
        self._write_history(history, device, complete=False)

    def finish(
        self, final_state: StateDict, history: list[dict[str, Any]], device: torch.device
    ) -> None:
        """Write ``final.pt``, mark the history complete, drop the previous checkpoint."""
        files.save_tensors(final_state, self.final)
        self._write_history(history, device, complete=True)
        self.previous.unlink(missing_ok=True)

    def _write_history(
        self, history: list[dict[str, Any]], device: torch.device, *, complete: bool
    ) -> None:
        record = {"complete": complete, "device": str(device), "history": history}
        files.write_json(record, self.history)


def _set_aside(path: Path) -> Path:
    """Rename ``path`` to the first free ``<name>.corrupt[.N]`` beside it; return the new path."""
    aside = path.with_name(f"{path.name}.corrupt")
    n = 0
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt.{n}")
    os.replace(path, aside)
    return aside
