"""Sessions for the monorepo. The exact versions used for tests and reproduction are pinned here.

nox -s tests      README's test command: ruff, mypy and the whole fast test suite (one venv)
nox -s slow       tests marked slow
nox -s lint       ruff check + ruff format --check
nox -s typecheck  mypy on the packages
nox -s bench      every package's benchmark; figures go to BENCHMARKS.md by hand
nox -s demo       the main job: the CPU reproduction on three tiers + one report
nox -s repro -- ARGS   python -m paper_repro ARGS (e.g. `run fig5 --preset paper --out runs/p`)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint"]

# Torch comes from this machine's local wheel store through plain pip (uv/poetry would download it).
TORCH = ["torch==2.14.1", "torchvision==0.29.1"]
PINS = [
    "numpy==2.4.6",
    "scipy==1.17.1",
    "matplotlib==3.11.2",
    "tqdm==4.70.1",
    "mnist1d==0.0.2.post1",
    "scikit-learn==1.9.1",
    "submitit==1.5.4",  # paper-repro[cluster]: the local/Slurm launchers and their tests
]
TEST_PINS = ["pytest==9.2.0", "pytest-xdist==3.8.0", "hypothesis==6.170.15"]
LINT_PINS = ["ruff==0.17.6"]
TYPE_PINS = ["mypy==2.4.1"]
SOURCE_DIRS = [
    "packages/rk-optim/src/rk_optim",
    "packages/surface-probe/src/surface_probe",
    "packages/paper-repro/src/paper_repro",
]
PACKAGES = [
    "-e",
    "packages/rk-optim",
    "-e",
    "packages/surface-probe[plot,maps]",
    "-e",
    "packages/paper-repro",
]
TEST_DIRS = [
    "packages/rk-optim/tests",
    "packages/surface-probe/tests",
    "packages/paper-repro/tests",
]


def install_workspace(session: nox.Session, *extra: str) -> None:
    """Install the pinned stack and the three packages (editable) into the session's venv."""
    session.install(*TORCH, *PINS, *extra)
    session.install(*PACKAGES)


def run_lint(session: nox.Session) -> None:
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


def run_typecheck(session: nox.Session) -> None:
    session.run("mypy", *SOURCE_DIRS)


@nox.session
def tests(session: nox.Session) -> None:
    """README's test command: lint, typecheck, then every fast test of the three packages."""
    install_workspace(session, *TEST_PINS, *LINT_PINS, *TYPE_PINS)
    run_lint(session)
    run_typecheck(session)
    session.run(
        "pytest",
        "-n",
        "2",
        "-m",
        "not slow",
        *TEST_DIRS,
        *session.posargs,
        env={"OMP_NUM_THREADS": "1"},
    )


@nox.session
def slow(session: nox.Session) -> None:
    install_workspace(session, *TEST_PINS)
    session.run("pytest", "-m", "slow", *TEST_DIRS, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install(*LINT_PINS)
    run_lint(session)


@nox.session
def typecheck(session: nox.Session) -> None:
    install_workspace(session, *TYPE_PINS)
    run_typecheck(session)


@nox.session
def bench(session: nox.Session) -> None:
    install_workspace(
        session, "loss-landscapes==3.0.6", "pyhessian==0.1", "curvlinops-for-pytorch==3.0.1"
    )
    session.run("python", "packages/rk-optim/benchmarks/bench_rk_optim.py", *session.posargs)
    session.run(
        "python", "packages/surface-probe/benchmarks/bench_surface_probe.py", *session.posargs
    )
    session.run("python", "packages/surface-probe/benchmarks/bench_paths.py")
    session.run("python", "packages/surface-probe/benchmarks/bench_curvature.py")
    session.run("python", "-m", "paper_repro.bench", *session.posargs)


DEMO, DEMO_LSTM, DEMO_FASHION = "runs/demo", "runs/demo_lstm", "runs/demo_fashion"
FASHION_MNIST_PACKAGE = "dataset-fashion-mnist"
FASHION_MNIST_MISSING = (
    "from paper_repro.data.fashion_mnist import DEBIAN_DIR, find_files; "
    "print(find_files(DEBIAN_DIR) is None)"
)


def ensure_fashion_mnist(session: nox.Session) -> bool:
    """Whether Fashion-MNIST is on this machine: its Debian package is installed when the files
    are missing and this is a Debian machine run as root (apt-get reaches the package mirrors);
    elsewhere a warning says what to do."""
    missing = session.run("python", "-c", FASHION_MNIST_MISSING, silent=True)
    if not isinstance(missing, str) or missing.strip() != "True":
        return True
    is_root = getattr(os, "geteuid", lambda: -1)() == 0
    if shutil.which("apt-get") and is_root:
        session.log(f"Fashion-MNIST missing: installing the Debian package {FASHION_MNIST_PACKAGE}")
        session.run("apt-get", "update", external=True)
        session.run("apt-get", "install", "-y", FASHION_MNIST_PACKAGE, external=True)
        return True
    session.warn(
        f"Fashion-MNIST is missing, so the report has no natural-image tier: install it with "
        f"`sudo apt-get install {FASHION_MNIST_PACKAGE}` (Debian/Ubuntu), or put its four IDX "
        "files in a folder and run `nox -s repro -- run table1 fig5_6 fig7 --preset fashion_demo "
        f"--out {DEMO_FASHION} --data-root DIR` (`--download` on a connected machine)"
    )
    return False


def run_lanes(session: nox.Session, lanes: dict[str, list[list[str]]]) -> None:
    """Run each lane's commands in order, the lanes side by side, each lane's output to its log
    file. Every process has one torch thread, so the lanes share the cores without spinning
    threads oversubscribing them. A failed command stops its lane and then the session, naming
    the log."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env["PATH"] = f"{session.bin}{os.pathsep}{env['PATH']}"

    def lane(log: str, commands: list[list[str]]) -> str | None:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w") as out:
            for command in commands:
                out.write(f"$ {' '.join(command)}\n")
                out.flush()
                if subprocess.run(
                    command, stdout=out, stderr=subprocess.STDOUT, env=env
                ).returncode:
                    return f"{' '.join(command)} failed: see {log}"
        return None

    for log in lanes:
        session.log(f"lane: {'; then '.join(' '.join(c[3:]) for c in lanes[log])} (log: {log})")
    with ThreadPoolExecutor(len(lanes)) as pool:
        failures = [f for f in pool.map(lane, lanes, lanes.values()) if f is not None]
    if failures:
        session.error("; ".join(failures))


@nox.session
def demo(session: nox.Session) -> None:
    """The main job, three tiers side by side (one lane each), then one report over them in
    runs/demo/report.md, .html: every experiment of the four papers on the cpu preset (1-D CNN on
    MNIST-1D); Table 1 and Figures 5–7 on the paper's VGG on Fashion-MNIST; Table 1 on the
    paper's LSTM."""
    install_workspace(session)
    run = ["python", "-m", "paper_repro", "run"]
    lanes = {
        f"{DEMO}/lane_cpu.log": [[*run, "all", "--preset", "cpu", "--out", DEMO]],
        f"{DEMO}/lane_lstm.log": [[*run, "all", "--preset", "lstm", "--out", DEMO_LSTM]],
    }
    if ensure_fashion_mnist(session):
        fashion = ["table1", "fig5_6", "fig7", "--preset", "fashion_demo", "--out", DEMO_FASHION]
        lanes[f"{DEMO}/lane_fashion.log"] = [[*run, *fashion]]
    run_lanes(session, lanes)
    done = [tier for tier in (DEMO_FASHION, DEMO_LSTM) if Path(tier, "preset.json").exists()]
    tiers = [arg for tier in done for arg in ("--tier", tier)]
    session.run("python", "-m", "paper_repro", "report", "--out", DEMO, *tiers)


@nox.session
def repro(session: nox.Session) -> None:
    install_workspace(session)
    session.run("python", "-m", "paper_repro", *session.posargs)
