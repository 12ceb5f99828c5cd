"""surface-probe in a few seconds on CPU: train a small MLP twice from one initialisation (SGD and
Adam), then probe the loss surface between and around the two minima and save the figures.

    python examples/quickstart.py OUT_DIR

writes OUT_DIR/{line,plane,triangle,basins,pairwise}.png and the saved result OUT_DIR/plane.npz.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # a script that only saves figures needs no display

import matplotlib.pyplot as plt
import torch
from torch import nn

import surface_probe as sp
import surface_probe.plot as spplot


def make_data(
    n: int = 1024, features: int = 20, classes: int = 3
) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded classification problem: labels from a random linear teacher plus noise."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, features, generator=gen)
    teacher = torch.randn(features, classes, generator=gen)
    y = (x @ teacher + 0.5 * torch.randn(n, classes, generator=gen)).argmax(dim=1)
    return x, y


def train(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> None:
    """Full-batch training for a fixed number of steps."""
    for _ in range(300):
        opt.zero_grad()
        torch.autograd.backward(nn.functional.cross_entropy(model(x), y))
        opt.step()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    x, y = make_data()
    data = (x, y)  # one (inputs, targets) pair; a DataLoader or a list of batches works too

    # Any nn.Module: `model` is only the architecture template, the weight sets are separate.
    model = nn.Sequential(
        nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3)
    )
    # Weight sets are nn.Modules or state_dicts; `model` itself is never modified by a probe.
    init, sgd, adam = copy.deepcopy(model), copy.deepcopy(model), copy.deepcopy(model)
    train(sgd, torch.optim.SGD(sgd.parameters(), lr=0.5), x, y)
    train(adam, torch.optim.Adam(adam.parameters(), lr=3e-3), x, y)

    # 1-D: θ(α) = (1-α) θ_init + α θ_final, extrapolated past both ends (α = 0, 1 are on the grid).
    alphas = np.linspace(-0.5, 1.5, 41)
    lines = {
        name: sp.line(model, init, final, data, alphas=alphas)
        for name, final in [("sgd", sgd), ("adam", adam)]
    }
    fig, ax = plt.subplots()
    spplot.lines(lines, ax=ax, log=True)
    fig.savefig(out / "line.png", dpi=80)
    for name, result in lines.items():
        at = {a: result.loss[np.argmin(np.abs(result.alphas - a))] for a in (0.0, 1.0)}
        print(f"{name}: loss {at[0.0]:.3f} at init (α = 0), {at[1.0]:.4f} at the minimum (α = 1)")

    # 2-D: a filter-normalised random plane around the SGD minimum, saved and loaded back.
    plane = sp.plane(model, sgd, data, span=1.0, resolution=15, seed=0, metrics=["accuracy"])
    plane.save(out / "plane.npz")
    plane = type(plane).load(out / "plane.npz")
    spplot.surface(plane, log=True).savefig(out / "plane.png", dpi=80)

    # The triangle (init, sgd, adam) of the paper's appendix A.1, drawn in its own shape.
    triangle = sp.barycentric(model, [init, sgd, adam], data, resolution=11)
    triangle.meta["labels"] = ["init", "sgd", "adam"]
    spplot.surface(triangle, log=True).savefig(out / "triangle.png", dpi=80)

    # Basin size in absolute parameter distance (paper eq. 1): toward the initial weights (a module
    # as direction means "toward it"), and along three random filter-normalised directions.
    basins = {
        "sgd → init": sp.basin(model, sgd, data, direction=init, threshold=0.1, max_distance=20.0),
        "sgd random": sp.basin(
            model, sgd, data, direction="random", n=3, seed=0, threshold=0.1, max_distance=20.0
        ),
    }
    fig, ax = plt.subplots()
    spplot.basins(basins, ax=ax)
    fig.savefig(out / "basins.png", dpi=80)
    for name, basin in basins.items():
        print(f"basin radius {name}: {basin.radius.round(3).tolist()}")

    # Are the two minima different functions, or reparameterisations of one?
    fd = sp.functional_distance(model, sgd, adam, data)
    print(
        f"functional distance sgd↔adam: rms {fd.rms:.3f}, label disagreement {fd.disagreement:.1%}"
    )
    along = sp.functional_distance_line(model, sgd, adam, data, steps=11)
    pairwise = spplot.pairwise_matrix(
        ["sgd", "adam"],
        surfaces={(1, 0): triangle},
        distances={(0, 1): along},
        style="contour",
    )
    pairwise.savefig(out / "pairwise.png", dpi=80)
    print(f"figures written to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="directory for the figures and the saved result")
    main(parser.parse_args().out)
