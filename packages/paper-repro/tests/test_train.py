"""The training loop: determinism, shared inits, resume after a kill, reload of finished runs,
checkpoint format, history records, schedule switches, RK stages, bf16 and language models."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import paper_repro.train.loop as train_mod
from paper_repro import bench
from paper_repro.data import DataBundle
from paper_repro.device import resolve_device
from paper_repro.files import RunFileError
from paper_repro.optimizers import make_optimizer
from paper_repro.train import RunResult, TrainConfig, train, train_epoch


def _classification_data(n: int = 96, features: int = 8, classes: int = 3) -> DataBundle:
    g = torch.Generator().manual_seed(0)
    centers = 2.0 * torch.randn(classes, features, generator=g)

    def split(m: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(classes, (m,), generator=g)
        return centers[y] + torch.randn(m, features, generator=g), y

    (tx, ty), (vx, vy) = split(n), split(n // 2)
    return DataBundle("blobs", tx, ty, vx, vy, classes, "classification")


DATA = _classification_data()


def _config(**kw: Any) -> TrainConfig:
    base: dict[str, Any] = {
        "model": "mlp",
        "model_kwargs": {"in_features": 8, "num_classes": 3, "hidden": [16], "batchnorm": True},
        "dataset": "blobs",
        "dataset_kwargs": {},
        "schedule": "sgdm:2,adam:2",
        "lr": None,
        "epochs": 4,
        "batch_size": 32,
        "device": "cpu",
    }
    return TrainConfig(**{**base, **kw})


def _same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _strip_seconds(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def _count_epochs(monkeypatch: pytest.MonkeyPatch, fail_at: int | None = None) -> list[int]:
    """Patch ``train_epoch`` to count the epochs it trains, raising at epoch ``fail_at``."""
    calls: list[int] = []
    original = train_mod.train_epoch

    def counting(*args: Any) -> int:
        epoch = args[3]
        if epoch == fail_at:
            raise KeyboardInterrupt("simulated kill")
        calls.append(epoch)
        return original(*args)

    monkeypatch.setattr(train_mod, "train_epoch", counting)
    return calls


def test_config_key_is_stable_and_round_trips() -> None:
    c = _config()
    assert c.key() == _config().key()
    assert len(c.key()) == 16
    assert c.key() != _config(data_seed=1).key()
    d = json.loads(json.dumps(c.to_dict()))
    assert TrainConfig.from_dict(d) == c
    assert TrainConfig.from_dict(d).key() == c.key()
    with pytest.raises(ValueError, match="unknown TrainConfig keys"):
        TrainConfig.from_dict({**d, "optimiser": "sgd"})
    with pytest.raises(ValueError, match="covers 4 epochs but the run has epochs=3"):
        _config(epochs=3)
    with pytest.raises(ValueError, match="precision"):
        _config(precision="fp16")
    with pytest.raises(ValueError, match="init scheme"):
        _config(init="normal(1)")


def test_determinism_shared_init_and_history(tmp_path: Path) -> None:
    a = train(_config(), tmp_path / "a", data=DATA)
    b = train(_config(), tmp_path / "b", data=DATA)
    assert _same_state(a.final_state, b.final_state)
    assert _strip_seconds(a.history) == _strip_seconds(b.history)

    other = train(_config(schedule="heun:4"), tmp_path / "a", data=DATA)
    assert _same_state(other.init_state, a.init_state)  # same θ_0 whatever the optimizer
    assert not _same_state(other.final_state, a.final_state)
    reseeded = train(_config(schedule="heun:4", init_seed=1), tmp_path / "a", data=DATA)
    assert not _same_state(reseeded.init_state, a.init_state)

    h = a.history
    assert [r["epoch"] for r in h] == [0, 1, 2, 3, 4]
    assert [r["optimizer"] for r in h] == ["sgdm", "sgdm", "sgdm", "adam", "adam"]
    assert [r["lr"] for r in h] == [0.1, 0.1, 0.1, 0.001, 0.001]
    assert [r["grad_evals"] for r in h] == [0, 3, 6, 9, 12]  # 96 examples / batch 32
    assert [r["grad_evals"] for r in other.history] == [0, 6, 12, 18, 24]  # Heun: 2 per step
    assert h[0]["dist_from_init"] == 0.0
    assert h[0]["seconds"] == 0.0
    names = [n for n, _ in train_mod.build_initial_model(_config()).named_parameters()]
    by_hand = math.sqrt(
        sum(
            ((a.final_state[n].double() - a.init_state[n].double()) ** 2).sum().item()
            for n in names
        )
    )
    assert h[-1]["dist_from_init"] == pytest.approx(by_hand, rel=1e-12)
    assert all(0.0 <= r[k] <= 1.0 for r in h for k in ("train_acc", "test_acc"))
    assert h[-1]["train_loss"] < h[0]["train_loss"]
    assert all(math.isfinite(r[k]) for r in h for k in ("train_loss", "test_loss"))


def test_metrics_are_eval_mode_means_over_the_split(tmp_path: Path) -> None:
    result = train(_config(schedule="sgd:1", epochs=1), tmp_path, data=DATA)
    model = train_mod.build_initial_model(result.config)
    model.load_state_dict(result.final_state)
    model.eval()
    with torch.no_grad():
        out = model(DATA.test_x)
    assert result.history[-1]["test_loss"] == pytest.approx(
        nn.functional.cross_entropy(out, DATA.test_y).item(), rel=1e-6
    )
    acc = (out.argmax(1) == DATA.test_y).double().mean().item()
    assert result.history[-1]["test_acc"] == pytest.approx(acc)


@pytest.mark.parametrize("lm", [False, True], ids=["mlp-bn", "lstm-dropout"])
def test_resume_after_kill_is_bitwise_equal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lm: bool
) -> None:
    cfg, data = _config(), DATA
    if lm:  # dropout between LSTM layers: the resumed run must draw the same masks
        lm_kwargs = {"vocab_size": 11, "emb": 8, "hidden": 8, "layers": 2, "dropout": 0.5}
        cfg = _config(model="lstm_lm", model_kwargs=lm_kwargs, schedule="heun:2,adam:2")
        data = _lm_data()
    unbroken = train(cfg, tmp_path / "unbroken", data=data)
    with monkeypatch.context() as m:
        calls = _count_epochs(m, fail_at=4)  # killed during the second Adam epoch
        with pytest.raises(KeyboardInterrupt):
            train(cfg, tmp_path / "killed", data=data)
    assert calls == [1, 2, 3]
    calls = _count_epochs(monkeypatch)
    resumed = train(cfg, tmp_path / "killed", data=data)
    assert calls == [4]
    assert _same_state(resumed.final_state, unbroken.final_state)
    assert _same_state(resumed.init_state, unbroken.init_state)
    assert _strip_seconds(resumed.history) == _strip_seconds(unbroken.history)


def test_finished_run_is_loaded_not_retrained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = train(_config(), tmp_path, data=DATA)
    calls = _count_epochs(monkeypatch)
    again = train(_config(), tmp_path)  # no data needed: nothing is trained
    assert calls == []
    assert isinstance(again, RunResult)
    assert again.run_dir == first.run_dir
    assert again.history == first.history
    assert _same_state(again.final_state, first.final_state)


def test_every_file_loads_with_weights_only(tmp_path: Path) -> None:
    result = train(_config(schedule="sgdm:2,adam_rk2:2"), tmp_path, data=DATA)
    files = sorted(p.name for p in result.run_dir.glob("*.pt"))
    assert files == ["checkpoint.pt", "final.pt", "init.pt"]
    for name in files:
        torch.load(result.run_dir / name, weights_only=True)
    ckpt = torch.load(result.run_dir / "checkpoint.pt", weights_only=True)
    assert ckpt["epoch"] == 4
    assert ckpt["phase"] == 1
    assert ckpt["optimizer"]["state"]
    assert json.loads(ckpt["history"]) == result.history
    assert json.loads((result.run_dir / "history.json").read_text())["complete"] is True
    assert TrainConfig.from_dict(
        json.loads((result.run_dir / "config.json").read_text())
    ).key() == (result.config.key())
    assert not list(result.run_dir.glob("*.tmp"))


def test_schedule_switch_builds_a_fresh_optimizer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[torch.optim.Optimizer] = []

    def recording(*args: Any, **kw: Any) -> torch.optim.Optimizer:
        built.append(make_optimizer(*args, **kw))
        return built[-1]

    monkeypatch.setattr(train_mod, "make_optimizer", recording)
    train(_config(schedule="sgdm:1,adam:2", epochs=3), tmp_path, data=DATA)
    assert [type(o).__name__ for o in built] == ["SGD", "Adam"]
    steps = {int(s["step"]) for s in built[1].state.values()}
    assert steps == {6}  # Adam counted only its own 2 epochs × 3 steps: no state carried over


class _MaskRecorder(nn.Module):
    """Linear model with BatchNorm and dropout that records every dropout mask it draws."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(8)
        self.fc = nn.Linear(8, 3)
        self.masks: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = (torch.rand_like(x) > 0.5).float()
        self.masks.append(mask)
        out: torch.Tensor = self.fc(self.bn(x) * mask * 2.0)
        return out


@pytest.mark.parametrize("name", ["heun", "sgdm"])
def test_rk_stages_share_dropout_masks_and_update_bn_once(name: str) -> None:
    model = _MaskRecorder()
    opt = make_optimizer(name, model.parameters(), lr=0.1)
    cfg = _config(schedule=f"{name}:1", epochs=1)
    steps = train_epoch(model, opt, cfg, 1, torch.device("cpu"), DATA.train_x, DATA.train_y)
    assert steps == 3
    assert model.bn.num_batches_tracked is not None
    assert int(model.bn.num_batches_tracked) == 3  # once per step, also for the 2-stage Heun
    masks = model.masks
    if name == "heun":
        assert len(masks) == 6
        assert all(torch.equal(masks[2 * i], masks[2 * i + 1]) for i in range(3))
        assert not torch.equal(masks[0], masks[2])
    else:
        assert len(masks) == 3
    # the masks are a function of (data_seed, epoch): a second run draws the same ones
    again = _MaskRecorder()
    train_epoch(
        again,
        make_optimizer(name, again.parameters(), lr=0.1),
        cfg,
        1,
        torch.device("cpu"),
        DATA.train_x,
        DATA.train_y,
    )
    assert all(torch.equal(a, b) for a, b in zip(masks, again.masks, strict=True))


def test_bf16_trains_and_is_recorded(tmp_path: Path) -> None:
    fp32 = train(_config(schedule="sgdm:2", epochs=2), tmp_path, data=DATA)
    bf16 = train(_config(schedule="sgdm:2", epochs=2, precision="bf16"), tmp_path, data=DATA)
    assert bf16.run_dir != fp32.run_dir
    assert json.loads((bf16.run_dir / "config.json").read_text())["precision"] == "bf16"
    assert all(v.dtype == torch.float32 for v in bf16.final_state.values() if v.is_floating_point())
    assert not _same_state(bf16.final_state, fp32.final_state)  # autocast really ran
    assert bf16.history[-1]["train_loss"] < bf16.history[0]["train_loss"]


def _lm_data(vocab: int = 11, n: int = 24, bptt: int = 6) -> DataBundle:
    g = torch.Generator().manual_seed(1)
    stream = torch.randint(vocab, (2 * n * bptt + 1,), generator=g)
    windows = stream[:-1].reshape(2 * n, bptt)
    targets = stream[1:].reshape(2 * n, bptt)
    return DataBundle(
        "tiny_lm", windows[:n], targets[:n], windows[n:], targets[n:], vocab, "language_model",
        {"vocab_size": vocab},
    )  # fmt: skip


def test_language_model_with_grad_clip(tmp_path: Path) -> None:
    data = _lm_data()
    lm = {"vocab_size": 11, "emb": 8, "hidden": 8, "layers": 1}
    cfg = _config(model="lstm_lm", model_kwargs=lm, dataset="tiny_lm", schedule="sgd:2", epochs=2)
    free = train(dataclasses.replace(cfg, lr=1.0), tmp_path, data=data)
    clip = 1e-3
    clipped = train(dataclasses.replace(cfg, lr=1.0, grad_clip=clip), tmp_path, data=data)
    # plain SGD moves at most lr·clip per step when ‖g‖ is clipped to `clip`
    steps = clipped.history[-1]["grad_evals"]
    assert steps == 2 * math.ceil(24 / 32)
    assert 0 < clipped.history[-1]["dist_from_init"] <= 1.0 * clip * steps * (1 + 1e-6)
    assert free.history[-1]["dist_from_init"] > 10 * clipped.history[-1]["dist_from_init"]
    h = free.history[-1]
    assert math.isfinite(h["train_loss"])
    assert 0.0 <= h["test_acc"] <= 1.0


def test_resume_refuses_a_foreign_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        _count_epochs(m, fail_at=2)
        with pytest.raises(KeyboardInterrupt):
            train(_config(), tmp_path, data=DATA)
    run_dir = tmp_path / _config().key()
    init = torch.load(run_dir / "init.pt", weights_only=True)
    shifted = {k: v + 1 if v.is_floating_point() else v for k, v in init.items()}
    torch.save(shifted, run_dir / "init.pt")
    with pytest.raises(RuntimeError, match="does not match the initial weights"):
        train(_config(), tmp_path, data=DATA)


def test_device_selection() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    with pytest.raises(ValueError, match="not a valid torch device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is unavailable"):
            resolve_device("cuda")


def test_bench_table_runs() -> None:
    table = bench.run(epochs=1, repeats=1)
    assert "| full run (steps + eval + checkpoints) |" in table
    assert table.count("×") == 2


def test_bench_layout_table_times_both_layouts() -> None:
    table = bench.layout(repeats=1)
    rows = [line.split("|")[1:-1] for line in table.splitlines() if line.startswith("| ")][1:]
    assert [r[0].strip() for r in rows] == ["training step (batch 128)", "eval forward, 1,000"]
    for _, plain, last, ratio in rows:
        assert float(plain) > 0
        assert float(last) > 0
        speed_up = float(ratio.strip().rstrip("×"))
        assert speed_up == pytest.approx(float(plain) / float(last), rel=0.02)


def _killed_after(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epochs: int) -> Path:
    """A run of ``_config()`` killed after ``epochs`` epochs; returns its run directory."""
    with monkeypatch.context() as m:
        _count_epochs(m, fail_at=epochs + 1)
        with pytest.raises(KeyboardInterrupt):
            train(_config(), tmp_path, data=DATA)
    return tmp_path / _config().key()


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    ("spoil", "trained"),
    [(("checkpoint.pt",), [2, 3, 4]), (("checkpoint.pt", "checkpoint.prev.pt"), [1, 2, 3, 4])],
    ids=["last-checkpoint", "both-checkpoints"],
)
def test_corrupt_checkpoint_is_set_aside_and_the_run_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spoil: tuple[str, ...], trained: list[int]
) -> None:
    unbroken = train(_config(), tmp_path / "unbroken", data=DATA)
    run_dir = _killed_after(tmp_path, monkeypatch, epochs=2)
    assert torch.load(run_dir / "checkpoint.prev.pt", weights_only=True)["epoch"] == 1
    originals = {name: (run_dir / name).read_bytes() for name in spoil}
    for name in spoil:
        _truncate(run_dir / name)
    calls = _count_epochs(monkeypatch)
    with pytest.warns(RuntimeWarning, match=r"checkpoint(\.prev)?\.pt: is not a readable") as got:
        resumed = train(_config(), tmp_path, data=DATA)
    assert len(got) == len(spoil)
    assert calls == trained
    assert _same_state(resumed.final_state, unbroken.final_state)
    assert _strip_seconds(resumed.history) == _strip_seconds(unbroken.history)
    for name, original in originals.items():  # set aside, not deleted
        assert (run_dir / f"{name}.corrupt").read_bytes() == original[: len(original) // 2]
    assert not (run_dir / "checkpoint.prev.pt").exists()  # finished: the spare is dropped


def test_checkpoint_of_another_model_is_set_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = _killed_after(tmp_path, monkeypatch, epochs=1)
    ckpt = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    ckpt["model"] = {"weight": torch.zeros(3)}
    torch.save(ckpt, run_dir / "checkpoint.pt")
    calls = _count_epochs(monkeypatch)
    with pytest.warns(RuntimeWarning, match="restarting the run from its initial weights"):
        resumed = train(_config(), tmp_path, data=DATA)
    assert calls == [1, 2, 3, 4]
    assert _same_state(resumed.final_state, train(_config(), tmp_path / "b", data=DATA).final_state)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("history.json", "is not valid JSON"),
        ("final.pt", "is not a readable checkpoint"),
        ("init.pt", "is empty"),
    ],
)
def test_unreadable_file_of_a_finished_run_is_named(
    tmp_path: Path, name: str, problem: str
) -> None:
    run_dir = train(_config(schedule="sgd:1", epochs=1), tmp_path, data=DATA).run_dir
    path = run_dir / name
    path.write_bytes(b"" if name == "init.pt" else path.read_bytes()[:20])
    with pytest.raises(RunFileError) as exc:
        train(_config(schedule="sgd:1", epochs=1), tmp_path, data=DATA)
    assert str(exc.value).startswith(f"{path}: {problem}")
    assert "\n" not in str(exc.value)


def test_run_files_honour_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        result = train(_config(schedule="sgd:1", epochs=1), tmp_path, data=DATA)
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in result.run_dir.iterdir()}
    assert modes == dict.fromkeys(
        ["config.json", "init.pt", "checkpoint.pt", "history.json", "final.pt"], 0o640
    )


def test_recorded_bn_statistics_are_those_of_the_recorded_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a large rate the running averages (momentum 0.1) lag the weights, so eval-mode losses
    judged a network nobody trained. Every epoch now ends with the BN statistics of the first
    ``BN_REFRESH_EXAMPLES`` training examples at the epoch's weights; the parameters' trajectory
    is bitwise the same as without the refresh."""
    config = _config(schedule="sgd@1.5:3", epochs=3, batch_size=8)
    result = train(config, tmp_path / "refreshed", data=DATA)
    model = train_mod.build_initial_model(config)
    model.load_state_dict(result.final_state)
    norm = next(m for m in model.modules() if isinstance(m, nn.BatchNorm1d))
    stash: list[torch.Tensor] = []
    norm.register_forward_pre_hook(lambda _m, args: stash.append(args[0].detach()))
    model.eval()
    with torch.no_grad():
        model(DATA.train_x[: train_mod.BN_REFRESH_EXAMPLES])
    (inputs,) = stash
    assert torch.allclose(norm.running_mean, inputs.mean(0), atol=1e-5)
    assert torch.allclose(norm.running_var, inputs.var(0), rtol=1e-4)
    monkeypatch.setattr(train_mod, "refresh_bn_statistics", lambda *a, **k: None)
    lagging = train(config, tmp_path / "lagging", data=DATA)
    params = {n for n, _ in model.named_parameters()}
    for name in params:
        assert torch.equal(result.final_state[name], lagging.final_state[name]), name
    assert not torch.equal(
        result.final_state[f"{_bn_name(model)}.running_mean"],
        lagging.final_state[f"{_bn_name(model)}.running_mean"],
    )


def _bn_name(model: nn.Module) -> str:
    return next(n for n, m in model.named_modules() if isinstance(m, nn.BatchNorm1d))


def test_a_batch_beyond_the_gradient_chunk_accumulates_the_same_gradient(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Full-batch steps at the paper's scale do not fit one forward pass: a batch larger than
    ``GRADIENT_CHUNK`` is run in chunks whose gradients add up to the whole batch's (same loss,
    same step, to rounding) for a network without BatchNorm."""
    no_bn = {"in_features": 8, "num_classes": 3, "hidden": [16], "batchnorm": False}
    config = _config(schedule="sgd@0.5:2", epochs=2, batch_size=96, model_kwargs=no_bn)
    whole = train(config, tmp_path / "whole", data=DATA)
    monkeypatch.setattr(train_mod, "GRADIENT_CHUNK", 40)  # chunks of 40, 40 and 16 examples
    sizes: list[int] = []
    build = train_mod.build_initial_model

    def counted(c: TrainConfig) -> nn.Module:
        model = build(c)
        model.register_forward_pre_hook(lambda _m, args: sizes.append(args[0].shape[0]))
        return model

    monkeypatch.setattr(train_mod, "build_initial_model", counted)
    chunked = train(config, tmp_path / "chunked", data=DATA)
    assert sizes.count(40) == 2 * 2  # two epochs of one step: chunks of 40, 40 and 16
    assert sizes.count(16) == 2
    for name, value in whole.final_state.items():
        assert torch.allclose(value, chunked.final_state[name], atol=1e-6), name
    assert chunked.history[-1]["train_loss"] == pytest.approx(whole.history[-1]["train_loss"])
