"""rk-optim: drop-in torch.optim optimizers built on explicit Runge–Kutta integrators of the
gradient flow dθ/dt = −∇L(θ) (Im, Tao & Branson 2016, appendix A.3)."""

from .adam_rk2 import AdamRK2
from .batchnorm import bn_stats_from_first_stage, freeze_bn_stats
from .runge_kutta import Heun, Midpoint, Ralston, RungeKutta
from .stage_loop import StageLoopOptimizer
from .tableau import EULER, HEUN, MIDPOINT, RALSTON, RK3, RK4, ButcherTableau

__version__ = "0.1.0"

__all__ = [
    "EULER",
    "HEUN",
    "MIDPOINT",
    "RALSTON",
    "RK3",
    "RK4",
    "AdamRK2",
    "ButcherTableau",
    "Heun",
    "Midpoint",
    "Ralston",
    "RungeKutta",
    "StageLoopOptimizer",
    "__version__",
    "bn_stats_from_first_stage",
    "freeze_bn_stats",
]
