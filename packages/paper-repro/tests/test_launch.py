"""Launcher: parallel local workers and a preempted-then-requeued worker give bitwise the sequential
run files; a killed run resumes; finished runs are never resubmitted; failures reach `status`;
Slurm job arrays (through a stand-in `sbatch`); a missing submitit is a one-line message."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

import paper_repro.train.loop as train_mod
from paper_repro import launch as launch_mod
from paper_repro.cli import main
from paper_repro.experiments import Context
from paper_repro.launch import ClusterOptions, TrainTask, launch
from paper_repro.pilot import pilot_configs
from paper_repro.planning import planned_configs
from paper_repro.presets import get_preset
from paper_repro.run_status import collect_status, run_status
from paper_repro.train import TrainConfig

LOCAL = ClusterOptions(gpus_per_run=0, time_min=10)


def _config(**kw: Any) -> TrainConfig:
    base: dict[str, Any] = {
        "model": "mlp",
        "model_kwargs": {"in_features": 64, "num_classes": 10, "hidden": [8]},
        "dataset": "digits",
        "dataset_kwargs": {},
        "schedule": "sgd:2",
        "lr": None,
        "epochs": 2,
        "batch_size": 256,
        "device": "cpu",
    }
    return TrainConfig(**{**base, **kw})


BROKEN = _config(dataset_kwargs={"test_fraction": 2.0})  # the loader refuses it in the worker


def _run_files(run_dir: Path) -> dict[str, Any]:
    """Every file of a run, with the wall-clock `seconds` removed from the histories."""

    def strip(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in h.items() if k != "seconds"} for h in history]

    files: dict[str, Any] = {"config.json": (run_dir / "config.json").read_bytes()}
    record = json.loads((run_dir / "history.json").read_text())
    files["history.json"] = {**record, "history": strip(record["history"])}
    for name in ("init.pt", "final.pt", "checkpoint.pt"):
        files[name] = torch.load(run_dir / name, weights_only=True)
    ckpt = files["checkpoint.pt"]
    ckpt["history"] = strip(json.loads(ckpt["history"]))
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "checkpoint.pt", "config.json", "final.pt", "history.json", "init.pt"
    ]  # fmt: skip
    return files


def _assert_same(a: Any, b: Any) -> None:
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    else:
        assert a == b


def _wait_for_epoch(run_dir: Path, epoch: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while run_status(run_dir).last_epoch < epoch:
        assert time.monotonic() < deadline, f"{run_dir} never reached epoch {epoch}"
        time.sleep(0.02)


def test_two_parallel_local_workers_match_the_sequential_path(tmp_path: Path) -> None:
    configs = [_config(), _config(schedule="heun:2", init_seed=1, data_seed=1)]
    seq = launch(configs, tmp_path / "seq" / "runs", launcher="sequential")
    par = launch(
        configs, tmp_path / "par" / "runs", launcher="local", max_parallel=2, options=LOCAL
    )
    assert seq.failed == par.failed == {}
    assert len(set(par.job_ids)) == 2
    for config in configs:
        _assert_same(
            _run_files(tmp_path / "par" / "runs" / config.key()),
            _run_files(seq_dir(tmp_path, config)),
        )


@pytest.mark.slow
def test_preempted_local_worker_is_requeued_and_resumes_bitwise(tmp_path: Path) -> None:
    config = _config(schedule="heun:12", epochs=12)
    launch([config], tmp_path / "seq" / "runs", launcher="sequential")
    runs = tmp_path / "par" / "runs"
    launch_mod.pending_tasks([config], runs, launch_mod.LaunchReport())
    executor = launch_mod.import_submitit("local").LocalExecutor(folder=tmp_path / "logs" / "%j")
    executor.update_parameters(timeout_min=10)
    job = executor.submit(TrainTask(config.to_dict(), str(runs)))
    _wait_for_epoch(runs / config.key(), 1)
    # submitit's preemption/time-out signal, sent to the worker as Slurm would: its handler calls
    # TrainTask.checkpoint() and the local controller requeues the task
    worker = json.loads((runs / config.key() / "task.json").read_text())["pid"]
    os.kill(worker, signal.SIGUSR2)
    job.wait()
    _assert_same(_run_files(runs / config.key()), _run_files(seq_dir(tmp_path, config)))
    logs = "".join(p.read_text() for p in (tmp_path / "logs").rglob("*.err"))
    starts = [int(line.rsplit(" ", 1)[1]) for line in logs.splitlines() if "starts at" in line]
    assert starts[0] == 0
    assert len(starts) == 2
    assert starts[1] >= 1, logs  # the requeued task resumed from a checkpoint


def seq_dir(tmp_path: Path, config: TrainConfig) -> Path:
    return tmp_path / "seq" / "runs" / config.key()


def _count_epochs(monkeypatch: pytest.MonkeyPatch, fail_at: int | None = None) -> list[int]:
    calls: list[int] = []
    original = train_mod.train_epoch

    def counting(*args: Any) -> int:
        if args[3] == fail_at:
            raise KeyboardInterrupt("simulated kill")
        calls.append(args[3])
        return original(*args)

    monkeypatch.setattr(train_mod, "train_epoch", counting)
    return calls


def test_killed_worker_resumes_from_its_checkpoint_bitwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(schedule="sgdm:2,adam:2", epochs=4)
    launch([config], tmp_path / "ref", launcher="sequential")
    runs = tmp_path / "runs"
    with monkeypatch.context() as m:
        _count_epochs(m, fail_at=3)
        with pytest.raises(KeyboardInterrupt):
            launch([config], runs, launcher="debug")
    status = run_status(runs / config.key())
    assert (status.state, status.last_epoch) == ("pending", 2)
    calls = _count_epochs(monkeypatch)
    # a requeue is submitit calling checkpoint(): the same task again, which resumes
    requeued = TrainTask(config.to_dict(), str(runs)).checkpoint()
    requeued.result()
    assert calls == [3, 4]
    _assert_same(_run_files(runs / config.key()), _run_files(tmp_path / "ref" / config.key()))


def test_finished_runs_are_never_resubmitted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = launch([_config(), _config()], tmp_path, launcher="debug")
    assert first.submitted == [_config().key()]  # duplicates once
    calls = _count_epochs(monkeypatch)
    other = _config(init_seed=3)
    again = launch([_config(), other], tmp_path, launcher="debug")
    assert (again.submitted, again.skipped) == ([other.key()], [_config().key()])
    assert calls == [1, 2]  # only the new run trained
    assert launch([_config(), other], tmp_path, launcher="sequential").submitted == []
    failed = launch([BROKEN], tmp_path, launcher="debug").failed
    assert failed[BROKEN.key()].startswith("ValueError: ")
    assert run_status(tmp_path / BROKEN.key()).note == failed[BROKEN.key()]


def test_status_lists_done_failed_running_and_pending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    report = launch([_config(), BROKEN], runs, launcher="sequential")
    assert report.failed[BROKEN.key()].startswith("ValueError: ")
    queued = _config(init_seed=5)
    launch_mod.pending_tasks([queued], runs, launch_mod.LaunchReport())  # queued, never started
    alive = _config(init_seed=6)
    launch_mod.pending_tasks([alive], runs, launch_mod.LaunchReport())
    task = {"host": socket.gethostname(), "pid": os.getpid(), "job_id": "77"}
    (runs / alive.key() / "task.json").write_text(json.dumps(task))
    states = {r.key: (r.state, r.last_epoch) for r in collect_status(runs)}
    assert states == {
        _config().key(): ("done", 2),
        BROKEN.key(): ("failed", 0),
        queued.key(): ("pending", 0),
        alive.key(): ("running", 0),
    }
    again = launch([alive], runs, launcher="debug")  # a live worker has it: not submitted
    assert (again.submitted, again.running) == ([], [alive.key()])
    assert main(["status", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    broken_line = next(line for line in out.splitlines() if line.startswith(BROKEN.key()))
    assert "failed" in broken_line
    assert "test_fraction" in broken_line
    assert "4 runs: 1 done, 1 running, 1 failed, 1 pending" in out
    error = json.loads((runs / BROKEN.key() / "error.json").read_text())
    assert "Traceback" in error["traceback"]
    task["pid"] = 2**22 + 12345  # no such process: an interrupted run is pending
    (runs / alive.key() / "task.json").write_text(json.dumps(task))
    assert run_status(runs / alive.key()).state == "pending"
    assert main(["status", "--out", str(tmp_path / "nowhere")]) == 2


def test_missing_submitit_is_a_one_line_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "submitit", None)
    with pytest.raises(ImportError) as exc:
        launch([_config()], tmp_path / "runs", launcher="local")
    assert str(exc.value) == "launcher 'local' needs submitit: pip install 'paper-repro[cluster]'"
    argv = ["run", "fig4", "--preset", "smoke", "--out", str(tmp_path), "--launcher", "submitit"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: launcher 'submitit' needs submitit: pip install 'paper-repro[cluster]'"
    assert launch([_config()], tmp_path / "runs", launcher="sequential").failed == {}


def test_bad_launcher_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown launcher 'slurm'"):
        launch([_config()], tmp_path, launcher="slurm")
    with pytest.raises(ValueError, match="max_parallel"):
        launch([_config()], tmp_path, max_parallel=0)
    with pytest.raises(ValueError, match="gpus_per_run"):
        ClusterOptions(gpus_per_run=-1)
    with pytest.raises(SystemExit):
        main(["run", "fig4", "--out", str(tmp_path), "--max-parallel", "0"])


def test_slurm_job_array_through_a_stand_in_sbatch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configs = [_config(init_seed=s) for s in range(3)]
    with pytest.raises(RuntimeError, match="needs a Slurm cluster"):
        launch(configs, tmp_path / "runs", launcher="submitit")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"  # records the job script, answers like Slurm
    sbatch.write_text(
        f'#!/bin/sh\ncp "$1" {tmp_path}/submitted.sh\necho "Submitted batch job 4242"\n'
    )
    (bin_dir / "srun").write_text("#!/bin/sh\n")  # submitit detects Slurm by srun
    for tool in (sbatch, bin_dir / "srun"):
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    done = _config(init_seed=9)
    launch([done], tmp_path / "runs", launcher="sequential")
    options = ClusterOptions(partition="gpu", gpus_per_run=1, cpus_per_run=6, time_min=600)
    report = launch([*configs, done], tmp_path / "runs", launcher="submitit", max_parallel=2,
                    options=options)  # fmt: skip
    assert (report.waited, report.skipped) == (False, [done.key()])
    assert report.job_ids == ["4242_0", "4242_1", "4242_2"]
    script = (tmp_path / "submitted.sh").read_text()
    for line in ["--array=0-2%2", "--partition=gpu", "--gpus-per-node=1", "--cpus-per-task=6",
                 "--time=600", "--signal=USR2@"]:  # fmt: skip
        assert f"#SBATCH {line}" in script
    assert [r.state for r in collect_status(tmp_path / "runs")] == ["done"] + ["pending"] * 3
    # the command line: the experiment's runs go to the array, the analyses wait for a rerun
    out = tmp_path / "cli"
    argv = ["run", "fig4", "--preset", "smoke", "--out", str(out), "--launcher", "submitit"]
    assert main([*argv, "--slurm-partition", "short", "--max-parallel", "3"]) == 0
    assert "#SBATCH --partition=short" in (tmp_path / "submitted.sh").read_text()
    assert "submitted as Slurm job(s) 4242_0" in capsys.readouterr().err
    assert not (out / "fig4" / "result.json").exists()
    assert {r.state for r in collect_status(out / "runs")} == {"pending"}


def test_planned_configs_are_the_pilots_first_then_the_runs_the_experiments_train(
    tmp_path: Path,
) -> None:
    preset = get_preset("smoke")
    first = planned_configs(preset, tmp_path, ["fig4", "table1"])
    pilots = {c.key() for o in preset.optimizers for c in pilot_configs(preset, "bn", o)}
    assert {c.key() for c in first} == pilots  # the rates wait for their pilots
    assert not (tmp_path / "runs").exists()  # nothing trained
    launch(first, tmp_path / "runs", launcher="sequential")
    second = planned_configs(preset, tmp_path, ["fig4", "table1"])
    ctx = Context(preset=preset, out_dir=tmp_path)
    fig4 = {ctx.config("bn", o, seed=s).key() for o in preset.optimizers for s in range(2)}
    assert {c.key() for c in second} == fig4  # table1 reuses fig4's seed-0 runs


@pytest.mark.slow
def test_smoke_preset_with_two_local_workers_equals_the_sequential_path(tmp_path: Path) -> None:
    seq, par = tmp_path / "seq", tmp_path / "par"
    assert main(["run", "all", "--preset", "smoke", "--out", str(seq)]) == 0
    argv = ["run", "all", "--preset", "smoke", "--out", str(par), "--launcher", "local"]
    assert main([*argv, "--max-parallel", "2", "--gpus-per-run", "0"]) == 0
    keys = sorted(p.name for p in (seq / "runs").iterdir())
    assert keys == sorted(p.name for p in (par / "runs").iterdir())
    for key in keys:
        _assert_same(_run_files(par / "runs" / key), _run_files(seq / "runs" / key))
    for out in (seq, par):
        assert main(["report", "--out", str(out)]) == 0
    assert (par / "report.md").read_text() == (seq / "report.md").read_text()


def test_an_unreadable_config_is_one_failed_run_and_the_launcher_rewrites_it(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    first, second = _config(init_seed=7), _config(init_seed=8)
    launch_mod.pending_tasks([first, second], runs, launch_mod.LaunchReport())
    (runs / first.key() / "config.json").write_text('{"model": ')  # cut by a crash
    states = {r.key: r for r in collect_status(runs)}
    assert states[second.key()].state == "pending"  # the others are still listed
    assert states[first.key()].state == "failed"
    assert "config.json" in states[first.key()].note
    launch_mod.pending_tasks([first], runs, launch_mod.LaunchReport())  # queues it again
    assert run_status(runs / first.key()).state == "pending"
