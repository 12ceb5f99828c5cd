"""Command-line wiring of :mod:`paper_repro.launch`, :mod:`paper_repro.torchrun` and
:mod:`paper_repro.run_status`: ``run ... --launcher local|submitit|torchrun`` and ``status``.

    run EXPERIMENT|all ... [--launcher sequential|local|submitit|torchrun] [--max-parallel N]
        [--nproc-per-node P] [--slurm-partition S] [--gpus-per-run G] [--cpus-per-run C]
        [--slurm-time MIN]
    status --out DIR      runs of DIR/runs: done / running / failed / pending, last epoch, errors

The runs are planned in rounds — the learning-rate pilots, then the runs at the rates they chose
(:func:`paper_repro.planning.planned_configs`) — and each round is trained before the next is
planned.

``local``     the pending runs as parallel local processes, then the experiments, in this command.
``torchrun``  the pending runs in this process (with ``--max-parallel N`` > 1: N local
              processes), then the analyses as ``--nproc-per-node P`` torchrun processes on this
              node, sharding the probe grids (:mod:`paper_repro.torchrun`).
``submitit``  the pending runs as one Slurm job array; the command returns. Without
              ``--nproc-per-node``, run it again once ``status`` shows every run done. With it,
              a dependent job (``afterok``, one node, P GPUs) runs this same command again when
              the array has ended: it submits the next round and another dependent job, or, with
              every run done, starts the analyses as P torchrun processes. With every run done
              already, the analyses are submitted as such a job (no dependency) — or run here
              when the command runs inside a Slurm job.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from surface_probe.distributed import barrier, rank_and_world

from .launch import ClusterOptions, LaunchReport, launch, submit_after
from .planning import planned_configs
from .run_status import collect_status, format_status
from .run_task import import_submitit
from .torchrun import check_nproc, torchrun_command
from .train import TrainConfig
from .train.rundir import finished

if TYPE_CHECKING:
    from .experiments import Context

CLI_LAUNCHERS = ("sequential", "local", "submitit", "torchrun")
ANALYSIS_LAUNCHERS = ("submitit", "torchrun")
"""The launchers that take ``--nproc-per-node`` (the analyses under torchrun)."""


def _count(minimum: int) -> Any:
    def parse(text: str) -> int:
        if not text.strip().lstrip("-").isdigit() or int(text) < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return int(text)

    return parse


def add_launch_arguments(run: argparse.ArgumentParser) -> None:
    """The launcher options of ``run``."""
    group = run.add_argument_group("launcher (how the training runs are executed)")
    group.add_argument("--launcher", choices=CLI_LAUNCHERS, default="sequential")
    group.add_argument("--max-parallel", type=_count(1), default=1, help="tasks at once")
    group.add_argument(
        "--nproc-per-node",
        type=_count(1),
        default=None,
        help="torchrun processes (one per GPU) sharding the analyses' probe grids; with "
        "--launcher torchrun or submitit",
    )
    group.add_argument("--slurm-partition", default=None, help="default: the cluster's")
    group.add_argument(
        "--gpus-per-run", type=_count(0), default=None, help="default: 1 if CUDA is seen, else 0"
    )
    group.add_argument("--cpus-per-run", type=_count(1), default=4)
    group.add_argument(
        "--slurm-time", type=_count(1), default=24 * 60, help="minutes per task before requeue"
    )


def add_status_parser(sub: Any) -> None:
    """The ``status`` subcommand."""
    status = sub.add_parser("status", help="list the runs of DIR: done/running/failed/pending")
    status.add_argument("--out", type=Path, required=True)


def status_command(args: argparse.Namespace) -> int:
    print(format_status(collect_status(Path(args.out) / "runs")))
    return 0


def check_launch_arguments(args: argparse.Namespace) -> None:
    """Raise ``ValueError`` naming the flag when the launcher flags do not go together."""
    if args.nproc_per_node is not None and args.launcher not in ANALYSIS_LAUNCHERS:
        raise ValueError(
            f"--nproc-per-node needs --launcher {' or '.join(ANALYSIS_LAUNCHERS)}, "
            f"not {args.launcher}"
        )
    if args.launcher == "torchrun" and args.nproc_per_node is None:
        raise ValueError("--launcher torchrun needs --nproc-per-node N (processes on this node)")


def _training_launcher(launcher: str, max_parallel: int) -> str:
    """How the runs are trained: torchrun trains in this process or, with --max-parallel > 1,
    as local processes (the ranks only analyse)."""
    if launcher == "torchrun":
        return "local" if max_parallel > 1 else "sequential"
    return launcher


def _default_gpus(launcher: str) -> int:
    if launcher == "submitit":
        return 1
    import torch

    return 1 if torch.cuda.is_available() else 0


def _options(args: argparse.Namespace) -> ClusterOptions:
    launcher = _training_launcher(args.launcher, args.max_parallel)
    gpus = args.gpus_per_run if args.gpus_per_run is not None else _default_gpus(launcher)
    return ClusterOptions(
        partition=args.slurm_partition,
        gpus_per_run=gpus,
        cpus_per_run=args.cpus_per_run,
        time_min=args.slurm_time,
    )


def launch_runs(args: argparse.Namespace, ctx: Context, names: Sequence[str]) -> int | None:
    """Train every run the experiments ``names`` need into ``ctx``'s runs directory, with its
    data options, by ``args.launcher``, round after round (module doc). Returns None when the
    experiments may proceed (every run finished), else the exit code: 0 submitted to Slurm (or
    runs training elsewhere), 1 runs failed, 2 submitit or Slurm missing."""
    while True:
        configs = planned_configs(ctx.preset, ctx.out_dir, names)
        code, report = _launch_round(args, configs, ctx)
        if code is not None or not report.submitted:
            return code


def _launch_round(
    args: argparse.Namespace, configs: Sequence[TrainConfig], ctx: Context
) -> tuple[int | None, LaunchReport]:
    launcher = _training_launcher(args.launcher, args.max_parallel)
    options = _options(args)
    try:
        report = launch(
            configs,
            ctx.runs_dir,
            launcher=launcher,
            max_parallel=args.max_parallel,
            options=options,
            data_root=ctx.data_root,
            download=ctx.download,
        )
        if not report.waited and args.nproc_per_node is not None:
            follow_up = _submit_follow_up(args, ctx, options, report.job_ids)
    except (ImportError, RuntimeError) as exc:  # submitit missing, no Slurm here
        print(f"error: {exc}", file=sys.stderr)
        return 2, LaunchReport()
    print(
        f"{len(report.submitted)} run(s) launched with {launcher}, "
        f"{len(report.skipped)} already finished, {len(report.running)} running elsewhere",
        file=sys.stderr,
    )
    for key, message in report.failed.items():
        print(f"failed {key}: {message}", file=sys.stderr)
    if report.failed:
        return 1, report
    if report.running:
        print(
            "wait for the running runs (see `status`), then run this command again", file=sys.stderr
        )
        return 0, report
    if not report.waited:
        then = (
            f"job {follow_up} runs this command again when they have ended"
            if args.nproc_per_node is not None
            else "run this command again when every run is done"
        )
        print(
            f"submitted as Slurm job(s) {', '.join(sorted(set(report.job_ids)))}; follow them with "
            f"`python -m paper_repro status --out {ctx.out_dir}`; {then}",
            file=sys.stderr,
        )
        return 0, report
    return None, report


@dataclass(frozen=True)
class ContinueTask:
    """``python -m paper_repro ARGV`` in ``cwd``, as a submitit task: the dependent Slurm job
    that submits the next round of runs or, with every run done, runs the analyses. Requeued on
    preemption or time-out (finished experiments are skipped on the rerun)."""

    argv: tuple[str, ...]
    cwd: str

    def __call__(self) -> int:
        from .cli import main

        os.chdir(self.cwd)
        code = main(list(self.argv))
        if code != 0:
            raise RuntimeError(f"python -m paper_repro {' '.join(self.argv)} exited with {code}")
        return code

    def checkpoint(self) -> Any:
        return import_submitit("submitit").helpers.DelayedSubmission(self)


def _submit_follow_up(
    args: argparse.Namespace, ctx: Context, options: ClusterOptions, after: Sequence[str]
) -> str:
    """This command again as one Slurm job with ``--nproc-per-node`` GPUs (none when the runs
    use none), once the jobs ``after`` have ended well; its job id."""
    nproc = args.nproc_per_node
    return submit_after(
        after,
        ContinueTask(tuple(args.argv), os.getcwd()),
        ctx.out_dir / "submitit",
        options,
        gpus=nproc if options.gpus_per_run else 0,
        cpus=options.cpus_per_run * nproc,
    )


def analyse_with_torchrun(args: argparse.Namespace, ctx: Context) -> int:
    """Run this command's analyses as ``--nproc-per-node`` torchrun processes on this node (every
    run is trained); returns torchrun's exit code. With ``--launcher submitit`` outside a Slurm
    job (no ``SLURM_JOB_ID``: a login node), they are submitted as one Slurm job instead."""
    if args.launcher == "submitit" and "SLURM_JOB_ID" not in os.environ:
        try:
            job = _submit_follow_up(args, ctx, _options(args), [])
        except (ImportError, RuntimeError) as exc:  # submitit missing, no Slurm here
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"every run is done: the analyses are Slurm job {job}", file=sys.stderr)
        return 0
    check_nproc(args.nproc_per_node, ctx.preset.device)
    command = torchrun_command(args.nproc_per_node, args.argv)
    ctx.log(f"analyses as {args.nproc_per_node} torchrun process(es): {' '.join(command)}")
    return subprocess.run(command, check=False).returncode


def analyse_as_rank(ctx: Context, names: Sequence[str]) -> int:
    """One torchrun rank, in an initialised process group: the experiments ``names`` with their
    probe grids sharded over the ranks, rank 0 writing (:mod:`paper_repro.torchrun`). Refuses,
    naming a run, when a run is not trained: the ranks never train."""
    from .experiments import run_experiment

    untrained = [
        c.key()
        for c in planned_configs(ctx.preset, ctx.out_dir, names)
        if not finished(ctx.runs_dir / c.key())
    ]
    if untrained:
        raise ValueError(
            f"{len(untrained)} run(s) in {ctx.runs_dir} are not trained (first: "
            f"{untrained[0]}); torchrun ranks only analyse: start the command outside "
            "torchrun with --launcher torchrun, which trains them first"
        )
    if rank_and_world()[0] > 0:
        ctx.progress = False
    for name in names:
        run_experiment(ctx, name)
        barrier()  # rank 0 has written the result before any rank reads it
    return 0
