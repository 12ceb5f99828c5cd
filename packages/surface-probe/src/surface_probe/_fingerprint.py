"""What a resumable run is made of, as JSON-able values that differ when the run would differ.

A checkpoint may only be continued by the same computation, so its fingerprint covers:

- ``data`` / ``calibration``: SHA-256 streamed tensor by tensor over the dtype, shape and bytes of
  every input and target (any dtype, bf16 included; non-tensor leaves by ``repr``);
- ``buffers``: every buffer of the template (floating, integer, non-persistent);
- ``structure``: every submodule's name, type and ``extra_repr`` and every parameter's shape;
- ``loss_fn`` / ``metrics``: the identity of each callable — ``module.qualname`` plus a hash of
  its bytecode for a plain function, type and simple attributes for an ``nn.Module`` loss.

A lambda, a closure or another callable object cannot be identified across processes: resuming
with one needs ``checkpoint_key``, a name the user promises stands for that callable.

Every resumable file (probe and path-profile checkpoints, ``fit_path`` and ``dss`` checkpoints,
``GeometryRecorder`` directories) stores its fingerprint and is resumed only through
:func:`check_fingerprint`, which names the fields that differ.
"""

from __future__ import annotations

import hashlib
import os
import types
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from surface_probe.evaluate import Evaluator

__all__ = [
    "callable_identity",
    "callables_identity",
    "check_fingerprint",
    "digest",
    "inputs_fingerprint",
    "module_structure",
    "nested_digest",
]


def _update(h: Any, item: torch.Tensor | np.ndarray | None) -> None:
    if item is None:
        h.update(b"<none>")
        return
    if isinstance(item, torch.Tensor):
        t = item.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        return
    arr = np.ascontiguousarray(item)
    h.update(f"{arr.dtype}{arr.shape}".encode())
    h.update(arr.tobytes())


def digest(*items: torch.Tensor | np.ndarray | None) -> str:
    """SHA-256 over the dtype, shape and bytes of each item (None hashes as a marker)."""
    h = hashlib.sha256()
    for item in items:
        _update(h, item)
    return h.hexdigest()


def nested_digest(objects: Iterable[Any]) -> str:
    """SHA-256 streamed over tensors nested in tuples, lists and dicts (others by ``repr``)."""
    h = hashlib.sha256()

    def walk(obj: Any) -> None:
        if isinstance(obj, torch.Tensor | np.ndarray):
            _update(h, obj)
        elif isinstance(obj, tuple | list):
            h.update(f"<{type(obj).__name__}{len(obj)}>".encode())
            for o in obj:
                walk(o)
        elif isinstance(obj, Mapping):
            h.update(f"<map{len(obj)}>".encode())
            for k, v in obj.items():
                h.update(repr(k).encode())
                walk(v)
        else:
            h.update(repr(obj).encode())

    for obj in objects:
        walk(obj)
    return h.hexdigest()


def module_structure(model: nn.Module) -> str:
    """Hash of every submodule's (name, type, extra_repr) and every parameter's (name, shape)."""
    parts = [
        f"{name}:{type(m).__module__}.{type(m).__qualname__}({m.extra_repr()})"
        for name, m in model.named_modules()
    ]
    parts += [f"{n}{tuple(p.shape)}" for n, p in model.named_parameters()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def callable_identity(fn: Callable[..., Any]) -> str | None:
    """A name for ``fn`` that is the same in every process, or None when there is none."""
    if isinstance(fn, nn.Module):
        simple = {
            k: v
            for k, v in sorted(vars(fn).items())
            if not k.startswith("_") and isinstance(v, int | float | str | bool | None)
        }
        return f"{type(fn).__module__}.{type(fn).__qualname__}{simple}"
    qualname = getattr(fn, "__qualname__", "")
    if isinstance(fn, types.BuiltinFunctionType):
        return f"{fn.__module__}.{qualname}"
    if not isinstance(fn, types.FunctionType):
        return None
    if "<lambda>" in qualname or "<locals>" in qualname or fn.__closure__:
        return None
    code = fn.__code__
    body = hashlib.sha256(code.co_code + repr(code.co_consts).encode()).hexdigest()[:16]
    return f"{fn.__module__}.{qualname}#{body}"


def callables_identity(
    loss_fn: Callable[..., Any],
    metrics: Mapping[str, Callable[..., Any]],
    checkpoint_key: str | None,
) -> dict[str, Any]:
    """The fingerprint fields of the loss and metrics; an unidentifiable one is refused unless
    ``checkpoint_key`` names it."""
    named = {"loss_fn": loss_fn, **{f"metric {n}": f for n, f in metrics.items()}}
    identity = {what: callable_identity(fn) for what, fn in named.items()}
    unknown = [what for what, ident in identity.items() if ident is None]
    if unknown and checkpoint_key is None:
        raise ValueError(
            f"{unknown[0]} is a lambda, closure or callable object that cannot be identified "
            "across runs; pass checkpoint_key='NAME' (the same in every run) to checkpoint it"
        )
    loss = identity.pop("loss_fn")
    return {"loss_fn": loss, "metrics": identity, "checkpoint_key": checkpoint_key}


def inputs_fingerprint(ev: Evaluator, options: Mapping[str, Any]) -> dict[str, Any]:
    """What a checkpointed call depends on besides its own arguments: the evaluator's fingerprint
    (data, BN policy, precision, model structure and buffers, loss and metrics; see
    :meth:`Evaluator.fingerprint`), or nothing without a ``checkpoint`` option."""
    if options.get("checkpoint") is None:
        return {}
    return ev.fingerprint(options.get("checkpoint_key"))


def check_fingerprint(
    file: str | os.PathLike[str], saved: Any, expected: Mapping[str, Any], made_by: str
) -> None:
    """Refuse to resume ``file`` unless made from the same inputs; name the ones that differ."""
    saved = saved if isinstance(saved, Mapping) else {}
    differing = sorted(k for k in set(saved) | set(expected) if saved.get(k) != expected.get(k))
    if differing:
        raise ValueError(
            f"checkpoint {file} was made by {made_by} with different arguments (differs in: "
            f"{', '.join(differing)}); delete it or choose another checkpoint path"
        )
