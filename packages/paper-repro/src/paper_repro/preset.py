"""What a preset is: :class:`Setup` (a model and a data set by registry name) per role, and
:class:`Preset` (every size, rate and count the experiments use). The presets themselves are in
:mod:`paper_repro.presets` (MNIST-1D, paper scale) and :mod:`paper_repro.tiers` (the paper's own
networks at reduced scale)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._validate import check_int
from .optimizers import OPTIMIZERS
from .train import TrainConfig

LANGUAGE_MODELS: tuple[str, ...] = ("lstm_lm",)
"""Models of next-word prediction: a preset of them has task "language", any other "image"."""
ROLES: tuple[str, ...] = ("bn", "nobn", "conv_bn", "conv_nobn")
"""The model/data roles every preset defines."""
EXOTIC_ROLES: tuple[str, ...] = ("conv_bn", "conv_nobn")
"""The roles of Figure 11 (trained for ``exotic_epochs`` at ``exotic_batch_size``)."""


@dataclass(frozen=True)
class Setup:
    """A model and a data set, by registry name and keyword arguments."""

    model: str
    model_kwargs: Mapping[str, Any]
    dataset: str
    dataset_kwargs: Mapping[str, Any]
    description: str


@dataclass(frozen=True)
class YuMorozov:
    """Sizes of the Yu & Morozov experiment (:mod:`paper_repro.experiments.yu_morozov`)."""

    solutions: int = 3
    """Solutions per method (SGD and quasi-Newton from seeds 0 … n−1)."""
    iterations: int = 50
    """Full-batch quasi-Newton iterations (one per epoch)."""
    modes: int = 2
    """Sine terms N of every fitted Fourier path."""
    fit_steps: int = 30
    """Adam steps fitting each path."""
    points: int = 8
    """M, the path points t_m = m/M of the fitting objective."""
    probe: int = 500
    """Training examples the paths are fitted and profiled on (0: the preset's
    ``probe_examples``, as every other probe)."""

    def __post_init__(self) -> None:
        minima = {"solutions": 1, "iterations": 1, "modes": 1, "fit_steps": 0, "points": 2}
        for name, minimum in {**minima, "probe": 0}.items():
            check_int(f"yu_morozov.{name}", getattr(self, name), minimum=minimum)


@dataclass(frozen=True)
class Preset:
    """Every size, rate and count the experiments use (see the module docstring)."""

    name: str
    description: str
    setups: Mapping[str, Setup]
    epochs: int
    exotic_epochs: int
    batch_size: int
    exotic_batch_size: int
    """Figure 11's batch size (small NINs on 1,438 digits need more than 12 steps an epoch)."""
    lr_grid: Mapping[str, tuple[float, ...]]
    """The learning rates tried per optimizer (pilot runs choose one per role)."""
    seeds: int
    optimizers: tuple[str, ...]
    """Table 1, Figures 4–6, 8, 10: the optimizers compared (every pair in Table 1)."""
    quad: tuple[str, str, str, str]
    """Figure 3: the four optimizers whose finals span the bilinear patch."""
    basin_pairs: tuple[tuple[str, str], ...]
    """Figure 5(b,d) and 8: the final→final pairs drawn for every seed."""
    switch_pair: tuple[str, str]
    switch_fractions: tuple[float, ...]
    rk_comparison: tuple[tuple[str, str, float], ...]
    """Figure 9: (label, optimizer, learning-rate multiplier)."""
    exotic_inits: tuple[str, ...]
    exotic_optimizer: str
    resolution: int
    line_steps: int
    probe_examples: int
    """Training examples the loss surfaces are evaluated on (the first ones; 0 = all)."""
    basin_threshold: float
    basin_reach: float
    """sp.basin searches up to ``basin_reach × ‖θ_0 − θ_1‖`` (past the init when > 1)."""
    pilot_fraction: float = 0.25
    """Pilot runs train this fraction of the role's epochs (at least one)."""
    weight_decay: float = 0.0
    momentum: float = 0.9
    device: str = "auto"
    precision: str = "fp32"
    grad_clip: float | None = None
    deviations: tuple[str, ...] = field(default_factory=tuple)
    freeman_bruna_pairs: tuple[tuple[str, str], ...] = (("sgd", "sgd"), ("sgd", "adam"))
    """Freeman & Bruna: the minima joined by DSS — (o, o) pairs optimizer o's seeds 0 and 1,
    (o, p) the seed-0 runs of o and p (Table 1's runs)."""
    freeman_bruna_margins: tuple[float, ...] = (1.0, 0.25)
    """The falling level ladder: L0 = (1 + m)·max(L(θ_a), L(θ_b)) for each margin m."""
    freeman_bruna_bead_steps: int = 300
    freeman_bruna_max_depth: int = 4
    table1_paths_pairs: int = 2
    """Table 1 extension: the pairs with the largest straight-line barrier that get a fitted
    curve (0: every pair)."""
    table1_paths_fit_steps: int = 100
    no_wrong_turns_seeds: int = 2
    """No Wrong Turns: seeds ``0 … n-1`` of every optimizer are recorded (a second pass each)."""
    no_wrong_turns_full_every: int = 16
    """No Wrong Turns: the full-batch gradient is taken every this many steps."""
    no_wrong_turns_full_examples: int = 1000
    """No Wrong Turns: training examples of the full-batch gradient (the first ones; 0 = all)."""
    no_wrong_turns_shuffled: tuple[str, ...] = ("sgd", "adam")
    """No Wrong Turns: optimizers also recorded on shuffled labels (seed 0)."""
    yu_morozov: YuMorozov = field(default_factory=YuMorozov)

    def __post_init__(self) -> None:
        missing = [r for r in ROLES if r not in self.setups]
        if missing:
            raise ValueError(f"preset {self.name!r} lacks setups for roles {missing}")
        names = set(self.optimizers) | set(self.quad) | set(self.switch_pair)
        names |= {o for _, o, _ in self.rk_comparison} | {self.exotic_optimizer}
        names |= {o for pair in (*self.basin_pairs, *self.freeman_bruna_pairs) for o in pair}
        names |= set(self.no_wrong_turns_shuffled)
        unknown = sorted(names - set(OPTIMIZERS))
        if unknown:
            raise ValueError(f"preset {self.name!r}: unknown optimizers {unknown}")
        no_lr = sorted(names - {n for n, grid in self.lr_grid.items() if grid})
        if no_lr:
            raise ValueError(f"preset {self.name!r}: no learning-rate grid for {no_lr}")
        if not 0.0 < self.pilot_fraction <= 1.0:
            raise ValueError(
                f"preset {self.name!r}: pilot_fraction must be in (0, 1], got {self.pilot_fraction}"
            )
        margins = self.freeman_bruna_margins
        if not margins or min(margins) <= 0 or list(margins) != sorted(set(margins), reverse=True):
            raise ValueError(
                f"preset {self.name!r}: freeman_bruna_margins must be positive and strictly "
                f"decreasing, got {margins}"
            )
        if self.seeds < 1:
            raise ValueError(f"preset {self.name!r}: seeds must be >= 1, got {self.seeds}")
        nwt = (self.no_wrong_turns_seeds, self.no_wrong_turns_full_every)
        if min(nwt) < 1 or self.no_wrong_turns_full_examples < 0:
            raise ValueError(
                f"preset {self.name!r}: no_wrong_turns seeds and full_every must be >= 1 and "
                f"full_examples >= 0, got {nwt} and {self.no_wrong_turns_full_examples}"
            )
        bad = [f for f in self.switch_fractions if not 0.0 < f < 1.0]
        if bad or any(round(f * self.epochs) in (0, self.epochs) for f in self.switch_fractions):
            raise ValueError(
                f"preset {self.name!r}: switch fractions {self.switch_fractions} must fall "
                f"strictly inside the {self.epochs} epochs"
            )

    def config(
        self,
        role: str,
        schedule: str,
        *,
        seed: int,
        init: str = "default",
        lr: float | None = None,
        epochs: int | None = None,
        batch_size: int | None = None,
    ) -> TrainConfig:
        """The :class:`TrainConfig` of one run: ``schedule`` on the ``role`` setup from ``seed``
        (rates: ``lr``, or those in the schedule string; the chosen rates come from
        :meth:`paper_repro.experiments.Context.config`)."""
        if role not in self.setups:
            raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        setup = self.setups[role]
        return TrainConfig(
            model=setup.model,
            model_kwargs=dict(setup.model_kwargs),
            dataset=setup.dataset,
            dataset_kwargs=dict(setup.dataset_kwargs),
            schedule=schedule,
            lr=lr,
            epochs=self.epochs if epochs is None else epochs,
            batch_size=self.batch_size if batch_size is None else batch_size,
            init=init,
            init_seed=seed,
            data_seed=seed,
            weight_decay=self.weight_decay,
            momentum=self.momentum,
            device=self.device,
            precision=self.precision,
            grad_clip=self.grad_clip,
        )

    def budget(self, role: str) -> tuple[int, int]:
        """``(epochs, batch size)`` of the role's runs (Figure 11's roles have their own)."""
        if role in EXOTIC_ROLES:
            return self.exotic_epochs, self.exotic_batch_size
        return self.epochs, self.batch_size

    @property
    def task(self) -> str:
        """ "language" when the main role is a language model, else "image" (experiments declare
        the task they apply to)."""
        return setups_task(self.setups)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (saved with every run directory for the report)."""
        described: dict[str, Any] = json_ready(dataclasses.asdict(self))
        return described


def json_ready(value: Any) -> Any:
    """Tuples → lists and mappings → dicts, recursively (for ``json.dumps``)."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def setups_task(setups: Mapping[str, Any]) -> str:
    """The task of a preset's setups (:class:`Setup` objects or their ``preset.json`` dicts)."""
    main = setups["bn"]
    model = main["model"] if isinstance(main, Mapping) else main.model
    return "language" if model in LANGUAGE_MODELS else "image"
