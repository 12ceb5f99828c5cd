"""--launcher torchrun: two gloo ranks analyse bitwise like one process, only rank 0 writes, the
ranks never train; bad --nproc-per-node and launcher combinations are one-line errors; with
submitit the analyses become a dependent Slurm job (a stand-in sbatch)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from paper_repro import files, launch_cli
from paper_repro.cli import main
from paper_repro.launch_cli import ContinueTask
from paper_repro.torchrun import check_nproc, torchrun_command, under_torchrun

TESTS = Path(__file__).resolve().parent
EXPERIMENT = "fig2_3"  # bilinear surfaces: probe grids through surface-probe's sharded runner


def _argv(out: Path, *extra: str) -> list[str]:
    return ["run", EXPERIMENT, "--preset", "smoke", "--out", str(out), *extra]


def _outputs(out: Path) -> dict[str, bytes]:
    """The experiment's result and figures (PDFs carry a creation date, PNGs do not)."""
    folder = out / EXPERIMENT
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix != ".pdf"}


@pytest.fixture(scope="module")
def sequential(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("seq")
    assert main(_argv(out)) == 0
    return out


def _trained_copy(sequential: Path, out: Path) -> Path:
    """``out`` with the trained runs, preset and pilots of ``sequential`` (no result yet)."""
    out.mkdir()
    shutil.copytree(sequential / "runs", out / "runs")
    for name in ("preset.json", "pilots.json"):
        shutil.copy(sequential / name, out / name)
    return out


def test_two_gloo_ranks_analyse_bitwise_like_one_process_and_only_rank_0_writes(
    sequential: Path, tmp_path: Path
) -> None:
    out = _trained_copy(sequential, tmp_path / "par")  # the ranks only analyse
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
        str(TESTS / "_torchrun_worker.py"), str(tmp_path),
        *_argv(out, "--launcher", "torchrun", "--nproc-per-node", "2"),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _outputs(out) == _outputs(sequential)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[1]["writes"] == []
    assert any(w.endswith(f"{EXPERIMENT}/result.json") for w in ranks[0]["writes"])
    assert ranks[0]["points"] > 0  # the grids were sharded
    assert ranks[1]["points"] > 0


def test_a_rank_refuses_untrained_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1"}
    for key, value in {**env, "MASTER_PORT": str(port)}.items():
        monkeypatch.setenv(key, value)
    assert under_torchrun()
    assert main(_argv(tmp_path, "--launcher", "torchrun", "--nproc-per-node", "1")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "are not trained (first: " in err
    assert not (tmp_path / "runs").exists()  # the rank trained nothing
    assert not torch.distributed.is_initialized()  # and left no process group behind


def test_only_rank_0_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "rank_and_world", lambda: (1, 2))
    assert not files.is_writer()
    files.write_json({"a": 1}, tmp_path / "x.json")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(files, "rank_and_world", lambda: (0, 2))
    files.write_json({"a": 1}, tmp_path / "x.json")
    assert files.read_json(tmp_path / "x.json") == {"a": 1}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--launcher", "torchrun"], "error: --launcher torchrun needs --nproc-per-node N"),
        (["--launcher", "local", "--nproc-per-node", "2"], "error: --nproc-per-node needs"),
    ],
)
def test_launcher_flags_that_do_not_go_together_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(_argv(tmp_path, *extra)) == 2
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("bad", ["0", "-1", "two"])
def test_a_bad_nproc_per_node_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    with pytest.raises(SystemExit):
        main(_argv(tmp_path, "--launcher", "torchrun", "--nproc-per-node", bad))
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.endswith(f"argument --nproc-per-node: expected an integer >= 1, got '{bad}'")


def test_more_processes_than_gpus_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    check_nproc(2, "cuda")
    with pytest.raises(ValueError, match=r"^--nproc-per-node 3: this node sees only 2 GPU\(s\)"):
        check_nproc(3, "auto")
    check_nproc(3, "cpu")  # gloo processes on the CPU: any number
    with pytest.raises(ValueError, match="--nproc-per-node must be an integer >= 1, got 0"):
        check_nproc(0, "cpu")


def test_torchrun_command_runs_the_same_command_line() -> None:
    argv = _argv(Path("out"), "--launcher", "torchrun", "--nproc-per-node", "4")
    command = torchrun_command(4, argv)
    assert command[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--nproc-per-node=4" in command
    assert "--standalone" in command
    assert command[-len(argv) - 2 :] == ["-m", "paper_repro", *argv]


def _stand_in_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """sbatch appends each job script to ``scripts.sh`` and answers job 4241, 4242, …"""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "scripts.sh"
    count = tmp_path / "count"
    sbatch = bin_dir / "sbatch"
    sbatch.write_text(
        f"#!/bin/sh\nn=$(($(cat {count} 2>/dev/null || echo 0) + 1)); echo $n > {count}\n"
        f'cat "$1" >> {log}\necho "Submitted batch job 424$n"\n'
    )
    (bin_dir / "srun").write_text("#!/bin/sh\n")  # submitit detects Slurm by srun
    for tool in (sbatch, bin_dir / "srun"):
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_submitit_with_nproc_chains_a_dependent_job_that_runs_the_command_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _stand_in_slurm(tmp_path, monkeypatch)
    out = tmp_path / "out"
    argv = _argv(out, "--launcher", "submitit", "--nproc-per-node", "2", "--gpus-per-run", "1")
    assert main(argv) == 0
    assert "job 4242 runs this command again when they have ended" in capsys.readouterr().err
    array, follow_up = log.read_text().split("#!/bin/bash")[1:]
    assert "#SBATCH --array=" in array
    assert "--dependency" not in array
    for line in ["--dependency=afterok:4241", "--gpus-per-node=2", "--cpus-per-task=8"]:
        assert f"#SBATCH {line}" in follow_up
    assert "--array" not in follow_up
    import submitit

    pickled = out / "submitit" / "4242" / "4242_submitted.pkl"
    task = submitit.helpers.DelayedSubmission.load(pickled).function
    assert task == ContinueTask(tuple(argv), os.getcwd())


def test_submitit_with_every_run_done_submits_the_analyses_or_runs_them_inside_a_job(
    sequential: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = _stand_in_slurm(tmp_path, monkeypatch)
    out = _trained_copy(sequential, tmp_path / "out")
    argv = _argv(out, "--launcher", "submitit", "--nproc-per-node", "2", "--gpus-per-run", "0")
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)  # a login node
    assert main(argv) == 0
    assert "the analyses are Slurm job 4241" in capsys.readouterr().err
    script = log.read_text()
    assert "--dependency" not in script
    assert "--array" not in script
    assert "#SBATCH --cpus-per-task=8" in script
    assert "#SBATCH --gpus-per-node=0" in script  # CPU runs: gloo processes
    started: list[list[str]] = []

    def fake_run(command: list[str], check: bool) -> subprocess.CompletedProcess[str]:
        started.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setenv("SLURM_JOB_ID", "4241")  # the dependent job itself
    monkeypatch.setattr(launch_cli.subprocess, "run", fake_run)
    assert main(argv) == 0
    assert started == [torchrun_command(2, argv)]
    assert not (out / EXPERIMENT / "result.json").exists()  # the ranks write it, not this process


def test_the_dependent_job_fails_loudly_when_the_command_fails(tmp_path: Path) -> None:
    assert ContinueTask(("list",), str(tmp_path))() == 0
    with pytest.raises(RuntimeError, match="exited with 2"):
        ContinueTask(("status", "--out", str(tmp_path / "nowhere")), str(tmp_path))()


@pytest.mark.slow
def test_launcher_torchrun_trains_then_analyses_like_the_sequential_path(
    sequential: Path, tmp_path: Path
) -> None:
    out = tmp_path / "par"
    assert main(_argv(out, "--launcher", "torchrun", "--nproc-per-node", "2")) == 0
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(
        p.name for p in (sequential / "runs").iterdir()
    )
    assert _outputs(out) == _outputs(sequential)


@pytest.mark.slow
def test_every_smoke_experiment_under_two_ranks_equals_the_sequential_path(
    tmp_path: Path,
) -> None:
    seq, par = tmp_path / "seq", tmp_path / "par"
    assert main(["run", "all", "--preset", "smoke", "--out", str(seq)]) == 0
    argv = ["run", "all", "--preset", "smoke", "--out", str(par), "--launcher", "torchrun"]
    assert main([*argv, "--nproc-per-node", "2"]) == 0
    results = sorted(p.relative_to(seq) for p in seq.glob("*/result.json"))
    assert results == sorted(p.relative_to(par) for p in par.glob("*/result.json"))
    for path in results:
        assert (par / path).read_bytes() == (seq / path).read_bytes(), path
    for out in (seq, par):
        assert main(["report", "--out", str(out)]) == 0
    assert (par / "report.md").read_text() == (seq / "report.md").read_text()
