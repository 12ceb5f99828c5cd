"""Command line: parsing, listing, and clear errors for bad names and directories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paper_repro.cli import build_parser, main
from paper_repro.experiments import EXPERIMENTS
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
            "/data",
            "--only-train",
        ]
    )
    assert (args.experiment, args.preset, args.out, args.device) == (
        "fig4",
        "smoke",
        Path("d"),
        "cpu",
    )
    assert (args.precision, args.seeds, args.data_root, args.only_train) == (
        "bf16",
        2,
        "/data",
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


def test_paper_preset_without_data_fails_early(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["run", "fig4", "--preset", "paper", "--out", str(tmp_path), "--device", "cpu"]) == 2
    )
    assert "cifar10 needs root" in capsys.readouterr().err
    assert not list((tmp_path / "runs").glob("*/final.pt"))
