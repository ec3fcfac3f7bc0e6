"""Reliability on the live stack: a burst, bad input through a feed, faults, and security checks.
Every case says where each of its messages ended up (purchase queue, a DLQ, dropped with a metric, or
refused at publish) and leaves nothing unaccounted for. Faults are undone exactly: the file ends with a
plan that must show no changes.

Runs after the pitfall tests on the session's stack (group "stack", file order). Sizes are small so the
file stays under ~90 s on the local cloud."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipecheck.metrics import Metric, MetricsReader
from pipecheck.outputs import StackView
from pipecheck.publisher import Publisher, planted
from pipecheck.settings import ROOT
from pipecheck.stack import Deployment
from pipecheck.target import Target, health
from pipecheck.watcher import QueueTimeout, QueueWatcher, Received

pytestmark = pytest.mark.reliability

MAX_RECEIVE_COUNT = 5  # variables.tf max_receive_count default: the buffer queues' redrive
SNS_MAX_BYTES = 262144
FEED = "basket"  # bad input goes through this feed; faults use it too unless stated


# ------------------------------------------------------------------------------------------ helpers


def _timeout(target: Target) -> float:
    return 30.0 if target.is_local else 180.0


def _marker() -> str:
    return f"rel-{uuid.uuid4().hex}"


def _has(marker: str) -> Callable[[Any], bool]:
    def predicate(body: Any) -> bool:
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        return marker in text

    return predicate


def _event_id(event_id: str) -> Callable[[Any], bool]:
    def predicate(body: Any) -> bool:
        detail = body.get("detail") if isinstance(body, dict) else None
        event = detail.get("event") if isinstance(detail, dict) else None
        return isinstance(event, dict) and event.get("event_id") == event_id

    return predicate


def _url_name(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def _queue_attr(target: Target, url: str, name: str) -> str:
    attributes = target.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=[name])["Attributes"]
    return str(attributes.get(name, ""))


def _wait_until(what: str, check: Callable[[], Any], timeout: float, every: float = 0.2) -> Any:
    """Bounded poll: the first truthy value of check(), or AssertionError naming what and how long."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not reached after {timeout:.0f} s (last value {last!r})")
        time.sleep(every)  # bounded poll interval, deadline above


def _whereabouts(target: Target, view: StackView, marker: str) -> str:
    """Where a marker is now (for failure messages): depths of the buffer queues, hits in the DLQs."""
    sqs = target.client("sqs")
    parts = []
    for feed in view.feeds:
        url = view.buffer_queue_urls[feed]
        parts.append(f"{_url_name(url)} depth {QueueWatcher(sqs, url).depth()}")
    for url in [*view.buffer_dlq_urls.values(), view.purchase_dlq_url, view.purchase_queue_url]:
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0)
        hits = sum(1 for m in response.get("Messages", []) if marker in m["Body"])
        parts.append(f"{_url_name(url)} {hits} hit(s)")
    return "; ".join(parts)


def _arrives(target: Target, view: StackView, marker: str, count: int = 1) -> list[Received]:
    """Exactly `count` messages carrying the marker in the purchase queue (none extra after 0.5 s)."""
    watcher = QueueWatcher(target.client("sqs"), view.purchase_queue_url)
    try:
        received = watcher.collect([_has(marker)] * count, timeout=_timeout(target), linger=0.5)
    except QueueTimeout as error:
        raise AssertionError(f"{error}; whereabouts: {_whereabouts(target, view, marker)}") from None
    assert len(received) == count, f"got {len(received)} copies of {marker}, expected {count}"
    return received


def _detail_event(received: Received) -> Any:
    assert isinstance(received.body, dict), f"got a non-JSON envelope {received.raw[:200]!r}, expected JSON"
    return received.body["detail"]["event"]


def _sns_failed(target: Target, view: StackView, feed: str, since: datetime) -> float:
    topic = view.topic_arns[feed].rsplit(":", 1)[-1]
    metric = Metric.of("AWS/SNS", "NumberOfNotificationsFailed", TopicName=topic)
    return MetricsReader(target.client("cloudwatch")).totals([metric], since)[metric]


@contextmanager
def _fast_redrive(target: Target, view: StackView, feed: str) -> Iterator[None]:
    """Buffer queue VisibilityTimeout 1 s for the duration, so a failing message reaches the DLQ after
    maxReceiveCount within seconds; restored exactly afterwards."""
    sqs = target.client("sqs")
    url = view.buffer_queue_urls[feed]
    saved = _queue_attr(target, url, "VisibilityTimeout")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})
    try:
        # A poll that began before the change may still use the old timeout: a sentinel through the
        # feed proves the pipe has finished that poll, so the next one reads 1 s.
        sentinel = planted(feed)
        Publisher(target.client("sns"), view.topic_arns).publish(feed, sentinel)
        QueueWatcher(sqs, view.purchase_queue_url).collect([_event_id(sentinel["event_id"])], timeout=_timeout(target))
        yield
    finally:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": saved})


def _drain_raw(target: Target, url: str) -> int:
    """Delete whatever is visible now without parsing bodies (QueueWatcher parses JSON, and a body
    nested 1000 deep overflows Python's recursion limit)."""
    sqs, count = target.client("sqs"), 0
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return count
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                         for i, m in enumerate(batch)])
        count += len(batch)


def _take_raw(target: Target, url: str, marker: str, wait: float) -> list[dict[str, Any]]:
    """Receive for up to `wait` s; delete and return the raw messages carrying the marker, put the
    others back at once. Bodies are never parsed."""
    sqs, found = target.client("sqs"), []
    deadline = time.monotonic() + wait
    while True:
        remaining = deadline - time.monotonic()
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                    WaitTimeSeconds=max(0, min(1, int(remaining)))).get("Messages", [])
        for message in batch:
            if marker in message["Body"]:
                found.append(message)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        if found or remaining <= 0:
            return found


def _pipe_errors_since(target: Target, view: StackView, feed: str, since_ms: int) -> list[str]:
    logs = target.client("logs")
    events = logs.filter_log_events(logGroupName=view.pipe_log_group_names[feed], startTime=since_ms).get("events", [])
    return [e["message"] for e in events if '"error"' in e["message"] or "Failed" in e["message"]]


def _now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture(scope="module")
def publisher(target: Target, view: StackView) -> Publisher:
    return Publisher(target.client("sns"), view.topic_arns)


@pytest.fixture(scope="module", autouse=True)
def quiet_queues(target: Target, view: StackView) -> Iterator[None]:
    """Start from empty purchase and dead-letter queues (earlier files may leave their evidence there)
    and check the buffer queues are idle."""
    sqs = target.client("sqs")
    for url in [view.purchase_queue_url, view.purchase_dlq_url, *view.buffer_dlq_urls.values()]:
        _drain_raw(target, url)
    for feed in view.feeds:
        _wait_until(f"{_url_name(view.buffer_queue_urls[feed])} empty",
                    lambda f=feed: QueueWatcher(sqs, view.buffer_queue_urls[f]).depth() == 0, _timeout(target))
    yield


# -------------------------------------------------------------------------------------------- burst


def test_burst_all_arrive_without_duplicates(target: Target, view: StackView, publisher: Publisher) -> None:
    """200 planted events over both feeds from 4 threads: every one in the purchase queue, once."""
    events = [(view.feeds[i % len(view.feeds)], planted(view.feeds[i % len(view.feeds)])) for i in range(200)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        published = list(pool.map(lambda fe: publisher.publish(*fe), events))
    assert len(published) == 200, f"got {len(published)} publishes, expected 200"
    watcher = QueueWatcher(target.client("sqs"), view.purchase_queue_url)
    predicates = [_event_id(event["event_id"]) for _, event in events]
    received = watcher.collect(predicates, timeout=_timeout(target) * 2, linger=1.0)
    duplicates = len(received) - len(predicates)
    print(f"burst: published 200, delivered {len(predicates)} distinct, duplicates {duplicates}")
    assert duplicates == 0, f"got {duplicates} duplicate deliveries, expected 0 locally"
    for url in [*view.buffer_dlq_urls.values(), view.purchase_dlq_url]:
        depth = QueueWatcher(target.client("sqs"), url).depth()
        assert depth == 0, f"{_url_name(url)}: got {depth} message(s), expected 0 after the burst"


# ---------------------------------------------------------------------------------------- bad input


def test_non_json_text_arrives_as_string(target: Target, view: StackView, publisher: Publisher) -> None:
    marker = _marker()
    text = f"not json at all {marker} {{ <b>"
    publisher.publish(FEED, text)
    (received,) = _arrives(target, view, marker)
    event = _detail_event(received)
    assert event == text, f"got detail.event {event!r}, expected the text as a string (§3.4 auto-quoting)"


def test_message_of_256_kib_goes_as_far_as_the_queue_sizes_allow(
    target: Target, view: StackView, publisher: Publisher
) -> None:
    """An SNS message at the 256 KiB maximum fits the buffer queue and the bus (1 MB), but the
    delivered envelope (message + ~300 bytes) only fits a purchase queue whose MaximumMessageSize is
    above 256 KiB. With the SQS default (262144) EventBridge cannot deliver it, and the rule DLQ (same
    size) cannot take it either: FailedInvocations and InvocationsFailedToBeSentToDlq count it."""
    marker = _marker()
    stub = json.dumps({"marker": marker, "pad": ""})
    message = json.dumps({"marker": marker, "pad": "x" * (SNS_MAX_BYTES - len(stub))})
    assert len(message.encode()) == SNS_MAX_BYTES, f"got {len(message.encode())} bytes, expected {SNS_MAX_BYTES}"
    since = datetime.now(timezone.utc)
    publisher.publish(FEED, message)
    limit = int(_queue_attr(target, view.purchase_queue_url, "MaximumMessageSize"))
    if limit > SNS_MAX_BYTES + 2048:
        (received,) = _arrives(target, view, marker)
        assert _detail_event(received) == json.loads(message), "got a changed payload, expected it byte-exact"
        return
    dims = {"EventBusName": view.event_bus_name, "RuleName": view.rule_name}
    lost = Metric.of("AWS/Events", "InvocationsFailedToBeSentToDlq", **dims)
    failed = Metric.of("AWS/Events", "FailedInvocations", **dims)
    totals = MetricsReader(target.client("cloudwatch")).wait_for({lost: 1, failed: 1}, since, _timeout(target))
    assert totals[failed] >= 1 and totals[lost] >= 1, (
        f"got FailedInvocations {totals[failed]}, InvocationsFailedToBeSentToDlq {totals[lost]}, expected >= 1 "
        f"each (purchase queue MaximumMessageSize {limit}); whereabouts: {_whereabouts(target, view, marker)}"
    )
    depth = QueueWatcher(target.client("sqs"), view.buffer_queue_urls[FEED]).depth()
    assert depth == 0, f"{FEED} buffer queue: got {depth}, expected 0 (the pipe delivered it to the bus)"


def test_message_over_the_sns_limit_is_refused_at_publish(view: StackView, publisher: Publisher) -> None:
    with pytest.raises(ClientError) as caught:
        publisher.publish(FEED, "x" * (SNS_MAX_BYTES + 1))
    error = caught.value.response["Error"]
    assert error["Code"] in ("InvalidParameter", "InvalidParameterValue"), f"got {error}, expected InvalidParameter"
    assert "too long" in error["Message"].lower(), f"got {error['Message']!r}, expected 'Message too long'"


def test_eleven_attributes_are_dropped_by_raw_delivery(target: Target, view: StackView, publisher: Publisher) -> None:
    """§1.2: raw delivery allows 10 attributes; the 11-attribute message is dropped and counted as
    failed. A sentinel published right after proves the feed kept flowing and nothing came through."""
    since = datetime.now(timezone.utc)
    before = _sns_failed(target, view, FEED, since)
    marker, sentinel = _marker(), _marker()
    attributes = {f"a{i}": {"DataType": "String", "StringValue": str(i)} for i in range(11)}
    publisher.publish(FEED, {"marker": marker}, attributes)
    publisher.publish(FEED, {"marker": sentinel})
    watcher = QueueWatcher(target.client("sqs"), view.purchase_queue_url)
    received = watcher.collect([_has(sentinel)], timeout=_timeout(target), linger=0.5)
    leaked = [r for r in received if marker in r.raw]
    assert not leaked, f"got {len(leaked)} delivery of the 11-attribute message, expected 0"
    topic = view.topic_arns[FEED].rsplit(":", 1)[-1]
    metric = Metric.of("AWS/SNS", "NumberOfNotificationsFailed", TopicName=topic)
    after = MetricsReader(target.client("cloudwatch")).wait_for({metric: before + 1}, since, _timeout(target))
    got = next(iter(after.values()))
    assert got >= before + 1, f"got NumberOfNotificationsFailed {got}, expected >= {before + 1}"
    depth = QueueWatcher(target.client("sqs"), view.buffer_queue_urls[FEED]).depth()
    assert depth == 0, f"{FEED} buffer queue: got {depth}, expected 0 (dropped before SQS)"


def test_unicode_and_emoji_arrive_byte_exact(target: Target, view: StackView, publisher: Publisher) -> None:
    marker = _marker()
    text = "Grüße, 東京, عربى, 🚀 👩‍💻 🇪🇺, e\u0301, \u2028, 𝄞"
    publisher.publish(FEED, json.dumps({"marker": marker, "text": text}, ensure_ascii=False))
    (received,) = _arrives(target, view, marker)
    got = _detail_event(received)["text"]
    assert got.encode("utf-8") == text.encode("utf-8"), f"got {got!r}, expected {text!r} byte-exact"


def test_template_text_in_the_body_arrives_literally(target: Target, view: StackView, publisher: Publisher) -> None:
    marker = _marker()
    event = {"marker": marker, "note": "<$.x> <$.body> <aws.pipes.pipe-arn>", "x": "not substituted"}
    publisher.publish(FEED, event)
    (received,) = _arrives(target, view, marker)
    assert _detail_event(received) == event, f"got {_detail_event(received)!r}, expected {event!r} literally"


def test_json_array_arrives_as_array(target: Target, view: StackView, publisher: Publisher) -> None:
    marker = _marker()
    event = [marker, 1, {"nested": [True, None]}]
    publisher.publish(FEED, event)
    (received,) = _arrives(target, view, marker)
    assert _detail_event(received) == event, f"got {_detail_event(received)!r}, expected {event!r}"


def test_empty_object_arrives(target: Target, view: StackView, publisher: Publisher) -> None:
    """{} carries no marker: a sentinel after it bounds the wait, and {} must arrive before or with it."""
    sentinel = _marker()
    publisher.publish(FEED, {})
    publisher.publish(FEED, {"marker": sentinel})
    watcher = QueueWatcher(target.client("sqs"), view.purchase_queue_url)
    is_empty = lambda body: isinstance(body, dict) and body.get("detail") == {"event": {}}  # noqa: E731
    received = watcher.collect([is_empty, _has(sentinel)], timeout=_timeout(target), linger=0.5)
    assert len(received) == 2, f"got {len(received)} messages, expected 2 (the empty event and the sentinel)"


def _nested(depth: int, marker: str) -> str:
    """A JSON object `depth` levels deep (the outer object is level 1) that carries the marker."""
    return '{"marker":"%s","deep":' % marker + "[" * (depth - 1) + "0" + "]" * (depth - 1) + "}"


def _arrived_or_buffer_dlq(target: Target, view: StackView, marker: str) -> tuple[str, str]:
    """(place, raw body): either the purchase queue or the feed's buffer DLQ holds the one marked
    message; the other place is checked once more so a second copy cannot hide there."""
    deadline = time.monotonic() + _timeout(target)
    places = {"purchase queue": view.purchase_queue_url, "buffer DLQ": view.buffer_dlq_urls[FEED]}
    while time.monotonic() < deadline:
        for place, url in places.items():
            found = _take_raw(target, url, marker, 1.0)
            if found:
                others = [p for p in places if p != place]
                extra = len(found) - 1 + sum(len(_take_raw(target, places[p], marker, 0.5)) for p in others)
                assert extra == 0, f"got {extra} extra copies besides the one in the {place}, expected none"
                return place, found[0]["Body"]
    raise AssertionError(f"{marker}: in neither place after {_timeout(target):.0f} s; "
                         f"whereabouts: {_whereabouts(target, view, marker)}")


def test_json_nested_beyond_1000_levels_is_accounted_for(target: Target, view: StackView, publisher: Publisher) -> None:
    """§4.2: EventBridge processes nested JSON to 1000 levels; the body is 1000 deep, so the detail
    {"event": body} is 1001. Either it arrives intact or the pipe fails the entry (a customer error:
    buffer DLQ after maxReceiveCount) and its log says why. Bodies are compared as text: parsing them
    here would hit Python's own recursion limit."""
    marker = _marker()
    body = _nested(1000, marker)
    since_ms = _now_ms()
    with _fast_redrive(target, view, FEED):
        publisher.publish(FEED, body)
        place, raw = _arrived_or_buffer_dlq(target, view, marker)
    print(f"nested 1000: ended in the {place}")
    if place == "purchase queue":
        assert body in raw.replace(" ", ""), "got a changed payload in the purchase queue, expected it intact"
        return
    assert raw == body, "got a changed body in the DLQ, expected the published one"
    reasons = _pipe_errors_since(target, view, FEED, since_ms)
    assert reasons, f"got no failure record in {view.pipe_log_group_names[FEED]}, expected the reason for the DLQ"


def test_json_nested_exactly_1000_levels_in_detail_arrives(
    target: Target, view: StackView, publisher: Publisher
) -> None:
    """The body 999 deep makes the detail exactly 1000 levels: within the limit, so it arrives intact."""
    marker = _marker()
    body = _nested(999, marker)
    with _fast_redrive(target, view, FEED):  # if the pipe fails it, it surfaces in seconds, not minutes
        publisher.publish(FEED, body)
        place, raw = _arrived_or_buffer_dlq(target, view, marker)
    assert place == "purchase queue", f"got the 1000-level event in the {place}, expected the purchase queue"
    assert body in raw.replace(" ", ""), "got a changed payload, expected it intact"


def test_integer_beyond_64_bits_fails_to_the_buffer_dlq(target: Target, view: StackView, publisher: Publisher) -> None:
    """§4.2: integers must fit a signed 64-bit range; 2**70 makes PutEvents fail the entry, a customer
    error, so the message reaches the buffer DLQ after maxReceiveCount. 2**63-1 in the same feed
    arrives with its digits intact."""
    marker, fits = _marker(), _marker()
    since_ms = _now_ms()
    with _fast_redrive(target, view, FEED):
        publisher.publish(FEED, '{"marker":"%s","n":%d}' % (marker, 2**70))
        publisher.publish(FEED, '{"marker":"%s","n":%d}' % (fits, 2**63 - 1))
        (ok,) = _arrives(target, view, fits)
        assert f'"n":{2**63 - 1}' in ok.raw.replace(" ", ""), f"got {ok.raw[-80:]!r}, expected n = 2**63-1 exactly"
        place, raw = _arrived_or_buffer_dlq(target, view, marker)
    assert place == "buffer DLQ", (
        f"got the 2**70 event in the {place} ({raw[-60:]!r}), expected the buffer DLQ (§4.2 64-bit integers)"
    )
    reasons = _pipe_errors_since(target, view, FEED, since_ms)
    assert reasons, "got no failure record in the pipe log, expected the reason"


def _strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_float_beyond_double_range_never_arrives_as_invalid_json(
    target: Target, view: StackView, publisher: Publisher
) -> None:
    """1e400 is valid JSON but beyond a double. AWS behaviour is UNCONFIRMED: it may arrive (as a JSON
    number) or fail the entry (buffer DLQ). What must never happen: a body that is not JSON (Infinity)."""
    marker = _marker()
    with _fast_redrive(target, view, FEED):
        publisher.publish(FEED, '{"marker":"%s","n":1e400}' % marker)
        place, raw = _arrived_or_buffer_dlq(target, view, marker)
    print(f"1e400: ended in the {place}")
    if place == "purchase queue":
        try:
            _strict_json(raw)
        except ValueError as error:
            raise AssertionError(f"got {raw[-60:]!r} ({error}), expected valid JSON with a number") from None


def test_localcloud_still_healthy_after_bad_input(target: Target) -> None:
    if not target.is_local:
        pytest.skip("the health endpoint is localcloud's")
    answer = health(target.endpoint_url or "", timeout=2.0)
    assert answer and answer.get("status") == "ready", f"got {answer}, expected status ready"


# ------------------------------------------------------------------------------------------- faults


def test_stopped_pipe_holds_the_backlog_and_drains_on_start(
    target: Target, view: StackView, publisher: Publisher
) -> None:
    pipes, sqs = target.client("pipes"), target.client("sqs")
    name, buffer_url = view.pipe_names[FEED], view.buffer_queue_urls[FEED]
    state = lambda: pipes.describe_pipe(Name=name)["CurrentState"]  # noqa: E731
    pipes.stop_pipe(Name=name)
    try:
        _wait_until(f"pipe {name} STOPPED", lambda: state() == "STOPPED", _timeout(target))
        events = [planted(FEED) for _ in range(5)]
        for event in events:
            publisher.publish(FEED, event)
        _wait_until(f"{_url_name(buffer_url)} holds 5",
                    lambda: _queue_attr(target, buffer_url, "ApproximateNumberOfMessages") == "5", _timeout(target))
        early = sqs.receive_message(QueueUrl=view.purchase_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                    VisibilityTimeout=0).get("Messages", [])
        assert not early, f"got {len(early)} message(s) in the purchase queue while stopped, expected 0"
    finally:
        pipes.start_pipe(Name=name)
    _wait_until(f"pipe {name} RUNNING", lambda: state() == "RUNNING", _timeout(target))
    watcher = QueueWatcher(sqs, view.purchase_queue_url)
    received = watcher.collect([_event_id(e["event_id"]) for e in events], timeout=_timeout(target), linger=0.5)
    assert len(received) == 5, f"got {len(received)} deliveries, expected 5 (backlog, once each)"
    depth = QueueWatcher(sqs, buffer_url).depth()
    assert depth == 0, f"{_url_name(buffer_url)}: got {depth}, expected 0 after the drain"


def _without_put_events(document: str) -> str:
    policy = json.loads(document)
    statements = [s for s in policy["Statement"] if "events:PutEvents" not in json.dumps(s.get("Action"))]
    assert len(statements) < len(policy["Statement"]), "got no events:PutEvents statement to revoke, expected one"
    return json.dumps(dict(policy, Statement=statements))


def test_revoked_pipe_permission_sends_to_dlq_and_redrive_delivers(
    target: Target, view: StackView, publisher: Publisher
) -> None:
    iam, sqs, pipes = target.client("iam"), target.client("sqs"), target.client("pipes")
    role = view.pipe_role_arns[FEED].rsplit("/", 1)[-1]
    (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    original = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    original_text = original if isinstance(original, str) else json.dumps(original)
    blocked = [planted(FEED) for _ in range(3)]
    dlq = QueueWatcher(sqs, view.buffer_dlq_urls[FEED])
    with _fast_redrive(target, view, FEED):
        iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=_without_put_events(original_text))
        try:
            for event in blocked:
                publisher.publish(FEED, event)
            dead = dlq.collect([_event_id_raw(e["event_id"]) for e in blocked], timeout=_timeout(target), delete=False)
            counts = [int(m.attributes.get("ApproximateReceiveCount", 0)) for m in dead]
            if target.is_local:  # moto keeps the count through redrive (+1 for this receive)
                assert min(counts) > MAX_RECEIVE_COUNT, f"got receive counts {counts}, expected > {MAX_RECEIVE_COUNT}"
            reason = pipes.describe_pipe(Name=view.pipe_names[FEED]).get("StateReason", "")
            print(f"revoked PutEvents: {len(dead)} in {dlq.name}; StateReason {reason[:120]!r}")
            assert "PutEvents" in reason, f"got StateReason {reason!r}, expected it to name events:PutEvents"
        finally:
            iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=original_text)
    # Restored: new messages flow.
    fresh = [planted(FEED) for _ in range(2)]
    for event in fresh:
        publisher.publish(FEED, event)
    watcher = QueueWatcher(sqs, view.purchase_queue_url)
    got = watcher.collect([_event_id(e["event_id"]) for e in fresh], timeout=_timeout(target), linger=0.5)
    assert len(got) == 2, f"got {len(got)} new deliveries after restore, expected 2"
    # Redrive: the DLQ's messages back to the buffer queue, then all three are delivered.
    for message in dead:
        sqs.send_message(QueueUrl=view.buffer_queue_urls[FEED], MessageBody=message.raw)
        sqs.delete_message(QueueUrl=view.buffer_dlq_urls[FEED], ReceiptHandle=message.receipt_handle)
    got = watcher.collect([_event_id(e["event_id"]) for e in blocked], timeout=_timeout(target), linger=0.5)
    assert len(got) == 3, f"got {len(got)} redriven deliveries, expected 3"
    assert dlq.depth() == 0, f"{dlq.name}: got {dlq.depth()}, expected 0 after the redrive"


def _event_id_raw(event_id: str) -> Callable[[Any], bool]:
    """Match a raw published event (a buffer-DLQ body) by its event_id."""
    return lambda body: isinstance(body, dict) and body.get("event_id") == event_id


def test_revoked_purchase_queue_policy_sends_to_rule_dlq_and_alarms(
    target: Target, view: StackView, publisher: Publisher
) -> None:
    sqs, cloudwatch = target.client("sqs"), target.client("cloudwatch")
    original = _queue_attr(target, view.purchase_queue_url, "Policy")
    policy = json.loads(original)
    denied = dict(policy, Statement=[s for s in policy["Statement"] if s.get("Effect") != "Allow"])
    alarm = f"{_url_name(view.purchase_dlq_url)}-not-empty"
    event = planted(FEED)
    sqs.set_queue_attributes(QueueUrl=view.purchase_queue_url, Attributes={"Policy": json.dumps(denied)})
    try:
        publisher.publish(FEED, event)
        (dead,) = QueueWatcher(sqs, view.purchase_dlq_url).collect([_event_id(event["event_id"])],
                                                                    timeout=_timeout(target), delete=False)
        # Visible again at once: the alarm watches ApproximateNumberOfMessagesVisible.
        sqs.change_message_visibility(QueueUrl=view.purchase_dlq_url, ReceiptHandle=dead.receipt_handle,
                                      VisibilityTimeout=0)
        attrs = {k: v.get("StringValue") for k, v in dead.message_attributes.items()}
        for key in ("RULE_ARN", "TARGET_ARN", "ERROR_CODE", "ERROR_MESSAGE"):
            assert attrs.get(key), f"got DLQ attributes {sorted(attrs)}, expected {key}"
        assert attrs["RULE_ARN"] == view.rule_arn, f"got RULE_ARN {attrs['RULE_ARN']}, expected {view.rule_arn}"
        print(f"purchase policy revoked: event in {_url_name(view.purchase_dlq_url)}, ERROR_CODE {attrs['ERROR_CODE']}")
        _wait_until(
            f"alarm {alarm} ALARM",
            lambda: cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"] == "ALARM",
            _timeout(target) * (1 if target.is_local else 3),
        )
    finally:
        sqs.set_queue_attributes(QueueUrl=view.purchase_queue_url, Attributes={"Policy": original})
    cleaned = _take_raw(target, view.purchase_dlq_url, event["event_id"], _timeout(target))
    assert len(cleaned) == 1, f"got {len(cleaned)} copies in the rule DLQ, expected 1"
    restored = _queue_attr(target, view.purchase_queue_url, "Policy")
    assert json.loads(restored) == policy, "got a different purchase queue policy after restore, expected the original"


def test_wrong_source_arn_on_buffer_queue_counts_sns_failures(
    target: Target, view: StackView, publisher: Publisher
) -> None:
    sqs = target.client("sqs")
    url = view.buffer_queue_urls[FEED]
    original = _queue_attr(target, url, "Policy")
    topic = view.topic_arns[FEED]
    wrong = original.replace(topic, topic + "-not-this-one")
    assert wrong != original, f"got no {topic} in the buffer queue policy, expected an aws:SourceArn on it"
    since = datetime.now(timezone.utc)
    before = _sns_failed(target, view, FEED, since)
    event = planted(FEED)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": wrong})
    try:
        publisher.publish(FEED, event)
        topic_name = topic.rsplit(":", 1)[-1]
        metric = Metric.of("AWS/SNS", "NumberOfNotificationsFailed", TopicName=topic_name)
        after = MetricsReader(target.client("cloudwatch")).wait_for({metric: before + 1}, since, _timeout(target))
        assert after[metric] >= before + 1, f"got NumberOfNotificationsFailed {after[metric]}, expected >= {before + 1}"
        depth = QueueWatcher(sqs, url).depth()
        assert depth == 0, f"{_url_name(url)}: got {depth}, expected 0 (SNS dropped the notification)"
    finally:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": original})
    print(f"wrong SourceArn: event {event['event_id']} dropped by SNS, NumberOfNotificationsFailed +1")


# ----------------------------------------------------------------------------------------- security


def _queue_urls(view: StackView) -> list[str]:
    return [*view.buffer_queue_urls.values(), *view.buffer_dlq_urls.values(),
            view.purchase_queue_url, view.purchase_dlq_url]


def _statements(document: str | dict[str, Any]) -> list[dict[str, Any]]:
    policy = json.loads(document) if isinstance(document, str) else document
    statements = policy.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _all_policies(target: Target, view: StackView) -> dict[str, list[dict[str, Any]]]:
    """label -> statements: every queue policy and every pipe role's trust and inline policies."""
    found: dict[str, list[dict[str, Any]]] = {}
    for url in _queue_urls(view):
        text = _queue_attr(target, url, "Policy")
        found[f"queue policy of {_url_name(url)}"] = _statements(text) if text else []
    iam = target.client("iam")
    for role_arn in view.pipe_role_arns.values():
        role = role_arn.rsplit("/", 1)[-1]
        found[f"trust policy of {role}"] = _statements(iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"])
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            found[f"policy {name} of {role}"] = _statements(document)
    return found


def _principal_values(statement: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(wildcard principals, service principals) of a statement."""
    principal = statement.get("Principal")
    if principal is None:
        return [], []
    if principal == "*":
        return ["*"], []
    wildcards, services = [], []
    for kind, values in principal.items():
        for value in values if isinstance(values, list) else [values]:
            if value == "*":
                wildcards.append(f"{kind}:*")
            if kind == "Service":
                services.append(value)
    return wildcards, services


def _condition_keys(statement: dict[str, Any]) -> set[str]:
    return {key.lower() for block in (statement.get("Condition") or {}).values() for key in block}


def test_no_wildcard_principal_without_condition(target: Target, view: StackView) -> None:
    offenders = [
        f"{label} statement {s.get('Sid', '?')}"
        for label, statements in _all_policies(target, view).items()
        for s in statements
        if _principal_values(s)[0] and not s.get("Condition")
    ]
    assert not offenders, f"got wildcard principals without a condition in {offenders}, expected none"


def test_every_service_principal_grant_carries_source_arn(target: Target, view: StackView) -> None:
    offenders = [
        f"{label} statement {s.get('Sid', '?')} ({', '.join(_principal_values(s)[1])})"
        for label, statements in _all_policies(target, view).items()
        for s in statements
        if s.get("Effect") == "Allow" and _principal_values(s)[1] and "aws:sourcearn" not in _condition_keys(s)
    ]
    assert not offenders, f"got service grants without aws:SourceArn in {offenders}, expected none"


def test_every_queue_has_sse(target: Target, view: StackView) -> None:
    missing = [_url_name(u) for u in _queue_urls(view) if _queue_attr(target, u, "SqsManagedSseEnabled") != "true"]
    assert not missing, f"got SqsManagedSseEnabled != true on {missing}, expected SSE-SQS on every queue"


def test_queue_policies_deny_plain_http_but_admit_the_services(target: Target, view: StackView) -> None:
    from localcloud.policy import PolicySource, Request, evaluate

    account = view.account_id
    user = f"arn:aws:iam::{account}:user/someone"
    grants: dict[str, tuple[str, str] | None] = {url: None for url in view.buffer_dlq_urls.values()}
    for feed in view.feeds:
        grants[view.buffer_queue_urls[feed]] = ("sns.amazonaws.com", view.topic_arns[feed])
    grants[view.purchase_queue_url] = ("events.amazonaws.com", view.rule_arn)
    grants[view.purchase_dlq_url] = ("events.amazonaws.com", view.rule_arn)
    problems = []
    for url, grant in grants.items():
        name = _url_name(url)
        arn = _queue_attr(target, url, "QueueArn")
        source = [PolicySource(f"the queue policy of {name}", _queue_attr(target, url, "Policy"))]
        insecure = evaluate(source, Request(user, "sqs:ReceiveMessage", arn, {"aws:SecureTransport": "false"}))
        if insecure.allowed or "explicit Deny" not in insecure.reason:
            problems.append(f"{name}: plain HTTP got {insecure.reason!r}, expected an explicit Deny")
        if grant is None:
            continue
        service, source_arn = grant
        context = {"aws:SecureTransport": "true", "aws:SourceArn": source_arn, "aws:SourceAccount": account}
        over_tls = evaluate(source, Request(service, "sqs:SendMessage", arn, context))
        if not over_tls.allowed:
            problems.append(f"{name}: {service} over TLS got {over_tls.reason!r}, expected allowed")
        context["aws:SecureTransport"] = "false"
        plain = evaluate(source, Request(service, "sqs:SendMessage", arn, context))
        if plain.allowed:
            problems.append(f"{name}: {service} over plain HTTP got allowed, expected denied")
    assert not problems, "; ".join(problems)


def test_localcloud_binds_loopback_by_default(target: Target) -> None:
    """Settings default, and a server started without --host: its listening socket is 127.0.0.1."""
    from localcloud.config import Settings

    assert Settings().host == "127.0.0.1", f"got Settings().host {Settings().host!r}, expected 127.0.0.1"
    assert Settings.from_env({}).host == "127.0.0.1", "got a non-loopback host from an empty environment"
    import psutil

    process = subprocess.Popen([sys.executable, "-m", "localcloud", "serve", "--port", "0"], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                               env={k: v for k, v in os.environ.items() if not k.startswith("LOCALCLOUD_")})
    try:
        def listening() -> list[str]:
            try:
                return [c.laddr.ip for c in psutil.Process(process.pid).net_connections(kind="inet")
                        if c.status == psutil.CONN_LISTEN]
            except psutil.Error:
                return []
        addresses = _wait_until("localcloud listening", listening, 15.0, every=0.05)
    finally:
        process.terminate()
        process.wait(10)
    assert addresses == ["127.0.0.1"], f"got listening addresses {addresses}, expected ['127.0.0.1']"


# ------------------------------------------------------------------------------------------- the end


def test_everything_restored_plan_shows_no_changes(target: Target, view: StackView, deployment: Deployment) -> None:
    for url in [*view.buffer_dlq_urls.values(), view.purchase_dlq_url]:
        depth = QueueWatcher(target.client("sqs"), url).depth()
        assert depth == 0, f"{_url_name(url)}: got {depth} message(s), expected 0 after the faults were undone"
    changed, text = deployment.stack.plan_changes()
    lines = [line for line in text.splitlines() if re.match(r"^\s*[~+-] ", line)][:20]
    assert not changed, "got plan changes after the reliability cases, expected none:\n" + "\n".join(lines)
