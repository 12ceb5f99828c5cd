"""Command line: ``python -m paper_repro run|report|list``.

run EXPERIMENT [EXPERIMENT ...]|all --preset PRESET --out DIR [--device auto|cpu|cuda]
    [--precision fp32|bf16] [--seeds N] [--data-root PATH] [--download] [--only-train]
                      presets: smoke, cpu, paper, fashion, fashion_demo (image experiments) and
                      lstm (language: table1_lstm); "all" runs the experiments of the preset's
                      task, and an experiment of another task is refused
report --out DIR [--tier RUN_DIR ...]
                      DIR/report.md and DIR/report.html from the saved results of DIR and of
                      each --tier directory (one reproduction per tier): each claim's verdict
                      per tier side by side, one section per paper
list                  experiments and presets
status --out DIR      runs done / running / failed / pending (see paper_repro.launch_cli)

run ... --launcher torchrun --nproc-per-node N trains the runs, then runs the analyses as N
torchrun processes sharding the probe grids; ``run`` started by torchrun (RANK and WORLD_SIZE
set) is one such rank (paper_repro.torchrun).

Every error is one line naming the flag or the file at fault (exit code 2). ``DIR/preset.json``
is written only once the preset and its data are known to be good.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import files
from .data import MissingDataError
from .device import PRECISIONS, resolve_device
from .launch_cli import (
    add_launch_arguments,
    add_status_parser,
    analyse_as_rank,
    analyse_with_torchrun,
    check_launch_arguments,
    launch_runs,
    status_command,
)
from .presets import PRESETS, Preset, get_preset
from .torchrun import process_group, under_torchrun

if TYPE_CHECKING:
    from .experiments import Context


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--seeds must be a positive integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--seeds must be a positive integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from .experiments import EXPERIMENTS

    parser = argparse.ArgumentParser(
        prog="python -m paper_repro", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train and probe one experiment or all of them")
    run.add_argument(
        "experiments",
        nargs="+",
        choices=["all", *EXPERIMENTS],
        metavar="EXPERIMENT",
        help=f"all, or one or more of: {', '.join(EXPERIMENTS)}",
    )
    run.add_argument("--preset", choices=list(PRESETS), default="cpu", help="default: cpu")
    run.add_argument("--out", type=Path, required=True, help="output directory")
    run.add_argument(
        "--device",
        default=None,
        help="auto (cuda when available), cpu, cuda; default: the preset's",
    )
    run.add_argument("--precision", choices=PRECISIONS, default=None, help="default: the preset's")
    run.add_argument("--seeds", type=_positive, default=None, help="default: the preset's")
    run.add_argument(
        "--data-root",
        type=_absolute_path,
        default=None,
        help="directory holding cifar-10-batches-py/ (paper), the Fashion-MNIST files (fashion "
        "presets) or ptb.{train,valid,test}.txt (lstm)",
    )
    run.add_argument(
        "--download",
        action="store_true",
        help="download missing data sets into --data-root (connected machines)",
    )
    run.add_argument("--only-train", action="store_true", help="train the runs, skip the probes")
    add_launch_arguments(run)
    report = sub.add_parser("report", help="write DIR/report.md and DIR/report.html")
    report.add_argument("--out", type=Path, required=True)
    report.add_argument(
        "--tier",
        type=Path,
        action="append",
        default=None,
        metavar="RUN_DIR",
        help="another reproduction directory (a tier) to report beside DIR's (repeat)",
    )
    sub.add_parser("list", help="list experiments and presets")
    add_status_parser(sub)
    return parser


def _absolute_path(text: str) -> Path:
    """``~`` expanded, made absolute, ``..`` and trailing slashes gone: one spelling per folder."""
    return Path(text).expanduser().resolve()


def _check_out_dir(out: Path) -> None:
    """Raise ``ValueError`` naming ``--out`` unless ``out`` is or can become a writable folder."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a directory")
    existing = next(p for p in (out, *out.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise ValueError(f"--out {out}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: {existing} is not writable")


def _check_same_preset(out: Path, preset: Preset) -> None:
    """Raise ``ValueError`` if ``out/preset.json`` records another preset configuration."""
    saved = out / "preset.json"
    if not saved.exists():
        return
    previous = files.read_json(saved)
    if previous != json.loads(json.dumps(preset.to_dict())):
        name = previous.get("name") if isinstance(previous, dict) else None
        raise ValueError(
            f"{out} holds runs of a different preset configuration ({name!r}); "
            "use a new --out directory"
        )


def _check_data(ctx: Context) -> None:
    """Load every data set of the preset once (the experiments reuse them); missing files are
    reported with the command line's flags."""
    try:
        for role in ctx.preset.setups:
            ctx.data(role)
    except MissingDataError as exc:
        fetch = " (or add --download on a connected machine)" if exc.can_download else ""
        raise ValueError(f"{exc.problem}; pass --data-root DIR{fetch}") from None


def _context(args: argparse.Namespace) -> Context:
    """The run's :class:`Context` once the flags, ``--out`` and the data are known to be good;
    ``preset.json`` is written last."""
    from .experiments import Context, check_applies

    if args.device is not None:
        try:
            resolve_device(args.device)
        except ValueError as exc:
            raise ValueError(f"--device: {exc}") from None
    preset = get_preset(
        args.preset,
        seeds=args.seeds,
        device=args.device,
        precision=args.precision,
        data_root=args.data_root,
    )
    if "all" in args.experiments and len(args.experiments) > 1:
        raise ValueError("run: 'all' cannot be combined with other experiments")
    for name in args.experiments:
        if name != "all":
            check_applies(name, preset)
    out: Path = args.out
    _check_out_dir(out)
    _check_same_preset(out, preset)
    ctx = Context(
        preset=preset,
        out_dir=out,
        only_train=args.only_train,
        data_root=args.data_root,
        download=args.download,
    )
    _check_data(ctx)
    files.write_json(preset.to_dict(), out / "preset.json")
    return ctx


def _run(args: argparse.Namespace) -> int:
    check_launch_arguments(args)
    if under_torchrun():  # one rank: the group first, so that only rank 0 writes, even preset.json
        with process_group(args.device or PRESETS[args.preset].device):
            ctx = _context(args)
            return analyse_as_rank(ctx, _experiment_names(args, ctx))
    ctx = _context(args)
    names = _experiment_names(args, ctx)
    if args.launcher != "sequential":
        code = launch_runs(args, ctx, names)
        if code is not None:
            return code
    if args.nproc_per_node is not None and not ctx.only_train:
        return analyse_with_torchrun(args, ctx)
    return _run_sequentially(ctx, names)


def _experiment_names(args: argparse.Namespace, ctx: Context) -> list[str]:
    from .experiments import applicable

    if args.experiments == ["all"]:
        return applicable(ctx.preset.task)
    return list(dict.fromkeys(args.experiments))


def _run_sequentially(ctx: Context, names: list[str]) -> int:
    from .experiments import run_experiment

    out = ctx.out_dir
    tic = time.perf_counter()
    for name in names:
        run_experiment(ctx, name)
    ctx.log(
        f"finished {len(names)} experiment(s) in {time.perf_counter() - tic:.1f} s "
        f"({ctx.train_calls} run(s) trained); results in {out}"
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    from .report import write_report

    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out} is a file, not a directory")
    md, html = write_report(args.out, args.tier or ())
    print(f"wrote {md} and {html}")
    return 0


def _list() -> int:
    from .experiments import EXPERIMENTS

    print("experiments:")
    for name, exp in EXPERIMENTS.items():
        print(f"  {name:12s} [{exp.task}] {exp.title}")
    print("presets:")
    for name, preset in PRESETS.items():
        print(f"  {name:12s} [{preset.task}] {preset.description}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for torchrun and Slurm follow-ups
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "report":
            return _report(args)
        if args.command == "status":
            return status_command(args)
        return _list()
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a disk that fills up or turns read-only mid-run
        print(f"error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
