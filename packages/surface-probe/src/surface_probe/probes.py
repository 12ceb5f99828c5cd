"""Loss-surface probes: geometry (which points) composed with the Evaluator (their values).

Every probe builds its points as affine combinations θ_p = Σ_k C[p, k] A_k of a few anchor
vectors A (see :mod:`surface_probe.geometry`), chunk by chunk so that at most ``chunk_size``
points exist in memory, and evaluates them with one private :class:`~surface_probe.Evaluator`
(the user's modules are never touched).  Under ``bn="interpolate"`` the same coefficients move
the BatchNorm buffers; directions carry no buffers (their buffer anchor is 0).  Every result's
``meta`` records the BN policy, precision, data size, package version and probe arguments.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, cast

import numpy as np
import torch
from torch import Tensor, nn

from surface_probe import geometry
from surface_probe._runner import digest, run_points, saved_fingerprint
from surface_probe.evaluate import Evaluator, LossFn, MetricFn
from surface_probe.geometry import Ignore, Normalization
from surface_probe.params import WeightsLike, WeightSpace
from surface_probe.results import BasinResult, FunctionalDistance, LineResult, SurfaceResult

if sys.version_info >= (3, 11):  # only annotations use Unpack, never evaluated on 3.10 (PEP 563)
    from typing import Unpack

__all__ = [
    "ProbeOptions",
    "barycentric",
    "basin",
    "bilinear",
    "functional_distance",
    "functional_distance_line",
    "line",
    "plane",
    "random_direction",
]

Metrics = Mapping[str, MetricFn] | Sequence[str | MetricFn] | None
Span = float | tuple[float, float, float, float]
Resolution = int | tuple[int, int]
_MAX_CHUNK_BYTES = 1 << 27


class ProbeOptions(TypedDict, total=False):
    """Keyword options shared by the probes (``**options``); every key is optional.

    loss_fn: ``loss_fn(outputs, targets)`` → batch mean (or per-example values, averaged);
        default cross-entropy.
    metrics: extra metrics, a mapping name → callable(outputs, targets) or a sequence of names
        (``"accuracy"``) and callables; each is returned in the result's ``metrics``.
    bn: BatchNorm policy ("auto" (default), "recompute", "interpolate", "frozen", "batch", "none").
    precision: "fp32" (default, the model's own dtype) or "bf16" (bfloat16 autocast forward).
    calibration: batches for re-estimating BN statistics under ``bn="recompute"`` (default: data).
    checkpoint: a file path; finished chunks are saved there and a rerun resumes from it.  The
        file records a fingerprint of everything the values depend on (weights, data, targets,
        calibration data, buffers, module structure, loss and metrics); a rerun that differs
        is refused, naming the differing field.
    checkpoint_key: a name standing for a loss or metric that cannot be identified across runs
        (a lambda, closure or callable object), required to checkpoint with one.
    progress: show a progress bar (None: when stderr is a terminal).
    chunk_size: points built and evaluated at once (None: as many as fit in 128 MiB, at most 32).
    device: where to evaluate (None: the model's device, else CUDA when available, else CPU).

    These are the keyword arguments of :class:`~surface_probe.Evaluator` plus those of the chunked,
    resumable runner; any other keyword raises ``TypeError`` naming it.
    """

    loss_fn: LossFn | None
    metrics: Metrics
    bn: str
    precision: str
    calibration: Any
    checkpoint: str | os.PathLike[str] | None
    checkpoint_key: str | None
    progress: bool | None
    chunk_size: int | None
    device: torch.device | str | None


def _evaluator(probe: str, model: nn.Module, data: Any, options: ProbeOptions) -> Evaluator:
    """The private Evaluator of one call of ``probe``; an unknown option is a TypeError."""
    unknown = sorted(set(options) - ProbeOptions.__optional_keys__)
    if unknown:
        raise TypeError(
            f"{probe}() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"probe options are {', '.join(ProbeOptions.__annotations__)}"
        )
    return Evaluator(
        model,
        data,
        loss_fn=options.get("loss_fn"),
        metrics=options.get("metrics"),
        bn=options.get("bn", "auto"),
        precision=options.get("precision", "fp32"),
        calibration=options.get("calibration"),
        device=options.get("device"),
    )


def _vectors(ev: Evaluator, weights: WeightsLike, what: str) -> tuple[Tensor, Tensor]:
    """(θ, floating buffers) of a weight set on the evaluator's device; errors name ``what``
    and the offending key."""
    try:
        theta = ev.space.params_vector(weights)
        bufs = ev.space.buffers_vector(weights)
    except (KeyError, ValueError, TypeError) as err:
        raise type(err)(f"{what}: {err.args[0] if err.args else err}") from None
    return theta.to(ev.device), bufs.to(ev.device, theta.dtype)


def _static_buffers(ev: Evaluator, sets: Mapping[str, WeightsLike]) -> None:
    """Integer/bool buffers cannot be interpolated: equal in every weight set, used as given."""
    common: dict[str, Tensor] = {}
    first: dict[str, str] = {}
    for what, weights in sets.items():
        try:
            named = ev.space.static_buffers(weights)
        except KeyError as err:
            raise KeyError(f"{what}: {err.args[0]}") from None
        for name, value in named.items():
            if name not in common:
                common[name], first[name] = value, what
            elif value.shape != common[name].shape or not torch.equal(value, common[name]):
                raise ValueError(
                    f"integer buffer {name!r} differs between {first[name]} and {what}; "
                    "it cannot be interpolated, so it must be equal in every weight set"
                )
    ev.set_static_buffers(common)


def _chunk_size(chunk_size: int | None, space: WeightSpace) -> int:
    if chunk_size is not None:
        return chunk_size
    itemsize = torch.empty(0, dtype=space.dtype).element_size()
    return max(1, min(32, _MAX_CHUNK_BYTES // max(1, space.dim * itemsize)))


def _affine(
    ev: Evaluator,
    coefficients: Tensor,
    anchors: Tensor,
    buffer_anchors: Tensor,
    *,
    kind: str,
    options: ProbeOptions,
    extra: Sequence[str] = (),
    reference: Tensor | None = None,
    output: str = "probs",
    seed: int | None = None,
) -> dict[str, np.ndarray]:
    """Evaluate the points C @ anchors (buffers C @ buffer_anchors under bn='interpolate').

    With ``extra = ("rms", "disagreement")`` each point's outputs are also compared with the
    ``reference`` outputs (functional distance)."""
    on_outputs = None
    if extra:

        def on_outputs(out: Tensor) -> dict[str, float]:
            rms, disagreement = _compare(reference, out, output)
            return {"rms": rms, "disagreement": disagreement}

    def evaluate_chunk(idx: np.ndarray) -> dict[str, np.ndarray]:
        c = coefficients[torch.as_tensor(idx, dtype=torch.long)]
        pts = geometry.combine(c, anchors)
        return ev.evaluate(pts, geometry.combine(c, buffer_anchors), on_outputs=on_outputs)

    names = (*ev.metric_names, *extra)
    fingerprint: dict[str, Any] = {}
    if options.get("checkpoint") is not None:
        fingerprint = {
            **ev.fingerprint(options.get("checkpoint_key")),
            "seed": seed,
            "kind": kind,
            "coefficients": digest(coefficients),
            "anchors": digest(anchors),
            "buffer_anchors": digest(buffer_anchors),
            "names": list(names),
            "output": output if extra else None,
        }
    return run_points(
        coefficients.shape[0],
        evaluate_chunk,
        names,
        chunk_size=_chunk_size(options.get("chunk_size"), ev.space),
        checkpoint=options.get("checkpoint"),
        fingerprint=fingerprint,
        progress=options.get("progress"),
        desc=kind,
    )


def _meta(ev: Evaluator, kind: str, **extra: Any) -> dict[str, Any]:
    return {**ev.meta(), "kind": kind, **extra}


def _split(
    values: dict[str, np.ndarray], shape: tuple[int, ...]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    metrics = {k: v.reshape(shape) for k, v in values.items() if k != "loss"}
    return values["loss"].reshape(shape), metrics


def _distance(a: Tensor, b: Tensor) -> float:
    """‖θ_b − θ_a‖ in float64: the parameter length of α ∈ [0, 1] (for plots against distance)."""
    return float(torch.linalg.vector_norm(b.double() - a.double()))


def _count(value: Any, name: str, minimum: int) -> int:
    """An integer argument such as ``steps``; 2.5 or True is refused, never truncated."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _alphas(alphas: Sequence[float] | np.ndarray | None, steps: int) -> np.ndarray:
    if alphas is None:
        return geometry.axis(0.0, 1.0, _count(steps, "steps", 1))
    a = np.asarray(alphas, dtype=np.float64).reshape(-1)
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError("alphas must be a non-empty sequence of finite numbers")
    return a


def line(
    model: nn.Module,
    start: WeightsLike,
    end: WeightsLike,
    data: Any,
    *,
    alphas: Sequence[float] | np.ndarray | None = None,
    steps: int = 21,
    **options: Unpack[ProbeOptions],
) -> LineResult:
    """Loss along θ(α) = (1 − α) θ_start + α θ_end (Goodfellow et al. 2015; any α range).

    ``alphas`` defaults to ``linspace(0, 1, steps)``; α = 0 and α = 1 are exactly the endpoints.

    Shared keyword options: :class:`ProbeOptions`.
    """
    return _line("line", model, {"start": start, "end": end}, data, alphas, steps, options)


def _line(
    kind: str,
    model: nn.Module,
    ends: Mapping[str, WeightsLike],
    data: Any,
    alphas: Sequence[float] | np.ndarray | None,
    steps: int,
    options: ProbeOptions,
    output: str | None = None,
) -> LineResult:
    """The line θ(α) = (1 − α) θ_a + α θ_b between the two ``ends`` (named for errors); with an
    ``output`` also the functional distance and disagreement from θ_a to every θ(α)."""
    al = _alphas(alphas, steps)
    ev = _evaluator(kind, model, data, options)
    (ta, ba), (tb, bb) = (_vectors(ev, w, what) for what, w in ends.items())
    _static_buffers(ev, ends)
    compare: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    if output is not None:
        ref = ev.outputs(ta, ba)
        compare = {"extra": ("rms", "disagreement"), "reference": ref, "output": output}
        meta["output"] = output
    values = _affine(
        ev,
        geometry.line_coefficients(al),
        torch.stack([ta, tb]),
        torch.stack([ba, bb]),
        kind=kind,
        options=options,
        **compare,
    )
    loss, mets = _split(values, al.shape)
    meta = _meta(ev, kind, **meta, distance=_distance(ta, tb))
    return LineResult(alphas=al, loss=loss, metrics=mets, meta=meta)


def _resolution(resolution: Resolution) -> tuple[int, int]:
    pair = resolution if isinstance(resolution, tuple | list) else (resolution, resolution)
    try:
        if len(pair) != 2:
            raise ValueError
        return _count(pair[0], "", 1), _count(pair[1], "", 1)
    except ValueError:
        raise ValueError(
            f"resolution must be an integer >= 1 or a pair (nx, ny) of them, got {resolution!r}"
        ) from None


def _span(span: Span) -> tuple[float, float, float, float]:
    if isinstance(span, int | float) and not isinstance(span, bool):
        values: Any = (-span, span, -span, span)
    else:
        values = span
    if (
        not isinstance(values, tuple | list)
        or len(values) != 4
        or not all(isinstance(v, int | float) and np.isfinite(v) for v in values)
    ):
        raise ValueError(
            f"span must be a finite number s or (xmin, xmax, ymin, ymax), got {span!r}"
        )
    return float(values[0]), float(values[1]), float(values[2]), float(values[3])


def _seed(seed: int | None, options: ProbeOptions) -> int | None:
    """The seed of a resumed run when none is given (so an identical call resumes)."""
    if seed is None:
        saved = saved_fingerprint(options.get("checkpoint"))
        if saved is not None and isinstance(saved.get("seed"), int):
            return int(saved["seed"])
    return seed


def _surface(
    ev: Evaluator,
    kind: str,
    x: np.ndarray,
    y: np.ndarray,
    coefficients: Tensor,
    anchors: Tensor,
    buffer_anchors: Tensor,
    options: ProbeOptions,
    **meta: Any,
) -> SurfaceResult:
    values = _affine(
        ev,
        coefficients,
        anchors,
        buffer_anchors,
        kind=kind,
        options=options,
        seed=meta.get("seed"),
    )
    loss, mets = _split(values, (y.size, x.size))
    return SurfaceResult(x=x, y=y, loss=loss, metrics=mets, meta=_meta(ev, kind, **meta))


def _weight_sets(sets: Sequence[Any], count: int, what: str) -> Sequence[Any]:
    if isinstance(sets, (nn.Module, Mapping)) or not isinstance(sets, Sequence):
        raise TypeError(f"{what} must be a sequence of {count} weight sets")
    if len(sets) != count:
        raise ValueError(f"{what} needs exactly {count} weight sets, got {len(sets)}")
    return sets


def plane(
    model: nn.Module,
    center: WeightsLike,
    data: Any,
    *,
    directions: Sequence[Mapping[str, Tensor] | Tensor] | None = None,
    span: Span = 1.0,
    resolution: Resolution = 21,
    normalization: Normalization = "filter",
    ignore: Ignore = "biasbn",
    seed: int | None = None,
    **options: Unpack[ProbeOptions],
) -> SurfaceResult:
    """Loss on the plane θ(x, y) = θ_0 + x d_1 + y d_2 (Li et al. 2018), ``loss[j, i]`` at
    (x[i], y[j]) with x, y = linspace over ``span`` = s or (xmin, xmax, ymin, ymax).

    Without ``directions``, d_1, d_2 are two standard normal directions drawn (in that order) from
    a generator seeded with ``seed`` (a fresh seed, recorded in ``meta``, when None) and
    normalized per ``normalization``/``ignore`` against θ_0; given directions are used as they are.

    Shared keyword options: :class:`ProbeOptions`.
    """
    nx, ny = _resolution(resolution)
    xmin, xmax, ymin, ymax = _span(span)
    ev = _evaluator("plane", model, data, options)
    theta, bufs = _vectors(ev, center, "center")
    _static_buffers(ev, {"center": center})
    x, y = geometry.axis(xmin, xmax, nx), geometry.axis(ymin, ymax, ny)
    meta: dict[str, Any] = {"span": [xmin, xmax, ymin, ymax]}
    if directions is None:
        (d1, d2), seed = _random_directions(
            ev, theta, 2, _seed(seed, options), normalization, ignore
        )
        meta.update(directions="random", seed=seed, normalization=normalization, ignore=ignore)
    else:
        d1, d2 = (
            _direction(ev, d, f"directions[{k}]")
            for k, d in enumerate(_weight_sets(directions, 2, "directions"))
        )
        meta.update(directions="given", normalization=None, ignore=None)
    xs, ys = geometry.grid(x, y)
    zero = torch.zeros_like(bufs)
    return _surface(
        ev,
        "plane",
        x,
        y,
        geometry.plane_coefficients(xs, ys),
        torch.stack([theta, d1, d2]),
        torch.stack([bufs, zero, zero]),
        options,
        **meta,
    )


def _random_directions(
    ev: Evaluator,
    theta: Tensor,
    count: int,
    seed: int | None,
    normalization: Normalization,
    ignore: Ignore,
) -> tuple[list[Tensor], int]:
    """``count`` normalized Gaussian directions drawn in turn from one CPU generator seeded with
    ``seed`` (a fresh random seed when None); returns them and the seed used."""
    if seed is None:
        seed = int(cast(int, np.random.SeedSequence().entropy)) % (1 << 63)
    gen = torch.Generator().manual_seed(int(seed))
    shapes = list(ev.space.param_shapes.values())
    dirs = [
        geometry.random_direction_vector(
            theta, shapes, normalization=normalization, ignore=ignore, generator=gen
        )
        for _ in range(count)
    ]
    return dirs, int(seed)


def _direction(ev: Evaluator, d: Mapping[str, Tensor] | Tensor, what: str) -> Tensor:
    if isinstance(d, Tensor):
        if d.shape != (ev.space.dim,):
            raise ValueError(f"{what} has shape {tuple(d.shape)}, expected ({ev.space.dim},)")
        return d.detach().to(ev.device, ev.space.dtype)
    try:
        theta = ev.space.params_vector(d)
    except (KeyError, ValueError, TypeError) as err:
        raise type(err)(f"{what}: {err.args[0] if err.args else err}") from None
    return theta.to(ev.device)


def bilinear(
    model: nn.Module,
    corners: Sequence[WeightsLike],
    data: Any,
    *,
    resolution: Resolution = 21,
    **options: Unpack[ProbeOptions],
) -> SurfaceResult:
    """Loss over θ(α, β) = β[α θ_1 + (1 − α) θ_2] + (1 − β)[α θ_3 + (1 − α) θ_4] for corners
    (θ_1, θ_2, θ_3, θ_4) (appendix A.1); x = α, y = β = linspace(0, 1); ``loss[j, i]`` at
    (α_i, β_j), so loss[-1, -1] is θ_1, loss[-1, 0] θ_2, loss[0, -1] θ_3, loss[0, 0] θ_4.

    Shared keyword options: :class:`ProbeOptions`.
    """
    return _patch(
        model,
        corners,
        data,
        4,
        "bilinear",
        geometry.bilinear_coefficients,
        resolution,
        options,
    )


def barycentric(
    model: nn.Module,
    vertices: Sequence[WeightsLike],
    data: Any,
    *,
    resolution: Resolution = 21,
    **options: Unpack[ProbeOptions],
) -> SurfaceResult:
    """Loss over θ(α, β) = θ_0 + α[β d_1 + (1 − β) d_2], d_k = θ_k − θ_0 for vertices
    (θ_0, θ_1, θ_2) (appendix A.1); x = α, y = β = linspace(0, 1); column α = 0 is θ_0,
    loss[-1, -1] is θ_1 and loss[0, -1] is θ_2.

    Shared keyword options: :class:`ProbeOptions`.
    """
    return _patch(
        model,
        vertices,
        data,
        3,
        "barycentric",
        geometry.barycentric_coefficients,
        resolution,
        options,
    )


def _patch(
    model: nn.Module,
    sets: Sequence[WeightsLike],
    data: Any,
    count: int,
    kind: str,
    coefficients: Any,
    resolution: Resolution,
    options: ProbeOptions,
) -> SurfaceResult:
    what = "corners" if kind == "bilinear" else "vertices"
    sets = _weight_sets(sets, count, what)
    nx, ny = _resolution(resolution)
    ev = _evaluator(kind, model, data, options)
    named = {f"{what}[{k}]": w for k, w in enumerate(sets)}
    vecs = [_vectors(ev, w, name) for name, w in named.items()]
    _static_buffers(ev, named)
    x, y = geometry.axis(0.0, 1.0, nx), geometry.axis(0.0, 1.0, ny)
    xs, ys = geometry.grid(x, y)
    return _surface(
        ev,
        kind,
        x,
        y,
        coefficients(xs, ys),
        torch.stack([t for t, _ in vecs]),
        torch.stack([b for _, b in vecs]),
        options,
    )


def random_direction(
    model_or_state: nn.Module | Mapping[str, Tensor],
    *,
    normalization: Normalization = "filter",
    ignore: Ignore = "biasbn",
    generator: torch.Generator | None = None,
) -> dict[str, Tensor]:
    """A standard normal direction for every floating-point parameter (every floating tensor of a
    state_dict), normalized per tensor (see :func:`geometry.normalize_tensor`), on each weight's
    device and dtype.  Drawn as one flat vector in key order, so the same generator state gives
    the same d_1 as :func:`plane` with that seed."""
    if isinstance(model_or_state, nn.Module):
        named = {
            n: p.detach() for n, p in model_or_state.named_parameters() if p.is_floating_point()
        }
    elif isinstance(model_or_state, Mapping):
        named = {
            n: t.detach()
            for n, t in model_or_state.items()
            if isinstance(t, Tensor) and t.is_floating_point()
        }
    else:
        raise TypeError(
            f"model_or_state must be an nn.Module or a state_dict, "
            f"got {type(model_or_state).__name__}"
        )
    if not named:
        raise ValueError("no floating-point tensors to draw a direction for")
    first = next(iter(named.values()))
    theta = torch.cat([t.reshape(-1).to(first.device, first.dtype) for t in named.values()])
    flat = geometry.random_direction_vector(
        theta,
        [t.shape for t in named.values()],
        normalization=normalization,
        ignore=ignore,
        generator=generator,
    )
    parts = torch.split(flat, [t.numel() for t in named.values()])
    return {
        n: p.reshape(t.shape).to(t.device, t.dtype)
        for (n, t), p in zip(named.items(), parts, strict=True)
    }


def basin(
    model: nn.Module,
    center: WeightsLike,
    data: Any,
    *,
    direction: WeightsLike | Tensor | str,
    threshold: float,
    max_distance: float,
    n: int = 1,
    seed: int | None = None,
    steps: int = 41,
    tol: float | None = None,
    normalization: Normalization = "filter",
    ignore: Ignore = "biasbn",
    **options: Unpack[ProbeOptions],
) -> BasinResult:
    """Basin radius around θ* = ``center`` in absolute parameter distance (paper eq. 1).

    Along each unit direction d̂ the radius is the largest r with L(θ* + s d̂) ≤ L(θ*) + threshold
    for all s ∈ [0, r]: the curve is sampled at ``steps`` distances linspace(0, max_distance)
    (kept as ``loss``), the first sampled crossing is bracketed and bisected to ``tol`` (default
    1e-3 of the sampling step); a non-finite loss counts as a crossing.  If the curve never
    crosses, the radius is ``max_distance`` and ``meta["censored"][k]`` is True.

    ``direction``: an ``nn.Module`` (d = θ_module − θ*), a dict of tensors or a flat (dim,) tensor
    (d as given), or ``"random"`` (``n`` filter-normalized Gaussian directions from ``seed``).
    Each d is scaled to unit length.  Under bn="interpolate" buffers move toward the module's
    buffers in step with the weights; otherwise they stay at the center's.

    Shared keyword options: :class:`ProbeOptions`.
    """
    if not threshold >= 0 or not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number >= 0, got {threshold}")
    if not max_distance > 0 or not np.isfinite(max_distance):
        raise ValueError(f"max_distance must be a finite number > 0, got {max_distance}")
    steps = _count(steps, "steps", 2)
    if tol is not None and not (tol > 0 and np.isfinite(tol)):
        raise ValueError(f"tol must be a finite number > 0, got {tol}")
    ev = _evaluator("basin", model, data, options)
    theta, bufs = _vectors(ev, center, "center")
    _static_buffers(ev, {"center": center})
    meta: dict[str, Any] = {"steps": steps, "max_distance": max_distance}
    if isinstance(direction, str):
        if direction != "random":
            raise ValueError(
                f"direction must be 'random', a weight set or a dict, got {direction!r}"
            )
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        raw, seed = _random_directions(ev, theta, n, _seed(seed, options), normalization, ignore)
        buf_dirs = [torch.zeros_like(bufs)] * n
        meta.update(direction="random", seed=seed, normalization=normalization, ignore=ignore)
    elif isinstance(direction, nn.Module):
        target, target_bufs = _vectors(ev, direction, "direction")
        raw, buf_dirs = [target - theta], [target_bufs - bufs]
        meta.update(direction="toward")
    else:
        raw, buf_dirs = [_direction(ev, direction, "direction")], [torch.zeros_like(bufs)]
        meta.update(direction="given")
    norms = [float(torch.linalg.vector_norm(d.double())) for d in raw]
    if any(not (v > 0) for v in norms):
        raise ValueError("basin direction has zero (or non-finite) length")
    unit = torch.stack([d / v for d, v in zip(raw, norms, strict=True)])
    unit_bufs = torch.stack([b / v for b, v in zip(buf_dirs, norms, strict=True)])
    k = unit.shape[0]
    distances = geometry.axis(0.0, max_distance, steps)
    # point (k, s): 1·θ* + distance_s · d̂_k  — coefficients over anchors (θ*, d̂_1..d̂_n)
    coeffs = torch.zeros(k * steps, k + 1, dtype=torch.float64)
    coeffs[:, 0] = 1.0
    rows = torch.arange(k * steps)
    coeffs[rows, 1 + rows // steps] = torch.as_tensor(np.tile(distances, k))
    anchors = torch.cat([theta[None], unit])
    buffer_anchors = torch.cat([bufs[None], unit_bufs])
    values = _affine(
        ev,
        coeffs,
        anchors,
        buffer_anchors,
        kind="basin",
        options=options,
        seed=meta.get("seed"),
    )
    curve = values["loss"].reshape(k, steps)
    center_loss = float(curve[0, 0])
    limit = center_loss + threshold
    step_tol = (max_distance / (steps - 1)) * 1e-3 if tol is None else float(tol)

    def good(d: int, s: float) -> bool:
        pts = (theta + s * unit[d])[None]
        b = (bufs + s * unit_bufs[d])[None]
        value = float(ev.evaluate(pts, b)["loss"][0])
        return bool(value <= limit)

    radius, censored = np.empty(k), []
    for d in range(k):
        bad = np.flatnonzero(~(curve[d] <= limit))
        censored.append(bad.size == 0)
        if bad.size == 0:
            radius[d] = max_distance
            continue
        lo, hi = float(distances[bad[0] - 1]), float(distances[bad[0]])
        while hi - lo > step_tol:
            mid = 0.5 * (lo + hi)
            if not lo < mid < hi:  # the bracket is one float wide
                break
            lo, hi = (mid, hi) if good(d, mid) else (lo, mid)
        radius[d] = lo
    meta.update(censored=censored, tol=step_tol)
    return BasinResult(
        radius=radius,
        distances=distances,
        loss=curve,
        center_loss=center_loss,
        threshold=float(threshold),
        meta=_meta(ev, "basin", **meta),
    )


_OUTPUTS = ("probs", "logits")


def _compare(ref: Tensor | None, out: Tensor, output: str) -> tuple[float, float]:
    """(sqrt(mean_i ‖F_i − G_i‖²), mean_i [argmax F_i ≠ argmax G_i]) over examples i; the last
    dimension holds the classes, all leading dimensions index examples (e.g. LM tokens)."""
    assert ref is not None
    f = ref.reshape(-1, ref.shape[-1] if ref.ndim > 1 else 1).double()
    g = out.reshape(-1, out.shape[-1] if out.ndim > 1 else 1).double()
    if output == "probs":
        f, g = f.softmax(dim=1), g.softmax(dim=1)
    rms = float(((f - g) ** 2).sum(dim=1).mean().sqrt())
    disagreement = float((f.argmax(dim=1) != g.argmax(dim=1)).double().mean())
    return rms, disagreement


def _check_output(output: str) -> None:
    if output not in _OUTPUTS:
        raise ValueError(f"output must be one of {_OUTPUTS}, got {output!r}")


def functional_distance(
    model: nn.Module,
    a: WeightsLike,
    b: WeightsLike,
    data: Any,
    *,
    output: str = "probs",
    precision: str = "fp32",
    bn: str = "auto",
    calibration: Any = None,
    device: torch.device | str | None = None,
) -> FunctionalDistance:
    """dist(θ_a, θ_b) = sqrt(1/N Σ_i ‖F(x_i, θ_a) − F(x_i, θ_b)‖²) (paper §4.1) with F the
    softmax probabilities (``output="probs"``) or the logits, and the fraction of inputs whose
    arg-max label differs."""
    _check_output(output)
    options: ProbeOptions = {
        "bn": bn,
        "precision": precision,
        "calibration": calibration,
        "device": device,
    }
    ev = _evaluator("functional_distance", model, data, options)
    (ta, ba), (tb, bb) = _vectors(ev, a, "a"), _vectors(ev, b, "b")
    _static_buffers(ev, {"a": a, "b": b})
    rms, dis = _compare(ev.outputs(ta, ba), ev.outputs(tb, bb), output)
    return FunctionalDistance(
        rms=rms, disagreement=dis, meta=_meta(ev, "functional_distance", output=output)
    )


def functional_distance_line(
    model: nn.Module,
    a: WeightsLike,
    b: WeightsLike,
    data: Any,
    *,
    alphas: Sequence[float] | np.ndarray | None = None,
    steps: int = 21,
    output: str = "probs",
    **options: Unpack[ProbeOptions],
) -> LineResult:
    """Along θ(α) = (1 − α) θ_a + α θ_b: the loss, and the functional distance ("rms") and
    label disagreement ("disagreement") from θ_a to θ(α) (upper triangle of the paper's Table 1).

    Shared keyword options: :class:`ProbeOptions`.
    """
    _check_output(output)
    return _line(
        "functional_distance_line", model, {"a": a, "b": b}, data, alphas, steps, options, output
    )
