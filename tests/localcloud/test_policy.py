"""Unit tests for the pure policy evaluator (aws-behaviour.md §6)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from localcloud.policy import Decision, PolicySource, Request, arn_matches, evaluate

ACCT = "123456789012"
QUEUE = f"arn:aws:sqs:eu-west-1:{ACCT}:orders"
TOPIC = f"arn:aws:sns:eu-west-1:{ACCT}:orders-topic"
ROLE = f"arn:aws:iam::{ACCT}:role/pipe-role"
SNS = "sns.amazonaws.com"


def doc(*statements: dict[str, Any], version: str = "2012-10-17") -> str:
    return json.dumps({"Version": version, "Statement": list(statements)})


def allow(**extra: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": SNS}, "Action": "sqs:SendMessage",
                                 "Resource": QUEUE}
    statement.update(extra)
    return statement


def queue_policy(text: str | None) -> list[PolicySource]:
    return [PolicySource("the queue policy of 'orders'", text, "resource")]


def sns_send(context: dict[str, Any] | None = None, principal: str = SNS, action: str = "sqs:SendMessage",
             resource: str = QUEUE) -> Request:
    return Request(principal, action, resource, {"aws:SourceArn": TOPIC} if context is None else context)


def check(decision: Decision, expected: bool) -> None:
    assert decision.allowed is expected, f"got allowed={decision.allowed} ({decision.reason}), expected {expected}"


# --- basics --------------------------------------------------------------------------------------


def test_default_deny_without_policy_names_the_missing_policy() -> None:
    decision = evaluate(queue_policy(None), sns_send())
    check(decision, False)
    assert "not set" in decision.reason and "sqs:SendMessage" in decision.reason and QUEUE in decision.reason, \
        f"got {decision.reason!r}, expected it to name the action, the queue and the missing policy"


def test_recommended_sns_form_allows_and_names_the_statement() -> None:
    text = doc(allow(Sid="AllowTopic", Condition={"ArnEquals": {"aws:SourceArn": TOPIC}}))
    decision = evaluate(queue_policy(text), sns_send())
    check(decision, True)
    assert "'AllowTopic'" in decision.reason, f"got {decision.reason!r}, expected the Sid"


def test_old_sdk_form_principal_star_arnlike_2008() -> None:
    statement = {"Sid": "topic-subscription", "Effect": "Allow", "Principal": "*", "Action": "SQS:SendMessage",
                 "Resource": QUEUE, "Condition": {"ArnLike": {"aws:SourceArn": TOPIC}}}
    text = doc(statement, version="2008-10-17")
    check(evaluate(queue_policy(text), sns_send()), True)
    check(evaluate(queue_policy(text), sns_send({"aws:SourceArn": TOPIC + "-other"})), False)


def test_principal_aws_star_matches_a_service() -> None:
    text = doc(allow(Principal={"AWS": "*"}))
    check(evaluate(queue_policy(text), sns_send()), True)


def test_wrong_topic_gives_nearest_miss_reason() -> None:
    text = doc(allow(Sid="AllowTopic", Condition={"ArnEquals": {"aws:SourceArn": TOPIC}}))
    decision = evaluate(queue_policy(text), sns_send({"aws:SourceArn": TOPIC + "2"}))
    check(decision, False)
    assert "'AllowTopic'" in decision.reason and TOPIC + "2" in decision.reason and "ArnEquals" in decision.reason, \
        f"got {decision.reason!r}, expected the statement, operator and request value"


def test_explicit_deny_wins_and_is_named() -> None:
    text = doc(allow(), {"Sid": "DenyAll", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*"})
    decision = evaluate(queue_policy(text), sns_send())
    check(decision, False)
    assert decision.reason.startswith("explicit Deny by statement 'DenyAll'"), f"got {decision.reason!r}"


def test_statement_without_sid_is_named_by_index() -> None:
    text = doc(allow(Sid="A", Action="sqs:ReceiveMessage"), {"Effect": "Deny", "Principal": "*", "Action": "*",
                                                             "Resource": "*"})
    decision = evaluate(queue_policy(text), sns_send())
    assert "statement #2" in decision.reason, f"got {decision.reason!r}, expected 'statement #2'"


def test_single_statement_object_not_list() -> None:
    text = json.dumps({"Version": "2012-10-17", "Statement": allow()})
    check(evaluate(queue_policy(text), sns_send()), True)


# --- actions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "action", "expected"), [
    ("sqs:SendMessage", "sqs:SendMessage", True),
    ("SQS:sendmessage", "sqs:SendMessage", True),
    ("sqs:Send*", "sqs:SendMessage", True),
    ("sqs:*", "sqs:SendMessage", True),
    ("*", "sqs:SendMessage", True),
    ("sqs:SendMessag?", "sqs:SendMessage", True),
    ("sqs:Send?", "sqs:SendMessage", False),
    ("sqs:ReceiveMessage", "sqs:SendMessage", False),
    ("sns:SendMessage", "sqs:SendMessage", False),
])
def test_action_matching(pattern: str, action: str, expected: bool) -> None:
    check(evaluate(queue_policy(doc(allow(Action=pattern))), sns_send(action=action)), expected)


def test_action_list_any_of() -> None:
    text = doc(allow(Action=["sqs:ReceiveMessage", "sqs:SendMessage"]))
    check(evaluate(queue_policy(text), sns_send()), True)


def test_not_action() -> None:
    statement = allow()
    del statement["Action"]
    text = doc({**statement, "NotAction": "sqs:Delete*"})
    check(evaluate(queue_policy(text), sns_send()), True)
    check(evaluate(queue_policy(text), sns_send(action="sqs:DeleteMessage")), False)


def test_deny_with_not_action_denies_everything_else() -> None:
    text = doc(allow(Action="sqs:*"), {"Sid": "OnlyReceive", "Effect": "Deny", "Principal": "*",
                                       "NotAction": "sqs:ReceiveMessage", "Resource": "*"})
    check(evaluate(queue_policy(text), sns_send()), False)
    check(evaluate(queue_policy(text), sns_send(action="sqs:ReceiveMessage")), True)


# --- resources -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "expected"), [
    (QUEUE, True),
    ("*", True),
    (f"arn:aws:sqs:*:{ACCT}:orders", True),
    (f"arn:aws:sqs:eu-west-1:{ACCT}:ord*", True),
    (f"arn:aws:sqs:eu-west-1:{ACCT}:ORDERS", False),  # ARNs are case-sensitive
    ("arn:aws:sqs:*", False),  # a `*` never crosses `:`
    (f"arn:aws:sqs:eu-west-1:{ACCT}:other", False),
])
def test_resource_matching(pattern: str, expected: bool) -> None:
    check(evaluate(queue_policy(doc(allow(Resource=pattern))), sns_send()), expected)


def test_not_resource() -> None:
    statement = allow()
    del statement["Resource"]
    text = doc({**statement, "NotResource": f"arn:aws:sqs:eu-west-1:{ACCT}:secret*"})
    check(evaluate(queue_policy(text), sns_send()), True)
    check(evaluate(queue_policy(text), sns_send(resource=f"arn:aws:sqs:eu-west-1:{ACCT}:secret-q")), False)


def test_missing_resource_in_resource_policy_means_the_resource_itself() -> None:
    statement = allow()
    del statement["Resource"]
    check(evaluate(queue_policy(doc(statement)), sns_send()), True)


def test_missing_resource_in_identity_policy_is_malformed() -> None:
    text = doc({"Effect": "Allow", "Action": "sqs:*"})
    decision = evaluate([PolicySource("inline policy 'p'", text, "identity")],
                        Request(ROLE, "sqs:ReceiveMessage", QUEUE))
    check(decision, False)
    assert "malformed" in decision.reason, f"got {decision.reason!r}, expected 'malformed'"


# --- principals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("principal_element", "principal", "expected"), [
    ({"Service": SNS}, SNS, True),
    ({"Service": ["events.amazonaws.com", SNS]}, SNS, True),
    ({"Service": "events.amazonaws.com"}, SNS, False),
    ("*", SNS, True),
    ({"AWS": "*"}, SNS, True),
    ({"AWS": ACCT}, SNS, False),  # an account principal never names a service
    ({"AWS": f"arn:aws:iam::{ACCT}:root"}, SNS, False),
    ({"AWS": ACCT}, ROLE, True),
    ({"AWS": f"arn:aws:iam::{ACCT}:root"}, ROLE, True),
    ({"AWS": "210987654321"}, ROLE, False),
    ({"AWS": ROLE}, ROLE, True),
    ({"AWS": [f"arn:aws:iam::{ACCT}:role/other", ROLE]}, ROLE, True),
    ({"AWS": f"arn:aws:iam::{ACCT}:role/other"}, ROLE, False),
    ({"AWS": ROLE}, f"arn:aws:sts::{ACCT}:assumed-role/pipe-role/session1", True),
    ({"Service": SNS}, ROLE, False),
])
def test_principal_matching(principal_element: Any, principal: str, expected: bool) -> None:
    text = doc(allow(Principal=principal_element, Action="sqs:*"))
    check(evaluate(queue_policy(text), sns_send(principal=principal)), expected)


def test_not_principal() -> None:
    statement = allow()
    del statement["Principal"]
    text = doc(allow(Principal="*"), {**statement, "Sid": "DenyAllButSns", "Effect": "Deny",
                                      "NotPrincipal": {"Service": SNS}})
    check(evaluate(queue_policy(text), sns_send()), True)
    check(evaluate(queue_policy(text), sns_send(principal="events.amazonaws.com")), False)


def test_resource_policy_statement_without_principal_is_malformed() -> None:
    statement = allow()
    del statement["Principal"]
    decision = evaluate(queue_policy(doc(statement)), sns_send())
    check(decision, False)
    assert "malformed" in decision.reason and "Principal" in decision.reason, f"got {decision.reason!r}"


# --- conditions ----------------------------------------------------------------------------------


def with_condition(condition: dict[str, Any], context: dict[str, Any]) -> bool:
    text = doc(allow(Condition=condition))
    return evaluate(queue_policy(text), sns_send(context)).allowed


@pytest.mark.parametrize(("condition", "context", "expected"), [
    ({"StringEquals": {"aws:SourceAccount": ACCT}}, {"aws:SourceAccount": ACCT}, True),
    ({"StringEquals": {"aws:SourceAccount": ACCT}}, {"aws:SourceAccount": "999999999999"}, False),
    ({"StringEquals": {"aws:SourceAccount": ["1", ACCT]}}, {"aws:SourceAccount": ACCT}, True),  # values ORed
    ({"StringEquals": {"k": "Abc"}}, {"k": "abc"}, False),  # values case-sensitive
    ({"StringNotEquals": {"k": "a"}}, {"k": "b"}, True),
    ({"StringNotEquals": {"k": ["a", "b"]}}, {"k": "b"}, False),
    ({"StringEqualsIgnoreCase": {"k": "Abc"}}, {"k": "aBC"}, True),
    ({"StringNotEqualsIgnoreCase": {"k": "Abc"}}, {"k": "aBC"}, False),
    ({"StringNotEqualsIgnoreCase": {"k": "Abc"}}, {"k": "x"}, True),
    ({"StringLike": {"k": "arn:aws:pipes:*:pipe/*"}}, {"k": f"arn:aws:pipes:eu-west-1:{ACCT}:pipe/p"}, True),
    ({"StringLike": {"k": "a?c"}}, {"k": "abc"}, True),
    ({"StringLike": {"k": "a?c"}}, {"k": "abbc"}, False),
    ({"StringNotLike": {"k": "a*"}}, {"k": "abc"}, False),
    ({"StringNotLike": {"k": "a*"}}, {"k": "xbc"}, True),
    ({"ArnEquals": {"aws:SourceArn": TOPIC}}, {"aws:SourceArn": TOPIC}, True),
    ({"ArnNotEquals": {"aws:SourceArn": TOPIC}}, {"aws:SourceArn": TOPIC}, False),
    ({"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:*:other"}}, {"aws:SourceArn": TOPIC}, True),
    ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": True}, True),
    ({"Bool": {"aws:SecureTransport": False}}, {"aws:SecureTransport": True}, False),
    ({"Bool": {"aws:SecureTransport": "FALSE"}}, {"aws:SecureTransport": "false"}, True),
    ({"NumericEquals": {"n": "5"}}, {"n": 5}, True),
    ({"NumericEquals": {"n": "5"}}, {"n": "5.0"}, True),
    ({"NumericNotEquals": {"n": "5"}}, {"n": 6}, True),
    ({"NumericLessThan": {"n": "5"}}, {"n": 4}, True),
    ({"NumericLessThan": {"n": "5"}}, {"n": 5}, False),
    ({"NumericLessThanEquals": {"n": "5"}}, {"n": 5}, True),
    ({"NumericGreaterThan": {"n": "5"}}, {"n": 5}, False),
    ({"NumericGreaterThan": {"n": "5"}}, {"n": 6}, True),
    ({"NumericGreaterThanEquals": {"n": 5}}, {"n": 5}, True),
    ({"NumericEquals": {"n": "5"}}, {"n": "five"}, False),
])
def test_operator(condition: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    assert with_condition(condition, context) is expected, f"got {not expected}, expected {expected}"


@pytest.mark.parametrize(("operator_name", "expected"), [
    ("StringEquals", False), ("StringLike", False), ("ArnEquals", False), ("ArnLike", False),
    ("Bool", False), ("NumericEquals", False),
    ("StringNotEquals", True), ("StringNotLike", True), ("ArnNotEquals", True), ("ArnNotLike", True),
    ("StringNotEqualsIgnoreCase", True), ("NumericNotEquals", True),
    ("StringEqualsIfExists", True), ("ArnLikeIfExists", True), ("BoolIfExists", True),
    ("ForAnyValue:StringEquals", False), ("ForAllValues:StringEquals", True),
])
def test_missing_key(operator_name: str, expected: bool) -> None:
    value = "true" if operator_name.startswith("Bool") else "1" if "Numeric" in operator_name else TOPIC
    assert with_condition({operator_name: {"aws:Absent": value}}, {}) is expected, \
        f"got {not expected} for {operator_name} on a missing key, expected {expected}"


def test_if_exists_still_checks_a_present_key() -> None:
    condition = {"ArnEqualsIfExists": {"aws:SourceArn": TOPIC}}
    assert with_condition(condition, {"aws:SourceArn": TOPIC}) is True, "got False, expected True"
    assert with_condition(condition, {"aws:SourceArn": TOPIC + "x"}) is False, "got True, expected False"


@pytest.mark.parametrize(("value", "context", "expected"), [
    ("true", {}, True), ("true", {"aws:SourceArn": TOPIC}, False),
    ("false", {"aws:SourceArn": TOPIC}, True), (False, {}, False),
])
def test_null(value: Any, context: dict[str, Any], expected: bool) -> None:
    assert with_condition({"Null": {"aws:SourceArn": value}}, context) is expected, \
        f"got {not expected}, expected {expected}"


def test_key_names_case_insensitive_values_case_sensitive() -> None:
    assert with_condition({"ArnEquals": {"AWS:SOURCEARN": TOPIC}}, {"aws:sourcearn": TOPIC}) is True, \
        "got False, expected key names to match case-insensitively"
    assert with_condition({"ArnEquals": {"aws:SourceArn": TOPIC.upper()}}, {"aws:SourceArn": TOPIC}) is False, \
        "got True, expected values to be case-sensitive"


def test_operators_and_keys_are_anded() -> None:
    condition = {"ArnEquals": {"aws:SourceArn": TOPIC}, "StringEquals": {"aws:SourceAccount": ACCT}}
    assert with_condition(condition, {"aws:SourceArn": TOPIC, "aws:SourceAccount": ACCT}) is True, "got False"
    assert with_condition(condition, {"aws:SourceArn": TOPIC, "aws:SourceAccount": "1"}) is False, "got True"
    two_keys = {"StringEquals": {"a": "1", "b": "2"}}
    assert with_condition(two_keys, {"a": "1", "b": "2"}) is True, "got False"
    assert with_condition(two_keys, {"a": "1", "b": "3"}) is False, "got True"


def test_set_operators() -> None:
    any_of = {"ForAnyValue:StringEquals": {"tags": ["x", "y"]}}
    all_of = {"ForAllValues:StringLike": {"tags": ["x*", "y"]}}
    assert with_condition(any_of, {"tags": ["a", "y"]}) is True, "ForAnyValue: got False, expected True"
    assert with_condition(any_of, {"tags": ["a", "b"]}) is False, "ForAnyValue: got True, expected False"
    assert with_condition(all_of, {"tags": ["x1", "y"]}) is True, "ForAllValues: got False, expected True"
    assert with_condition(all_of, {"tags": ["x1", "z"]}) is False, "ForAllValues: got True, expected False"


def test_unknown_operator_never_applies_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    deny = {"Sid": "Weird", "Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*",
            "Condition": {"StringSortOfEquals": {"k": "v"}}}
    text = doc(allow(), deny)
    with caplog.at_level(logging.WARNING, logger="localcloud.policy"):
        check(evaluate(queue_policy(text), sns_send()), True)
    assert any("StringSortOfEquals" in r.getMessage() for r in caplog.records), \
        f"got log {[r.getMessage() for r in caplog.records]}, expected a warning naming the operator"
    weird_allow = doc(allow(Condition={"StringSortOfEquals": {"k": "v"}}))
    check(evaluate(queue_policy(weird_allow), sns_send()), False)


# --- ArnLike component rule ----------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "value", "expected"), [
    (TOPIC, TOPIC, True),
    ("arn:aws:sns:*:*:orders-topic", TOPIC, True),
    ("arn:aws:sns:eu-*:*:*", TOPIC, True),
    ("arn:aws:sns:*", TOPIC, False),  # `*` may not swallow `:region:account:name`
    ("arn:aws:*:orders-topic", TOPIC, False),
    ("arn:aws:sns:eu-west-1:*", TOPIC, False),
    # same part count, but the account `*` would have to swallow "123...:log-group" to match
    ("arn:aws:logs:eu-west-1:*:stream", f"arn:aws:logs:eu-west-1:{ACCT}:log-group:stream", False),
    ("arn:aws:logs:eu-west-1:*:log-group:*", f"arn:aws:logs:eu-west-1:{ACCT}:log-group:stream", True),
    ("arn:aws:sn?:eu-west-1:*:orders-topic", TOPIC, True),
    (f"arn:aws:sns:eu-west-1:{ACCT}:ORDERS-TOPIC", TOPIC, False),
    # resource part: colons belong to it and a `*` there may cross them
    (f"arn:aws:logs:eu-west-1:{ACCT}:log-group:/aws/pipes/*",
     f"arn:aws:logs:eu-west-1:{ACCT}:log-group:/aws/pipes/p:log-stream:s1", True),
    (f"arn:aws:events:eu-west-1:{ACCT}:rule/bus/*", f"arn:aws:events:eu-west-1:{ACCT}:rule/bus/r1", True),
    (f"arn:aws:events:eu-west-1:{ACCT}:rule/*", f"arn:aws:events:eu-west-1:{ACCT}:rule/bus/r1", True),
    (f"arn:aws:events:eu-west-1:{ACCT}:rule/r1", f"arn:aws:events:eu-west-1:{ACCT}:rule/bus/r1", False),
    ("*", TOPIC, True),
    ("arn:aws:sns:eu-west-1", TOPIC, False),
])
def test_arn_like_components(pattern: str, value: str, expected: bool) -> None:
    assert arn_matches(pattern, value) is expected, f"got {not expected} for {pattern!r} vs {value!r}"
    assert with_condition({"ArnLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value}) is expected, \
        f"ArnLike: got {not expected}, expected {expected}"
    assert with_condition({"ArnEquals": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value}) is expected, \
        f"ArnEquals: got {not expected}, expected {expected} (it behaves like ArnLike)"


# --- identity + resource union -------------------------------------------------------------------


def role_sources(identity: str | None, resource: str | None) -> list[PolicySource]:
    return [PolicySource("inline policy 'p' of role 'pipe-role'", identity, "identity"),
            PolicySource("the queue policy of 'orders'", resource, "resource")]


ROLE_CAN_RECEIVE = doc({"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": QUEUE})
QUEUE_LETS_ROLE_RECEIVE = doc({"Sid": "RoleReceive", "Effect": "Allow", "Principal": {"AWS": ROLE},
                               "Action": "sqs:ReceiveMessage", "Resource": QUEUE})


def test_same_account_union_identity_only() -> None:
    decision = evaluate(role_sources(ROLE_CAN_RECEIVE, None), Request(ROLE, "sqs:ReceiveMessage", QUEUE))
    check(decision, True)
    assert "inline policy 'p'" in decision.reason, f"got {decision.reason!r}"


def test_same_account_union_resource_only() -> None:
    decision = evaluate(role_sources(None, QUEUE_LETS_ROLE_RECEIVE), Request(ROLE, "sqs:ReceiveMessage", QUEUE))
    check(decision, True)
    assert "'RoleReceive'" in decision.reason, f"got {decision.reason!r}"


def test_queue_deny_beats_identity_allow() -> None:
    deny = doc({"Sid": "NoRoles", "Effect": "Deny", "Principal": {"AWS": ACCT}, "Action": "sqs:*", "Resource": "*"})
    decision = evaluate(role_sources(ROLE_CAN_RECEIVE, deny), Request(ROLE, "sqs:ReceiveMessage", QUEUE))
    check(decision, False)
    assert "'NoRoles'" in decision.reason and "queue policy" in decision.reason, f"got {decision.reason!r}"


def test_no_allow_reason_lists_every_policy_checked() -> None:
    decision = evaluate(role_sources(ROLE_CAN_RECEIVE, None), Request(ROLE, "sqs:DeleteMessage", QUEUE))
    check(decision, False)
    assert "inline policy 'p'" in decision.reason and "queue policy of 'orders' (not set)" in decision.reason, \
        f"got {decision.reason!r}"


def test_cross_account_needs_both_sides() -> None:
    other_queue = "arn:aws:sqs:eu-west-1:210987654321:orders"
    identity = doc({"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": other_queue})
    resource = doc({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "sqs:ReceiveMessage",
                    "Resource": other_queue})
    request = Request(ROLE, "sqs:ReceiveMessage", other_queue)
    check(evaluate(role_sources(identity, None), request), False)
    check(evaluate(role_sources(None, resource), request), False)
    check(evaluate(role_sources(identity, resource), request), True)


# --- malformed policies --------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "{not json",
    "[]",
    json.dumps({"Version": "2012-10-17"}),
    doc({"Effect": "Maybe", "Principal": "*", "Action": "*"}),
    doc({"Effect": "Allow", "Principal": "*"}),
    doc({"Effect": "Allow", "Principal": "*", "Action": "*", "NotAction": "sqs:*"}),
    doc({"Effect": "Allow", "Principal": "*", "Action": 5}),
    doc({"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": ["x"]}),
])
def test_malformed_policy_denies_with_reason(text: str) -> None:
    decision = evaluate(queue_policy(text), sns_send())
    check(decision, False)
    assert "malformed" in decision.reason, f"got {decision.reason!r}, expected 'malformed'"
