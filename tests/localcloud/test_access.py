"""access.py against the running server: roles and policies created through boto3, read from moto."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from localcloud import access, config
from localcloud.server import LocalCloud

REGION = "eu-west-1"
PIPES = "pipes.amazonaws.com"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def account(cloud: LocalCloud) -> str:
    return config.current().account_id


@pytest.fixture
def pipe_role(aws: Callable[[str], Any], name: str, account: str) -> str:
    """A pipe role as the AWS CFN tutorial writes it: trust for pipes with SourceAccount/SourceArn
    conditions, an inline policy for the source queue."""
    trust = doc({
        "Effect": "Allow", "Principal": {"Service": PIPES}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account},
                      "StringLike": {"aws:SourceArn": f"arn:aws:pipes:{REGION}:{account}:pipe/{name}-*"}},
    })
    iam = aws("iam")
    arn = iam.create_role(RoleName=f"{name}-pipe", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName=f"{name}-pipe", PolicyName="source", PolicyDocument=doc({
        "Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        "Resource": queue_arn(account, f"{name}-source"),
    }))
    return arn


def queue_arn(account: str, queue: str) -> str:
    return f"arn:aws:sqs:{REGION}:{account}:{queue}"


def pipe_arn(account: str, pipe: str) -> str:
    return f"arn:aws:pipes:{REGION}:{account}:pipe/{pipe}"


def expect(decision: access.Decision, allowed: bool, *words: str) -> None:
    assert decision.allowed is allowed, f"got allowed={decision.allowed} ({decision.reason}), expected {allowed}"
    for word in words:
        assert word in decision.reason, f"got reason {decision.reason!r}, expected it to mention {word!r}"


# --- trust ---------------------------------------------------------------------------------------


def test_trust_allows_pipes_for_its_own_pipe(pipe_role: str, name: str, account: str) -> None:
    expect(access.role_trusts(pipe_role, PIPES, pipe_arn(account, f"{name}-orders"), account), True, "trust policy")


def test_trust_denies_wrong_account(pipe_role: str, name: str, account: str) -> None:
    expect(access.role_trusts(pipe_role, PIPES, pipe_arn(account, f"{name}-orders"), "210987654321"), False,
           "aws:SourceAccount", "210987654321")


def test_trust_denies_other_pipe(pipe_role: str, name: str, account: str) -> None:
    expect(access.role_trusts(pipe_role, PIPES, pipe_arn(account, "someone-else"), account), False,
           "aws:SourceArn")


def test_trust_denies_missing_source_context(pipe_role: str, account: str) -> None:
    expect(access.role_trusts(pipe_role, PIPES, None, None), False, "absent")


def test_trust_denies_other_service(pipe_role: str, name: str, account: str) -> None:
    expect(access.role_trusts(pipe_role, "events.amazonaws.com", pipe_arn(account, f"{name}-orders"), account),
           False, "events.amazonaws.com")


def test_missing_role_is_denied_by_name(account: str, name: str) -> None:
    missing = f"arn:aws:iam::{account}:role/{name}-nope"
    expect(access.role_trusts(missing, PIPES, None, account), False, missing, "does not exist")
    expect(access.role_may(missing, "sqs:ReceiveMessage", queue_arn(account, "q")), False, missing)


def test_role_arn_must_match_the_path_too(pipe_role: str, name: str, account: str) -> None:
    wrong_path = f"arn:aws:iam::{account}:role/service-role/{name}-pipe"
    expect(access.role_may(wrong_path, "sqs:ReceiveMessage", queue_arn(account, f"{name}-source")), False,
           "does not exist")


def test_updated_trust_policy_is_read_live(aws: Callable[[str], Any], pipe_role: str, name: str,
                                           account: str) -> None:
    source = pipe_arn(account, f"{name}-orders")
    expect(access.role_trusts(pipe_role, PIPES, source, account), True)
    aws("iam").update_assume_role_policy(RoleName=f"{name}-pipe", PolicyDocument=doc(
        {"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    expect(access.role_trusts(pipe_role, PIPES, source, account), False, "pipes.amazonaws.com")


# --- identity policies ---------------------------------------------------------------------------


def test_inline_policy_allows_source_actions(pipe_role: str, name: str, account: str) -> None:
    source = queue_arn(account, f"{name}-source")
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        expect(access.role_may(pipe_role, action, source), True, "inline policy 'source'")


def test_no_allow_for_other_action_or_queue(pipe_role: str, name: str, account: str) -> None:
    expect(access.role_may(pipe_role, "sqs:SendMessage", queue_arn(account, f"{name}-source")), False,
           "no statement allows sqs:SendMessage")
    expect(access.role_may(pipe_role, "sqs:ReceiveMessage", queue_arn(account, f"{name}-other")), False,
           f"{name}-other")


def test_attached_managed_policy_allows_and_follows_default_version(
    aws: Callable[[str], Any], pipe_role: str, name: str, account: str,
) -> None:
    iam = aws("iam")
    bus = f"arn:aws:events:{REGION}:{account}:event-bus/{name}-bus"
    put_events = doc({"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus})
    policy_arn = iam.create_policy(PolicyName=f"{name}-target", PolicyDocument=put_events)["Policy"]["Arn"]
    expect(access.role_may(pipe_role, "events:PutEvents", bus), False)
    iam.attach_role_policy(RoleName=f"{name}-pipe", PolicyArn=policy_arn)
    expect(access.role_may(pipe_role, "events:PutEvents", bus), True, policy_arn)
    iam.create_policy_version(PolicyArn=policy_arn, SetAsDefault=True, PolicyDocument=doc(
        {"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus + "-elsewhere"}))
    expect(access.role_may(pipe_role, "events:PutEvents", bus), False, "no statement allows events:PutEvents")


def test_deny_in_managed_policy_beats_inline_allow(aws: Callable[[str], Any], pipe_role: str, name: str,
                                                   account: str) -> None:
    iam = aws("iam")
    deny = doc({"Sid": "NoDelete", "Effect": "Deny", "Action": "sqs:DeleteMessage", "Resource": "*"})
    policy_arn = iam.create_policy(PolicyName=f"{name}-deny", PolicyDocument=deny)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=f"{name}-pipe", PolicyArn=policy_arn)
    source = queue_arn(account, f"{name}-source")
    expect(access.role_may(pipe_role, "sqs:DeleteMessage", source), False, "explicit Deny", "'NoDelete'", policy_arn)
    expect(access.role_may(pipe_role, "sqs:ReceiveMessage", source), True)


# --- resource policies with real queues ----------------------------------------------------------


def queue_policy(aws: Callable[[str], Any], queue: str, policy: str) -> tuple[str, str]:
    """Create `queue` with `policy`; return its ARN and the policy text moto hands back."""
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=queue, Attributes={"Policy": policy})["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "Policy"])["Attributes"]
    return attributes["QueueArn"], attributes["Policy"]


def test_queue_policy_deny_beats_role_allow(aws: Callable[[str], Any], pipe_role: str, name: str) -> None:
    arn, policy = queue_policy(aws, f"{name}-source", doc({
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, {
        "Sid": "NoDeletes", "Effect": "Deny", "Principal": {"AWS": pipe_role}, "Action": "sqs:DeleteMessage",
        "Resource": "*"}))
    expect(access.role_may(pipe_role, "sqs:ReceiveMessage", arn, policy), True)  # deliveries use HTTPS
    expect(access.role_may(pipe_role, "sqs:DeleteMessage", arn, policy), False, "'NoDeletes'", "queue policy")


def test_queue_policy_alone_can_allow_the_role(aws: Callable[[str], Any], pipe_role: str, name: str) -> None:
    arn, policy = queue_policy(aws, f"{name}-dlq", doc({
        "Sid": "PipeMaySend", "Effect": "Allow", "Principal": {"AWS": pipe_role}, "Action": "sqs:SendMessage",
        "Resource": "*"}))
    expect(access.role_may(pipe_role, "sqs:SendMessage", arn, policy), True, "'PipeMaySend'")
    expect(access.role_may(pipe_role, "sqs:SendMessage", arn, None), False)


def test_service_may_sns_to_queue(aws: Callable[[str], Any], name: str, account: str) -> None:
    topic = f"arn:aws:sns:{REGION}:{account}:{name}-topic"
    arn, policy = queue_policy(aws, f"{name}-buffer", doc({
        "Sid": "AllowTopic", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": queue_arn(account, f"{name}-buffer"),
        "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}))
    expect(access.service_may("sns.amazonaws.com", "sqs:SendMessage", arn, policy, topic, account), True,
           "'AllowTopic'")
    expect(access.service_may("sns.amazonaws.com", "sqs:SendMessage", arn, policy, topic + "-x", account), False,
           "'AllowTopic'", topic + "-x")
    expect(access.service_may("events.amazonaws.com", "sqs:SendMessage", arn, policy, topic, account), False)
    expect(access.service_may("sns.amazonaws.com", "sqs:SendMessage", arn, None, topic, account), False,
           "not set")


# --- enforcement modes ---------------------------------------------------------------------------


@pytest.fixture
def mode(monkeypatch: pytest.MonkeyPatch, cloud: LocalCloud) -> Callable[[str], None]:
    """Switch the running settings' enforcement mode; monkeypatch restores the original afterwards."""
    def switch(enforcement: str) -> None:
        monkeypatch.setattr(config, "_current", dataclasses.replace(config.current(), enforcement=enforcement))

    return switch


def test_warn_mode_allows_and_logs(mode: Callable[[str], None], pipe_role: str, account: str,
                                   caplog: pytest.LogCaptureFixture) -> None:
    mode("warn")
    with caplog.at_level(logging.WARNING, logger="localcloud.access"):
        decision = access.role_may(pipe_role, "sqs:SendMessage", queue_arn(account, "anything"))
    expect(decision, True, "warn mode: would deny: no statement allows sqs:SendMessage")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("would deny" in m for m in warnings), f"got warnings {warnings}, expected a 'would deny' warning"


def test_warn_mode_does_not_log_allowed_requests(mode: Callable[[str], None], pipe_role: str, name: str,
                                                 account: str, caplog: pytest.LogCaptureFixture) -> None:
    mode("warn")
    with caplog.at_level(logging.WARNING, logger="localcloud.access"):
        expect(access.role_may(pipe_role, "sqs:ReceiveMessage", queue_arn(account, f"{name}-source")), True,
               "allowed by")
    assert not caplog.records, f"got log records {[r.getMessage() for r in caplog.records]}, expected none"


def test_off_mode_allows_everything(mode: Callable[[str], None], account: str, name: str,
                                    caplog: pytest.LogCaptureFixture) -> None:
    mode("off")
    with caplog.at_level(logging.WARNING, logger="localcloud.access"):
        expect(access.role_trusts(f"arn:aws:iam::{account}:role/{name}-nope", PIPES, None, None), True)
        expect(access.service_may("sns.amazonaws.com", "sqs:SendMessage", queue_arn(account, "q"), None, None,
                                  None), True)
    assert not caplog.records, f"got log records {[r.getMessage() for r in caplog.records]}, expected none"


def test_enforce_mode_denies(mode: Callable[[str], None], account: str) -> None:
    mode("enforce")
    expect(access.service_may("sns.amazonaws.com", "sqs:SendMessage", queue_arn(account, "q"), None, None, None),
           False)
