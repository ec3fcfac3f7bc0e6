"""Every change localcloud makes to moto's classes goes through `wrap`, so they are listed in one
place, applied once, and never stacked (two modules wrapping the same method is a bug)."""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

_applied: dict[str, str] = {}


def _key(owner: type | types.ModuleType, name: str) -> str:
    if isinstance(owner, types.ModuleType):
        return f"{owner.__name__}.{name}"
    return f"{owner.__module__}.{owner.__qualname__}.{name}"


def wrap(owner: type | types.ModuleType, name: str, why: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Replace `owner.name` (a method, or a module-level function) with the decorated function, which
    receives the original as its first argument:
    `@wrap(Queue, "_set_attributes", "keep Policy") def f(original, self, ...)`."""

    def decorate(replacement: Callable[..., Any]) -> Callable[..., Any]:
        key = _key(owner, name)
        if key in _applied:
            raise RuntimeError(f"{key} is already wrapped ({_applied[key]}); extend that wrapper instead")
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return replacement(original, *args, **kwargs)

        setattr(owner, name, wrapper)
        _applied[key] = why
        return replacement

    return decorate


def replace_property(owner: type, name: str, why: str, getter: Callable[[Any], Any]) -> None:
    """Swap a read-only property, e.g. a serialisation moto gets wrong."""
    key = _key(owner, name)
    if key in _applied:
        raise RuntimeError(f"{key} is already replaced ({_applied[key]})")
    setattr(owner, name, property(getter))
    _applied[key] = why


def applied() -> dict[str, str]:
    """What has been patched and why (shown by the health endpoint)."""
    return dict(_applied)
