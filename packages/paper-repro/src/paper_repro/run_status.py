"""The state of every training run of a runs directory, read from the run directories alone.

Files of a run directory ``RUNS/<config key>/`` (see :mod:`paper_repro.train` for the rest):

    config.json    the run's TrainConfig (written by the launcher when it queues the run, and by
                   ``train`` when it starts)
    history.json   per-epoch records; ``"complete": true`` once ``final.pt`` is written
    task.json      written by the launcher's task wrapper while a worker trains the run: host, pid,
                   job id, attempt, the epoch it resumed from; removed when the task ends
    error.json     written by the task wrapper when training raised: the one-line message, the
                   traceback, host and job id; removed when a later attempt starts

States, in order of precedence:

    done      history.json is complete and final.pt exists
    failed    error.json exists, or config.json cannot be read
    running   task.json exists and its process is alive (checked when on the same host; a task
              on another host is trusted — after a node crash Slurm's ``sacct`` is the authority)
    pending   anything else: queued, or interrupted (it resumes from its last epoch when launched)
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import files
from .train.rundir import finished

CONFIG_FILE = "config.json"
HISTORY_FILE = "history.json"
TASK_FILE = "task.json"
ERROR_FILE = "error.json"
STATES: tuple[str, ...] = ("done", "running", "failed", "pending")


@dataclass(frozen=True)
class RunStatus:
    """One run: its key, state, last finished epoch (0: none yet) of ``epochs``, a short label
    of the config and, for failed or running runs, a note (error message or worker)."""

    key: str
    state: str
    last_epoch: int
    epochs: int
    label: str
    note: str = ""


def _read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when it is missing or unreadable."""
    try:
        loaded = files.read_json(path)
    except files.RunFileError:
        return None
    return loaded if isinstance(loaded, dict) else None


def _alive(task: dict[str, Any]) -> bool:
    if task.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(task["pid"]), 0)
    except (ProcessLookupError, KeyError, ValueError, TypeError):
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def run_status(run_dir: Path) -> RunStatus:
    """The :class:`RunStatus` of one run directory (it must hold ``config.json``)."""
    config = _read_json(run_dir / CONFIG_FILE)
    if config is None:  # cut by a crash, say: one failed line, the other runs still listed
        note = f"unreadable {CONFIG_FILE}: launch the run again (it is rewritten) or delete it"
        return RunStatus(run_dir.name, "failed", 0, 0, "?", note)
    label = (
        f"{config['model']} {config['schedule']} init={config['init']} seed={config['init_seed']}"
    )
    record = _read_json(run_dir / HISTORY_FILE) or {}
    history = record.get("history") or [{"epoch": 0}]
    last = int(history[-1]["epoch"])
    error = _read_json(run_dir / ERROR_FILE)
    task = _read_json(run_dir / TASK_FILE)
    state, note = "pending", ""
    if finished(run_dir):
        state = "done"
    elif error is not None:
        state, note = "failed", str(error.get("message", "unknown error"))
    elif task is not None and _alive(task):
        state = "running"
        note = f"job {task.get('job_id') or '-'} on {task.get('host')} pid {task.get('pid')}"
    return RunStatus(run_dir.name, state, last, int(config["epochs"]), label, note)


def collect_status(runs_dir: Path) -> list[RunStatus]:
    """Every run of ``runs_dir`` (directories holding ``config.json``), sorted by state then key."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise FileNotFoundError(f"runs directory {runs_dir} does not exist")
    found = [run_status(d) for d in sorted(runs_dir.iterdir()) if (d / CONFIG_FILE).is_file()]
    return sorted(found, key=lambda r: (STATES.index(r.state), r.key))


def format_status(runs: list[RunStatus]) -> str:
    """A table of ``runs`` and a one-line count per state."""
    lines = [f"{'run':16s}  {'state':8s}  {'epoch':>9s}  config"]
    for r in runs:
        line = f"{r.key:16s}  {r.state:8s}  {f'{r.last_epoch}/{r.epochs}':>9s}  {r.label}"
        lines.append(f"{line}  [{r.note}]" if r.note else line)
    counts = ", ".join(f"{sum(r.state == s for r in runs)} {s}" for s in STATES)
    lines.append(f"{len(runs)} runs: {counts}")
    return "\n".join(lines)
