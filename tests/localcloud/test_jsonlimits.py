"""Strict JSON and EventBridge's detail limits (aws-behaviour.md §4.2)."""

from __future__ import annotations

import json

import pytest

from localcloud.jsonlimits import MAX_DEPTH, depth, event_detail_problem, loads_strict


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_strict_loads_rejects_what_json_parsers_reject() -> None:
    for text in ("NaN", '{"n": Infinity}', '{"n": 1e400}'):
        with pytest.raises(ValueError):
            loads_strict(text)
    assert loads_strict('{"n": 1.5, "m": [1, "x"]}') == {"n": 1.5, "m": [1, "x"]}


def test_depth_counts_levels_without_recursion() -> None:
    assert depth(1) == 0 and depth({}) == 1 and depth({"a": [1, {"b": 2}]}) == 3
    assert depth(json.loads(nested(50))) == 50


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"event": ' + nested(MAX_DEPTH - 1) + "}", None),
        ('{"event": ' + nested(MAX_DEPTH) + "}", f"more than {MAX_DEPTH} levels"),
        ('{"event": ' + nested(20_000) + "}", f"more than {MAX_DEPTH} levels"),
        ('{"n": 9223372036854775807}', None),
        ('{"n": 9223372036854775808}', "outside the signed 64-bit range"),
        ('{"n": -9223372036854775809}', "outside the signed 64-bit range"),
        ('{"n": 1e400}', "out of range"),
        ('{"n": NaN}', "NaN is not valid JSON"),
        ("{not json", "Detail is malformed"),
    ],
    ids=["depth-1000", "depth-1001", "depth-20000", "int64-max", "int64-max+1", "int64-min-1", "1e400", "nan", "garbage"],
)
def test_event_detail_limits(text: str, problem: str | None) -> None:
    import sys

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))  # as localcloud's server does
    detail, got = event_detail_problem(text)
    if problem is None:
        assert got is None and detail is not None, f"got problem {got!r}, expected the detail to be accepted"
    else:
        assert got is not None and problem in got, f"got {got!r}, expected a problem containing {problem!r}"
