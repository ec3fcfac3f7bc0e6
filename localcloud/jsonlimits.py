"""Strict JSON as AWS reads it: no NaN/Infinity, and EventBridge's limits on what an event may
hold (aws-behaviour.md §4.2: nested JSON is processed to 1000 levels, integers must fit a signed
64-bit range). Python's json accepts all of these, so deliveries check them here."""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 1000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _integer(text: str) -> int:
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"integer {text[:40]} is outside the signed 64-bit range")
    return value


def _number(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def loads_strict(text: str) -> Any:
    """json.loads that rejects what real JSON parsers reject (NaN, Infinity, numbers overflowing a
    double). Raises ValueError; RecursionError becomes ValueError too."""
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_number)
    except RecursionError as error:
        raise ValueError("JSON nested too deeply to parse") from error


def depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0, {} and [] are 1), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            stack.extend((child, level + 1) for child in node.values())
            deepest = max(deepest, level + 1)
        elif isinstance(node, list):
            stack.extend((child, level + 1) for child in node)
            deepest = max(deepest, level + 1)
    return deepest


def event_detail_problem(text: str) -> tuple[Any, str | None]:
    """(parsed detail, None) when EventBridge would accept `text` as an event detail, else
    (None, reason)."""
    try:
        detail = json.loads(text, parse_constant=_constant, parse_float=_number, parse_int=_integer)
    except RecursionError:
        return None, f"Detail is nested more than {MAX_DEPTH} levels"
    except ValueError as error:
        return None, f"Detail is malformed: {error}"
    if depth(detail) > MAX_DEPTH:
        return None, f"Detail is nested more than {MAX_DEPTH} levels"
    return detail, None
