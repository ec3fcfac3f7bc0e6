"""Event pattern matching table (aws-behaviour.md §4.3) through TestEventPattern, plus pattern
validation at PutRule. The rule delivery path uses the same matcher (test_events.py checks it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

Aws = Callable[[str], Any]

EVENT_HEAD = (
    '{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"OrderPlaced",'
    '"source":"com.example.orders","account":"123456789012","time":"2024-01-02T03:04:05Z",'
    '"region":"eu-west-1","resources":["arn:aws:s3:::bucket"],"detail":'
)
DETAIL = (
    '{"name":"Alice","state":"RUNNING","count":300,"price":3.5,"flag":true,"nothing":null,"empty":"",'
    '"tags":["red","blue"],"ip":"10.0.0.7","file":"report.PDF",'
    '"items":[{"sku":"a","qty":1},{"sku":"b","qty":2}],"nested":{"deep":{"x":"y"}}}'
)

# (id, pattern, detail text or None for DETAIL, expected)
CASES: list[tuple[str, dict[str, Any], str | None, bool]] = [
    ("exact string", {"source": ["com.example.orders"]}, None, True),
    ("exact string other", {"source": ["com.example.other"]}, None, False),
    ("exact is case sensitive", {"detail": {"name": ["alice"]}}, None, False),
    ("any of list", {"detail": {"state": ["STOPPED", "RUNNING"]}}, None, True),
    ("fields are ANDed", {"source": ["com.example.orders"], "detail": {"state": ["STOPPED"]}}, None, False),
    ("unnamed fields ignored", {"detail": {"name": ["Alice"]}}, None, True),
    ("number exact", {"detail": {"count": [300]}}, None, True),
    ("number text differs 300.0", {"detail": {"count": [300]}}, '{"count":300.0}', False),
    ("number text differs 3.0e2", {"detail": {"count": [300]}}, '{"count":3.0e2}', False),
    ("string is not number", {"detail": {"count": ["300"]}}, None, False),
    ("boolean literal", {"detail": {"flag": [True]}}, None, True),
    ("boolean not string", {"detail": {"flag": ["true"]}}, None, False),
    ("null literal", {"detail": {"nothing": [None]}}, None, True),
    ("null does not match missing", {"detail": {"absent": [None]}}, None, False),
    ("empty string", {"detail": {"empty": [""]}}, None, True),
    ("prefix", {"detail": {"name": [{"prefix": "Al"}]}}, None, True),
    ("prefix miss", {"detail": {"name": [{"prefix": "al"}]}}, None, False),
    ("prefix ignore case", {"detail": {"name": [{"prefix": {"equals-ignore-case": "aL"}}]}}, None, True),
    ("suffix", {"detail": {"file": [{"suffix": ".PDF"}]}}, None, True),
    ("suffix miss", {"detail": {"file": [{"suffix": ".pdf"}]}}, None, False),
    ("suffix ignore case", {"detail": {"file": [{"suffix": {"equals-ignore-case": ".pdf"}}]}}, None, True),
    ("equals-ignore-case", {"detail": {"name": [{"equals-ignore-case": "ALICE"}]}}, None, True),
    ("wildcard", {"detail": {"file": [{"wildcard": "rep*.P*F"}]}}, None, True),
    ("wildcard miss", {"detail": {"file": [{"wildcard": "rep*.txt"}]}}, None, False),
    ("wildcard escaped star", {"detail": {"file": [{"wildcard": "a\\*b"}]}}, '{"file":"a*b"}', True),
    ("wildcard escaped star literal only", {"detail": {"file": [{"wildcard": "a\\*b"}]}}, '{"file":"axxb"}', False),
    ("anything-but string", {"detail": {"state": [{"anything-but": "STOPPED"}]}}, None, True),
    ("anything-but string hit", {"detail": {"state": [{"anything-but": "RUNNING"}]}}, None, False),
    ("anything-but list", {"detail": {"state": [{"anything-but": ["RUNNING", "STOPPED"]}]}}, None, False),
    ("anything-but numbers", {"detail": {"count": [{"anything-but": [100, 200]}]}}, None, True),
    ("anything-but prefix", {"detail": {"name": [{"anything-but": {"prefix": "Bo"}}]}}, None, True),
    ("anything-but prefix hit", {"detail": {"name": [{"anything-but": {"prefix": "Al"}}]}}, None, False),
    ("anything-but suffix hit", {"detail": {"file": [{"anything-but": {"suffix": ".PDF"}}]}}, None, False),
    ("anything-but ignore case hit",
     {"detail": {"name": [{"anything-but": {"equals-ignore-case": "alice"}}]}}, None, False),
    ("anything-but wildcard hit", {"detail": {"file": [{"anything-but": {"wildcard": "*.PDF"}}]}}, None, False),
    ("anything-but needs the field", {"detail": {"absent": [{"anything-but": "x"}]}}, None, False),
    ("numeric range", {"detail": {"count": [{"numeric": [">", 0, "<=", 300]}]}}, None, True),
    ("numeric range miss", {"detail": {"count": [{"numeric": [">", 300]}]}}, None, False),
    ("numeric equal float", {"detail": {"price": [{"numeric": ["=", 3.5]}]}}, None, True),
    ("numeric equal across texts", {"detail": {"count": [{"numeric": ["=", 300]}]}}, '{"count":3.0e2}', True),
    ("numeric ignores strings", {"detail": {"name": [{"numeric": [">", 0]}]}}, None, False),
    ("exists true", {"detail": {"name": [{"exists": True}]}}, None, True),
    ("exists true missing", {"detail": {"absent": [{"exists": True}]}}, None, False),
    ("exists false missing", {"detail": {"absent": [{"exists": False}]}}, None, True),
    ("exists false present", {"detail": {"name": [{"exists": False}]}}, None, False),
    ("exists false on object", {"detail": {"nested": [{"exists": False}]}}, None, True),
    ("exists true on object", {"detail": {"nested": [{"exists": True}]}}, None, False),
    ("exists true null value", {"detail": {"nothing": [{"exists": True}]}}, None, True),
    ("nested object", {"detail": {"nested": {"deep": {"x": ["y"]}}}}, None, True),
    ("array shares an element", {"detail": {"tags": ["blue", "green"]}}, None, True),
    ("array shares nothing", {"detail": {"tags": ["green"]}}, None, False),
    ("resources array", {"resources": ["arn:aws:s3:::bucket"]}, None, True),
    ("array of objects", {"detail": {"items": {"sku": ["b"]}}}, None, True),
    ("array elements not combined", {"detail": {"items": {"sku": ["a"], "qty": [2]}}}, None, False),
    ("array element all fields", {"detail": {"items": {"sku": ["b"], "qty": [2]}}}, None, True),
    ("$or one side", {"detail": {"$or": [{"state": ["STOPPED"]}, {"count": [300]}]}}, None, True),
    ("$or neither", {"detail": {"$or": [{"state": ["STOPPED"]}, {"count": [1]}]}}, None, False),
    ("$or top level", {"$or": [{"source": ["nope"]}, {"detail-type": ["OrderPlaced"]}]}, None, True),
    ("cidr", {"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}, None, True),
    ("cidr miss", {"detail": {"ip": [{"cidr": "10.0.1.0/24"}]}}, None, False),
    ("account field", {"account": ["123456789012"]}, None, True),
]


@pytest.mark.parametrize(("pattern", "detail", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_pattern_table(aws: Aws, pattern: dict[str, Any], detail: str | None, expected: bool) -> None:
    event = EVENT_HEAD + (detail or DETAIL) + "}"
    result = aws("events").test_event_pattern(EventPattern=json.dumps(pattern), Event=event)["Result"]
    assert result is expected, f"got {result} for {pattern} on detail {detail or DETAIL}, expected {expected}"


INVALID = [
    ("$or with one branch", {"$or": [{"source": ["a"]}]}),
    ("unknown operator", {"source": [{"startswith": "a"}]}),
    ("consecutive wildcards", {"source": [{"wildcard": "a**b"}]}),
    ("mixed anything-but list", {"source": [{"anything-but": ["a", 1]}]}),
    ("bad numeric operator", {"detail": {"n": [{"numeric": ["~", 1]}]}}),
    ("exists not boolean", {"source": [{"exists": "yes"}]}),
    ("empty array", {"source": []}),
    ("scalar value", {"source": "a"}),
]


@pytest.mark.parametrize("pattern", [c[1] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_patterns_are_refused_at_put_rule(aws: Aws, name: str, pattern: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as error:
        aws("events").put_rule(Name=f"{name}-rule", EventPattern=json.dumps(pattern))
    code = error.value.response["Error"]["Code"]
    assert code == "InvalidEventPatternException", f"got {code}, expected InvalidEventPatternException"


def test_test_event_pattern_refuses_an_event_without_envelope(aws: Aws) -> None:
    with pytest.raises(ClientError) as error:
        aws("events").test_event_pattern(EventPattern='{"source":["a"]}', Event='{"source":"a"}')
    code = error.value.response["Error"]["Code"]
    assert code == "ValidationException", f"got {code}, expected ValidationException"
