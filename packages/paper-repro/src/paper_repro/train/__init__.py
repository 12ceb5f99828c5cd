"""Training runs: :class:`TrainConfig` (``config``), the run directory (``rundir``), the loop
(``loop``) and its per-epoch records (``metrics``).

Determinism and sharing across a comparison
    * Initial weights depend on ``init_seed`` only: the model is built on the CPU with torch's RNG
      seeded with ``init_seed``, then re-initialised by ``inits.init_weights`` — the same θ_0
      whichever optimizer trains it, on whichever device.
    * Training epoch ``e`` (1-based) visits ``minibatch_order(N, batch_size, seed=data_seed,
      epoch=e)``, the same minibatches for every optimizer.
    * The global torch RNG (dropout masks) is reseeded at the start of every epoch from
      ``(data_seed, epoch)``, so a run resumed at an epoch boundary draws exactly the masks an
      unbroken run draws; the checkpoint therefore needs no RNG state. The caller's RNG state is
      restored when :func:`train` returns. All seeds come from :mod:`paper_repro.seeding`.

One step
    Every optimizer is stepped with a closure ``c()`` that zeroes the gradients, runs forward +
    loss (under bf16 autocast if asked), backpropagates, and clips the gradient norm to
    ``grad_clip`` if set. Runge–Kutta optimizers call ``c`` once per stage (θ_t, then the probe
    points θ_t + h·a_ij·k_j); for them the closure (1) rewinds the RNG to its state at the start
    of the step, so every stage sees the same dropout masks — the stages evaluate one stochastic
    objective L_B at several points — and (2) is wrapped in
    ``rk_optim.bn_stats_from_first_stage``, so BatchNorm running statistics are updated once per
    step, by the first stage at θ_t, as for one-evaluation optimizers.

Records (``RunResult.history``, one dict per epoch, epoch 0 = the initial weights)
    ``epoch``, ``optimizer``, ``lr``, the metrics of :mod:`.metrics` (``train_loss``,
    ``train_acc``, ``test_loss``, ``test_acc``, ``dist_from_init``), ``grad_evals`` the cumulative
    number of minibatch gradient evaluations and ``seconds`` the wall time of the epoch's training
    steps (evaluation excluded).

Run directory ``out_dir/<config.key()>/``: see :mod:`.rundir` (files, atomic writes, recovery
from a corrupt checkpoint).
"""

from .config import TrainConfig
from .loop import Attach, build_initial_model, train, train_epoch
from .metrics import EVAL_BATCH_SIZE, evaluate
from .rundir import RunDir, RunResult, StateDict

__all__ = [
    "EVAL_BATCH_SIZE",
    "Attach",
    "RunDir",
    "RunResult",
    "StateDict",
    "TrainConfig",
    "build_initial_model",
    "evaluate",
    "train",
    "train_epoch",
]
