"""Pipe filter criteria for SQS records (aws-behaviour.md §3.3), matched with moto's EventBridge
pattern matcher (the events module owns its fixes)."""

from __future__ import annotations

from typing import Any

from moto.events.models import EventPattern

# The poller adds these; patterns cannot filter on them (§3.3).
_UNFILTERABLE = ("awsRegion", "eventSource", "eventSourceARN", "eventVersion", "eventID", "eventName",
                 "invokeIdentityArn", "eventSourceKey")


def compile_filters(filter_criteria: dict[str, Any] | None) -> list[EventPattern]:
    """Patterns of FilterCriteria.Filters; raises moto's InvalidEventPatternException on a bad one."""
    filters = (filter_criteria or {}).get("Filters") or []
    return [EventPattern.load(f.get("Pattern")) for f in filters if isinstance(f, dict)]


def passes(patterns: list[EventPattern], event: dict[str, Any], body_is_json: bool) -> bool:
    """Filters are OR-ed; none means everything passes. `event` is the record with body parsed."""
    if not patterns:
        return True
    visible = {k: v for k, v in event.items() if k not in _UNFILTERABLE}
    return any(_matches(pattern, visible, body_is_json) for pattern in patterns)


def _matches(pattern: EventPattern, event: dict[str, Any], body_is_json: bool) -> bool:
    body_pattern = pattern.get_pattern().get("body")
    # Format rules: a JSON pattern never matches a plain-text body and a plain-string pattern never
    # matches a JSON body (§3.3 table); without a body pattern only the metadata is filtered.
    if isinstance(body_pattern, dict) and not body_is_json:
        return False
    if isinstance(body_pattern, list) and body_is_json:
        return False
    return pattern.matches_event(event)
