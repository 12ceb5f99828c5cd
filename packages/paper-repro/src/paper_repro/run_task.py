"""One training run as a submitit task: what runs on the worker.

:class:`TrainTask` calls ``train(config, runs_dir)`` on its data set. While it works the run
directory holds ``task.json`` (host, pid, job id, the epoch it resumed from); when training raises
it writes ``error.json`` (one-line message, traceback) and re-raises, so the scheduler marks the
task failed. Its :meth:`TrainTask.checkpoint` is submitit's preemption/time-out hook: it requeues
the same task, whose ``train`` resumes from the last epoch checkpoint. See
:mod:`paper_repro.run_status` for how these files are read back.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from . import files
from .data import load_dataset
from .run_status import CONFIG_FILE, ERROR_FILE, TASK_FILE, run_status
from .train import TrainConfig, train

INSTALL_HINT = "pip install 'paper-repro[cluster]'"


def one_line(exc: BaseException) -> str:
    """``"Type: first line of the message"``."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def record_failure(run_dir: Path, message: str, detail: str = "") -> None:
    """Write ``run_dir/error.json`` (atomic)."""
    record = {
        "message": message,
        "traceback": detail,
        "host": socket.gethostname(),
        "job_id": _job_id(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    files.write_json(record, run_dir / ERROR_FILE)


def queue_run(config: TrainConfig, runs_dir: Path) -> Path:
    """Create ``config``'s run directory with its ``config.json`` (so ``status`` lists it); an
    unreadable ``config.json`` is rewritten (the directory's name is the config's key)."""
    run_dir = Path(runs_dir) / config.key()
    path = run_dir / CONFIG_FILE
    try:
        readable = path.exists() and files.read_json(path) is not None
    except files.RunFileError:
        readable = False
    if not readable:
        files.write_json(config.to_dict(), path)
    return run_dir


def _job_id() -> str | None:
    return os.environ.get("SLURM_JOB_ID") or os.environ.get("SUBMITIT_LOCAL_JOB_ID")


@dataclass(frozen=True)
class TrainTask:
    """One training run as a picklable, requeueable submitit task: ``train(config, runs_dir)``
    on the data set loaded with ``data_root``/``download``, with the run's ``task.json`` while it
    works and its ``error.json`` when it fails."""

    config: dict[str, Any]
    runs_dir: str
    data_root: str | None = None
    download: bool = False

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / TrainConfig.from_dict(self.config).key()

    def __call__(self) -> str:
        config = TrainConfig.from_dict(self.config)
        run_dir = queue_run(config, Path(self.runs_dir))
        (run_dir / ERROR_FILE).unlink(missing_ok=True)
        task = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "job_id": _job_id(),
            "resumed_from_epoch": run_status(run_dir).last_epoch,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        files.write_json(task, run_dir / TASK_FILE)
        print(f"[paper-repro] run {run_dir.name} starts at epoch {task['resumed_from_epoch']}",
              file=sys.stderr, flush=True)  # fmt: skip
        try:
            data = load_dataset(
                config.dataset, root=self.data_root, download=self.download, **config.dataset_kwargs
            )
            train(config, Path(self.runs_dir), data=data, progress=False)
        except Exception as exc:
            record_failure(run_dir, one_line(exc), traceback.format_exc())
            raise
        finally:
            (run_dir / TASK_FILE).unlink(missing_ok=True)
        return config.key()

    def checkpoint(self) -> Any:
        """Called by submitit on preemption or time-out: requeue this very task; its ``train``
        resumes from the last epoch checkpoint."""
        return import_submitit("submitit").helpers.DelayedSubmission(self)


def import_submitit(launcher: str) -> ModuleType:
    """``import submitit``, or an ``ImportError`` with one line saying how to install it."""
    try:
        import submitit
    except ImportError:
        raise ImportError(f"launcher {launcher!r} needs submitit: {INSTALL_HINT}") from None
    return submitit
