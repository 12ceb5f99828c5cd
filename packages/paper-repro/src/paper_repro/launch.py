"""Launch training runs one after another, as parallel local processes, or as a Slurm job array —
the last two through ``submitit`` (the optional ``cluster`` extra), never a home-made scheduler.

Every pending :class:`~paper_repro.train.TrainConfig` becomes one :class:`TrainTask`. A run whose
directory already holds a finished run (``history.json`` complete, ``final.pt``) is never
submitted, nor one a live worker is training (``task.json``, see :mod:`paper_repro.run_status`);
duplicates (same ``config.key()``) are submitted once. Because ``train(config,
runs_dir)`` is idempotent and resumes from its last per-epoch checkpoint, a task is safe to run
again at any time: that is the whole requeue story.

Launchers
    ``sequential``  the tasks in this process, in order (no submitit needed)
    ``local``       ``submitit.LocalExecutor``: one process per task, at most ``max_parallel`` at
                    once; with ``gpus_per_run`` = g > 0, worker slot i sees GPUs i·g … i·g+g−1
    ``submitit``    ``submitit.AutoExecutor(cluster="slurm")``: one Slurm job array, at most
                    ``max_parallel`` tasks running (``%N``); returns after submission
    ``debug``       ``submitit.DebugExecutor``: the submitit code path, in this process (tests)

Preemption and time limits: submitit sends the job a signal shortly before its time limit (or on
preemption) and calls :meth:`TrainTask.checkpoint`, which requeues the same task; the requeued
task's ``train`` resumes from the last epoch checkpoint and ends bitwise equal to an unbroken run.
At most ``max_requeues`` timeouts are requeued per task.

Failures: the task wrapper writes ``error.json`` (message and traceback) into the run directory and
re-raises, so Slurm marks the task FAILED; a worker that died without a Python exception (killed,
out of memory) is recorded by the launcher. ``python -m paper_repro status`` reads them back
(:mod:`paper_repro.run_status`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from ._validate import check_int
from .run_status import run_status
from .run_task import TrainTask, import_submitit, one_line, queue_run, record_failure
from .train import TrainConfig

LAUNCHERS: tuple[str, ...] = ("sequential", "local", "submitit", "debug")


@dataclass(frozen=True)
class ClusterOptions:
    """Resources of one task: ``gpus_per_run`` GPUs, ``cpus_per_run`` CPUs, a time limit of
    ``time_min`` minutes (then requeued, at most ``max_requeues`` times), a Slurm ``partition``
    (None: the cluster's default) and submitit's log directory (None: ``RUNS/../submitit``)."""

    partition: str | None = None
    gpus_per_run: int = 1
    cpus_per_run: int = 4
    time_min: int = 24 * 60
    max_requeues: int = 3
    log_dir: Path | None = None

    def __post_init__(self) -> None:
        check_int("gpus_per_run", self.gpus_per_run, minimum=0)
        check_int("cpus_per_run", self.cpus_per_run, minimum=1)
        check_int("time_min", self.time_min, minimum=1)
        check_int("max_requeues", self.max_requeues, minimum=0)


@dataclass
class LaunchReport:
    """What :func:`launch` did: run keys ``submitted``, ``skipped`` (already finished) and
    ``running`` (a live worker has them), ``failed`` runs with their one-line error, the submitit
    ``job_ids``, and whether the call ``waited`` for the tasks to end (not for Slurm)."""

    submitted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    job_ids: list[str] = field(default_factory=list)
    waited: bool = True


def pending_tasks(
    configs: Sequence[TrainConfig],
    runs_dir: Path,
    report: LaunchReport,
    data_root: Path | None = None,
    download: bool = False,
) -> list[TrainTask]:
    """Tasks of the runs to train (each key once, in order); finished runs go to
    ``report.skipped``, runs a live worker is training to ``report.running``. Queues every
    pending run by writing its ``config.json``, so ``status`` lists it."""
    tasks: list[TrainTask] = []
    seen: set[str] = set()
    for config in configs:
        key = config.key()
        if key in seen:
            continue
        seen.add(key)
        state = run_status(queue_run(config, runs_dir)).state
        if state in ("done", "running"):
            (report.skipped if state == "done" else report.running).append(key)
            continue
        root = None if data_root is None else str(data_root)
        tasks.append(TrainTask(config.to_dict(), str(runs_dir), root, download))
    report.submitted = [task.run_dir.name for task in tasks]
    return tasks


def launch(
    configs: Sequence[TrainConfig],
    runs_dir: Path,
    *,
    launcher: str = "sequential",
    max_parallel: int = 1,
    options: ClusterOptions | None = None,
    data_root: Path | None = None,
    download: bool = False,
    poll_seconds: float = 0.5,
) -> LaunchReport:
    """Train every unfinished run of ``configs`` in ``runs_dir`` with ``launcher`` (module doc);
    the data sets are loaded with ``root=data_root`` and ``download`` (as ``--data-root`` and
    ``--download``).

    Waits for the tasks except with ``launcher="submitit"``, which returns after submitting the
    job array (run ``status``, then the same command again: finished runs are skipped).
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f"unknown launcher {launcher!r}; launchers: {', '.join(LAUNCHERS)}")
    check_int("max_parallel", max_parallel, minimum=1)
    options = options or ClusterOptions()
    runs_dir = Path(runs_dir)
    report = LaunchReport()
    tasks = pending_tasks(configs, runs_dir, report, data_root, download)
    if not tasks:
        return report
    if launcher == "sequential":
        for task in tasks:
            try:
                task()
            except Exception as exc:
                report.failed[task.run_dir.name] = one_line(exc)
        return report
    submitit = import_submitit(launcher)
    log_dir = options.log_dir or runs_dir.parent / "submitit"
    if launcher == "submitit":
        executor = slurm_executor(submitit, log_dir, max_parallel, options)
        with executor.batch():
            jobs = [executor.submit(task) for task in tasks]
        report.job_ids = [str(job.job_id) for job in jobs]
        report.waited = False
        return report
    if launcher == "debug":  # runs each task in this process when asked for its outcome
        debug = submitit.DebugExecutor(folder=log_dir / "%j")
        for task in tasks:
            job = debug.submit(task)
            report.job_ids.append(str(job.job_id))
            _check_outcome(task, job, report)
        return report
    local = submitit.LocalExecutor(folder=log_dir / "%j", max_num_timeout=options.max_requeues)
    local.update_parameters(timeout_min=options.time_min)
    _run_local(local, tasks, max_parallel, options.gpus_per_run, poll_seconds, report)
    return report


def slurm_executor(
    submitit: ModuleType, log_dir: Path, max_parallel: int, options: ClusterOptions
) -> Any:
    """An ``AutoExecutor`` for Slurm: one task per run, ``max_parallel`` array tasks at once."""
    try:
        executor = submitit.AutoExecutor(
            folder=log_dir / "%j", cluster="slurm", slurm_max_num_timeout=options.max_requeues
        )
    except RuntimeError as exc:  # submitit found no srun
        raise RuntimeError(f"launcher 'submitit' needs a Slurm cluster: {exc}") from None
    params: dict[str, Any] = {
        "name": "paper-repro",
        "timeout_min": options.time_min,
        "nodes": 1,
        "tasks_per_node": 1,
        "cpus_per_task": options.cpus_per_run,
        "gpus_per_node": options.gpus_per_run,
        "slurm_array_parallelism": max_parallel,
    }
    if options.partition is not None:
        params["slurm_partition"] = options.partition
    executor.update_parameters(**params)
    return executor


def submit_after(
    job_ids: Sequence[str],
    task: Any,
    log_dir: Path,
    options: ClusterOptions,
    *,
    gpus: int,
    cpus: int,
) -> str:
    """Submit ``task`` (a picklable callable) as one Slurm job on one node with ``gpus`` GPUs
    and ``cpus`` CPUs that starts once every job of ``job_ids`` (array tasks ``J_i`` count as
    their array ``J``) has ended well (``afterok``: a failed run holds it back), at once when
    ``job_ids`` is empty; returns its job id."""
    submitit = import_submitit("submitit")
    resources = replace(options, gpus_per_run=gpus, cpus_per_run=cpus)
    executor = slurm_executor(submitit, log_dir, 1, resources)
    arrays = sorted({job_id.split("_")[0] for job_id in job_ids})
    if arrays:
        executor.update_parameters(slurm_dependency="afterok:" + ":".join(arrays))
    return str(executor.submit(task).job_id)


def _run_local(
    executor: Any,
    tasks: list[TrainTask],
    max_parallel: int,
    gpus_per_run: int,
    poll_seconds: float,
    report: LaunchReport,
) -> None:
    """Submit ``tasks`` to the local executor keeping at most ``max_parallel`` in flight, each in
    its own GPU slot; wait for all and record the failures."""
    queue = list(tasks)
    free_slots = list(range(max_parallel))
    running: list[tuple[TrainTask, Any, int]] = []
    while queue or running:
        while queue and free_slots:
            task, slot = queue.pop(0), free_slots.pop(0)
            if gpus_per_run:
                first = slot * gpus_per_run
                gpus = tuple(range(first, first + gpus_per_run))
                executor.update_parameters(gpus_per_node=gpus_per_run, visible_gpus=gpus)
            job = executor.submit(task)
            report.job_ids.append(str(job.job_id))
            running.append((task, job, slot))
        done = [entry for entry in running if entry[1].done()]
        if not done:
            time.sleep(poll_seconds)
        for entry in done:
            running.remove(entry)
            task, job, slot = entry
            free_slots.append(slot)
            _check_outcome(task, job, report)


def _check_outcome(task: TrainTask, job: Any, report: LaunchReport) -> None:
    """Record a failed job in ``report``: the wrapper's message from ``error.json``, or, when the
    worker died without one (killed, out of memory), the executor's, written to ``error.json``."""
    error = job.exception()
    if error is None:
        return
    status = run_status(task.run_dir)
    message = status.note if status.state == "failed" else f"worker died: {one_line(error)}"
    if status.state != "failed":
        record_failure(task.run_dir, message, str(error))
    report.failed[task.run_dir.name] = message
