"""WeightSpace: flatten/unflatten round trips, name and shape validation, BN bookkeeping."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from surface_probe.params import WeightSpace, has_running_stats

from .conftest import make_mlp


def test_vector_is_named_parameters_concatenated_in_order() -> None:
    model = make_mlp(batchnorm=True)
    space = WeightSpace.of(model)
    assert space.param_names == tuple(n for n, _ in model.named_parameters())
    expected = torch.nn.utils.parameters_to_vector(model.parameters())
    assert torch.equal(space.params_vector(model), expected)
    assert space.dim == expected.numel() == sum(p.numel() for p in model.parameters())
    assert space.dtype == torch.float64
    assert space.device == torch.device("cpu")


def test_round_trip_module_and_state_dict_agree() -> None:
    model = make_mlp(batchnorm=True)
    space = WeightSpace.of(model)
    vec = space.params_vector(model.state_dict())
    assert torch.equal(vec, space.params_vector(model))
    back = space.params_dict(vec)
    assert list(back) == list(space.param_names)
    for name, p in model.named_parameters():
        assert back[name].shape == p.shape
        assert torch.equal(back[name], p.detach())
    # params_dict returns views: writing the vector shows through
    vec.zero_()
    assert all(torch.count_nonzero(t) == 0 for t in back.values())


def test_buffers_exclude_integer_counters() -> None:
    model = make_mlp(batchnorm=True)
    space = WeightSpace.of(model)
    assert space.buffer_names == ("1.running_mean", "1.running_var")
    assert space.buffer_dim == 16
    bn = model[1]
    assert isinstance(bn, nn.BatchNorm1d)
    mean, var = model.state_dict()["1.running_mean"], model.state_dict()["1.running_var"]
    expected = torch.cat([mean, var])
    assert torch.equal(space.buffers_vector(model.state_dict()), expected)
    back = space.buffers_dict(expected.clone())
    assert torch.equal(back["1.running_var"], var)
    assert space.has_running_stats
    assert has_running_stats(model)
    assert not WeightSpace.of(make_mlp(batchnorm=False)).has_running_stats


def test_bn_and_one_d_parameter_names() -> None:
    space = WeightSpace.of(make_mlp(batchnorm=True))
    assert space.bn_param_names == {"1.weight", "1.bias"}
    assert space.one_d_param_names == {"0.bias", "1.weight", "1.bias", "4.bias"}
    assert space.is_bn("1.weight")
    assert not space.is_bn("0.bias")
    assert space.is_1d("0.bias")
    assert not space.is_1d("0.weight")
    assert space.param_shapes["0.weight"] == torch.Size([8, 4])


def test_missing_key_is_named() -> None:
    model = make_mlp(batchnorm=True)
    space = WeightSpace.of(model)
    sd = model.state_dict()
    del sd["4.bias"]
    with pytest.raises(KeyError, match=r"missing parameter key\(s\) \['4.bias'\]"):
        space.params_vector(sd)
    sd = model.state_dict()
    del sd["1.running_var"]
    space.params_vector(sd)  # buffers are not needed for the parameter vector
    with pytest.raises(KeyError, match=r"missing buffer.*1\.running_var"):
        space.buffers_vector(sd)


def test_unexpected_key_is_named_but_known_buffers_are_ignored() -> None:
    model = make_mlp(batchnorm=True)
    space = WeightSpace.of(model)
    sd = model.state_dict()
    assert "1.num_batches_tracked" in sd  # an integer buffer the vectors never include
    space.params_vector(sd)
    sd["extra.weight"] = torch.zeros(2)
    with pytest.raises(KeyError, match=r"unexpected key\(s\) \['extra.weight'\]"):
        space.params_vector(sd)


def test_shape_mismatch_names_key_and_both_shapes() -> None:
    model = make_mlp(batchnorm=False)
    space = WeightSpace.of(model)
    sd = model.state_dict()
    sd["0.weight"] = torch.zeros(8, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"'0\.weight'.*\(8, 5\).*\(8, 4\)"):
        space.params_vector(sd)
    other = nn.Sequential(nn.Linear(4, 9), nn.ReLU(), nn.Dropout(), nn.Linear(9, 3))
    with pytest.raises(ValueError, match=r"'0\.weight'.*\(9, 4\).*\(8, 4\)"):
        space.params_vector(other)


def test_bad_vectors_and_inputs_are_rejected() -> None:
    space = WeightSpace.of(make_mlp(batchnorm=False))
    with pytest.raises(ValueError, match=rf"parameter vector must have shape \({space.dim},\)"):
        space.params_dict(torch.zeros(space.dim + 1))
    with pytest.raises(TypeError, match=r"nn\.Module or a state_dict"):
        space.params_vector([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no floating-point parameters"):
        WeightSpace.of(nn.ReLU())


def test_tied_weights_counted_once_and_alias_key_accepted() -> None:
    emb = nn.Embedding(5, 3)
    model = nn.Sequential(emb, nn.Linear(3, 5, bias=False))
    model[1].weight = emb.weight
    space = WeightSpace.of(model)
    assert space.param_names == ("0.weight",)
    sd = model.state_dict()
    assert "1.weight" in sd
    assert torch.equal(space.params_vector(sd), emb.weight.detach().reshape(-1))


def test_dtype_conversion_to_template() -> None:
    model = make_mlp(batchnorm=False)
    space = WeightSpace.of(model)
    sd32 = {k: v.float() for k, v in model.state_dict().items()}
    vec = space.params_vector(sd32)
    assert vec.dtype == torch.float64
    assert torch.equal(vec, space.params_vector(model).float().double())


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.integers(1, 4), min_size=0, max_size=3), min_size=1, max_size=5))
def test_round_trip_arbitrary_shapes(shapes: list[list[int]]) -> None:
    module = nn.Module()
    for i, shape in enumerate(shapes):
        module.register_parameter(f"p{i}", nn.Parameter(torch.randn(tuple(shape))))
    space = WeightSpace.of(module)
    vec = torch.randn(space.dim)
    assert torch.equal(space.params_vector(space.params_dict(vec)), vec)
