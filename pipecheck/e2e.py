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
    metrics: dict[str, float] = field(default_factory=dict)  # label -> total
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


def hop_metrics(view: StackView) -> dict[Metric, float]:
    """The happy-path minimum per hop for one event through every feed (aws-behaviour.md §8)."""
    n = float(len(view.feeds))
    wanted: dict[Metric, float] = {}
    for feed in view.feeds:
        topic = view.topic_arns[feed].rsplit(":", 1)[-1]
        queue = view.buffer_queue_urls[feed].rsplit("/", 1)[-1]
        pipe = view.pipe_names[feed]
        wanted[Metric.of("AWS/SNS", "NumberOfMessagesPublished", TopicName=topic)] = 1
        wanted[Metric.of("AWS/SNS", "NumberOfNotificationsDelivered", TopicName=topic)] = 1
        wanted[Metric.of("AWS/SQS", "NumberOfMessagesSent", QueueName=queue)] = 1
        wanted[Metric.of("AWS/SQS", "NumberOfMessagesDeleted", QueueName=queue)] = 1
        wanted[Metric.of("AWS/EventBridge/Pipes", "EventCount", PipeName=pipe)] = 1
    dims = {"EventBusName": view.event_bus_name, "RuleName": view.rule_name}
    wanted[Metric.of("AWS/Events", "MatchedEvents", **dims)] = n
    wanted[Metric.of("AWS/Events", "Invocations", **dims)] = n
    wanted[Metric.of("AWS/Events", "SuccessfulInvocationAttempts", **dims)] = n
    purchase = view.purchase_queue_url.rsplit("/", 1)[-1]
    wanted[Metric.of("AWS/SQS", "NumberOfMessagesSent", QueueName=purchase)] = n
    return wanted


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
    wanted = hop_metrics(view)
    progress(f"reading {len(wanted)} hop metrics (up to {metrics_timeout:.0f} s)")
    totals = MetricsReader(target.client("cloudwatch")).wait_for(wanted, since, metrics_timeout)
    outcome.metrics = {m.label(): totals[m] for m in wanted}
    outcome.shortfalls = [
        f"{m.label()}: got {totals[m]:g}, expected >= {want:g}" for m, want in wanted.items() if totals[m] < want
    ]
    return outcome


def render(outcome: Outcome) -> str:
    lines = []
    for feed, body in outcome.envelopes.items():
        lines.append(json.dumps(body, indent=2))
        for problem in outcome.problems.get(feed, []):
            lines.append(f"  !! {feed}: {problem}")
    lines.append("metrics (sum since publish):")
    lines.extend(f"  {label}: {value:g}" for label, value in outcome.metrics.items())
    lines.extend(f"  !! {shortfall}" for shortfall in outcome.shortfalls)
    return "\n".join(lines)
