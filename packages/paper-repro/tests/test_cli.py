"""Command line: parsing, listing, and clear errors for bad names and directories."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from paper_repro.cli import build_parser, main
from paper_repro.data import DATASETS, DataBundle, MissingDataError
from paper_repro.experiments import EXPERIMENTS, Context
from paper_repro.presets import PRESETS


def test_run_arguments_parse() -> None:
    args = build_parser().parse_args(
        [
            "run",
            "fig4",
            "--preset",
            "smoke",
            "--out",
            "d",
            "--device",
            "cpu",
            "--precision",
            "bf16",
            "--seeds",
            "2",
            "--data-root",
            "/data/",
            "--download",
            "--only-train",
        ]
    )
    assert (args.experiments, args.preset, args.out, args.device) == (
        ["fig4"],
        "smoke",
        Path("d"),
        "cpu",
    )
    assert (args.precision, args.seeds, args.data_root, args.download, args.only_train) == (
        "bf16",
        2,
        Path("/data"),
        True,
        True,
    )
    defaults = build_parser().parse_args(["run", "all", "--out", "d"])
    assert (defaults.preset, defaults.precision, defaults.seeds) == ("cpu", None, None)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "fig99", "--preset", "smoke", "--out", "d"], "fig2_3"),
        (["run", "all", "--preset", "gpu", "--out", "d"], "smoke"),
        (["run", "all", "--seeds", "0", "--out", "d"], "--seeds must be a positive integer"),
        (["run", "all"], "--out"),
    ],
)
def test_bad_arguments_name_the_valid_choices(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert expected in capsys.readouterr().err


def test_list_names_experiments_and_presets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in [*EXPERIMENTS, *PRESETS]:
        assert f"  {name} " in out


def test_report_of_a_missing_directory_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--out", str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_run_refuses_a_directory_of_another_preset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "preset.json").write_text(json.dumps({"name": "cpu"}))
    assert main(["run", "fig4", "--preset", "smoke", "--out", str(tmp_path)]) == 2
    assert "different preset" in capsys.readouterr().err


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: "), err
    assert err.count("\n") == 1, err
    return err


def test_paper_preset_without_data_names_the_flags_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p1"
    assert main(["run", "fig4", "--preset", "paper", "--out", str(out), "--device", "cpu"]) == 2
    err = _one_line_error(capsys)
    assert "--data-root" in err
    assert "--download" in err
    assert "root=" not in err
    assert "download=True" not in err
    assert not out.exists()
    assert main(["run", "fig4", "--preset", "paper", "--out", str(out), "--data-root", "~/x"]) == 2
    assert "CIFAR-10 not found in " + str(Path.home() / "x") in _one_line_error(capsys)


def test_data_root_is_normalised_and_in_no_run_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import paper_repro.experiments as experiments

    downloads: list[bool] = []

    def fake_cifar10(*, root: Path | None = None, download: bool = False) -> DataBundle:
        downloads.append(download)
        if root is None or not (root / "cifar-10-batches-py").is_dir():
            raise MissingDataError(f"no CIFAR-10 in {root}", can_download=True)
        x, y = torch.zeros(5, 3, 32, 32), torch.zeros(5, dtype=torch.int64)
        return DataBundle("cifar10", x, y, x, y, 10, "classification", {"source": str(root)})

    monkeypatch.setitem(DATASETS, "cifar10", fake_cifar10)
    (tmp_path / "data" / "cifar-10-batches-py").mkdir(parents=True)
    seen: list[Context] = []
    monkeypatch.setattr(experiments, "run_experiment", lambda ctx, name: seen.append(ctx))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    out = str(tmp_path / "p1")
    paper = ["run", "fig4", "--preset", "paper", "--device", "cpu", "--out", out]
    assert main(paper) == 2  # no data: refused, and preset.json not written …
    capsys.readouterr()
    for root in ("data", "data/", "~/data", str(tmp_path / "data")):  # … so these are accepted
        assert main([*paper, "--data-root", root]) == 0, capsys.readouterr().err
    assert not any(downloads)
    assert main([*paper, "--data-root", "data", "--download"]) == 0
    assert downloads[-1]
    assert {ctx.data_root for ctx in seen} == {tmp_path / "data"}
    assert (tmp_path / "p1" / "preset.json").exists()
    config = seen[0].preset.config("bn", "sgd", seed=0)
    assert "root" not in config.dataset_kwargs
    assert seen[0].data("bn").meta["source"] == str(tmp_path / "data")


def test_bad_device_names_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = ["run", "fig4", "--preset", "smoke", "--out", str(tmp_path)]
    assert main([*run, "--device", "gpu0"]) == 2
    assert _one_line_error(capsys).startswith("error: --device: ")


def test_out_that_is_a_file_or_unwritable_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    run = ["run", "fig4", "--preset", "smoke", "--out"]
    assert main([*run, str(a_file)]) == 2
    assert "--out " + str(a_file) + " is a file" in _one_line_error(capsys)
    assert main([*run, str(a_file / "sub")]) == 2
    assert f"{a_file} is a file, not a directory" in _one_line_error(capsys)
    assert main(["report", "--out", str(a_file)]) == 2
    assert "is a file" in _one_line_error(capsys)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    if os.geteuid() == 0:  # root writes anywhere: let access(2) answer as for everyone else
        monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != locked)
    assert main([*run, str(locked / "out")]) == 2
    assert f"{locked} is not writable" in _one_line_error(capsys)


@pytest.mark.parametrize("content", ["", '{"name": "smo'], ids=["empty", "truncated"])
def test_unreadable_preset_json_is_named(
    tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "preset.json").write_text(content)
    assert main(["run", "fig4", "--preset", "smoke", "--out", str(tmp_path)]) == 2
    assert f"{tmp_path / 'preset.json'}: is " in _one_line_error(capsys)
    assert main(["report", "--out", str(tmp_path)]) == 2
    assert f"{tmp_path / 'preset.json'}: is " in _one_line_error(capsys)


def test_unreadable_result_json_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = tmp_path / "fig4" / "result.json"
    result.parent.mkdir()
    result.write_text('{"numbers": {"acc": [0.5, ')
    assert main(["report", "--out", str(tmp_path)]) == 2
    assert f"{result}: is not valid JSON" in _one_line_error(capsys)
    assert main(["run", "fig4", "--preset", "smoke", "--out", str(tmp_path)]) == 2
    assert f"{result}: is not valid JSON" in _one_line_error(capsys)


def test_a_disk_error_mid_run_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from paper_repro import files

    def full(path: Path, write: object) -> None:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(files, "write_atomic", full)
    assert main(["run", "fig4", "--preset", "smoke", "--out", str(tmp_path)]) == 2
    err = _one_line_error(capsys)
    assert err == f"error: {tmp_path / 'preset.json'}: No space left on device\n"


def test_run_takes_several_experiments_but_not_with_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = build_parser().parse_args(["run", "table1", "fig5_6", "fig7", "--out", str(tmp_path)])
    assert args.experiments == ["table1", "fig5_6", "fig7"]
    assert main(["run", "all", "table1", "--preset", "smoke", "--out", str(tmp_path / "x")]) == 2
    assert "'all' cannot be combined with other experiments" in capsys.readouterr().err
    assert not (tmp_path / "x" / "preset.json").exists()
