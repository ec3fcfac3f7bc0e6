"""The end-to-end check: publish each feed's example event, wait for its envelope in the purchase
queue, compare it field by field with the seed's expected output, and read the per-hop metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .envelope import Expected, diff
from .metrics import Metric, MetricsReader
from .outputs import StackView
from .publisher import Published, Publisher, example
from .target import Target
from .watcher import QueueWatcher

Progress = Callable[[str], None]


@dataclass
class Outcome:
    published: list[Published] = field(default_factory=list)
    envelopes: dict[str, Any] = field(default_factory=dict)  # feed -> body received
    problems: dict[str, list[str]] = field(default_factory=dict)  # feed -> diffs
    metrics: list[tuple[HopMetric, float]] = field(default_factory=list)  # with its total
    shortfalls: list[str] = field(default_factory=list)  # metrics below their happy-path minimum

    @property
    def ok(self) -> bool:
        return (
            len(self.envelopes) == len(self.published)
            and not any(self.problems.values())
            and not self.shortfalls
        )


def expected_for(view: StackView, feed: str, event: dict[str, Any]) -> Expected:
    params = view.feed_events[feed]
    return Expected(params["source"], params["detail_type"], view.account_id, view.region, event)


HOP_ORDER = [
    "topic", "topic -> buffer queue", "buffer queue", "buffer queue -> pipe", "pipe -> bus", "bus -> rule",
    "rule -> purchase queue", "purchase queue",
]


@dataclass(frozen=True)
class HopMetric:
    hop: str  # where along the data flow
    scope: str  # the feed, or "all" for the shared bus/rule/queue
    metric: Metric
    minimum: float  # happy-path minimum for one event per feed (aws-behaviour.md §8)


def hop_metrics(view: StackView) -> list[HopMetric]:
    """Per hop, in data-flow order, what one example event per feed must move."""
    n = float(len(view.feeds))
    rows: list[HopMetric] = []
    for feed in view.feeds:
        topic = view.topic_arns[feed].rsplit(":", 1)[-1]
        queue = view.buffer_queue_urls[feed].rsplit("/", 1)[-1]
        pipe = view.pipe_names[feed]
        rows += [
            HopMetric("topic", feed, Metric.of("AWS/SNS", "NumberOfMessagesPublished", TopicName=topic), 1),
            HopMetric("topic -> buffer queue", feed, Metric.of("AWS/SNS", "NumberOfNotificationsDelivered", TopicName=topic), 1),
            HopMetric("buffer queue", feed, Metric.of("AWS/SQS", "NumberOfMessagesSent", QueueName=queue), 1),
            HopMetric("buffer queue -> pipe", feed, Metric.of("AWS/SQS", "NumberOfMessagesDeleted", QueueName=queue), 1),
            HopMetric("pipe -> bus", feed, Metric.of("AWS/EventBridge/Pipes", "EventCount", PipeName=pipe), 1),
        ]
    dims = {"EventBusName": view.event_bus_name, "RuleName": view.rule_name}
    purchase = view.purchase_queue_url.rsplit("/", 1)[-1]
    rows += [
        HopMetric("bus -> rule", "all", Metric.of("AWS/Events", "MatchedEvents", **dims), n),
        HopMetric("rule -> purchase queue", "all", Metric.of("AWS/Events", "Invocations", **dims), n),
        HopMetric("rule -> purchase queue", "all", Metric.of("AWS/Events", "SuccessfulInvocationAttempts", **dims), n),
        HopMetric("purchase queue", "all", Metric.of("AWS/SQS", "NumberOfMessagesSent", QueueName=purchase), n),
    ]
    return rows


def run(target: Target, view: StackView, timeout: float, metrics_timeout: float, progress: Progress) -> Outcome:
    outcome = Outcome()
    since = datetime.now(timezone.utc)
    publisher = Publisher(target.client("sns"), view.topic_arns)
    expectations: list[tuple[str, Expected]] = []
    for feed in view.feeds:
        event = example(feed)
        published = publisher.publish(feed, event)
        outcome.published.append(published)
        expectations.append((feed, expected_for(view, feed, event)))
        progress(f"published {feed} event {event.get('event_id')} to {view.topic_arns[feed]} ({published.message_id})")
    watcher = QueueWatcher(target.client("sqs"), view.purchase_queue_url)
    progress(f"waiting up to {timeout:.0f} s for {len(expectations)} envelope(s) in {watcher.name}")
    received = watcher.collect([exp.matches_event for _, exp in expectations], timeout=timeout)
    for (feed, exp), message in zip(expectations, received):
        outcome.envelopes[feed] = message.body
        outcome.problems[feed] = diff(message.body, exp)
        state = "exact" if not outcome.problems[feed] else "DIFFERS"
        progress(f"{feed}: envelope arrived ({state})")
    rows = hop_metrics(view)
    progress(f"reading {len(rows)} hop metrics (up to {metrics_timeout:.0f} s)")
    totals = MetricsReader(target.client("cloudwatch")).wait_for({r.metric: r.minimum for r in rows}, since, metrics_timeout)
    outcome.metrics = [(row, totals[row.metric]) for row in rows]
    outcome.shortfalls = [
        f"{row.hop} ({row.scope}) {row.metric.label()}: got {total:g}, expected >= {row.minimum:g}"
        for row, total in outcome.metrics
        if total < row.minimum
    ]
    return outcome


def render(outcome: Outcome) -> str:
    lines = []
    for feed, body in outcome.envelopes.items():
        lines.append(json.dumps(body, indent=2))
        for problem in outcome.problems.get(feed, []):
            lines.append(f"  !! {feed}: {problem}")
    lines.append("per-hop metrics (sum since publish, minimum for the happy path):")
    for row, total in sorted(outcome.metrics, key=lambda rt: HOP_ORDER.index(rt[0].hop)):
        mark = "ok" if total >= row.minimum else "!!"
        lines.append(f"  {mark} {row.hop:<24} {row.scope:<9} {row.metric.namespace}/{row.metric.name} = {total:g} (>= {row.minimum:g})")
    return "\n".join(lines)
