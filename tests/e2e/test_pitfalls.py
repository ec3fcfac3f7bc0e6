"""The pitfall matrix: on the live stack, break one hop through the APIs (saving the original first),
publish a planted event, assert delivery fails where AWS fails it (positive evidence: a metric delta,
a dead-lettered message with its attributes, a pipe ERROR log, a wrong envelope shape), assert that
doctor names the broken hop and its cause, then restore and watch a planted event flow again.

The last test proves every restore was exact: `terraform plan` shows no changes."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest

from pipecheck import doctor
from pipecheck.envelope import Expected, diff
from pipecheck.metrics import Deltas, Metric, MetricsReader
from pipecheck.outputs import StackView
from pipecheck.publisher import Publisher, planted
from pipecheck.stack import Deployment
from pipecheck.target import Target
from pipecheck.watcher import QueueTimeout, QueueWatcher, Received

pytestmark = pytest.mark.pitfalls

QUOTED_TEMPLATE = '{ "event": "<$.body>" }'


@dataclass(frozen=True)
class Waits:
    arrive: float  # an event that flows reaches the purchase queue
    dead: float  # a failing event reaches a DLQ (pipe: maxReceiveCount receives at 1 s visibility)
    absent: float  # how long "nothing arrived" is watched for, next to a positive metric
    metrics: float  # metric deltas show up (minutes on AWS)
    canary: float  # doctor's canary timeout


LOCAL_WAITS = Waits(arrive=15, dead=30, absent=2, metrics=10, canary=10)
AWS_WAITS = Waits(arrive=120, dead=300, absent=30, metrics=600, canary=120)


@dataclass
class Env:
    target: Target
    view: StackView
    waits: Waits

    def client(self, service: str) -> Any:
        return self.target.client(service)

    # -- publishing and watching ---------------------------------------------------------------
    def publish(self, feed: str) -> dict[str, Any]:
        event = planted(feed)
        Publisher(self.client("sns"), self.view.topic_arns).publish(feed, event)
        return event

    def expected(self, feed: str, event: dict[str, Any]) -> Expected:
        params = self.view.feed_events[feed]
        return Expected(params["source"], params["detail_type"], self.view.account_id, self.view.region, event)

    def arrivals(self, feed: str, event: dict[str, Any], timeout: float, linger: float = 0.0) -> list[Received]:
        """Every copy of the planted event in the purchase queue (deleted), or QueueTimeout."""
        watcher = QueueWatcher(self.client("sqs"), self.view.purchase_queue_url)
        return watcher.collect([self.expected(feed, event).matches_event], timeout=timeout, linger=linger)

    def assert_absent(self, feed: str, event: dict[str, Any]) -> None:
        try:
            got = self.arrivals(feed, event, self.waits.absent)
        except QueueTimeout:
            return
        pytest.fail(f"purchase queue: got {got[0].raw[:300]}, expected no copy of event {event['event_id']}")

    def dead_letter(self, url: str, event: dict[str, Any], timeout: float) -> Received:
        """The planted event in a DLQ, left there (visible again) for doctor to count."""
        watcher = QueueWatcher(self.client("sqs"), url)
        found = watcher.collect([lambda body: event["event_id"] in json.dumps(body)], timeout=timeout, delete=False)
        self.client("sqs").change_message_visibility(QueueUrl=url, ReceiptHandle=found[0].receipt_handle,
                                                     VisibilityTimeout=0)
        return found[0]

    def assert_flows(self, feed: str) -> None:
        event = self.publish(feed)
        got = self.arrivals(feed, event, self.waits.arrive)
        problems = diff(got[0].body, self.expected(feed, event))
        assert not problems, f"after restore, {feed} envelope: got differences {problems}, expected none"

    # -- evidence ------------------------------------------------------------------------------
    def metric(self, feed: str, label: str) -> Metric:
        return dict(doctor.canary_metrics(self.view, feed))[label]

    def deltas(self, feed: str, *labels: str) -> Deltas:
        return Deltas(MetricsReader(self.client("cloudwatch")), [self.metric(feed, label) for label in labels])

    def pipe_errors(self, feed: str, since: datetime) -> list[dict[str, Any]]:
        response = self.client("logs").filter_log_events(
            logGroupName=self.view.pipe_log_group_names[feed], startTime=int(since.timestamp() * 1000)
        )
        records = [json.loads(e["message"]) for e in response.get("events", []) if e["message"].startswith("{")]
        return [r for r in records if str(r.get("logLevel", "")).upper() == "ERROR"]

    def wait_pipe_errors(self, feed: str, since: datetime) -> list[dict[str, Any]]:
        deadline = time.monotonic() + self.waits.dead
        while True:
            errors = self.pipe_errors(feed, since)
            if errors or time.monotonic() >= deadline:
                return errors
            time.sleep(0.5)  # bounded poll, deadline above

    # -- housekeeping --------------------------------------------------------------------------
    def clean(self) -> None:
        """Empty the queues a case may leave messages in, so the next diagnosis starts clean."""
        sqs = self.client("sqs")
        for url in (self.view.purchase_queue_url, self.view.purchase_dlq_url, *self.view.buffer_dlq_urls.values()):
            QueueWatcher(sqs, url).drain()

    def wait_pipe_running(self, feed: str) -> None:
        pipes = self.client("pipes")
        deadline = time.monotonic() + self.waits.arrive
        while True:
            state = pipes.describe_pipe(Name=self.view.pipe_names[feed]).get("CurrentState")
            if state == "RUNNING":
                return
            assert time.monotonic() < deadline, f"pipe {self.view.pipe_names[feed]}: got {state}, expected RUNNING"
            time.sleep(0.2)  # bounded poll, deadline above


# --- injections: each saves the original and returns the function that puts it back -----------

Restore = Callable[[], None]


def _subscription_arn(env: Env, feed: str) -> str:
    return env.view.subscription_arns[feed]


def raw_delivery_off(env: Env, feed: str) -> Restore:
    sns = env.client("sns")
    arn = _subscription_arn(env, feed)
    original = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"].get("RawMessageDelivery", "false")
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="false")
    return lambda: sns.set_subscription_attributes(
        SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue=original
    )


def _replace_queue_policy(env: Env, url: str, change: Callable[[str], str]) -> Restore:
    sqs = env.client("sqs")
    original = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {}).get("Policy", "")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": change(original)})
    return lambda: sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": original})


def buffer_policy_missing(env: Env, feed: str) -> Restore:
    return _replace_queue_policy(env, env.view.buffer_queue_urls[feed], lambda _: "")


def other_topic(view: StackView, feed: str) -> str:
    return view.topic_arns[feed].rsplit(":", 1)[0] + f":{view.username}-other-topic"


def buffer_policy_wrong_source_arn(env: Env, feed: str) -> Restore:
    topic, other = env.view.topic_arns[feed], other_topic(env.view, feed)

    def change(policy: str) -> str:
        assert topic in policy, f"buffer queue policy: got {policy}, expected it to name {topic}"
        return policy.replace(topic, other)

    return _replace_queue_policy(env, env.view.buffer_queue_urls[feed], change)


def purchase_policy_missing(env: Env, feed: str) -> Restore:
    return _replace_queue_policy(env, env.view.purchase_queue_url, lambda _: "")


def _without_action(env: Env, feed: str, action: str) -> Restore:
    """The pipe role's inline policy without `action`, and the buffer queue's visibility timeout at
    1 s so the failed receives reach maxReceiveCount (and the DLQ) within seconds."""
    iam, sqs = env.client("iam"), env.client("sqs")
    role = env.view.pipe_role_arns[feed].rsplit("/", 1)[-1]
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert len(names) == 1, f"role {role} inline policies: got {names}, expected exactly one"
    original = iam.get_role_policy(RoleName=role, PolicyName=names[0])["PolicyDocument"]
    reduced = copy.deepcopy(original)
    removed = 0
    for statement in reduced["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        kept = [a for a in actions if a != action]
        removed += len(actions) - len(kept)
        statement["Action"] = kept
    reduced["Statement"] = [s for s in reduced["Statement"] if s["Action"]]
    assert removed == 1, f"role {role}: got {removed} statements granting {action}, expected 1"
    url = env.view.buffer_queue_urls[feed]
    visibility = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    iam.put_role_policy(RoleName=role, PolicyName=names[0], PolicyDocument=json.dumps(reduced))
    # The pipe reads the queue's visibility timeout on every receive, so the planted message comes
    # back after 1 s and reaches the DLQ after maxReceiveCount attempts within seconds.
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})

    def restore() -> None:
        iam.put_role_policy(RoleName=role, PolicyName=names[0], PolicyDocument=json.dumps(original))
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": visibility["VisibilityTimeout"]})

    return restore


def pipe_role_without_put_events(env: Env, feed: str) -> Restore:
    return _without_action(env, feed, "events:PutEvents")


def pipe_role_without_delete_message(env: Env, feed: str) -> Restore:
    return _without_action(env, feed, "sqs:DeleteMessage")


def _update_target_parameters(env: Env, feed: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Restore:
    """UpdatePipe replaces TargetParameters sub-objects whole, so always send the full object."""
    pipes = env.client("pipes")
    name = env.view.pipe_names[feed]
    pipe = pipes.describe_pipe(Name=name)
    original = pipe["TargetParameters"]
    pipes.update_pipe(Name=name, RoleArn=pipe["RoleArn"], TargetParameters=change(copy.deepcopy(original)))
    env.wait_pipe_running(feed)

    def restore() -> None:
        pipes.update_pipe(Name=name, RoleArn=pipe["RoleArn"], TargetParameters=original)
        env.wait_pipe_running(feed)

    return restore


def input_template_quoted(env: Env, feed: str) -> Restore:
    return _update_target_parameters(env, feed, lambda p: {**p, "InputTemplate": QUOTED_TEMPLATE})


def pipe_without_source_parameters(env: Env, feed: str) -> Restore:
    # An empty EventBridgeEventBusParameters replaces the object whole (§3.6), so Source and DetailType
    # go back to their defaults; leaving the key out could keep the old object.
    restore = _update_target_parameters(
        env, feed, lambda p: {"InputTemplate": p["InputTemplate"], "EventBridgeEventBusParameters": {}}
    )
    params = env.client("pipes").describe_pipe(Name=env.view.pipe_names[feed])["TargetParameters"]
    if (params.get("EventBridgeEventBusParameters") or {}).get("Source"):
        restore()
        pytest.fail(f"UpdatePipe: got TargetParameters {params}, expected no EventBridgeEventBusParameters.Source")
    return restore


def rule_pattern_wrong_source(env: Env, feed: str) -> Restore:
    events = env.client("events")
    rule = events.describe_rule(Name=env.view.rule_name, EventBusName=env.view.event_bus_name)

    def put(pattern: str) -> None:
        events.put_rule(Name=rule["Name"], EventBusName=env.view.event_bus_name, EventPattern=pattern,
                        State=rule["State"], Description=rule.get("Description", ""))

    put(json.dumps({"source": ["wrong_events"]}))
    return lambda: put(rule["EventPattern"])


# --- evidence: publish a planted event and show where it fails ----------------------------------


def shows_sns_envelope(env: Env, feed: str) -> None:
    event = env.publish(feed)
    [got] = env.arrivals(feed, event, env.waits.arrive)
    inner = got.body["detail"]["event"]
    assert isinstance(inner, dict) and inner.get("Type") == "Notification", (
        f"detail.event: got {str(inner)[:200]}, expected the SNS envelope (Type Notification)")
    assert json.loads(inner["Message"]) == event, (
        f"detail.event.Message: got {inner['Message'][:200]}, expected the published event as an escaped string")


def sns_delivery_fails(env: Env, feed: str) -> None:
    deltas = env.deltas(feed, "SNS failed", "SNS delivered", "buffer sent")
    event = env.publish(feed)
    got = deltas.wait({env.metric(feed, "SNS failed"): 1}, env.waits.metrics)
    failed, delivered, sent = (got[env.metric(feed, label)] for label in ("SNS failed", "SNS delivered", "buffer sent"))
    assert failed >= 1, f"NumberOfNotificationsFailed delta: got {failed:g}, expected >= 1"
    assert delivered == 0, f"NumberOfNotificationsDelivered delta: got {delivered:g}, expected 0"
    assert sent == 0, f"buffer queue NumberOfMessagesSent delta: got {sent:g}, expected 0"
    env.assert_absent(feed, event)


def pipe_cannot_put_events(env: Env, feed: str) -> None:
    since = datetime.now(timezone.utc)
    deltas = env.deltas(feed, "pipe ExecutionFailed", "rule MatchedEvents")
    event = env.publish(feed)
    dead = env.dead_letter(env.view.buffer_dlq_urls[feed], event, env.waits.dead)
    assert dead.body == event, f"buffer DLQ body: got {dead.raw[:200]}, expected the published event"
    receives = int(dead.attributes.get("ApproximateReceiveCount", 0))
    assert receives >= 5, f"ApproximateReceiveCount in the DLQ: got {receives}, expected >= maxReceiveCount 5"
    errors = env.wait_pipe_errors(feed, since)
    assert any("PutEvents" in json.dumps(r) for r in errors), (
        f"pipe ERROR records: got {[r.get('error') for r in errors][:3]}, expected one naming PutEvents")
    got = deltas.now()
    failed, matched = got[env.metric(feed, "pipe ExecutionFailed")], got[env.metric(feed, "rule MatchedEvents")]
    assert failed >= 1, f"pipe ExecutionFailed delta: got {failed:g}, expected >= 1"
    assert matched == 0, f"rule MatchedEvents delta: got {matched:g}, expected 0"


def pipe_cannot_delete(env: Env, feed: str) -> None:
    event = env.publish(feed)
    dead = env.dead_letter(env.view.buffer_dlq_urls[feed], event, env.waits.dead)
    assert dead.body == event, f"buffer DLQ body: got {dead.raw[:200]}, expected the published event"
    copies = env.arrivals(feed, event, env.waits.arrive, linger=1.0)
    assert len(copies) >= 2, f"copies in the purchase queue: got {len(copies)}, expected duplicates (>= 2)"
    ids = {c.body["id"] for c in copies}
    assert len(ids) == len(copies), f"event ids: got {len(ids)} distinct for {len(copies)} copies, expected one each"


def rule_dead_letters(env: Env, feed: str) -> None:
    deltas = env.deltas(feed, "rule InvocationsSentToDlq", "purchase sent")
    event = env.publish(feed)
    dead = env.dead_letter(env.view.purchase_dlq_url, event, env.waits.dead)
    attributes = {k: v.get("StringValue") for k, v in dead.message_attributes.items()}
    assert attributes.get("RULE_ARN") == env.view.rule_arn, (
        f"RULE_ARN: got {attributes.get('RULE_ARN')}, expected {env.view.rule_arn}")
    assert attributes.get("TARGET_ARN") == env.view.purchase_queue_arn, (
        f"TARGET_ARN: got {attributes.get('TARGET_ARN')}, expected {env.view.purchase_queue_arn}")
    for key in ("ERROR_CODE", "ERROR_MESSAGE"):
        assert attributes.get(key), f"{key}: got {attributes.get(key)!r}, expected a value (attributes {attributes})"
    assert dead.body["detail"]["event"] == event, (
        f"dead-lettered detail.event: got {dead.body['detail']}, expected {event}")
    got = deltas.wait({env.metric(feed, "rule InvocationsSentToDlq"): 1}, env.waits.metrics)
    sent_to_dlq = got[env.metric(feed, "rule InvocationsSentToDlq")]
    assert sent_to_dlq >= 1, f"InvocationsSentToDlq delta: got {sent_to_dlq:g}, expected >= 1"
    purchase = got[env.metric(feed, "purchase sent")]
    assert purchase == 0, f"purchase queue NumberOfMessagesSent delta: got {purchase:g}, expected 0"


def detail_event_is_string(env: Env, feed: str) -> None:
    event = env.publish(feed)
    [got] = env.arrivals(feed, event, env.waits.arrive)
    inner = got.body["detail"]["event"]
    assert isinstance(inner, str), f"detail.event: got {type(inner).__name__} {str(inner)[:200]}, expected a string"


def rule_never_fires(env: Env, feed: str) -> None:
    deltas = env.deltas(feed, "pipe EventCount", "buffer deleted", "rule MatchedEvents")
    event = env.publish(feed)
    got = deltas.wait({env.metric(feed, "pipe EventCount"): 1, env.metric(feed, "buffer deleted"): 1},
                      env.waits.metrics)
    count, deleted = got[env.metric(feed, "pipe EventCount")], got[env.metric(feed, "buffer deleted")]
    assert count >= 1, f"pipe EventCount delta: got {count:g}, expected >= 1 (the pipe did forward it)"
    assert deleted >= 1, f"buffer NumberOfMessagesDeleted delta: got {deleted:g}, expected >= 1"
    env.assert_absent(feed, event)
    matched = deltas.now()[env.metric(feed, "rule MatchedEvents")]
    assert matched == 0, f"rule MatchedEvents delta: got {matched:g}, expected 0"


# --- the matrix ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    feed: str
    inject: Callable[[Env, str], Restore]
    evidence: Callable[[Env, str], None]
    hop: str  # the hop doctor must name broken
    causes: Callable[[StackView, str], list[str]]  # texts its cause must contain
    also: frozenset[str] = field(default_factory=frozenset)  # hops that may be broken as consequences
    canary: bool = False  # run doctor with its canary (only where the canary arrives, so no wait)


CASES = [
    Case("raw-delivery-off", "basket", raw_delivery_off, shows_sns_envelope, "subscription",
         lambda v, f: ["raw delivery off", "SNS envelope"], frozenset({"purchase queue"}), canary=True),
    Case("buffer-policy-missing", "basket", buffer_policy_missing, sns_delivery_fails, "buffer queue policy",
         lambda v, f: ["has no access policy", f"no statement allows sns.amazonaws.com sqs:SendMessage for topic "
                                                f"{v.topic_arns[f]}"]),
    Case("buffer-policy-wrong-source-arn", "checkout", buffer_policy_wrong_source_arn, sns_delivery_fails,
         "buffer queue policy",
         lambda v, f: [f"aws:SourceArn condition is {other_topic(v, f)}, expected {v.topic_arns[f]}"]),
    Case("pipe-role-without-put-events", "basket", pipe_role_without_put_events, pipe_cannot_put_events,
         "pipe role", lambda v, f: ["does not allow events:PutEvents on arn:"],
         frozenset({"pipe", "buffer queue", "pipe logs"})),
    Case("pipe-role-without-delete-message", "checkout", pipe_role_without_delete_message, pipe_cannot_delete,
         "pipe role", lambda v, f: [f"does not allow sqs:DeleteMessage on {v.buffer_queue_arns[f]}"],
         frozenset({"pipe", "buffer queue", "pipe logs"})),
    Case("purchase-policy-missing", "basket", purchase_policy_missing, rule_dead_letters, "purchase queue policy",
         lambda v, f: ["has no access policy", f"no statement allows events.amazonaws.com sqs:SendMessage for rule "
                                                f"{v.rule_arn}"], frozenset({"rule DLQ"})),
    Case("input-template-quoted", "checkout", input_template_quoted, detail_event_is_string, "pipe",
         lambda v, f: ["quoted template", "detail.event becomes a string"], frozenset({"purchase queue"}), canary=True),
    Case("pipe-without-source-parameters", "basket", pipe_without_source_parameters, rule_never_fires, "pipe",
         lambda v, f: ["no EventBridgeEventBusParameters.Source", f"source 'Pipe {v.pipe_names[f]}'",
                       "the rule never fires"], frozenset({"rule"})),
    Case("rule-pattern-wrong-source", "basket", rule_pattern_wrong_source, rule_never_fires, "rule",
         lambda v, f: ["wrong_events", f"does not match source {v.feed_events[f]['source']!r}"]),
]


@pytest.fixture(scope="module")
def env(target: Target, view: StackView) -> Env:
    return Env(target, view, LOCAL_WAITS if target.is_local else AWS_WAITS)


class Fault:
    def __init__(self, restore: Restore) -> None:
        self._restore: Restore | None = restore
        self.started = datetime.now(timezone.utc)

    def restore(self) -> None:
        if self._restore is not None:
            restore, self._restore = self._restore, None
            restore()


@pytest.fixture
def fault(case: Case, env: Env) -> Iterator[Fault]:
    """Inject the case's fault (the original saved first); put it back whatever the test did."""
    env.clean()
    injected = Fault(case.inject(env, case.feed))
    try:
        yield injected
    finally:
        injected.restore()
        env.clean()


def test_doctor_healthy_stack(env: Env) -> None:
    env.clean()
    since = datetime.now(timezone.utc)  # pipe ERROR records of earlier runs are not this stack's state
    hops = doctor.diagnose(env.target, env.view, canary=True, timeout=env.waits.canary, since=since)
    report = doctor.render(hops)
    assert not doctor.broken(hops), f"doctor on the healthy stack: got broken hops\n{report}\nexpected none"
    names = [(h.name, h.feed) for h in hops]
    assert len(names) == len(set(names)) == 6 * len(env.view.feeds) + 4 + 2 * len(env.view.feeds), (
        f"hops: got {names}, expected each hop once per feed (shared ones once)")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_pitfall(case: Case, fault: Fault, env: Env) -> None:
    case.evidence(env, case.feed)

    hops = doctor.diagnose(env.target, env.view, canary=case.canary, timeout=env.waits.canary, since=fault.started)
    report = doctor.render(hops)
    feed = doctor.SHARED if case.hop in ("bus", "rule target", "purchase queue policy", "rule DLQ") else case.feed
    [hop] = [h for h in hops if (h.name, h.feed) == (case.hop, feed)]
    assert not hop.ok, f"doctor hop {case.hop} ({feed}): got ok, expected broken\n{report}"
    for text in case.causes(env.view, case.feed):
        assert text in hop.cause, f"doctor cause: got {hop.cause!r}, expected it to contain {text!r}\n{report}"
    allowed = {case.hop} | case.also
    unexpected = [h.line() for h in doctor.broken(hops) if h.name not in allowed]
    assert not unexpected, f"doctor: got other broken hops {unexpected}, expected only {sorted(allowed)}\n{report}"

    fault.restore()
    env.clean()
    env.assert_flows(case.feed)


def test_restores_were_exact(deployment: Deployment) -> None:
    changed, text = deployment.stack.plan_changes()
    assert not changed, f"terraform plan after the matrix: got changes\n{text[-3000:]}\nexpected none"
