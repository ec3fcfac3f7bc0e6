"""doctor's pure parts: the causes policy_check words from policy documents, the template and
Source/DetailType checks, and the rendering. The hop walk itself runs against a live stack in
tests/e2e/test_pitfalls.py."""

from __future__ import annotations

import json

import pytest

from pipecheck import doctor, policy_check

ACCOUNT = "123456789012"
TOPIC = f"arn:aws:sns:eu-west-1:{ACCOUNT}:demo-basket-events"
QUEUE = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:demo-basket-pipe-source"
RULE = f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/demo-domain-events/demo-purchase-events"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/demo-basket-pipe"
BUS = f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/demo-domain-events"


def queue_policy(service: str, source_arn: str, resource: str = QUEUE) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Allow", "Effect": "Allow", "Principal": {"Service": service}, "Action": "sqs:SendMessage",
         "Resource": resource, "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}}},
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": resource,
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]})


def sns_access(policy: str | None) -> policy_check.Verdict:
    return policy_check.service_access(
        policy, service="sns.amazonaws.com", action="sqs:SendMessage", resource=QUEUE, source_arn=TOPIC,
        source_account=ACCOUNT, resource_label="queue demo-basket-pipe-source", source_label="topic",
    )


def test_queue_policy_for_the_topic_allows() -> None:
    verdict = sns_access(queue_policy("sns.amazonaws.com", TOPIC))
    assert verdict.allowed, f"got denied ({verdict.reason}), expected allowed"


def test_missing_policy_names_principal_action_and_topic() -> None:
    verdict = sns_access(None)
    want = ("queue demo-basket-pipe-source has no access policy: "
            f"no statement allows sns.amazonaws.com sqs:SendMessage for topic {TOPIC}")
    assert (verdict.allowed, verdict.cause) == (False, want), f"got {verdict}, expected cause {want!r}"


def test_wrong_source_arn_names_both_arns() -> None:
    other = TOPIC.replace("basket-events", "other-topic")
    verdict = sns_access(queue_policy("sns.amazonaws.com", other))
    want = f"aws:SourceArn condition is {other}, expected {TOPIC}"
    assert verdict.cause == want, f"got {verdict.cause!r}, expected {want!r}"


def test_sdk_helper_form_with_principal_star_and_arnlike_allows() -> None:
    policy = json.dumps({"Version": "2008-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "SQS:SendMessage", "Resource": QUEUE,
        "Condition": {"ArnLike": {"aws:SourceArn": TOPIC.replace("basket", "*")}}}]})
    verdict = sns_access(policy)
    assert verdict.allowed, f"got denied ({verdict.reason}), expected allowed (aws-behaviour.md §1.1)"


def test_default_bus_rule_arn_is_explained() -> None:
    default_form = f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/demo-purchase-events"
    verdict = policy_check.service_access(
        queue_policy("events.amazonaws.com", default_form), service="events.amazonaws.com",
        action="sqs:SendMessage", resource=QUEUE, source_arn=RULE, source_account=ACCOUNT,
        resource_label="queue q", source_label="rule",
    )
    assert not verdict.allowed, "got allowed, expected denied"
    assert "default-bus form" in verdict.cause and "rule/demo-domain-events/demo-purchase-events" in verdict.cause, (
        f"got {verdict.cause!r}, expected the default-bus form explained")


def test_role_without_put_events_is_denied_by_name() -> None:
    identity = [("inline policy 'p'", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
         "Resource": QUEUE}]})]
    assert policy_check.role_access(identity, ROLE, "sqs:DeleteMessage", QUEUE).allowed, "DeleteMessage: got denied"
    verdict = policy_check.role_access(identity, ROLE, "events:PutEvents", BUS)
    assert not verdict.allowed and "events:PutEvents" in verdict.cause, f"got {verdict}, expected PutEvents denied"


def test_url_encoded_policy_documents_are_read() -> None:
    encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D"
    assert policy_check.as_text(encoded) == '{"Version":"2012-10-17","Statement":[]}'


@pytest.mark.parametrize(("template", "problem"), [
    ('{ "event": <$.body> }', None),
    ('{"event":<$.body>}', None),
    ('{ "event": "<$.body>" }', "quoted template"),
    (None, "no InputTemplate"),
    ('{ "data": <$.body> }', "expected"),
])
def test_template_check(template: str | None, problem: str | None) -> None:
    got = doctor._template_problem(template)
    if problem is None:
        assert got is None, f"template {template!r}: got {got}, expected ok"
    else:
        assert got is not None and problem in got[0], f"template {template!r}: got {got}, expected {problem!r}"


def test_pipe_without_bus_parameters_sends_aws_defaults() -> None:
    got = doctor.pipe_event_source({"Name": "demo-basket-pipe", "TargetParameters": {"InputTemplate": "x"}})
    assert got == ("Pipe demo-basket-pipe", "Event from aws:sqs"), f"got {got}, expected the defaults of §3.5"


def test_render_orders_one_line_per_hop_and_names_the_first_broken() -> None:
    hops = [
        doctor.Hop("basket", "pipe", False, "quoted template", "unquote it"),
        doctor.Hop("basket", "subscription", True),
    ]
    text = doctor.render(sorted(hops, key=lambda h: h.order))
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["1", "subscription", "basket", "ok"], f"got {lines[0]!r}"
    assert "broken: quoted template / fix: unquote it" in lines[1], f"got {lines[1]!r}"
    assert lines[-1].endswith("4 pipe (basket)"), f"got {lines[-1]!r}, expected the first broken hop named"
