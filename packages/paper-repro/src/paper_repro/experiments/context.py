"""What every experiment shares: the run set (training runs reused across experiments), probe data,
figure and JSON output, and a few summary statistics.

Directory layout of one reproduction ``OUT``::

    OUT/preset.json              the preset the runs were made with (read by the report)
    OUT/pilots.json              the learning-rate pilots: every rate tried, its result, the choice
    OUT/runs/<config key>/       one training run (paper_repro.train), shared by every experiment
    OUT/<experiment>/result.json the experiment's numbers (written last, atomically: its presence
                                 marks the experiment finished)
    OUT/<experiment>/*.png       its figures
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import files
from ..data import DataBundle, load_dataset
from ..pilot import PilotRow, choose, pilot_configs, pilot_row
from ..presets import Preset
from ..screening import describe, failure
from ..train import RunResult, TrainConfig, build_initial_model, train
from ..train.rundir import finished

StateDict = dict[str, torch.Tensor]
RESULT_FILE = "result.json"
PILOTS_FILE = "pilots.json"
Analysis = tuple[dict[str, Any], list[str]]
"""What an experiment's ``analyse`` returns: its numbers and its figures (paths relative to OUT)."""


@dataclass
class Context:
    """One reproduction: a preset and an output directory; trains and loads runs on demand.

    ``only_train`` makes experiments stop after their training runs (no probes, no result).
    ``train_calls`` counts the runs actually trained (not loaded) by this context; ``excluded``
    collects the failed runs left out of the current experiment's comparisons (:meth:`screen`).
    ``data_root`` and ``download`` go to the data sets that read files (CIFAR-10): where the
    files live changes no number, so it is in no run's key and not in ``preset.json``.
    """

    preset: Preset
    out_dir: Path
    only_train: bool = False
    progress: bool | None = None
    train_calls: int = 0
    data_root: Path | None = None
    download: bool = False
    excluded: list[dict[str, str]] = field(default_factory=list)
    _data: dict[str, DataBundle] = field(default_factory=dict, repr=False)
    _rates: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)

    @property
    def runs_dir(self) -> Path:
        return self.out_dir / "runs"

    def log(self, message: str) -> None:
        """One concise progress line on stderr."""
        print(message, file=sys.stderr, flush=True)

    def data(self, role: str) -> DataBundle:
        """The data set of ``role``."""
        setup = self.preset.setups[role]
        return self.bundle(setup.dataset, dict(setup.dataset_kwargs))

    def bundle(self, dataset: str, kwargs: Mapping[str, Any]) -> DataBundle:
        """``load_dataset(dataset, **kwargs)``, loaded once per context."""
        key = json.dumps([dataset, dict(kwargs)], sort_keys=True)
        if key not in self._data:
            self._data[key] = load_dataset(
                dataset, root=self.data_root, download=self.download, **dict(kwargs)
            )
        return self._data[key]

    def run(self, config: TrainConfig) -> RunResult:
        """Train ``config`` into the shared runs directory, or load it when already finished."""
        fresh = not finished(self.runs_dir / config.key())
        tic = time.perf_counter()
        data = self.bundle(config.dataset, config.dataset_kwargs)
        result = train(config, self.runs_dir, data=data, progress=self.progress)
        if fresh:
            self.train_calls += 1
            last = result.history[-1]
            self.log(
                f"  trained {config.model} {config.schedule} init={config.init} "
                f"seed={config.init_seed}: train_acc {last['train_acc']:.3f} "
                f"test_acc {last['test_acc']:.3f} ({time.perf_counter() - tic:.1f} s)"
            )
        return result

    def chance(self, config: TrainConfig) -> float:
        """Chance-level accuracy of the run's data set (1 / number of classes)."""
        return 1.0 / self.bundle(config.dataset, config.dataset_kwargs).num_classes

    def rate(self, role: str, optimizer: str) -> float:
        """The learning rate of ``optimizer`` on ``role``, chosen by its pilot runs (trained or
        loaded here; the pilot table is saved to ``OUT/pilots.json``); a one-rate grid is used
        as it is, without pilots."""
        grid = self.preset.lr_grid[optimizer]
        if len(grid) == 1:  # a fixed rate: nothing to choose, no pilot
            return grid[0]
        if (role, optimizer) not in self._rates:
            configs = pilot_configs(self.preset, role, optimizer)
            rows = [pilot_row(role, self.run(c), self.chance(c)) for c in configs]
            self._rates[role, optimizer] = choose(rows)
            save_pilots(self.out_dir, rows, self._rates[role, optimizer])
        return self._rates[role, optimizer]

    def config(
        self, role: str, schedule: str, *, seed: int, init: str = "default", lr_scale: float = 1.0
    ) -> TrainConfig:
        """The run of ``schedule`` on ``role`` from ``seed`` at the role's budget; a single
        optimizer trains at its pilot-chosen rate × ``lr_scale``, a multi-phase schedule at the
        rates written in it."""
        epochs, batch_size = self.preset.budget(role)
        lr = self.rate(role, schedule) * lr_scale if schedule in self.preset.lr_grid else None
        return self.preset.config(
            role, schedule, seed=seed, init=init, lr=lr, epochs=epochs, batch_size=batch_size
        )

    def train_all(self, plan: Any) -> Any:
        """``plan`` with every config replaced by its trained or loaded :class:`RunResult`."""
        return map_plan(plan, self.run)

    def screen(self, runs: Sequence[RunResult]) -> list[RunResult]:
        """The runs that trained; the failed ones are recorded in :attr:`excluded`."""
        kept = []
        for run in runs:
            meta = self.bundle(run.config.dataset, run.config.dataset_kwargs).meta
            reason = failure(run.history, self.chance(run.config), meta.get("unigram_perplexity"))
            if reason is None:
                kept.append(run)
            elif all(e["run"] != describe(run) for e in self.excluded):
                self.excluded.append({"run": describe(run), "reason": reason})
        return kept

    def template(self, role: str) -> nn.Module:
        """The architecture of ``role`` (weights irrelevant: probes load weight sets into it)."""
        return build_initial_model(self.preset.config(role, "sgd", seed=0, lr=None))

    def probe_data(self, role: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Training examples the loss surfaces are evaluated on (the first ``probe_examples``)."""
        data = self.data(role)
        n = self.preset.probe_examples or data.train_x.shape[0]
        return data.train_x[:n], data.train_y[:n]

    def test_data(self, role: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The held-out split (functional distances are measured on it, as in the paper)."""
        data = self.data(role)
        return data.test_x, data.test_y

    def experiment_dir(self, name: str) -> Path:
        path = self.out_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def map_plan(plan: Any, fn: Callable[[TrainConfig], Any]) -> Any:
    """``plan`` (TrainConfigs nested in dicts and lists) with ``fn`` applied to every config."""
    if isinstance(plan, TrainConfig):
        return fn(plan)
    if isinstance(plan, Mapping):
        return {k: map_plan(v, fn) for k, v in plan.items()}
    return [map_plan(v, fn) for v in plan]


def result_path(out_dir: Path, name: str) -> Path:
    return Path(out_dir) / name / RESULT_FILE


def load_result(out_dir: Path, name: str) -> dict[str, Any] | None:
    """The saved numbers of experiment ``name``, or None when it has not finished."""
    path = result_path(out_dir, name)
    if not path.exists():
        return None
    loaded: dict[str, Any] = files.read_json(path)
    return loaded


def save_pilots(out_dir: Path, rows: Sequence[PilotRow], chosen: float) -> None:
    """Add (or replace) one (role, optimizer)'s pilot rows and choice in ``OUT/pilots.json``."""
    table = [
        p
        for p in load_pilots(out_dir)
        if (p["role"], p["optimizer"]) != (rows[0].role, rows[0].optimizer)
    ]
    table.append(
        {
            "role": rows[0].role,
            "optimizer": rows[0].optimizer,
            "chosen": chosen,
            "rows": [r.to_dict() for r in rows],
        }
    )
    files.write_json(table, Path(out_dir) / PILOTS_FILE)


def load_pilots(out_dir: Path) -> list[dict[str, Any]]:
    """The saved pilot table (empty before any pilot ran)."""
    path = Path(out_dir) / PILOTS_FILE
    if not path.exists():
        return []
    loaded: list[dict[str, Any]] = files.read_json(path)
    return loaded


def save_result(
    ctx: Context, name: str, numbers: Mapping[str, Any], figures: Sequence[str]
) -> dict[str, Any]:
    """Write ``OUT/<name>/result.json`` atomically; ``figures`` are paths relative to ``OUT``."""
    record = {
        "experiment": name,
        "preset": ctx.preset.name,
        "seeds": ctx.preset.seeds,
        "figures": list(figures),
        "excluded": list(ctx.excluded),
        "numbers": to_builtin(numbers),
    }
    files.write_json(record, result_path(ctx.out_dir, name))
    return record


def save_figure(ctx: Context, name: str, stem: str, fig: Any) -> str:
    """Save a matplotlib figure as ``OUT/<name>/<stem>.png`` and ``.pdf`` (each atomically);
    returns the PNG's path relative to OUT."""
    import matplotlib.pyplot as plt

    for ext in ("pdf", "png"):

        def write(fh: Any, ext: str = ext) -> None:
            fig.savefig(fh, format=ext, dpi=110, bbox_inches="tight")

        files.write_atomic(ctx.experiment_dir(name) / f"{stem}.{ext}", write)
    plt.close(fig)
    return f"{name}/{stem}.png"


def to_builtin(value: Any) -> Any:
    """NumPy scalars/arrays and tuples → plain JSON types; non-finite floats kept (JSON NaN)."""
    if isinstance(value, Mapping):
        return {str(k): to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_builtin(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_builtin(value.tolist())
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    return value


def barrier(loss: np.ndarray) -> float:
    """Height of the loss barrier along a path: max over the path minus the larger endpoint,
    ``max_α L(α) − max(L(0), L(1))`` (0 for a path that never rises above its ends)."""
    finite = np.where(np.isfinite(loss), loss, np.inf)
    return float(finite.max() - max(finite[0], finite[-1]))


def final_acc(run: RunResult, split: str = "train") -> float:
    return float(run.history[-1][f"{split}_acc"])


def curve(run: RunResult, key: str) -> list[float]:
    """``history[e][key]`` for every epoch ``e`` (epoch 0 = the initial weights)."""
    return [float(h[key]) for h in run.history]
