"""Fashion-MNIST: the IDX reader on files written here byte by byte, the lookup order
(--data-root, the Debian package, torchvision's download only on request) and the 3×32×32 bundle."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paper_repro.data import MissingDataError, fashion_mnist, load_dataset
from paper_repro.data.fashion_mnist import FILES, locate
from paper_repro.data.idx import read_idx

# IDX type codes and big-endian struct formats, spelled out independently of the reader's table.
CODES = {np.uint8: (0x08, "B"), np.int8: (0x09, "b"), np.int16: (0x0B, "h"),
         np.int32: (0x0C, "i"), np.float32: (0x0D, "f"), np.float64: (0x0E, "d")}  # fmt: skip


def idx_file(array: np.ndarray) -> bytes:
    """IDX encoding of ``array``: magic, one big-endian uint32 per dimension, big-endian items."""
    code, fmt = CODES[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + struct.pack(f">{array.size}{fmt}", *array.ravel().tolist())


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def write_fashion(
    folder: Path, *, sizes: tuple[int, int] = (6, 4), gz: bool = True, seed: int = 0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The four files (random images and labels); returns split → (images, labels)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for (split, (images_name, labels_name)), n in zip(FILES.items(), sizes, strict=True):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        suffix = ".gz" if gz else ""
        write(folder / f"{images_name}{suffix}", idx_file(images))
        write(folder / f"{labels_name}{suffix}", idx_file(labels))
        arrays[split] = (images, labels)
    return arrays


@pytest.fixture
def no_debian(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the Debian location at an empty folder (the machine running the tests may have it)."""
    empty = tmp_path / "no-debian"
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", empty)
    return empty


# ---------------------------------------------------------------- IDX reader


@settings(max_examples=30, deadline=None)
@given(
    dtype=st.sampled_from(list(CODES)),
    shape=st.lists(st.integers(0, 4), min_size=1, max_size=3),
    gz=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_idx_round_trip(dtype: type, shape: list[int], gz: bool, seed: int, tmp_path_factory):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        array = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    else:
        array = (rng.standard_normal(shape) * 100).astype(dtype)
    path = write(tmp_path_factory.mktemp("idx") / ("a.idx.gz" if gz else "a.idx"), idx_file(array))
    read = read_idx(path)
    assert read.dtype == np.dtype(dtype)
    assert read.dtype.isnative
    np.testing.assert_array_equal(read, array)


def test_idx_known_bytes(tmp_path: Path) -> None:
    raw = bytes([0, 0, 0x0B, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE])
    np.testing.assert_array_equal(read_idx(write(tmp_path / "x", raw)), [[258, -2]])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x00\x00", r"truncated IDX header \(2 bytes, magic needs 4\)"),
        (b"\x01\x00\x08\x01" + bytes(5), "bad IDX magic 01000801"),
        (b"\x00\x00\x07\x01" + bytes(5), "bad IDX magic 00000701"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02",
         r"truncated IDX header \(8 bytes, 3 dimensions need 16\)"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05abc",
         r"truncated IDX data .*shape \(5,\) of uint8 needs 13"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01ab", "trailing bytes after IDX data"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("gz", [False, True])
def test_idx_errors_name_the_file(tmp_path: Path, raw: bytes, message: str, gz: bool) -> None:
    path = write(tmp_path / ("bad.gz" if gz else "bad"), raw)
    with pytest.raises(ValueError, match=f"^{path}: {message}") as info:
        read_idx(path)
    assert "\n" not in str(info.value)


def test_idx_broken_gzip_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(idx_file(np.arange(100, dtype=np.uint8)))[:-12])
    with pytest.raises(ValueError, match=f"^{path}: broken gzip stream"):
        read_idx(path)
    with pytest.raises(FileNotFoundError, match=r"IDX file not found: .*nothing"):
        read_idx(tmp_path / "nothing")


# ---------------------------------------------------------------- lookup order


def test_data_root_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    debian, root = tmp_path / "debian", tmp_path / "root"
    write_fashion(debian)
    write_fashion(root / "fashion-mnist", gz=False)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", debian)
    assert locate(root)["train"][0] == root / "fashion-mnist" / FILES["train"][0]
    assert locate(None)["test"][1] == debian / f"{FILES['test'][1]}.gz"
    assert locate(tmp_path / "empty")["train"][0].parent == debian  # root without files: Debian


@pytest.mark.parametrize("sub", [".", "fashion-mnist", "FashionMNIST/raw"])
def test_data_root_layouts(tmp_path: Path, no_debian: Path, sub: str) -> None:
    write_fashion(tmp_path / "root" / sub)
    assert locate(tmp_path / "root")["train"][0].parent == tmp_path / "root" / sub


def test_incomplete_folder_is_skipped(tmp_path: Path, no_debian: Path) -> None:
    write_fashion(tmp_path / "root")
    (tmp_path / "root" / f"{FILES['test'][1]}.gz").unlink()
    with pytest.raises(MissingDataError, match="Fashion-MNIST not found"):
        locate(tmp_path / "root")


def test_missing_data_says_what_to_do_and_never_downloads_unasked(
    tmp_path: Path, no_debian: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(root: Path) -> None:
        raise AssertionError("downloaded without download=True")

    monkeypatch.setattr(fashion_mnist, "_download", forbidden)
    with pytest.raises(MissingDataError) as info:
        load_dataset("fashion_mnist", root=tmp_path / "root")
    message = str(info.value)
    assert "\n" not in message
    for hint in (str(tmp_path / "root"), str(no_debian), "apt-get install dataset-fashion-mnist",
                 "root=DIR or download=True"):  # fmt: skip
        assert hint in message
    assert info.value.can_download
    with pytest.raises(MissingDataError, match=r"needs a folder to download into; pass root=DIR$"):
        load_dataset("fashion_mnist", download=True)


def test_torchvision_download_only_on_request(
    tmp_path: Path, no_debian: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torchvision.datasets

    calls: list[tuple[str, bool, bool]] = []

    class FakeFashionMNIST:  # writes what torchvision's download leaves: FashionMNIST/raw/*
        def __init__(self, root: str, train: bool, download: bool) -> None:
            calls.append((root, train, download))
            write_fashion(Path(root) / "FashionMNIST" / "raw", sizes=(3, 2))

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", FakeFashionMNIST)
    root = tmp_path / "new"
    bundle = load_dataset("fashion_mnist", root=root, download=True)
    assert calls == [(str(root), True, True)]
    assert bundle.train_x.shape == (3, 3, 32, 32)
    load_dataset("fashion_mnist", root=root, download=True)  # files present: no second download
    assert len(calls) == 1


def test_download_failure_is_one_line(
    tmp_path: Path, no_debian: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torchvision.datasets

    def offline(root: str, train: bool, download: bool) -> None:
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", offline)
    with pytest.raises(RuntimeError, match=r"^downloading Fashion-MNIST into .* failed: <urlopen"):
        load_dataset("fashion_mnist", root=tmp_path, download=True)


# ---------------------------------------------------------------- the bundle


def test_bundle_pads_standardises_and_subsets(tmp_path: Path, no_debian: Path) -> None:
    arrays = write_fashion(tmp_path, sizes=(7, 5))
    bundle = load_dataset("fashion_mnist", root=tmp_path, train_size=6, test_size=5)
    (train_images, train_labels), (test_images, test_labels) = arrays["train"], arrays["test"]
    assert bundle.train_x.shape == (6, 3, 32, 32)
    assert bundle.test_x.shape == (5, 3, 32, 32)
    assert bundle.train_x.dtype == torch.float32
    assert bundle.num_classes == 10
    assert torch.equal(bundle.train_y, torch.from_numpy(train_labels[:6].astype(np.int64)))
    assert torch.equal(bundle.test_y, torch.from_numpy(test_labels.astype(np.int64)))
    assert torch.equal(bundle.train_x[:, 0], bundle.train_x[:, 2])
    # Undo the standardisation: the 28×28 pixels sit in the middle, a 2-pixel zero border around.
    mean, std = bundle.meta["mean"], bundle.meta["std"]
    pixels = bundle.train_x[:, 0] * std + mean
    torch.testing.assert_close(pixels[:, 2:30, 2:30], torch.from_numpy(train_images[:6]) / 255.0)
    border = pixels.clone()
    border[:, 2:30, 2:30] = 0
    torch.testing.assert_close(border, torch.zeros_like(border), atol=1e-6, rtol=0)
    padded = torch.zeros(6, 32, 32)
    padded[:, 2:30, 2:30] = torch.from_numpy(train_images[:6]) / 255.0
    assert mean == pytest.approx(float(padded.mean()), rel=1e-5)
    assert std == pytest.approx(float(padded.std()), rel=1e-5)
    test_pixels = bundle.test_x[:, 1, 2:30, 2:30] * std + mean
    torch.testing.assert_close(test_pixels, torch.from_numpy(test_images) / 255.0)


def test_images_are_channels_last_with_the_loaders_values(tmp_path: Path, no_debian: Path) -> None:
    write_fashion(tmp_path, sizes=(7, 5))
    raw = fashion_mnist.load_fashion_mnist(root=tmp_path, train_size=6, test_size=5)
    bundle = load_dataset("fashion_mnist", root=tmp_path, train_size=6, test_size=5)
    layout = torch.channels_last
    for split in ("train_x", "test_x"):
        x = getattr(bundle, split)
        assert x.is_contiguous(memory_format=layout), split
        assert not x.is_contiguous(), split
        assert torch.equal(x, getattr(raw, split)), split
    # A minibatch indexed from it (as the training loop draws them) keeps the layout.
    assert bundle.train_x[torch.tensor([4, 0, 2])].is_contiguous(memory_format=layout)
    # Inputs that are not images are left as they are.
    assert load_dataset("mnist1d", num_samples=60).train_x.is_contiguous()


def test_bundle_errors_name_the_argument_or_file(tmp_path: Path, no_debian: Path) -> None:
    write_fashion(tmp_path, sizes=(4, 3))
    with pytest.raises(ValueError, match=r"train_size=5 exceeds the 4 examples of .*train-images"):
        load_dataset("fashion_mnist", root=tmp_path, train_size=5)
    with pytest.raises(ValueError, match="test_size"):
        load_dataset("fashion_mnist", root=tmp_path, test_size=0)
    write(tmp_path / f"{FILES['test'][1]}.gz", idx_file(np.array([1, 2, 11], dtype=np.uint8)))
    with pytest.raises(
        ValueError, match=r"t10k-labels-idx1-ubyte.gz: labels must lie in \[0, 10\)"
    ):
        load_dataset("fashion_mnist", root=tmp_path)
    write(tmp_path / f"{FILES['test'][1]}.gz", idx_file(np.array([1, 2], dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"labels-idx1-ubyte.gz: expected 3 uint8 labels"):
        load_dataset("fashion_mnist", root=tmp_path)
    write(tmp_path / f"{FILES['train'][0]}.gz", idx_file(np.zeros((4, 28, 27), dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz: expected uint8 images"):
        load_dataset("fashion_mnist", root=tmp_path)


def test_cli_without_fashion_mnist_names_the_flags_and_the_package(
    tmp_path: Path, no_debian: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from paper_repro.cli import main

    out = tmp_path / "out"
    argv = ["run", "table1", "--preset", "fashion_demo", "--out", str(out), "--device", "cpu"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Fashion-MNIST not found in ")
    assert err.count("\n") == 1
    for hint in ("apt-get install dataset-fashion-mnist", "--data-root", "--download"):
        assert hint in err
    assert "root=" not in err
    assert not out.exists()
