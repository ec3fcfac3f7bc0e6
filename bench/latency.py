"""Latency: publish -> visible in the destination queue, one event at a time, long-polling the queue.

On the stack: SNS -> SQS -> pipe -> bus -> rule -> purchase queue, feeds alternating. Beside it, plain
moto_server's single SNS -> SQS hop (raw delivery), measured the same way."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipecheck.publisher import planted

from .common import BenchError, MotoServer, moto_topic_queue, percentile, planted_id

WARMUP = 3


@dataclass
class LatencyResult:
    samples_ms: list[float] = field(default_factory=list)
    strays: int = 0  # messages seen that were not the one awaited (earlier leftovers or duplicates)

    def summary(self) -> dict[str, float]:
        if not self.samples_ms:
            raise BenchError("no latency samples")
        return {
            "p50": round(percentile(self.samples_ms, 50), 2),
            "p95": round(percentile(self.samples_ms, 95), 2),
            "p99": round(percentile(self.samples_ms, 99), 2),
            "max": round(max(self.samples_ms), 2),
            "n": len(self.samples_ms),
        }


def _await(sqs: Any, queue_url: str, event_id: str, started: float, timeout: float, result: LatencyResult) -> float:
    """Long-poll until the planted event is visible; its latency in ms from `started`."""
    deadline = started + timeout
    while True:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            name = queue_url.rsplit("/", 1)[-1]
            raise BenchError(f"queue {name}: event {event_id} not visible after {timeout:.0f} s")
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=max(1, min(5, int(remaining))),
        )
        seen = time.perf_counter()
        messages = response.get("Messages", [])
        hit = False
        for message in messages:
            if planted_id(message["Body"]) == event_id:
                hit = True
            else:
                result.strays += 1
        if messages:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        if hit:
            return (seen - started) * 1000


def measure(publish: Callable[[int, str], None], sqs: Any, queue_url: str, count: int,
            timeout: float = 15.0) -> LatencyResult:
    """`publish(i, event_id)` sends event i; each is awaited before the next is published."""
    result = LatencyResult()
    for i in range(-WARMUP, count):
        event_id = str(uuid.uuid4())
        started = time.perf_counter()
        publish(i, event_id)
        latency = _await(sqs, queue_url, event_id, started, timeout, result)
        if i >= 0:
            result.samples_ms.append(latency)
    return result


def stack(sns: Any, sqs: Any, topic_arns: dict[str, str], purchase_queue_url: str, count: int) -> LatencyResult:
    feeds = sorted(topic_arns)
    events = {feed: planted(feed) for feed in feeds}

    def publish(i: int, event_id: str) -> None:
        feed = feeds[i % len(feeds)]
        event = dict(events[feed], event_id=event_id)
        sns.publish(TopicArn=topic_arns[feed], Message=json.dumps(event))

    return measure(publish, sqs, purchase_queue_url, count)


def moto_hop(server: MotoServer, count: int) -> LatencyResult:
    topic_arn, queue_url = moto_topic_queue(server, "latency")
    sns, sqs = server.client("sns"), server.client("sqs")
    event = planted("basket")

    def publish(i: int, event_id: str) -> None:
        sns.publish(TopicArn=topic_arn, Message=json.dumps(dict(event, event_id=event_id)))

    return measure(publish, sqs, queue_url, count)
