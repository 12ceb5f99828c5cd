"""Data meets the model: floating inputs are cast to the model's parameter dtype (float32 data
feeds a float64 or bfloat16 model), and a batch the model cannot run is a one-line ValueError
naming ``data`` (or ``calibration``), the batch and the input shape, torch's error as the cause."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import surface_probe as sp
from surface_probe._objective import Objective
from surface_probe.paths._common import FunctionalLoss, evaluator

X = torch.randn(8, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
Y = torch.randint(0, 3, (8,), generator=torch.Generator().manual_seed(1))


def _mlp(dtype: torch.dtype, bn: bool = False) -> nn.Module:
    torch.manual_seed(0)
    norm: list[nn.Module] = [nn.BatchNorm1d(6)] if bn else []
    return nn.Sequential(nn.Linear(4, 6), *norm, nn.ReLU(), nn.Linear(6, 3)).to(dtype)


def _fit(model: nn.Module, data: Any) -> sp.Path:
    start = sp.path(model, model, _mlp(model[0].weight.dtype), kind="bezier", bends=1)
    return sp.fit_path(model, start, data, steps=2, seed=0)


CALLS: dict[str, Callable[[nn.Module, Any], Any]] = {
    "line": lambda m, d: sp.line(m, m, _mlp(m[0].weight.dtype), d, steps=3, progress=False).loss,
    "hessian": lambda m, d: sp.hessian_eigenpairs(m, d, tol=1e-8).values,
    "fit_path": lambda m, d: _fit(m, d).free,
}


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_float32_inputs_are_cast_to_the_model_dtype(call: str, dtype: torch.dtype) -> None:
    model = _mlp(dtype)
    got = torch.as_tensor(CALLS[call](model, (X.float(), Y))).float()
    want = torch.as_tensor(CALLS[call](model, (X.float().to(dtype), Y))).float()  # by hand
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_integer_inputs_and_targets_keep_their_dtype() -> None:
    seen: list[torch.dtype] = []

    class Embed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(5, 3).double()

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            seen.append(ids.dtype)
            return self.emb(ids).sum(1)

    ids = torch.randint(0, 5, (8, 2))
    targets = torch.randn(8, 3, dtype=torch.float32)
    ev = sp.Evaluator(Embed(), (ids, targets), loss_fn=lambda o, t: ((o - t) ** 2).mean())
    ev.evaluate(sp.WeightSpace.of(Embed()).params_vector(Embed()))
    assert seen == [torch.int64]


@pytest.mark.parametrize("call", list(CALLS))
def test_wrong_input_shape_is_one_line_naming_data_and_the_shape(call: str) -> None:
    model = _mlp(torch.float64)
    bad = (torch.randn(8, 5, dtype=torch.float64), Y)
    with pytest.raises(
        ValueError, match=r"failed on data batch( 0)? with inputs \(8, 5\) float64"
    ) as err:
        CALLS[call](model, bad)
    assert "\n" not in str(err.value)
    assert "mat1 and mat2 shapes cannot be multiplied" in str(err.value)
    assert isinstance(err.value.__cause__, RuntimeError)  # the torch error is kept


def test_wrong_calibration_shape_names_calibration() -> None:
    model = _mlp(torch.float64, bn=True)
    bad = (torch.randn(6, 5, dtype=torch.float64), Y[:6])
    with pytest.raises(ValueError, match=r"^model\(inputs\) failed on calibration batch 0 "):
        sp.line(model, model, model, (X, Y), steps=2, calibration=bad, progress=False)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_path_losses_widen_half_precision_outputs_like_the_evaluator(dtype: torch.dtype) -> None:
    """One forward mechanism (``_forward``): fp16 and bf16 outputs reach the loss as float32."""
    model = _mlp(dtype)
    ev = evaluator("fit_path", model, (X, Y), {})
    loss = FunctionalLoss(ev, model, (X, Y), {})
    value = loss(ev.space.params_vector(model), 0)
    assert value.dtype == torch.float32
    assert float(value) == pytest.approx(
        float(ev.evaluate(ev.space.params_vector(model))["loss"][0])
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_curvature_losses_widen_half_precision_outputs_like_the_evaluator(
    dtype: torch.dtype,
) -> None:
    model = _mlp(dtype)
    obj = Objective(model, (X, Y))
    ev = sp.Evaluator(model, (X, Y))
    theta = ev.space.params_vector(model)
    assert obj.loss() == pytest.approx(float(ev.evaluate(theta)["loss"][0]), rel=1e-6)
