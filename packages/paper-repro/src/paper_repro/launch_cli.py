"""Command-line wiring of :mod:`paper_repro.launch` and :mod:`paper_repro.run_status`:
``run ... --launcher local|submitit`` and ``status --out DIR``.

    run EXPERIMENT|all ... [--launcher sequential|local|submitit] [--max-parallel N]
        [--slurm-partition P] [--gpus-per-run G] [--cpus-per-run C] [--slurm-time MIN]
    status --out DIR      runs of DIR/runs: done / running / failed / pending, last epoch, errors

With ``--launcher local`` the pending training runs are trained by parallel local processes, then
the experiments run as usual (every run cached). With ``--launcher submitit`` they are submitted as
one Slurm job array and the command returns; run it again (any launcher) once ``status`` shows
every run done, and the analyses start from the cache.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .launch import ClusterOptions, launch
from .presets import Preset
from .run_status import collect_status, format_status
from .train import TrainConfig

if TYPE_CHECKING:
    from .experiments import Context

CLI_LAUNCHERS = ("sequential", "local", "submitit")


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


def _default_gpus(launcher: str) -> int:
    if launcher == "submitit":
        return 1
    import torch

    return 1 if torch.cuda.is_available() else 0


def launch_runs(
    args: argparse.Namespace, configs: Sequence[TrainConfig], ctx: Context
) -> int | None:
    """Train ``configs`` into ``ctx``'s runs directory, with its data options, by
    ``args.launcher``. Returns None when the experiments may proceed
    (every run finished), else the exit code: 0 submitted to Slurm, 1 runs failed, 2 submitit
    or Slurm missing."""
    gpus = args.gpus_per_run if args.gpus_per_run is not None else _default_gpus(args.launcher)
    options = ClusterOptions(
        partition=args.slurm_partition,
        gpus_per_run=gpus,
        cpus_per_run=args.cpus_per_run,
        time_min=args.slurm_time,
    )
    try:
        report = launch(
            configs,
            ctx.runs_dir,
            launcher=args.launcher,
            max_parallel=args.max_parallel,
            options=options,
            data_root=ctx.data_root,
            download=ctx.download,
        )
    except (ImportError, RuntimeError) as exc:  # submitit missing, no Slurm here
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{len(report.submitted)} run(s) launched with {args.launcher}, "
        f"{len(report.skipped)} already finished, {len(report.running)} running elsewhere",
        file=sys.stderr,
    )
    for key, message in report.failed.items():
        print(f"failed {key}: {message}", file=sys.stderr)
    if report.failed:
        return 1
    if report.running:
        print(
            "wait for the running runs (see `status`), then run this command again", file=sys.stderr
        )
        return 0
    if not report.waited:
        print(
            f"submitted as Slurm job(s) {', '.join(sorted(set(report.job_ids)))}; follow them with "
            f"`python -m paper_repro status --out {ctx.out_dir}` and run this command again "
            "when every run is done",
            file=sys.stderr,
        )
        return 0
    return None


def planned_configs(
    preset: Preset, out_dir: Path, names: Sequence[str], *, assume_rates: bool = False
) -> list[TrainConfig]:
    """Every TrainConfig the experiments ``names`` can train now under ``preset``.

    Each experiment's ``plan(ctx)`` needs the pilot-chosen rates. Where the pilots of a
    (role, optimizer) are all finished in ``out_dir/runs``, the rate comes from them; otherwise
    the unfinished pilots are planned and — unless ``assume_rates`` (the cost estimate: any rate
    of the grid trains as long) — the experiments needing that rate wait for the next invocation,
    which finds the pilots done. Nothing is trained here.
    """
    from .experiments import EXPERIMENTS, Context
    from .experiments.context import map_plan
    from .pilot import pilot_configs
    from .train.rundir import finished

    configs: list[TrainConfig] = []

    class PlanningContext(Context):
        waiting = False  # the current plan used a rate whose pilots are unfinished

        def rate(self, role: str, optimizer: str) -> float:
            grid = self.preset.lr_grid[optimizer]
            pilots = pilot_configs(self.preset, role, optimizer) if len(grid) > 1 else []
            pending = [c for c in pilots if not finished(self.runs_dir / c.key())]
            if not pending:
                return super().rate(role, optimizer)
            configs.extend(pending)
            self.waiting = True
            return grid[0]  # a stand-in: this plan's runs wait unless ``assume_rates``

    planner = PlanningContext(preset=preset, out_dir=out_dir, only_train=True)
    for name in names:
        planner.waiting = False
        plan = EXPERIMENTS[name].plan(planner)
        if assume_rates or not planner.waiting:
            map_plan(plan, configs.append)
    return list({c.key(): c for c in configs}.values())
