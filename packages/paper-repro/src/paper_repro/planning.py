"""Which runs the experiments can train now: the learning-rate pilots first, then the runs at the
rates the finished pilots chose. Every launcher trains in these rounds (:mod:`.launch_cli`), and
the cost estimate (:mod:`.cost`) counts them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .presets import Preset
from .train import TrainConfig
from .train.rundir import finished


def planned_configs(
    preset: Preset, out_dir: Path, names: Sequence[str], *, assume_rates: bool = False
) -> list[TrainConfig]:
    """Every TrainConfig the experiments ``names`` can train now under ``preset``.

    Each experiment's ``plan(ctx)`` needs the pilot-chosen rates. Where the pilots of a
    (role, optimizer) are all finished in ``out_dir/runs``, the rate comes from them; otherwise
    the unfinished pilots are planned and — unless ``assume_rates`` (the cost estimate: any rate
    of the grid trains as long) — the experiments needing that rate wait for the next invocation,
    which finds the pilots done. Nothing is trained here.
    """
    from .experiments import EXPERIMENTS, Context
    from .experiments.context import map_plan
    from .pilot import pilot_configs

    configs: list[TrainConfig] = []

    class PlanningContext(Context):
        waiting = False  # the current plan used a rate whose pilots are unfinished

        def rate(self, role: str, optimizer: str) -> float:
            grid = self.preset.lr_grid[optimizer]
            pilots = pilot_configs(self.preset, role, optimizer) if len(grid) > 1 else []
            pending = [c for c in pilots if not finished(self.runs_dir / c.key())]
            if not pending:
                return super().rate(role, optimizer)
            configs.extend(pending)
            self.waiting = True
            return grid[0]  # a stand-in: this plan's runs wait unless ``assume_rates``

    planner = PlanningContext(preset=preset, out_dir=out_dir, only_train=True)
    for name in names:
        planner.waiting = False
        plan = EXPERIMENTS[name].plan(planner)
        if assume_rates or not planner.waiting:
            map_plan(plan, configs.append)
    return list({c.key(): c for c in configs}.values())
