"""Name → factory registries with early, readable errors (shared by models and data)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def call_registered(
    kind: str, registry: Mapping[str, Callable[..., T]], name: str, kwargs: Mapping[str, Any]
) -> T:
    """Call ``registry[name](**kwargs)``.

    Raises ``ValueError`` listing the known names when ``name`` is not registered, and ``TypeError``
    listing the accepted keywords when the factory does not take one of ``kwargs`` (factories with a
    ``**kwargs`` catch-all validate those themselves).
    """
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; known {kind}s: {', '.join(sorted(registry))}")
    factory = registry[name]
    params = inspect.signature(factory).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            raise TypeError(
                f"{kind} {name!r} got unknown argument(s) {', '.join(unknown)}; "
                f"accepted: {', '.join(params)}"
            )
    return factory(**kwargs)
