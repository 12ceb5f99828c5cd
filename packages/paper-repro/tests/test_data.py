"""Data: real file formats round trip, offline sets, determinism, minibatch order, errors."""

from __future__ import annotations

import pickle
import random
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from paper_repro.data import DataBundle, MissingDataError, load_dataset, minibatch_order
from paper_repro.data.cifar10 import MEAN, STD, TRAIN_FILES
from paper_repro.data.text import build_vocab, encode, windows

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# ---------------------------------------------------------------- CIFAR-10 (real pickle format)


def py2_pickle(obj: object) -> bytes:
    """Protocol-2 pickle as Python 2's cPickle wrote the CIFAR-10 files (str as BINSTRING, arrays
    through ``numpy.core.multiarray._reconstruct``), built opcode by opcode."""
    if isinstance(obj, str):
        raw = obj.encode("latin-1")
        if len(raw) < 256:
            return b"U" + bytes([len(raw)]) + raw
        return b"T" + struct.pack("<i", len(raw)) + raw
    if isinstance(obj, bytes):  # Python 2 has no bytes type: raw data is a str too
        return b"T" + struct.pack("<i", len(obj)) + obj
    if isinstance(obj, bool):
        return b"\x88" if obj else b"\x89"
    if isinstance(obj, int):
        return b"J" + struct.pack("<i", obj)
    if obj is None:
        return b"N"
    if isinstance(obj, tuple):
        return b"(" + b"".join(py2_pickle(x) for x in obj) + b"t"
    if isinstance(obj, list):
        return b"](" + b"".join(py2_pickle(x) for x in obj) + b"e"
    if isinstance(obj, dict):
        items = b"".join(py2_pickle(k) + py2_pickle(v) for k, v in obj.items())
        return b"}(" + items + b"u"
    if isinstance(obj, np.ndarray):
        assert obj.dtype == np.uint8
        dtype = b"cnumpy\ndtype\n" + py2_pickle(("u1", 0, 1)) + b"R"
        dtype += py2_pickle((3, "|", None, None, None, -1, -1, 0)) + b"b"
        array = b"cnumpy.core.multiarray\n_reconstruct\n"  # _reconstruct(ndarray, (0,), "b")
        array += b"(cnumpy\nndarray\n" + py2_pickle((0,)) + py2_pickle("b") + b"tR"
        state = b"(" + py2_pickle(1) + py2_pickle(obj.shape) + dtype + py2_pickle(False)
        state += py2_pickle(obj.tobytes()) + b"t"
        return array + state + b"b"
    raise TypeError(type(obj))


def write_cifar(root: Path, sizes: tuple[int, ...] = (3, 2, 4, 1, 2, 3), *, seed: int = 0):
    """Write data_batch_1..5 and test_batch (sizes in that order) plus batches.meta."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for name, n in zip([*TRAIN_FILES, "test_batch"], sizes, strict=True):
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n)]
        files = [f"img_{i}.png" for i in range(n)]
        batch = {"batch_label": name, "labels": labels, "data": data, "filenames": files}
        (folder / name).write_bytes(b"\x80\x02" + py2_pickle(batch) + b".")
        batches[name] = (data, labels)
    meta = {"label_names": CLASSES, "num_cases_per_batch": 10000, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(b"\x80\x02" + py2_pickle(meta) + b".")
    return batches


def test_py2_pickle_writer_matches_pickle_semantics() -> None:
    data = np.arange(3072 * 2, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    raw = b"\x80\x02" + py2_pickle({"data": data, "labels": [1, 9], "name": "x" * 300}) + b"."
    loaded = pickle.loads(raw, encoding="bytes")
    assert loaded[b"labels"] == [1, 9]
    assert loaded[b"name"] == b"x" * 300
    np.testing.assert_array_equal(loaded[b"data"], data)


def test_cifar10_round_trip(tmp_path: Path) -> None:
    batches = write_cifar(tmp_path)
    bundle = load_dataset("cifar10", root=tmp_path)
    assert bundle.train_x.shape == (12, 3, 32, 32)
    assert bundle.test_x.shape == (3, 3, 32, 32)
    assert bundle.train_x.dtype == torch.float32
    assert bundle.train_y.dtype == torch.int64
    assert bundle.num_classes == 10
    assert bundle.task == "classification"
    assert bundle.meta["classes"][9] == "truck"
    train_labels = [label for name in TRAIN_FILES for label in batches[name][1]]
    assert bundle.train_y.tolist() == train_labels
    assert bundle.test_y.tolist() == batches["test_batch"][1]
    # Row layout: 1024 red, 1024 green, 1024 blue values, each 32×32 row-major.
    data = batches["data_batch_2"][0]
    for c, h, w in [(0, 0, 0), (1, 5, 7), (2, 31, 30)]:
        raw = int(data[1, c * 1024 + h * 32 + w])
        expected = (raw / 255 - MEAN[c]) / STD[c]
        assert bundle.train_x[3 + 1, c, h, w].item() == pytest.approx(expected, abs=1e-6)


def test_cifar10_accepts_the_batch_folder_itself(tmp_path: Path) -> None:
    write_cifar(tmp_path)
    a = load_dataset("cifar10", root=tmp_path)
    b = load_dataset("cifar10", root=tmp_path / "cifar-10-batches-py")
    assert torch.equal(a.train_x, b.train_x)
    assert torch.equal(a.test_y, b.test_y)


def test_cifar10_errors_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match=r"root=DIR or download=True"):
        load_dataset("cifar10")
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_dataset("cifar10", root=missing)
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py"):
        load_dataset("cifar10", root=tmp_path)
    write_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        load_dataset("cifar10", root=tmp_path)


def test_cifar10_rejects_malformed_and_unsafe_pickles(tmp_path: Path) -> None:
    write_cifar(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}))
    with pytest.raises(ValueError, match=r"data_batch_1: b'data' must be uint8"):
        load_dataset("cifar10", root=tmp_path)
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        load_dataset("cifar10", root=tmp_path)
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8)}))
    with pytest.raises(ValueError, match="missing key b'labels'"):
        load_dataset("cifar10", root=tmp_path)

    class Exploit:
        def __reduce__(self):
            return (print, ("side effect",))

    path.write_bytes(pickle.dumps({b"data": Exploit(), b"labels": []}))
    with pytest.raises(pickle.UnpicklingError, match=r"builtins\.print"):
        load_dataset("cifar10", root=tmp_path)


def test_cifar10_download_goes_through_torchvision_only_when_files_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torchvision.datasets

    calls: list[tuple[str, bool, bool]] = []

    class FakeCIFAR10:  # stands in for the network: "downloads" by writing the real format
        def __init__(self, root: str, train: bool, download: bool) -> None:
            calls.append((root, train, download))
            write_cifar(Path(root))

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    root = tmp_path / "fresh"
    bundle = load_dataset("cifar10", root=root, download=True)
    assert calls == [(str(root), True, True)]
    assert bundle.train_x.shape == (12, 3, 32, 32)
    load_dataset("cifar10", root=root, download=True)
    assert len(calls) == 1  # files present: read, not downloaded again

    class Offline:
        def __init__(self, root: str, train: bool, download: bool) -> None:
            raise OSError("network unreachable")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Offline)
    with pytest.raises(RuntimeError, match=r"downloading CIFAR-10 into .*elsewhere failed"):
        load_dataset("cifar10", root=tmp_path / "elsewhere", download=True)


# ---------------------------------------------------------------- Penn Treebank (text format)

PTB = {
    "ptb.train.txt": " the cat sat \n the dog sat on the mat \n a <unk> ran \n",
    "ptb.valid.txt": " the cat ran \n",
    "ptb.test.txt": " a zebra sat on the cat \n the end \n",
}


def write_ptb(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in PTB.items():
        (root / name).write_text(text, encoding="utf-8")


def test_ptb_round_trip(tmp_path: Path) -> None:
    write_ptb(tmp_path)
    bundle = load_dataset("ptb", root=tmp_path, bptt=3)
    vocab = bundle.meta["vocab"]
    assert vocab[:3] == ["<eos>", "<unk>", "the"]  # specials, then by count (the: 3)
    assert bundle.num_classes == bundle.meta["vocab_size"] == len(vocab) == 10
    assert bundle.task == "language_model"
    stream = [
        "the",
        "cat",
        "sat",
        "<eos>",
        "the",
        "dog",
        "sat",
        "on",
        "the",
        "mat",
        "<eos>",
        "a",
        "<unk>",
        "ran",
        "<eos>",
    ]
    n = (len(stream) - 1) // 3
    decoded_x = [[vocab[i] for i in row] for row in bundle.train_x.tolist()]
    decoded_y = [[vocab[i] for i in row] for row in bundle.train_y.tolist()]
    assert decoded_x == [stream[3 * i : 3 * i + 3] for i in range(n)]
    assert decoded_y == [stream[3 * i + 1 : 3 * i + 4] for i in range(n)]
    test = [[vocab[i] for i in row] for row in bundle.test_x.tolist()]
    assert test[0] == ["a", "<unk>", "sat"]  # "zebra" is not in the training vocabulary
    assert bundle.test_x.dtype == bundle.test_y.dtype == torch.int64
    valid = load_dataset("ptb", root=tmp_path, bptt=3, heldout="valid")
    assert [vocab[i] for i in valid.test_x[0].tolist()] == ["the", "cat", "ran"]


def test_ptb_errors_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match=r"root=DIR$"):
        load_dataset("ptb")
    with pytest.raises(FileNotFoundError, match="absent"):
        load_dataset("ptb", root=tmp_path / "absent")
    write_ptb(tmp_path)
    (tmp_path / "ptb.test.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"ptb\.test\.txt"):
        load_dataset("ptb", root=tmp_path)
    with pytest.raises(ValueError, match="heldout"):
        load_dataset("ptb", root=tmp_path, heldout="dev")
    with pytest.raises(ValueError, match="too short for bptt=100"):
        load_dataset("ptb", root=tmp_path, bptt=100, heldout="valid")


def test_vocab_cap_maps_rare_words_to_unk() -> None:
    lines = [["b", "a", "b", "c"], ["c", "b"]]
    assert build_vocab(lines) == ["<eos>", "<unk>", "b", "c", "a"]
    vocab = build_vocab(lines, 4)
    assert vocab == ["<eos>", "<unk>", "b", "c"]
    assert encode([["a", "b"], ["z"]], vocab).tolist() == [1, 2, 0, 1, 0]
    with pytest.raises(ValueError, match="vocab_size"):
        build_vocab(lines, 1)


@settings(max_examples=30, deadline=None)
@given(length=st.integers(2, 200), bptt=st.integers(1, 40))
def test_windows_are_the_stream_shifted_by_one(length: int, bptt: int) -> None:
    stream = torch.arange(length)
    if length - 1 < bptt:
        with pytest.raises(ValueError, match="too short"):
            windows(stream, bptt)
        return
    x, y = windows(stream, bptt)
    n = (length - 1) // bptt
    assert x.shape == y.shape == (n, bptt)
    assert torch.equal(x.flatten(), stream[: n * bptt])
    assert torch.equal(y, x + 1)


def test_pydoc_corpus() -> None:
    bundle = load_dataset("pydoc")
    meta = bundle.meta
    assert meta["train_tokens"] + meta["test_tokens"] > 50_000
    assert bundle.num_classes == meta["vocab_size"] == 2000 == len(meta["vocab"])
    assert bundle.train_x.shape[1] == bundle.test_x.shape[1] == 35
    assert bundle.train_x.shape[0] == (meta["train_tokens"] - 1) // 35
    assert torch.equal(bundle.train_y[:, :-1], bundle.train_x[:, 1:])
    assert torch.equal(bundle.train_y[:-1, -1], bundle.train_x[1:, 0])
    assert int(bundle.train_x.max()) < 2000
    assert int(bundle.train_x.min()) >= 0
    assert 0 < meta["train_unk_fraction"] < 0.05
    words = set(meta["vocab"][2:])
    assert {"the", "function", "class"} <= words
    assert all(w == "N" or w == w.lower() for w in words)
    again = load_dataset("pydoc")
    assert torch.equal(bundle.train_x, again.train_x)
    assert torch.equal(bundle.test_y, again.test_y)
    uncapped = load_dataset("pydoc", vocab_size=None, bptt=10)
    assert uncapped.num_classes > 2000
    assert uncapped.meta["train_unk_fraction"] == 0


# ---------------------------------------------------------------- offline classification sets


def test_mnist1d_is_the_published_generator_standardised() -> None:
    import mnist1d.data

    bundle = load_dataset("mnist1d", seed=42, num_samples=300)
    args = mnist1d.data.get_dataset_args()
    args.num_samples = 300
    state = np.random.get_state()  # noqa: NPY002
    raw = mnist1d.data.make_dataset(args)
    np.random.set_state(state)  # noqa: NPY002
    assert bundle.train_x.shape == (240, 40)
    assert bundle.test_x.shape == (60, 40)
    assert bundle.train_x.dtype == torch.float32
    assert bundle.train_y.dtype == torch.int64
    mean, std = bundle.meta["mean"], bundle.meta["std"]
    restored = bundle.train_x.double() * std + mean
    np.testing.assert_allclose(restored.numpy(), raw["x"], atol=1e-5)
    assert bundle.train_y.tolist() == raw["y"].tolist()
    assert bundle.test_y.tolist() == raw["y_test"].tolist()
    assert float(bundle.train_x.mean()) == pytest.approx(0, abs=1e-5)
    assert float(bundle.train_x.std()) == pytest.approx(1, abs=1e-5)


def test_mnist1d_determinism_and_global_rng_untouched() -> None:
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    a = load_dataset("mnist1d", seed=1, num_samples=100)
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(x, y) for x, y in zip(np_state, after, strict=True))
    assert random.getstate() == py_state
    b = load_dataset("mnist1d", seed=1, num_samples=100)
    c = load_dataset("mnist1d", seed=2, num_samples=100)
    assert torch.equal(a.train_x, b.train_x)
    assert torch.equal(a.test_y, b.test_y)
    assert not torch.equal(a.train_x, c.train_x)
    assert set(a.train_y.tolist()) <= set(range(10))
    with pytest.raises(TypeError, match=r"unknown argument 'url'.*num_samples"):
        load_dataset("mnist1d", url="https://example.org")
    with pytest.raises(ValueError, match="num_samples"):
        load_dataset("mnist1d", num_samples=5)


def test_digits_flat_split() -> None:
    from sklearn.datasets import load_digits

    a = load_dataset("digits", seed=0)
    assert a.train_x.shape == (1438, 64)
    assert a.test_x.shape == (359, 64)
    assert a.train_x.dtype == torch.float32
    assert a.num_classes == 10
    everything = torch.cat([a.train_y, a.test_y]).bincount(minlength=10)
    assert everything.tolist() == np.bincount(load_digits().target).tolist()
    pixels = torch.cat([a.train_x, a.test_x]) * a.meta["std"] + a.meta["mean"]
    assert torch.allclose(pixels * 16, (pixels * 16).round(), atol=1e-4)  # the 0..16 grid
    assert float(a.train_x.mean()) == pytest.approx(0, abs=1e-5)
    b, c = load_dataset("digits", seed=0), load_dataset("digits", seed=1)
    assert torch.equal(a.train_x, b.train_x)
    assert torch.equal(a.test_y, b.test_y)
    assert not torch.equal(a.test_y, c.test_y)
    with pytest.raises(ValueError, match="test_fraction"):
        load_dataset("digits", test_fraction=1.5)
    with pytest.raises(ValueError, match="image_size"):
        load_dataset("digits", image_size=0)


def test_digits_resized_for_the_cifar_models() -> None:
    flat = load_dataset("digits", seed=3)
    image = load_dataset("digits", seed=3, image_size=32)
    assert image.train_x.shape == (1438, 3, 32, 32)
    assert image.test_x.shape == (359, 3, 32, 32)
    assert torch.equal(image.train_x[:, 0], image.train_x[:, 2])
    assert torch.equal(image.train_y, flat.train_y)
    # Bilinear weights sum to one, so a constant image stays constant and the resize commutes with
    # the scalar standardisation: resizing the standardised 8×8 images gives the same tensor.
    resized = F.interpolate(flat.test_x.reshape(-1, 1, 8, 8), size=32, mode="bilinear")
    torch.testing.assert_close(image.test_x[:, :1], resized)
    # Each output pixel is a convex combination of input pixels (up to float rounding).
    assert image.train_x.min() >= flat.train_x.min() - 1e-5
    assert image.train_x.max() <= flat.train_x.max() + 1e-5


# ---------------------------------------------------------------- registry, bundle, cwd hygiene


def test_loaders_write_nothing_into_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_root = tmp_path / "data"
    write_cifar(data_root)
    write_ptb(data_root / "ptb")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    before = sorted(p.relative_to(tmp_path) for p in data_root.rglob("*"))
    load_dataset("mnist1d", num_samples=50)
    load_dataset("digits", image_size=16)
    load_dataset("pydoc", bptt=8)
    load_dataset("cifar10", root=data_root)
    load_dataset("ptb", root=data_root / "ptb", bptt=2)
    assert list(cwd.iterdir()) == []
    assert sorted(p.relative_to(tmp_path) for p in data_root.rglob("*")) == before


def test_registry_errors() -> None:
    with pytest.raises(
        ValueError, match=r"unknown dataset 'mnist'.*cifar10, digits, fashion_mnist, mnist1d"
    ):
        load_dataset("mnist")
    with pytest.raises(TypeError, match=r"'pydoc' got unknown argument.*bpt.*bptt"):
        load_dataset("pydoc", bpt=3)


def test_bundle_validates_lengths_and_label_dtype() -> None:
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="train_x has 3 examples but train_y has 2"):
        DataBundle("t", x, torch.zeros(2, dtype=torch.int64), x, torch.zeros(3, dtype=torch.int64),
                   2, "classification")  # fmt: skip
    with pytest.raises(ValueError, match="int64"):
        DataBundle("t", x, torch.zeros(3), x, torch.zeros(3), 2, "classification")
    y = torch.zeros(3, dtype=torch.int64)
    with pytest.raises(ValueError, match="task"):
        DataBundle("t", x, y, x, y, 2, "regression")  # type: ignore[arg-type]


# ---------------------------------------------------------------- shared minibatch order


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 300),
    batch=st.integers(1, 64),
    seed=st.integers(0, 2**40),
    epoch=st.integers(0, 500),
)
def test_minibatch_order_partitions_the_examples(n: int, batch: int, seed: int, epoch: int) -> None:
    order = minibatch_order(n, batch, seed=seed, epoch=epoch)
    assert len(order) == -(-n // batch)
    assert all(len(b) == batch for b in order[:-1])
    assert 1 <= len(order[-1]) <= batch
    assert torch.equal(torch.cat(order).sort().values, torch.arange(n))
    assert all(b.dtype == torch.int64 for b in order)


def test_minibatch_order_depends_on_seed_and_epoch_only() -> None:
    torch.manual_seed(0)
    a = minibatch_order(100, 32, seed=7, epoch=3)
    torch.manual_seed(123)
    torch.rand(10)
    b = minibatch_order(100, 32, seed=7, epoch=3)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    other_epoch = torch.cat(minibatch_order(100, 32, seed=7, epoch=4))
    other_seed = torch.cat(minibatch_order(100, 32, seed=8, epoch=3))
    assert not torch.equal(torch.cat(a), other_epoch)
    assert not torch.equal(torch.cat(a), other_seed)
    # (seed, epoch) pairs that naive arithmetic mixing would collide give different orders.
    assert not torch.equal(
        torch.cat(minibatch_order(100, 100, seed=1, epoch=0)),
        torch.cat(minibatch_order(100, 100, seed=0, epoch=1)),
    )


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((0, 4), {"seed": 0, "epoch": 0}, "num_examples"),
        ((10, 0), {"seed": 0, "epoch": 0}, "batch_size"),
        ((10, 4), {"seed": -1, "epoch": 0}, "seed"),
        ((10, 4), {"seed": 0, "epoch": 1.5}, "epoch"),
    ],
)
def test_minibatch_order_rejects_bad_arguments(args, kwargs, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        minibatch_order(*args, **kwargs)
