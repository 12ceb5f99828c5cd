"""The package's one atomic writer and its readers: permissions from the umask, no torn or
leftover files, and one-line errors that name the unreadable file."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import torch

from paper_repro import files
from paper_repro.files import RunFileError


@pytest.fixture
def umask() -> Iterator[None]:
    """Restore the process umask the test changes."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_honour_the_umask(tmp_path: Path, umask: None, mask: int, mode: int) -> None:
    os.umask(mask)
    files.write_json({"a": 1}, tmp_path / "a.json")
    files.write_text(tmp_path / "b.md", "# b")
    files.save_tensors({"w": torch.ones(2)}, tmp_path / "c.pt")
    assert {p.name: _mode(p) for p in tmp_path.iterdir()} == dict.fromkeys(
        ["a.json", "b.md", "c.pt"], mode
    )


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    files.write_json({"old": True}, target)

    def half_then_crash(fh: IO[bytes]) -> None:
        fh.write(b'{"new": ')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        files.write_atomic(target, half_then_crash)
    assert files.read_json(target) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_round_trips(tmp_path: Path) -> None:
    record = {"x": [1.5, float("inf")], "name": "ü"}
    files.write_json(record, tmp_path / "r.json")
    assert files.read_json(tmp_path / "r.json") == record
    state = {"w": torch.arange(6.0).reshape(2, 3), "n": torch.tensor(3)}
    files.save_tensors(state, tmp_path / "s.pt")
    loaded = torch.load(tmp_path / "s.pt", weights_only=True)
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    assert all(torch.equal(files.load_tensors(tmp_path / "s.pt")[k], state[k]) for k in state)


def _one_line(exc: pytest.ExceptionInfo[RunFileError], path: Path) -> str:
    message = str(exc.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    assert exc.value.path == path
    return message


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "is empty"),
        (b'{"complete": true, "history": [{"epoch": 0, ', "is not valid JSON"),
        (b"\xff\xfe", "is not UTF-8"),
    ],
    ids=["empty", "truncated", "binary"],
)
def test_unreadable_json_is_named(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "history.json"
    path.write_bytes(content)
    with pytest.raises(RunFileError) as exc:
        files.read_json(path)
    assert problem in _one_line(exc, path)


def test_missing_json_is_named(tmp_path: Path) -> None:
    with pytest.raises(RunFileError) as exc:
        files.read_json(tmp_path / "preset.json")
    assert "cannot be read" in _one_line(exc, tmp_path / "preset.json")


@pytest.mark.parametrize("cut", [0, 1, 100, -10], ids=["empty", "one-byte", "head", "tail"])
def test_truncated_checkpoint_is_named(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "checkpoint.pt"
    files.save_tensors({"model": {"w": torch.randn(50, 50)}, "epoch": 3}, path)
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(RunFileError) as exc:
        files.load_tensors(path)
    message = _one_line(exc, path)
    assert ("is empty" if cut == 0 else "is not a readable checkpoint") in message


def test_a_pickle_that_is_not_weights_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "final.pt"
    torch.save({"fn": os.getcwd}, path)
    with pytest.raises(RunFileError) as exc:
        files.load_tensors(path)
    assert "is not a readable checkpoint" in _one_line(exc, path)
