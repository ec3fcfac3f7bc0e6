"""The purchase-queue message each example event must become (the seed's expected output), and a
field-by-field diff that says "got X, expected Y"."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ENVELOPE_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


@dataclass(frozen=True)
class Expected:
    source: str
    detail_type: str
    account: str
    region: str
    event: dict[str, Any]  # the JSON published to the topic

    def matches_event(self, body: Any) -> bool:
        """Is this message about our event at all (whatever else is wrong with it)?"""
        if not isinstance(body, dict):
            return False
        detail = body.get("detail")
        if not isinstance(detail, dict):
            return False
        candidate = detail.get("event")
        if isinstance(candidate, dict) and candidate.get("event_id") == self.event.get("event_id"):
            return True
        # A quoted template or raw delivery off leaves the event inside a string or an SNS envelope.
        return candidate is not None and str(self.event.get("event_id")) in str(candidate)


def diff(body: Any, expected: Expected) -> list[str]:
    """Every way `body` differs from the expected envelope; empty when it is exact."""
    if not isinstance(body, dict):
        return [f"body: got {type(body).__name__} {str(body)[:200]!r}, expected a JSON object envelope"]
    problems: list[str] = []
    keys = tuple(body)
    if set(keys) != set(ENVELOPE_KEYS):
        problems.append(f"keys: got {sorted(keys)}, expected {sorted(ENVELOPE_KEYS)}")
    checks: dict[str, Any] = {
        "version": "0",
        "detail-type": expected.detail_type,
        "source": expected.source,
        "account": expected.account,
        "region": expected.region,
        "resources": [],
    }
    for key, want in checks.items():
        if body.get(key) != want:
            problems.append(f"{key}: got {body.get(key)!r}, expected {want!r}")
    try:
        uuid.UUID(str(body.get("id")))
    except ValueError:
        problems.append(f"id: got {body.get('id')!r}, expected a UUID")
    if not TIME_RE.match(str(body.get("time", ""))):
        problems.append(f"time: got {body.get('time')!r}, expected ISO-8601 UTC to the second (YYYY-MM-DDTHH:MM:SSZ)")
    detail = body.get("detail")
    if detail != {"event": expected.event}:
        got_event = detail.get("event") if isinstance(detail, dict) else detail
        problems.append(f"detail.event: got {got_event!r}, expected {expected.event!r}")
    return problems
