"""The envelope check reports every difference field by field, and only real differences."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pipecheck.envelope import Expected, diff
from pipecheck.publisher import example

EVENT = example("basket")
EXPECTED = Expected("basket_events", "Event from aws:sqs", "123456789012", "eu-west-1", EVENT)
GOOD: dict[str, Any] = {
    "version": "0",
    "id": "ae89ce8d-78b0-7d09-49bb-465ea59eea0b",
    "detail-type": "Event from aws:sqs",
    "source": "basket_events",
    "account": "123456789012",
    "time": "2025-01-15T12:09:36Z",
    "region": "eu-west-1",
    "resources": [],
    "detail": {"event": copy.deepcopy(EVENT)},
}


def test_seed_shaped_envelope_has_no_differences() -> None:
    assert diff(GOOD, EXPECTED) == []
    assert EXPECTED.matches_event(GOOD)


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("source", "Pipe demo-basket-pipe", "source: got 'Pipe demo-basket-pipe', expected 'basket_events'"),
        ("account", None, "account: got None"),
        ("time", "2025-01-15T12:09:36.123Z", "time: got '2025-01-15T12:09:36.123Z'"),
        ("id", "not-a-uuid", "id: got 'not-a-uuid', expected a UUID"),
        ("resources", ["arn:aws:pipes:eu-west-1:1:pipe/x"], "resources: got"),
        ("detail", {"event": '{"event_domain": "basket"}'}, "detail.event: got '{"),
    ],
)
def test_each_wrong_field_is_named(field: str, value: Any, needle: str) -> None:
    body = copy.deepcopy(GOOD)
    body[field] = value
    problems = diff(body, EXPECTED)
    assert any(needle in p for p in problems), f"got {problems}, expected one containing {needle!r}"


def test_missing_field_and_non_object_body() -> None:
    body = copy.deepcopy(GOOD)
    del body["account"]
    assert any(p.startswith("keys:") for p in diff(body, EXPECTED))
    assert diff("hello", EXPECTED) == ["body: got str 'hello', expected a JSON object envelope"]


def test_sns_envelope_left_by_raw_delivery_off_still_matches_our_event() -> None:
    import json

    body = copy.deepcopy(GOOD)
    body["detail"] = {"event": {"Type": "Notification", "Message": json.dumps(EVENT)}}
    assert EXPECTED.matches_event(body), "a wrapped copy of our event must be recognised as ours"
    assert any(p.startswith("detail.event:") for p in diff(body, EXPECTED))
