"""`python -m pipecheck doctor`: publish a canary through each feed and walk the hops of the deployed
stack along the data flow, saying for each hop `ok` or `broken: <cause> / fix: <fix>`.

Only read APIs plus the canary publish (and receiving the canary back): it works the same against
real AWS and the local cloud, and never reads localcloud internals. Policies are evaluated locally
(pipecheck.policy_check), so a hop is named broken from its configuration even when the failure
itself is silent (SNS and EventBridge drop or dead-letter what a queue policy denies).

Hops, in data-flow order (aws-behaviour.md §1, §3, §4, §7):
   1 subscription           topic exists, SQS subscription to the buffer queue, confirmed, raw delivery
   2 buffer queue policy    sns.amazonaws.com may sqs:SendMessage for the topic
   3 buffer queue           depth, age of oldest, redrive policy, DLQ depth
   4 pipe                   state, source, target, input template, Source/DetailType
   5 pipe role              trust policy, sqs:ReceiveMessage/DeleteMessage/GetQueueAttributes, events:PutEvents
   6 pipe logs              ERROR records since `since`
   7 bus                    the bus exists (shared)
   8 rule                   exists, ENABLED, on the bus, pattern matches what the pipe sends
   9 rule target            target is the purchase queue, with a dead-letter queue (shared)
  10 purchase queue policy  events.amazonaws.com may sqs:SendMessage for the rule, on queue and DLQ (shared)
  11 rule DLQ               nothing dead-lettered (shared)
  12 purchase queue         the canary arrived and its envelope is exact
"""

from __future__ import annotations

import argparse
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from . import policy_check
from .envelope import Expected, diff
from .metrics import Metric, MetricsReader
from .outputs import StackView
from .publisher import Publisher, planted
from .settings import Settings
from .target import Target
from .watcher import QueueTimeout, QueueWatcher

SHARED = "shared"
INPUT_TEMPLATE = '{ "event": <$.body> }'
DEFAULT_DETAIL_TYPE = "Event from aws:sqs"  # what a pipe with an SQS source sends when DetailType is unset
PIPE_SOURCE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
LOG_WINDOW = timedelta(minutes=15)
STALE_AGE_SECONDS = 300  # a visible message older than this: the pipe is not consuming

HOPS = (
    "subscription",
    "buffer queue policy",
    "buffer queue",
    "pipe",
    "pipe role",
    "pipe logs",
    "bus",
    "rule",
    "rule target",
    "purchase queue policy",
    "rule DLQ",
    "purchase queue",
)


@dataclass
class Hop:
    feed: str  # a feed key, or "shared" for the bus/rule resources both feeds use
    name: str  # one of HOPS
    ok: bool
    cause: str = ""
    fix: str = ""
    details: list[str] = field(default_factory=list)
    skipped: bool = False

    @property
    def order(self) -> int:
        return HOPS.index(self.name)

    def line(self) -> str:
        if self.skipped:
            state = f"skipped ({self.cause})" if self.cause else "skipped"
        elif self.ok:
            state = "ok"
        else:
            state = f"broken: {self.cause} / fix: {self.fix}"
        return f"{self.order + 1:>2} {self.name:<22} {self.feed:<9} {state}"


def _ok(feed: str, name: str, *details: str) -> Hop:
    return Hop(feed, name, True, details=[d for d in details if d])


def _broken(feed: str, name: str, causes: list[str], fixes: list[str], *details: str) -> Hop:
    return Hop(feed, name, False, "; ".join(causes), "; ".join(dict.fromkeys(fixes)), [d for d in details if d])


def _hop(feed: str, name: str, causes: list[str], fixes: list[str], *details: str) -> Hop:
    return _broken(feed, name, causes, fixes, *details) if causes else _ok(feed, name, *details)


def _error(error: ClientError) -> str:
    info = error.response.get("Error", {})
    return f"{info.get('Code', 'Error')}: {info.get('Message', '')}".strip()


def _name(url_or_arn: str) -> str:
    return re.split(r"[/:]", url_or_arn)[-1]


class Probe:
    """Clients, the stack view and what earlier hops looked up (so later hops reuse it)."""

    def __init__(self, target: Target, view: StackView, since: datetime) -> None:
        self.target = target
        self.view = view
        self.since = since
        self.pipes: dict[str, dict[str, Any] | None] = {}
        self._bus: dict[str, Any] | None = None
        self._rule: dict[str, Any] | None = None

    def client(self, service: str) -> Any:
        return self.target.client(service)

    def queue(self, url: str, names: tuple[str, ...] = ("All",)) -> dict[str, str]:
        response = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=list(names))
        return dict(response.get("Attributes", {}))  # absent when none of the names is set (e.g. no Policy)

    def bus(self) -> dict[str, Any]:
        if self._bus is None:
            self._bus = self.client("events").describe_event_bus(Name=self.view.event_bus_name)
        return self._bus

    def rule(self) -> dict[str, Any]:
        if self._rule is None:
            self._rule = self.client("events").describe_rule(
                Name=self.view.rule_name, EventBusName=self.view.event_bus_name
            )
        return self._rule

    def pipe(self, feed: str) -> dict[str, Any] | None:
        if feed not in self.pipes:
            try:
                self.pipes[feed] = self.client("pipes").describe_pipe(Name=self.view.pipe_names[feed])
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "NotFoundException":
                    raise
                self.pipes[feed] = None
        return self.pipes[feed]

    def rule_arn(self) -> str:
        """The rule's ARN from the API (custom-bus form), falling back to the output."""
        try:
            return str(self.rule()["Arn"])
        except ClientError:
            return self.view.rule_arn

    def bus_arn(self) -> str:
        try:
            return str(self.bus()["Arn"])
        except ClientError:
            prefix = self.view.rule_arn.split(":rule/")[0]
            return f"{prefix}:event-bus/{self.view.event_bus_name}"


def pipe_event_source(pipe: dict[str, Any]) -> tuple[str, str]:
    """(source, detail-type) a pipe puts on the bus: its EventBridgeEventBusParameters, or the
    defaults "Pipe <name>" / "Event from aws:sqs" (aws-behaviour.md §3.5)."""
    params = (pipe.get("TargetParameters") or {}).get("EventBridgeEventBusParameters") or {}
    return params.get("Source") or f"Pipe {pipe['Name']}", params.get("DetailType") or DEFAULT_DETAIL_TYPE


# --- 1. topic -> subscription -------------------------------------------------------------------


def check_subscription(probe: Probe, feed: str) -> Hop:
    name = "subscription"
    sns = probe.client("sns")
    topic = probe.view.topic_arns[feed]
    queue_arn = probe.view.buffer_queue_arns[feed]
    try:
        sns.get_topic_attributes(TopicArn=topic)
    except ClientError as error:
        return _broken(feed, name, [f"topic {topic} cannot be read ({_error(error)})"],
                       ["create the provided topic, or check IAM_USERNAME and the region"])
    subscriptions: list[dict[str, Any]] = []
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic):
        subscriptions.extend(page.get("Subscriptions", []))
    mine = [s for s in subscriptions if s.get("Protocol") == "sqs" and s.get("Endpoint") == queue_arn]
    if not mine:
        return _broken(feed, name, [f"topic {_name(topic)} has no sqs subscription to {queue_arn}"],
                       ["terraform apply (aws_sns_topic_subscription in modules/sns_pipe/subscription.tf)"])
    arn = mine[0]["SubscriptionArn"]
    if arn in ("PendingConfirmation", "Deleted") or not arn.startswith("arn:"):
        return _broken(feed, name, [f"subscription to {_name(queue_arn)} is {arn}"],
                       ["recreate the subscription (terraform apply -replace on the subscription)"])
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    causes: list[str] = []
    fixes: list[str] = []
    if attributes.get("PendingConfirmation", "false") == "true":
        causes.append(f"subscription {arn} is pending confirmation")
        fixes.append("recreate the subscription; SQS subscriptions in the same account confirm themselves")
    if attributes.get("RawMessageDelivery", "false") != "true":
        causes.append("raw delivery off, detail.event will be the SNS envelope (payload escaped in .Message)")
        fixes.append("raw_message_delivery = true on the subscription")
    details = [f"subscription {arn}"]
    if attributes.get("FilterPolicy"):
        details.append(f"filter policy {attributes['FilterPolicy']} (events not matching it are dropped)")
    if len(mine) > 1:
        details.append(f"{len(mine)} subscriptions to the same queue: every event is delivered {len(mine)} times")
    return _hop(feed, name, causes, fixes, *details)


# --- 2. buffer queue policy ---------------------------------------------------------------------


def check_buffer_policy(probe: Probe, feed: str) -> Hop:
    name = "buffer queue policy"
    url = probe.view.buffer_queue_urls[feed]
    topic = probe.view.topic_arns[feed]
    policy = probe.queue(url, ("Policy",)).get("Policy")
    verdict = policy_check.service_access(
        policy, service="sns.amazonaws.com", action="sqs:SendMessage", resource=probe.view.buffer_queue_arns[feed],
        source_arn=topic, source_account=probe.view.account_id,
        resource_label=f"queue {_name(url)}", source_label="topic",
    )
    if verdict.allowed:
        return _ok(feed, name, verdict.reason)
    return _broken(feed, name, [verdict.cause],
                   [f"a queue policy statement allowing Service sns.amazonaws.com sqs:SendMessage with "
                    f"ArnEquals aws:SourceArn = {topic} (modules/sns_pipe/queues.tf)"],
                   "SNS drops what the policy denies: NumberOfNotificationsFailed rises, Publish still succeeds")


# --- 3. buffer queue ----------------------------------------------------------------------------


def _oldest_age(probe: Probe, queue_name: str) -> float | None:
    metric = Metric.of("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", QueueName=queue_name)
    since = datetime.now(timezone.utc) - timedelta(minutes=5)
    try:
        value = MetricsReader(probe.client("cloudwatch")).totals([metric], since)[metric]
    except ClientError:
        return None
    return value or None


def check_buffer_queue(probe: Probe, feed: str) -> Hop:
    name = "buffer queue"
    url = probe.view.buffer_queue_urls[feed]
    dlq_url = probe.view.buffer_dlq_urls[feed]
    attributes = probe.queue(url)
    visible = int(attributes.get("ApproximateNumberOfMessages", 0))
    in_flight = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
    details = [f"{visible} visible, {in_flight} in flight, visibility timeout {attributes.get('VisibilityTimeout')} s"]
    causes: list[str] = []
    fixes: list[str] = []
    age = _oldest_age(probe, _name(url))
    if age is not None:
        details.append(f"oldest message {age:.0f} s")
        if visible and age > STALE_AGE_SECONDS:
            causes.append(f"{visible} message(s) waiting, the oldest {age:.0f} s: the pipe is not consuming")
            fixes.append("see the pipe hops below (state, role, logs)")
    dlq_arn = probe.queue(dlq_url, ("QueueArn",))["QueueArn"]
    try:
        redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
    except ValueError:
        redrive = {}
    receives = redrive.get("maxReceiveCount", "?")
    if redrive.get("deadLetterTargetArn") != dlq_arn:
        causes.append(f"redrive policy {attributes.get('RedrivePolicy') or '(none)'} does not name {dlq_arn}: "
                      "failed messages are retried until they expire")
        fixes.append("redrive_policy with deadLetterTargetArn = the DLQ and maxReceiveCount >= 5")
    else:
        details.append(f"redrive to {_name(dlq_arn)} after {receives} receives")
    dlq = probe.queue(dlq_url, ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"))
    dead = int(dlq.get("ApproximateNumberOfMessages", 0)) + int(dlq.get("ApproximateNumberOfMessagesNotVisible", 0))
    if dead:
        causes.append(f"{dead} message(s) in {_name(dlq_url)}: the pipe failed them maxReceiveCount ({receives}) times")
        fixes.append("fix the pipe hops, then move them back (sqs start-message-move-task)")
    return _hop(feed, name, causes, fixes, *details)


# --- 4. pipe ------------------------------------------------------------------------------------


def _template_problem(template: str | None) -> tuple[str, str] | None:
    if template is None:
        return ("no InputTemplate: detail becomes the whole SQS record instead of {\"event\": <payload>}",
                f"input_template = {INPUT_TEMPLATE!r} (a raw string, not jsonencode)")
    compact = re.sub(r"\s+", "", template)
    if compact == re.sub(r"\s+", "", INPUT_TEMPLATE):
        return None
    if '"<$.body>"' in compact:
        return (f"quoted template {template!r}, detail.event becomes a string (quote-stripped body)",
                f"input_template = {INPUT_TEMPLATE!r}: unquoted placeholder, a raw string, not jsonencode")
    return (f"InputTemplate is {template!r}, expected {INPUT_TEMPLATE!r}", f"input_template = {INPUT_TEMPLATE!r}")


def check_pipe(probe: Probe, feed: str) -> Hop:
    name = "pipe"
    pipe_name = probe.view.pipe_names[feed]
    pipe = probe.pipe(feed)
    if pipe is None:
        return _broken(feed, name, [f"pipe {pipe_name} does not exist"], ["terraform apply (modules/sns_pipe/pipe.tf)"])
    causes: list[str] = []
    fixes: list[str] = []
    state = pipe.get("CurrentState")
    reason = pipe.get("StateReason") or ""
    if state != "RUNNING":
        causes.append(f"pipe is {state} (desired {pipe.get('DesiredState')})" + (f": {reason}" if reason else ""))
        fixes.append("fix the cause, then aws pipes start-pipe" if state in ("STOPPED", "START_FAILED")
                     else "fix the cause named in StateReason, then terraform apply")
    elif reason:
        causes.append(f"pipe is RUNNING but reports: {reason}")
        fixes.append("see the pipe role and pipe logs hops")
    queue_arn = probe.view.buffer_queue_arns[feed]
    if pipe.get("Source") != queue_arn:
        causes.append(f"source is {pipe.get('Source')}, expected {queue_arn}")
        fixes.append("source = the buffer queue ARN")
    bus_arn = probe.bus_arn()
    if pipe.get("Target") != bus_arn:
        causes.append(f"target is {pipe.get('Target')}, expected {bus_arn}")
        fixes.append("target = the event bus ARN")
    params = pipe.get("TargetParameters") or {}
    problem = _template_problem(params.get("InputTemplate"))
    if problem:
        causes.append(problem[0])
        fixes.append(problem[1])
    want = probe.view.feed_events[feed]
    bus_params = params.get("EventBridgeEventBusParameters") or {}
    source, detail_type = pipe_event_source(pipe)
    if not bus_params.get("Source"):
        causes.append(f"no EventBridgeEventBusParameters.Source: events arrive as source {source!r} "
                      f"and the rule never fires")
        fixes.append(f"eventbridge_event_bus_parameters {{ source = {want['source']!r}, "
                     f"detail_type = {want['detail_type']!r} }}")
    elif source != want["source"]:
        causes.append(f"EventBridgeEventBusParameters.Source is {source!r}, expected {want['source']!r}")
        fixes.append(f"source = {want['source']!r} in eventbridge_event_bus_parameters")
    if bus_params.get("Source") and detail_type != want["detail_type"]:
        causes.append(f"DetailType is {detail_type!r}, expected {want['detail_type']!r}")
        fixes.append(f"detail_type = {want['detail_type']!r} in eventbridge_event_bus_parameters")
    batch = ((pipe.get("SourceParameters") or {}).get("SqsQueueParameters") or {}).get("BatchSize")
    if batch and int(batch) > 10:
        causes.append(f"BatchSize {batch} exceeds 10, the event bus target maximum")
        fixes.append("batch_size <= 10")
    details = [f"{state}, source {_name(str(pipe.get('Source')))}, sends source {source!r} detail-type {detail_type!r}"]
    if reason and not causes:
        details.append(f"StateReason: {reason}")
    return _hop(feed, name, causes, fixes, *details)


# --- 5. pipe role -------------------------------------------------------------------------------


def _role_policies(iam: Any, role_name: str) -> list[tuple[str, Any]]:
    policies: list[tuple[str, Any]] = []
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name):
        for policy_name in page.get("PolicyNames", []):
            document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
            policies.append((f"inline policy '{policy_name}'", document))
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name):
        for attached in page.get("AttachedPolicies", []):
            arn = attached["PolicyArn"]
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
            policies.append((f"managed policy {arn}", document))
    return policies


def check_pipe_role(probe: Probe, feed: str) -> Hop:
    name = "pipe role"
    role_arn = probe.view.pipe_role_arns[feed]
    pipe = probe.pipe(feed)
    if pipe is not None and pipe.get("RoleArn") and pipe["RoleArn"] != role_arn:
        role_arn = pipe["RoleArn"]  # judge the role the pipe really uses
    role_name = role_arn.rsplit("/", 1)[-1]
    iam = probe.client("iam")
    try:
        role = iam.get_role(RoleName=role_name)["Role"]
    except ClientError as error:
        return _broken(feed, name, [f"role {role_name} cannot be read ({_error(error)})"],
                       ["terraform apply (modules/sns_pipe/iam.tf)"])
    causes: list[str] = []
    fixes: list[str] = []
    pipe_arn = probe.view.pipe_arns[feed]
    trusted = policy_check.trust(role.get("AssumeRolePolicyDocument"), f"role {role_name}", role_arn,
                                 "pipes.amazonaws.com", pipe_arn, probe.view.account_id)
    if not trusted.allowed:
        causes.append(trusted.cause)
        fixes.append(f"trust policy: Service pipes.amazonaws.com, sts:AssumeRole, aws:SourceArn = {pipe_arn}, "
                     f"aws:SourceAccount = {probe.view.account_id}")
    identity = _role_policies(iam, role_name)
    queue_arn = probe.view.buffer_queue_arns[feed]
    queue_policy = probe.queue(probe.view.buffer_queue_urls[feed], ("Policy",)).get("Policy")
    needs = [(action, queue_arn, f"queue {_name(queue_arn)}", queue_policy) for action in PIPE_SOURCE_ACTIONS]
    bus_arn = probe.bus_arn()
    try:
        bus_policy = probe.bus().get("Policy")
    except ClientError:
        bus_policy = None
    needs.append(("events:PutEvents", bus_arn, f"bus {probe.view.event_bus_name}", bus_policy))
    missing = []
    for action, resource, label, resource_policy in needs:
        verdict = policy_check.role_access(identity, role_arn, action, resource, f"the policy of {label}",
                                           resource_policy)
        if not verdict.allowed:
            missing.append(action)
            causes.append(f"role {role_name} does not allow {action} on {resource}"
                          + (f" ({verdict.reason})" if "explicit Deny" in verdict.reason else ""))
    if missing:
        fixes.append(f"allow {', '.join(missing)} in the pipe role policy (modules/sns_pipe/iam.tf)")
    details = [f"{len(identity)} identity polic{'y' if len(identity) == 1 else 'ies'} evaluated"]
    if causes and pipe is not None and pipe.get("StateReason"):
        details.append(f"pipe StateReason: {pipe['StateReason']}")
    return _hop(feed, name, causes, fixes, *details)


# --- 6. pipe logs -------------------------------------------------------------------------------


def check_pipe_logs(probe: Probe, feed: str) -> Hop:
    name = "pipe logs"
    group = probe.view.pipe_log_group_names[feed]
    pipe = probe.pipe(feed) or {}
    level = ((pipe.get("LogConfiguration") or {}).get("Level")) or "OFF"
    logs = probe.client("logs")
    start = int(probe.since.timestamp() * 1000)
    errors: list[dict[str, Any]] = []
    try:
        for page in logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, startTime=start, PaginationConfig={"MaxItems": 1000}
        ):
            for event in page.get("events", []):
                try:
                    record = json.loads(event["message"])
                except ValueError:
                    continue
                if isinstance(record, dict) and str(record.get("logLevel", "")).upper() == "ERROR":
                    errors.append(record)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == "ResourceNotFoundException":
            return _broken(feed, name, [f"log group {group} does not exist"],
                           ["terraform apply (modules/sns_pipe/logs.tf)"])
        raise
    window = f"since {probe.since.astimezone(timezone.utc):%H:%M:%S}Z"
    if level == "OFF":
        return _ok(feed, name, f"pipe logging is OFF: no ERROR records to read ({window})")
    if not errors:
        return _ok(feed, name, f"no ERROR records {window} (level {level})")
    latest = max(errors, key=lambda r: r.get("timestamp", 0))
    error = latest.get("error") or {}
    message = error.get("message") or error.get("details") or "(no message)"
    cause = f"{len(errors)} ERROR record(s) {window}; latest {latest.get('messageType')}: {message}"
    return _broken(feed, name, [cause],
                   ["see the pipe role hop; the full records are in the log group " + group])


# --- 7. bus / 8. rule / 9. rule target ----------------------------------------------------------


def check_bus(probe: Probe) -> Hop:
    try:
        arn = probe.bus()["Arn"]
    except ClientError as error:
        return _broken(SHARED, "bus", [f"event bus {probe.view.event_bus_name} cannot be read ({_error(error)})"],
                       ["create the provided event bus, or check IAM_USERNAME and the region"])
    return _ok(SHARED, "bus", arn)


def envelope_for(probe: Probe, source: str, detail_type: str, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": probe.view.account_id,
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": probe.view.region,
        "resources": [],
        "detail": {"event": event},
    }


def check_rule(probe: Probe, feed: str, event: dict[str, Any]) -> Hop:
    name = "rule"
    try:
        rule = probe.rule()
    except ClientError as error:
        return _broken(feed, name, [f"rule {probe.view.rule_name} on {probe.view.event_bus_name} cannot be read "
                                    f"({_error(error)})"], ["terraform apply (modules/event_rule_queue/rule.tf)"])
    causes: list[str] = []
    fixes: list[str] = []
    if rule.get("State") != "ENABLED":
        causes.append(f"rule is {rule.get('State')}")
        fixes.append("aws events enable-rule, or terraform apply")
    if rule.get("EventBusName", probe.view.event_bus_name) != probe.view.event_bus_name:
        causes.append(f"rule is on bus {rule.get('EventBusName')}, expected {probe.view.event_bus_name}")
        fixes.append(f"event_bus_name = {probe.view.event_bus_name!r} on the rule")
    pattern = rule.get("EventPattern") or ""
    pipe = probe.pipe(feed)
    if pipe is not None:
        source, detail_type = pipe_event_source(pipe)
    else:
        source, detail_type = probe.view.feed_events[feed]["source"], probe.view.feed_events[feed]["detail_type"]
    if not pattern:
        causes.append("rule has no event pattern")
        fixes.append("event_pattern = {\"source\": [the feeds' sources]}")
    else:
        envelope = envelope_for(probe, source, detail_type, event)
        matched = probe.client("events").test_event_pattern(EventPattern=pattern, Event=json.dumps(envelope))["Result"]
        if not matched:
            causes.append(f"pattern {pattern} does not match source {source!r} (detail-type {detail_type!r})")
            want = probe.view.feed_events[feed]["source"]
            fixes.append(f"event_pattern with source [{want!r}, ...] (root locals.tf rule_event_pattern)"
                         if source == want else "give the pipe the feed's Source (see the pipe hop)")
    return _hop(feed, name, causes, fixes, f"pattern {pattern}, canary source {source!r}")


def check_rule_target(probe: Probe) -> Hop:
    name = "rule target"
    try:
        targets = probe.client("events").list_targets_by_rule(
            Rule=probe.view.rule_name, EventBusName=probe.view.event_bus_name
        ).get("Targets", [])
    except ClientError as error:
        return _broken(SHARED, name, [f"targets of rule {probe.view.rule_name} cannot be read ({_error(error)})"],
                       ["terraform apply (modules/event_rule_queue/rule.tf)"])
    queue_arn = probe.view.purchase_queue_arn
    mine = [t for t in targets if t.get("Arn") == queue_arn]
    if not mine:
        return _broken(SHARED, name, [f"rule {probe.view.rule_name} has no target {queue_arn} "
                                      f"(targets: {[t.get('Arn') for t in targets]})"],
                       ["aws_cloudwatch_event_target with arn = the purchase queue"])
    target = mine[0]
    causes: list[str] = []
    fixes: list[str] = []
    dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
    if dlq != probe.view.purchase_dlq_arn:
        causes.append(f"target dead_letter_config is {dlq or '(none)'}, expected {probe.view.purchase_dlq_arn}: "
                      "events EventBridge cannot deliver are lost")
        fixes.append("dead_letter_config { arn = the purchase DLQ }")
    for key in ("Input", "InputPath", "InputTransformer"):
        if target.get(key):
            causes.append(f"target has {key}: the queue receives that instead of the event envelope")
            fixes.append(f"remove {key} from the target")
    retry = target.get("RetryPolicy") or {}
    return _hop(SHARED, name, causes, fixes,
                f"target {target.get('Id')}, retry {retry.get('MaximumRetryAttempts', 185)} attempts / "
                f"{retry.get('MaximumEventAgeInSeconds', 86400)} s")


# --- 10. purchase queue policy / 11. rule DLQ ---------------------------------------------------


def check_purchase_policy(probe: Probe) -> Hop:
    name = "purchase queue policy"
    rule_arn = probe.rule_arn()
    causes: list[str] = []
    details: list[str] = []
    for url, arn, role in ((probe.view.purchase_queue_url, probe.view.purchase_queue_arn, "queue"),
                           (probe.view.purchase_dlq_url, probe.view.purchase_dlq_arn, "DLQ")):
        policy = probe.queue(url, ("Policy",)).get("Policy")
        verdict = policy_check.service_access(
            policy, service="events.amazonaws.com", action="sqs:SendMessage", resource=arn,
            source_arn=rule_arn, source_account=probe.view.account_id,
            resource_label=f"{role} {_name(url)}", source_label="rule",
        )
        if verdict.allowed:
            details.append(f"{role}: {verdict.reason}")
        else:
            consequence = ("the event goes to the rule DLQ" if role == "queue"
                           else "an undeliverable event is lost (InvocationsFailedToBeSentToDlq)")
            causes.append(f"{verdict.cause} ({consequence})")
    return _hop(SHARED, name, causes,
                [f"a queue policy statement allowing Service events.amazonaws.com sqs:SendMessage with ArnEquals "
                 f"aws:SourceArn = {rule_arn} on both queues (modules/event_rule_queue/queues.tf)"] if causes else [],
                *details)


def check_rule_dlq(probe: Probe) -> Hop:
    name = "rule DLQ"
    url = probe.view.purchase_dlq_url
    attributes = probe.queue(url, ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"))
    dead = sum(int(attributes.get(k, 0))
               for k in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"))
    if not dead:
        return _ok(SHARED, name, f"{_name(url)} is empty")
    sample = _peek(probe.client("sqs"), url)
    cause = f"{dead} event(s) in {_name(url)}: EventBridge could not deliver them to the purchase queue"
    if sample:
        cause += f"; latest sample {sample}"
    return _broken(SHARED, name, [cause], ["fix the purchase queue policy hop, then move the events back "
                                           "(sqs start-message-move-task) or replay them"])


def _peek(sqs: Any, url: str) -> str:
    """ERROR_CODE / ERROR_MESSAGE of one dead-lettered event, left in the queue."""
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, MessageAttributeNames=["All"],
                                   VisibilityTimeout=10, WaitTimeSeconds=0).get("Messages", [])
    if not messages:
        return ""
    message = messages[0]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    attributes = {k: v.get("StringValue") for k, v in (message.get("MessageAttributes") or {}).items()}
    return f"ERROR_CODE={attributes.get('ERROR_CODE')} ERROR_MESSAGE={attributes.get('ERROR_MESSAGE')}"


# --- 12. purchase queue (the canary) ------------------------------------------------------------


def canary_metrics(view: StackView, feed: str) -> list[tuple[str, Metric]]:
    topic = _name(view.topic_arns[feed])
    queue = _name(view.buffer_queue_urls[feed])
    pipe = view.pipe_names[feed]
    rule = {"EventBusName": view.event_bus_name, "RuleName": view.rule_name}
    return [
        ("SNS delivered", Metric.of("AWS/SNS", "NumberOfNotificationsDelivered", TopicName=topic)),
        ("SNS failed", Metric.of("AWS/SNS", "NumberOfNotificationsFailed", TopicName=topic)),
        ("buffer sent", Metric.of("AWS/SQS", "NumberOfMessagesSent", QueueName=queue)),
        ("buffer deleted", Metric.of("AWS/SQS", "NumberOfMessagesDeleted", QueueName=queue)),
        ("pipe EventCount", Metric.of("AWS/EventBridge/Pipes", "EventCount", PipeName=pipe)),
        ("pipe ExecutionFailed", Metric.of("AWS/EventBridge/Pipes", "ExecutionFailed", PipeName=pipe)),
        ("rule MatchedEvents", Metric.of("AWS/Events", "MatchedEvents", **rule)),
        ("rule FailedInvocations", Metric.of("AWS/Events", "FailedInvocations", **rule)),
        ("rule InvocationsSentToDlq", Metric.of("AWS/Events", "InvocationsSentToDlq", **rule)),
        ("purchase sent", Metric.of("AWS/SQS", "NumberOfMessagesSent", QueueName=_name(view.purchase_queue_url))),
    ]


@dataclass
class Canary:
    feed: str
    expected: Expected
    published_at: datetime
    body: Any = None  # what arrived in the purchase queue, None until it does

    def predicate(self, body: Any) -> bool:
        """QueueWatcher predicate that also keeps the match, so a timeout loses nothing."""
        if not self.expected.matches_event(body):
            return False
        if self.body is None:
            self.body = body
        return True


def publish_canaries(target: Target, view: StackView) -> dict[str, Canary]:
    publisher = Publisher(target.client("sns"), view.topic_arns)
    canaries: dict[str, Canary] = {}
    for feed in view.feeds:
        event = planted(feed)
        params = view.feed_events[feed]
        expected = Expected(params["source"], params["detail_type"], view.account_id, view.region, event)
        canaries[feed] = Canary(feed, expected, datetime.now(timezone.utc))
        publisher.publish(feed, event)
    return canaries


def await_canaries(target: Target, view: StackView, canaries: dict[str, Canary], timeout: float) -> float:
    """Wait for every canary in the purchase queue (deleting it); the seconds waited."""
    watcher = QueueWatcher(target.client("sqs"), view.purchase_queue_url)
    started = time.monotonic()
    try:
        watcher.collect([c.predicate for c in canaries.values()], timeout=timeout, linger=0.0)
    except QueueTimeout:
        pass  # which ones arrived is recorded on each Canary
    return time.monotonic() - started


def check_canary(probe: Probe, canary: Canary, waited: float, earlier: list[Hop]) -> Hop:
    name = "purchase queue"
    feed = canary.feed
    if canary.body is not None:
        problems = diff(canary.body, canary.expected)
        if not problems:
            return _ok(feed, name, f"canary {canary.expected.event['event_id']} arrived exact")
        return _broken(feed, name, [f"canary arrived but its envelope differs: {problems[0]}"],
                       [earlier[0].fix if earlier else "compare with the seed's expected output"], *problems)
    if earlier:
        first = earlier[0]
        return _broken(feed, name, [f"canary did not arrive in {waited:.0f} s: it stopped at hop "
                                    f"{first.order + 1} ({first.name}, {first.feed})"], [first.fix])
    reader = MetricsReader(probe.client("cloudwatch"))
    metrics = canary_metrics(probe.view, feed)
    try:
        totals = reader.totals([m for _, m in metrics], canary.published_at)
        deltas = ", ".join(f"{label} {totals[m]:g}" for label, m in metrics)
    except ClientError as error:
        deltas = f"metrics unreadable ({_error(error)})"
    return _broken(feed, name, [f"canary did not arrive in {waited:.0f} s; no static cause found — check metrics"],
                   ["read the per-hop metric deltas below; on AWS metrics lag by minutes, so rerun with a longer "
                    "--timeout"], f"metric deltas since the canary: {deltas}")


# --- the walk -----------------------------------------------------------------------------------

FEED_CHECKS: tuple[tuple[str, Callable[[Probe, str], Hop]], ...] = (
    ("subscription", check_subscription),
    ("buffer queue policy", check_buffer_policy),
    ("buffer queue", check_buffer_queue),
    ("pipe", check_pipe),
    ("pipe role", check_pipe_role),
    ("pipe logs", check_pipe_logs),
)


SHARED_CHECKS: tuple[tuple[str, Callable[[Probe], Hop]], ...] = (
    ("rule target", check_rule_target),
    ("purchase queue policy", check_purchase_policy),
    ("rule DLQ", check_rule_dlq),
)


def _guarded(feed: str, name: str, check: Callable[[], Hop]) -> Hop:
    """Run one hop check; an API error becomes a broken hop rather than a crash of the walk."""
    try:
        return check()
    except ClientError as error:
        return _broken(feed, name, [f"could not read the hop ({_error(error)})"],
                       ["check the credentials' read permissions, or terraform apply"])


def _resolved_logs(probe: Probe, hop: Hop, canaries: dict[str, Canary]) -> Hop:
    """ERROR records older than a canary that then arrived exact describe a problem already fixed:
    say so instead of calling the hop broken."""
    canary = canaries.get(hop.feed)
    if hop.name != "pipe logs" or hop.ok or canary is None or canary.body is None or diff(canary.body, canary.expected):
        return hop
    recheck = check_pipe_logs(Probe(probe.target, probe.view, canary.published_at), hop.feed)
    if not recheck.ok:
        return hop
    return _ok(hop.feed, hop.name, f"earlier: {hop.cause}", "none since the canary, which arrived exact: resolved")


def diagnose(
    target: Target, view: StackView, canary: bool = True, timeout: float = 30.0, since: datetime | None = None,
) -> list[Hop]:
    """Every hop of every feed, in data-flow order. `since` bounds the pipe ERROR logs read (default:
    the last 15 minutes); `timeout` is how long to wait for the canaries."""
    since = since or datetime.now(timezone.utc) - LOG_WINDOW
    probe = Probe(target, view, since)
    canaries = publish_canaries(target, view) if canary else {}
    hops: list[Hop] = []
    for feed in view.feeds:
        for name, check in FEED_CHECKS:
            hops.append(_guarded(feed, name, partial(check, probe, feed)))
    hops.append(_guarded(SHARED, "bus", partial(check_bus, probe)))
    for feed in view.feeds:
        event = canaries[feed].expected.event if feed in canaries else planted(feed)
        hops.append(_guarded(feed, "rule", partial(check_rule, probe, feed, event)))
    for name, shared_check in SHARED_CHECKS:
        hops.append(_guarded(SHARED, name, partial(shared_check, probe)))
    if canaries:
        waited = await_canaries(target, view, canaries, timeout)
        hops = [_resolved_logs(probe, hop, canaries) for hop in hops]
        for feed, item in canaries.items():
            earlier = [h for h in hops if not h.ok and h.feed in (feed, SHARED)]
            hops.append(_guarded(feed, "purchase queue", partial(check_canary, probe, item, waited, earlier)))
    else:
        hops.extend(Hop(feed, "purchase queue", True, "no canary", skipped=True) for feed in view.feeds)
    return sorted(hops, key=lambda h: (h.order, h.feed == SHARED, h.feed))


def broken(hops: list[Hop]) -> list[Hop]:
    return [h for h in hops if not h.ok and not h.skipped]


def render(hops: list[Hop]) -> str:
    lines = []
    for hop in hops:
        lines.append(hop.line())
        if not hop.ok:
            lines.extend(f"      {detail}" for detail in hop.details)
    bad = broken(hops)
    if bad:
        first = bad[0]
        lines.append(f"{len(bad)} broken hop(s); the first along the data flow: "
                     f"{first.order + 1} {first.name} ({first.feed})")
    else:
        lines.append("all hops ok")
    return "\n".join(lines)


def main(settings: Settings, args: argparse.Namespace) -> int:
    from .stack import in_place
    from .target import resolve

    target = resolve(settings, start_local=False)
    deployment = in_place(target, settings.username, settings.state_bucket)
    deployment.stream = False  # doctor prints hops, not Terraform's init chatter
    deployment.init()
    view = StackView.from_outputs(deployment.stack.outputs())
    timeout = getattr(args, "timeout", 0) or (20.0 if target.is_local else 120.0)
    print(f"doctor: {settings.username} on {target.name} ({view.region}, account {view.account_id}); "
          f"canary timeout {timeout:.0f} s", flush=True)
    hops = diagnose(target, view, canary=True, timeout=timeout)
    print(render(hops))
    return 1 if broken(hops) else 0
