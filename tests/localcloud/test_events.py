"""EventBridge fidelity against the running server: envelope (§4.1), PutEvents (§4.2), rule -> SQS
permissions and DLQ (§4.4, §4.5), target input (§4.6), metrics (§4.7)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENVELOPE_KEYS = ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
DLQ_ATTRIBUTES = {"RULE_ARN", "TARGET_ARN", "ERROR_CODE", "ERROR_MESSAGE", "RETRY_ATTEMPTS"}
Aws = Callable[[str], Any]


# ------------------------------------------------------------------------------------------- helpers


def queue(aws: Aws, name: str, policy: dict[str, Any] | None = None) -> tuple[str, str]:
    attributes = {"Policy": json.dumps(policy)} if policy else {}
    url = aws("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def set_policy(aws: Aws, url: str, policy: dict[str, Any]) -> None:
    aws("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})


def events_policy(queue_arn: str, source_arn: str, *extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowRule",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
            },
            *extra,
        ],
    }


def rule_arn(bus: str, rule: str) -> str:
    return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus}/{rule}"


def bus_and_rule(aws: Aws, name: str, pattern: dict[str, Any] | None = None) -> tuple[str, str, str]:
    """A custom bus and a rule on source `<name>.app`; returns (bus, rule, rule ARN)."""
    bus, rule = f"{name}-bus", f"{name}-rule"
    aws("events").create_event_bus(Name=bus)
    arn = aws("events").put_rule(
        Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern or {"source": [f"{name}.app"]})
    )["RuleArn"]
    return bus, rule, arn


def add_target(aws: Aws, bus: str, rule: str, target: dict[str, Any]) -> None:
    answer = aws("events").put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "t1", **target}])
    assert answer["FailedEntryCount"] == 0, f"got {answer}, expected no failed targets"


def put(aws: Aws, bus: str, source: str, detail: Any, **extra: Any) -> dict[str, Any]:
    entry = {"Source": source, "DetailType": "OrderPlaced", "Detail": json.dumps(detail), "EventBusName": bus, **extra}
    answer = aws("events").put_events(Entries=[entry])
    assert answer["FailedEntryCount"] == 0, f"got {answer['Entries']}, expected the entry accepted"
    return answer["Entries"][0]


def receive(aws: Aws, url: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Poll until `count` messages arrived or the deadline passed (then return what arrived)."""
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        answer = aws("sqs").receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
        )
        found.extend(answer.get("Messages", []))
    return found


def assert_empty(aws: Aws, url: str) -> None:
    answer = aws("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    bodies = [m["Body"] for m in answer.get("Messages", [])]
    assert bodies == [], f"got {bodies}, expected no message"


def metric(aws: Aws, name: str, dimensions: dict[str, str], at_least: float = 1.0, timeout: float = 3.0,
           namespace: str = "AWS/Events") -> float:
    """Sum of `name` over the last 10 minutes; polls until it reaches `at_least` or the deadline."""
    now = datetime.now(timezone.utc)
    total = 0.0
    deadline = time.monotonic() + timeout
    while True:
        answer = aws("cloudwatch").get_metric_statistics(
            Namespace=namespace, MetricName=name,
            Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
            StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=2),
            Period=60, Statistics=["Sum"],
        )
        total = sum(point["Sum"] for point in answer["Datapoints"])
        if total >= at_least or time.monotonic() > deadline:
            return total


def attributes_of(message: dict[str, Any]) -> dict[str, str]:
    return {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}


# ------------------------------------------------------------------------------------------ envelope


def test_delivered_event_has_the_nine_envelope_fields_in_aws_order(aws: Aws, name: str) -> None:
    bus, rule, arn = bus_and_rule(aws, name)
    url, qarn = queue(aws, f"{name}-target")
    set_policy(aws, url, events_policy(qarn, arn))
    add_target(aws, bus, rule, {"Arn": qarn})
    detail = {"event": {"orderId": "o-1", "amount": 42}}
    resources = [f"arn:aws:sqs:{REGION}:{ACCOUNT}:somewhere"]
    entry = put(aws, bus, f"{name}.app", detail, Resources=resources)

    messages = receive(aws, url)
    assert len(messages) == 1, f"got {len(messages)} messages, expected 1"
    body = messages[0]["Body"]
    event = json.loads(body)
    assert list(event) == ENVELOPE_KEYS, f"got keys {list(event)}, expected {ENVELOPE_KEYS}"
    assert event["version"] == "0", f"got version {event['version']!r}, expected '0'"
    assert event["id"] == entry["EventId"], f"got id {event['id']}, expected the PutEvents EventId {entry['EventId']}"
    assert uuid.UUID(event["id"]).version == 4, f"got id {event['id']}, expected a v4 UUID"
    assert event["account"] == ACCOUNT, f"got account {event['account']!r}, expected {ACCOUNT}"
    assert event["region"] == REGION, f"got region {event['region']!r}, expected {REGION}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"]), (
        f"got time {event['time']!r}, expected YYYY-MM-DDTHH:MM:SSZ"
    )
    sent = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    skew = abs((datetime.now(timezone.utc) - sent).total_seconds())
    assert skew < 10, f"got time {event['time']}, expected about now ({skew:.0f} s off)"
    assert event["source"] == f"{name}.app" and event["detail-type"] == "OrderPlaced", (
        f"got {event}, expected source/detail-type as put"
    )
    assert event["resources"] == resources, f"got resources {event['resources']}, expected {resources}"
    assert event["detail"] == detail, f"got detail {event['detail']}, expected {detail}"
    assert body == json.dumps(event, separators=(",", ":")), f"got body {body!r}, expected compact JSON"


def test_entry_time_is_kept_at_second_precision(aws: Aws, name: str) -> None:
    bus, rule, arn = bus_and_rule(aws, name)
    url, qarn = queue(aws, f"{name}-target")
    set_policy(aws, url, events_policy(qarn, arn))
    add_target(aws, bus, rule, {"Arn": qarn})
    put(aws, bus, f"{name}.app", {"a": 1}, Time=datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc))
    messages = receive(aws, url)
    assert messages, "got no message, expected the event"
    got = json.loads(messages[0]["Body"])["time"]
    assert got == "2024-01-02T03:04:05Z", f"got time {got!r}, expected '2024-01-02T03:04:05Z'"


# ----------------------------------------------------------------------------------------- PutEvents


def test_put_events_reports_entry_errors_index_aligned(aws: Aws, name: str) -> None:
    bus, _, _ = bus_and_rule(aws, name)
    good = {"Source": f"{name}.app", "DetailType": "T", "Detail": "{}", "EventBusName": bus}
    entries = [
        good,
        {"DetailType": "T", "Detail": "{}", "EventBusName": bus},
        {"Source": f"{name}.app", "Detail": "{}", "EventBusName": bus},
        {"Source": f"{name}.app", "DetailType": "T", "EventBusName": bus},
        {**good, "Detail": "{not json"},
        {**good, "Detail": '"just a string"'},
        {**good, "Source": "aws.ec2"},
        good,
    ]
    answer = aws("events").put_events(Entries=entries)
    codes = [entry.get("ErrorCode") for entry in answer["Entries"]]
    expected = [None, "InvalidArgument", "InvalidArgument", "InvalidArgument", "MalformedDetail",
                "MalformedDetail", "NotAuthorizedForSourceException", None]
    assert codes == expected, f"got {codes}, expected {expected}"
    assert answer["FailedEntryCount"] == 6, f"got FailedEntryCount {answer['FailedEntryCount']}, expected 6"
    assert "EventId" in answer["Entries"][0] and "EventId" in answer["Entries"][7], (
        f"got {answer['Entries']}, expected EventIds for good entries"
    )
    assert all(e.get("ErrorMessage") for e in answer["Entries"][1:7]), (
        f"got {answer['Entries']}, expected messages on failures"
    )


def test_put_events_refuses_more_than_ten_entries(aws: Aws, name: str) -> None:
    entry = {"Source": f"{name}.app", "DetailType": "T", "Detail": "{}"}
    with pytest.raises(ClientError) as error:
        aws("events").put_events(Entries=[entry] * 11)
    code = error.value.response["Error"]["Code"]
    assert code == "ValidationException", f"got {code}, expected ValidationException"


def test_put_events_refuses_a_request_over_one_megabyte(aws: Aws, name: str) -> None:
    detail = json.dumps({"blob": "x" * (1024 * 1024)})
    with pytest.raises(ClientError) as error:
        aws("events").put_events(Entries=[{"Source": f"{name}.app", "DetailType": "T", "Detail": detail}])
    code = error.value.response["Error"]["Code"]
    assert code == "ValidationException", f"got {code}, expected ValidationException"


def test_put_events_to_a_missing_bus_is_accepted_and_dropped(aws: Aws, name: str) -> None:
    # AWS answers success for a bus that does not exist (aws-cli#9186).
    answer = aws("events").put_events(
        Entries=[{"Source": f"{name}.app", "DetailType": "T", "Detail": "{}", "EventBusName": f"{name}-nobus"}]
    )
    assert answer["FailedEntryCount"] == 0 and "EventId" in answer["Entries"][0], (
        f"got {answer['Entries']}, expected an EventId"
    )


def test_put_events_metrics(aws: Aws, name: str) -> None:
    before = metric(aws, "PutEventsEntriesCount", {}, at_least=0, timeout=0)
    bus, _, _ = bus_and_rule(aws, name)
    good = {"Source": f"{name}.app", "DetailType": "T", "Detail": "{}", "EventBusName": bus}
    aws("events").put_events(Entries=[good, {**good, "Detail": "nope"}])
    after = metric(aws, "PutEventsEntriesCount", {}, at_least=before + 2)
    assert after - before >= 2, f"got PutEventsEntriesCount +{after - before}, expected +2"
    failed = metric(aws, "PutEventsFailedEntriesCount", {})
    assert failed >= 1, f"got PutEventsFailedEntriesCount {failed}, expected >= 1"


# --------------------------------------------------------------------------------- rule -> SQS access


def test_allowed_delivery_emits_success_metrics(aws: Aws, name: str) -> None:
    bus, rule, arn = bus_and_rule(aws, name)
    url, qarn = queue(aws, f"{name}-target")
    set_policy(aws, url, events_policy(qarn, arn))
    add_target(aws, bus, rule, {"Arn": qarn})
    put(aws, bus, f"{name}.app", {"a": 1})
    assert len(receive(aws, url)) == 1, "got no message, expected the event delivered"
    dims = {"EventBusName": bus, "RuleName": rule}
    success_metrics = (
        "MatchedEvents", "TriggeredRules", "Invocations", "SuccessfulInvocationAttempts", "InvocationAttempts"
    )
    for metric_name in success_metrics:
        got = metric(aws, metric_name, dims)
        assert got == 1, f"got {metric_name} {got}, expected 1 with {dims}"
    got = metric(aws, "Invocations", {"RuleName": rule})
    assert got == 1, f"got Invocations {got} with RuleName only, expected 1"
    got = metric(aws, "FailedInvocations", dims, timeout=0)
    assert got == 0, f"got FailedInvocations {got}, expected 0"


def test_event_that_does_not_match_is_not_delivered(aws: Aws, name: str) -> None:
    bus, rule, arn = bus_and_rule(aws, name)
    url, qarn = queue(aws, f"{name}-target")
    set_policy(aws, url, events_policy(qarn, arn))
    add_target(aws, bus, rule, {"Arn": qarn})
    put(aws, bus, f"{name}.other", {"a": 1})
    assert_empty(aws, url)
    got = metric(aws, "MatchedEvents", {"EventBusName": bus, "RuleName": rule}, timeout=0)
    assert got == 0, f"got MatchedEvents {got}, expected 0"


def _deny_case(aws: Aws, name: str, target_policy: Callable[[str, str, str], dict[str, Any] | None]) -> dict[str, Any]:
    """Rule -> target whose policy is `target_policy(queue_arn, rule_arn, rule)`; DLQ allowed.
    Asserts the permanent-failure path and returns the DLQ message."""
    bus, rule, arn = bus_and_rule(aws, name)
    url, qarn = queue(aws, f"{name}-target")
    policy = target_policy(qarn, arn, rule)
    if policy:
        set_policy(aws, url, policy)
    dlq_url, dlq_arn = queue(aws, f"{name}-dlq")
    set_policy(aws, dlq_url, events_policy(dlq_arn, arn))
    add_target(aws, bus, rule, {"Arn": qarn, "DeadLetterConfig": {"Arn": dlq_arn}})
    entry = put(aws, bus, f"{name}.app", {"orderId": "o-1"})

    assert_empty(aws, url)
    dead = receive(aws, dlq_url)
    assert len(dead) == 1, f"got {len(dead)} DLQ messages, expected 1"
    event = json.loads(dead[0]["Body"])
    assert event["id"] == entry["EventId"] and list(event) == ENVELOPE_KEYS, (
        f"got DLQ body {event}, expected the original event"
    )
    attributes = attributes_of(dead[0])
    assert DLQ_ATTRIBUTES <= set(attributes), f"got attributes {sorted(attributes)}, expected {sorted(DLQ_ATTRIBUTES)}"
    assert attributes["RULE_ARN"] == arn, f"got RULE_ARN {attributes['RULE_ARN']}, expected {arn}"
    assert attributes["TARGET_ARN"] == qarn, f"got TARGET_ARN {attributes['TARGET_ARN']}, expected {qarn}"
    assert attributes["ERROR_CODE"] and attributes["ERROR_MESSAGE"], (
        f"got {attributes}, expected an error code and message"
    )
    assert attributes["RETRY_ATTEMPTS"] == "0", (
        f"got RETRY_ATTEMPTS {attributes['RETRY_ATTEMPTS']}, expected '0' (no retry)"
    )

    dims = {"EventBusName": bus, "RuleName": rule}
    for metric_name in ("FailedInvocations", "InvocationsSentToDlq", "Invocations"):
        got = metric(aws, metric_name, dims)
        assert got == 1, f"got {metric_name} {got}, expected 1 with {dims}"
    got = metric(aws, "FailedInvocations", {"RuleName": rule})
    assert got == 1, f"got FailedInvocations {got} with RuleName only, expected 1"
    got = metric(aws, "SuccessfulInvocationAttempts", dims, timeout=0)
    assert got == 0, f"got SuccessfulInvocationAttempts {got}, expected 0"
    return dead[0]


def test_missing_queue_policy_sends_the_event_to_the_dlq(aws: Aws, name: str) -> None:
    message = _deny_case(aws, name, lambda qarn, arn, rule: None)
    code = attributes_of(message)["ERROR_CODE"]
    assert code == "NO_PERMISSIONS", f"got ERROR_CODE {code}, expected NO_PERMISSIONS"


def test_default_bus_rule_arn_in_policy_does_not_allow_a_custom_bus_rule(aws: Aws, name: str) -> None:
    # §7.10: `rule/<rule>` (default-bus form) never matches a custom-bus rule `rule/<bus>/<rule>`.
    _deny_case(aws, name, lambda qarn, arn, rule: events_policy(qarn, f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"))


def test_explicit_deny_beats_the_allow(aws: Aws, name: str) -> None:
    deny = {"Sid": "DenyAll", "Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}
    _deny_case(aws, name, lambda qarn, arn, rule: events_policy(qarn, arn, deny))


def test_missing_target_queue_is_a_delivery_failure_not_a_put_events_error(aws: Aws, name: str) -> None:
    bus, rule, arn = bus_and_rule(aws, name)
    url, qarn = queue(aws, f"{name}-target")
    dlq_url, dlq_arn = queue(aws, f"{name}-dlq")
    set_policy(aws, dlq_url, events_policy(dlq_arn, arn))
    add_target(aws, bus, rule, {"Arn": qarn, "DeadLetterConfig": {"Arn": dlq_arn}})
    aws("sqs").delete_queue(QueueUrl=url)
    put(aws, bus, f"{name}.app", {"a": 1})
    dead = receive(aws, dlq_url)
    assert len(dead) == 1, f"got {len(dead)} DLQ messages, expected 1"
    code = attributes_of(dead[0])["ERROR_CODE"]
    assert code == "NO_RESOURCE", f"got ERROR_CODE {code}, expected NO_RESOURCE"


def test_dlq_without_its_own_policy_loses_the_event(aws: Aws, name: str) -> None:
    bus, rule, arn = bus_and_rule(aws, name)
    url, qarn = queue(aws, f"{name}-target")
    dlq_url, dlq_arn = queue(aws, f"{name}-dlq")
    add_target(aws, bus, rule, {"Arn": qarn, "DeadLetterConfig": {"Arn": dlq_arn}})
    put(aws, bus, f"{name}.app", {"a": 1})
    assert_empty(aws, url)
    assert_empty(aws, dlq_url)
    dims = {"EventBusName": bus, "RuleName": rule}
    got = metric(aws, "InvocationsFailedToBeSentToDlq", dims)
    assert got == 1, f"got InvocationsFailedToBeSentToDlq {got}, expected 1"
    got = metric(aws, "InvocationsSentToDlq", dims, timeout=0)
    assert got == 0, f"got InvocationsSentToDlq {got}, expected 0"


def test_target_role_with_send_permission_delivers_without_queue_policy(aws: Aws, name: str) -> None:
    bus, rule, arn = bus_and_rule(aws, name)
    url, qarn = queue(aws, f"{name}-target")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = aws("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": qarn}]}
    aws("iam").put_role_policy(RoleName=f"{name}-role", PolicyName="send", PolicyDocument=json.dumps(allow))
    add_target(aws, bus, rule, {"Arn": qarn, "RoleArn": role})
    put(aws, bus, f"{name}.app", {"a": 1})
    assert len(receive(aws, url)) == 1, "got no message, expected delivery through the target role"


def test_target_role_without_permission_fails(aws: Aws, name: str) -> None:
    bus, rule, arn = bus_and_rule(aws, name)
    url, qarn = queue(aws, f"{name}-target")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = aws("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    add_target(aws, bus, rule, {"Arn": qarn, "RoleArn": role})
    put(aws, bus, f"{name}.app", {"a": 1})
    assert_empty(aws, url)
    got = metric(aws, "FailedInvocations", {"EventBusName": bus, "RuleName": rule})
    assert got == 1, f"got FailedInvocations {got}, expected 1"


# -------------------------------------------------------------------------------------- target input


def _deliver_with(aws: Aws, name: str, target_extra: dict[str, Any], detail: dict[str, Any]) -> tuple[str, str]:
    bus, rule, arn = bus_and_rule(aws, name)
    url, qarn = queue(aws, f"{name}-target")
    set_policy(aws, url, events_policy(qarn, arn))
    add_target(aws, bus, rule, {"Arn": qarn, **target_extra})
    put(aws, bus, f"{name}.app", detail)
    messages = receive(aws, url)
    assert len(messages) == 1, f"got {len(messages)} messages, expected 1"
    return messages[0]["Body"], arn


def test_input_transformer_quotes_unquoted_string_placeholders(aws: Aws, name: str) -> None:
    transformer = {
        "InputPathsMap": {
            "id": "$.detail.orderId", "amount": "$.detail.amount", "item": "$.detail.item", "src": "$.source"
        },
        "InputTemplate": '{"order": <id>, "amount": <amount>, "item": <item>, "text": "order <id> from <src>"}',
    }
    body, _ = _deliver_with(aws, name, {"InputTransformer": transformer},
                            {"orderId": "o-1", "amount": 42, "item": {"sku": "s"}})
    expected = {"order": "o-1", "amount": 42, "item": {"sku": "s"}, "text": f"order o-1 from {name}.app"}
    assert json.loads(body) == expected, f"got {body}, expected {expected}"
    assert body == json.dumps(expected, separators=(",", ":")), f"got {body!r}, expected minified JSON"


def test_input_transformer_predefined_variables(aws: Aws, name: str) -> None:
    transformer = {
        "InputPathsMap": {},
        "InputTemplate": '{"arn": <aws.events.rule-arn>, "rule": "<aws.events.rule-name>", '
                         '"at": <aws.events.event.ingestion-time>, "event": <aws.events.event.json>, '
                         '"meta": <aws.events.event>}',
    }
    body, arn = _deliver_with(aws, name, {"InputTransformer": transformer}, {"a": 1})
    got = json.loads(body)
    assert got["arn"] == arn and got["rule"] == f"{name}-rule", f"got {got}, expected rule ARN and name"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", got["at"]), (
        f"got ingestion time {got['at']!r}, expected ISO-8601"
    )
    assert got["event"]["detail"] == {"a": 1} and list(got["event"]) == ENVELOPE_KEYS, (
        f"got {got['event']}, expected the whole event"
    )
    assert "detail" not in got["meta"] and got["meta"]["source"] == f"{name}.app", (
        f"got {got['meta']}, expected the envelope without detail"
    )


def test_input_transformer_plain_string_template(aws: Aws, name: str) -> None:
    transformer = {"InputPathsMap": {"id": "$.detail.orderId"}, "InputTemplate": '"order <id> placed"'}
    body, _ = _deliver_with(aws, name, {"InputTransformer": transformer}, {"orderId": "o-9"})
    assert body == '"order o-9 placed"', f"got {body!r}, expected '\"order o-9 placed\"'"


def test_static_input_replaces_the_event(aws: Aws, name: str) -> None:
    body, _ = _deliver_with(aws, name, {"Input": '{"fixed": true}'}, {"a": 1})
    assert body == '{"fixed": true}', f"got {body!r}, expected the static Input"


def test_input_path_selects_part_of_the_event(aws: Aws, name: str) -> None:
    body, _ = _deliver_with(aws, name, {"InputPath": "$.detail.order"}, {"order": {"id": "o-2", "n": [1, 2]}})
    assert json.loads(body) == {"id": "o-2", "n": [1, 2]}, f"got {body!r}, expected the detail.order object"


def test_numbers_match_by_their_text_in_delivery(aws: Aws, name: str) -> None:
    bus, rule, arn = bus_and_rule(aws, name, {"detail": {"amount": [300]}})
    url, qarn = queue(aws, f"{name}-target")
    set_policy(aws, url, events_policy(qarn, arn))
    add_target(aws, bus, rule, {"Arn": qarn})
    for detail_text in ('{"amount": 300.0}', '{"amount": 3.0e2}', '{"amount": 300}'):
        entry = {"Source": "x.app", "DetailType": "T", "Detail": detail_text, "EventBusName": bus}
        aws("events").put_events(Entries=[entry])
    messages = receive(aws, url, count=2, timeout=1.0)
    assert len(messages) == 1, f"got {len(messages)} deliveries, expected only the 300 event"


def test_log_group_target_gets_the_full_event(aws: Aws, name: str) -> None:
    bus, rule, _ = bus_and_rule(aws, name)
    group = f"/aws/events/{name}"
    aws("logs").create_log_group(logGroupName=group)
    add_target(aws, bus, rule, {"Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"})
    entry = put(aws, bus, f"{name}.app", {"a": 1})
    streams = aws("logs").describe_log_streams(logGroupName=group)["logStreams"]
    assert len(streams) == 1, f"got {len(streams)} log streams, expected 1"
    events = aws("logs").get_log_events(logGroupName=group, logStreamName=streams[0]["logStreamName"])["events"]
    logged = [json.loads(e["message"]) for e in events]
    assert [(e["id"], e["account"], list(e)) for e in logged] == [(entry["EventId"], ACCOUNT, ENVELOPE_KEYS)], (
        f"got {logged}, expected the one event with its full envelope"
    )
