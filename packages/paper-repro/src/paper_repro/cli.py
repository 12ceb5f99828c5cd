"""Command line: ``python -m paper_repro run|report|list``.

run EXPERIMENT|all --preset smoke|cpu|paper --out DIR [--device auto|cpu|cuda]
    [--precision fp32|bf16] [--seeds N] [--data-root PATH] [--only-train]
report --out DIR      DIR/report.md and DIR/report.html from the saved results
list                  experiments and presets
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import checkpoint
from .device import PRECISIONS
from .presets import PRESETS, get_preset


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
        "experiment",
        choices=["all", *EXPERIMENTS],
        metavar="EXPERIMENT",
        help=f"one of: all, {', '.join(EXPERIMENTS)}",
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
    run.add_argument("--data-root", default=None, help="directory holding CIFAR-10 (paper preset)")
    run.add_argument("--only-train", action="store_true", help="train the runs, skip the probes")
    report = sub.add_parser("report", help="write DIR/report.md and DIR/report.html")
    report.add_argument("--out", type=Path, required=True)
    sub.add_parser("list", help="list experiments and presets")
    return parser


def _run(args: argparse.Namespace) -> int:
    from .experiments import EXPERIMENTS, Context, run_experiment

    preset = get_preset(
        args.preset,
        seeds=args.seeds,
        device=args.device,
        precision=args.precision,
        data_root=args.data_root,
    )
    out: Path = args.out
    saved = out / "preset.json"
    if saved.exists():
        previous = json.loads(saved.read_text())
        if previous != json.loads(json.dumps(preset.to_dict())):
            print(
                f"error: {out} holds runs of a different preset configuration "
                f"({previous.get('name')!r}); use a new --out directory",
                file=sys.stderr,
            )
            return 2
    checkpoint.save_json(preset.to_dict(), saved)
    ctx = Context(preset=preset, out_dir=out, only_train=args.only_train)
    names = list(EXPERIMENTS) if args.experiment == "all" else [args.experiment]
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

    md, html = write_report(args.out)
    print(f"wrote {md} and {html}")
    return 0


def _list() -> int:
    from .experiments import EXPERIMENTS

    print("experiments:")
    for name, exp in EXPERIMENTS.items():
        print(f"  {name:12s} {exp.title}")
    print("presets:")
    for name, preset in PRESETS.items():
        print(f"  {name:12s} {preset.description}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "report":
            return _report(args)
        return _list()
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
