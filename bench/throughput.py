"""Throughput: a burst of planted events from several publishing threads, drained by several consumer
threads (batch receive + delete_message_batch). Every published id is accounted for: delivered once,
duplicated, or lost (never seen before the deadline)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .common import planted_id

IDLE_GIVE_UP_S = 30.0  # after publishing ends, stop when nothing new arrived for this long


@dataclass
class BurstResult:
    published: int = 0
    publish_errors: int = 0
    delivered: int = 0  # distinct published ids seen
    duplicates: int = 0  # extra copies of ids already seen
    lost: int = 0  # published ids never seen
    strays: int = 0  # messages that were no planted event of this burst
    publish_s: float = 0.0
    deliver_s: float = 0.0  # first publish -> last delivery
    lost_sample: list[str] = field(default_factory=list)

    @property
    def published_per_s(self) -> float:
        return round(self.published / self.publish_s, 1) if self.publish_s else 0.0

    @property
    def delivered_per_s(self) -> float:
        return round(self.delivered / self.deliver_s, 1) if self.deliver_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "publish_errors": self.publish_errors,
            "delivered": self.delivered,
            "lost": self.lost,
            "duplicates": self.duplicates,
            "strays": self.strays,
            "publish_s": round(self.publish_s, 2),
            "deliver_s": round(self.deliver_s, 2),
            "published_per_s": self.published_per_s,
            "delivered_per_s": self.delivered_per_s,
        }


def burst(
    make_sns: Callable[[], Any],
    make_sqs: Callable[[], Any],
    topics: list[tuple[str, dict[str, Any]]],  # (topic ARN, template event), used round-robin
    queue_url: str,
    count: int,
    publishers: int = 4,
    consumers: int = 4,
    deadline_s: float | None = None,
    batch: int = 1,  # > 1: SNS PublishBatch with this many entries per call (max 10)
) -> BurstResult:
    result = BurstResult()
    lock = threading.Lock()
    # Pre-render every message so the timed section only publishes.
    messages: list[tuple[str, str, str]] = []
    for i in range(count):
        topic_arn, template = topics[i % len(topics)]
        event_id = str(uuid.uuid4())
        messages.append((event_id, topic_arn, json.dumps(dict(template, event_id=event_id))))
    published: set[str] = set()
    seen: set[str] = set()
    publishing_done = threading.Event()
    stop = threading.Event()
    last_delivery = [0.0]
    deadline = time.monotonic() + (deadline_s if deadline_s is not None else max(60.0, count / 20))

    def publisher(index: int) -> None:
        sns = make_sns()
        if batch > 1:
            return batch_publisher(sns, messages[index::publishers])
        for event_id, topic_arn, body in messages[index::publishers]:
            try:
                sns.publish(TopicArn=topic_arn, Message=body)
            except Exception:  # counted, never retried: the burst measures what one attempt does
                with lock:
                    result.publish_errors += 1
                continue
            with lock:
                published.add(event_id)

    def batch_publisher(sns: Any, mine: list[tuple[str, str, str]]) -> None:
        by_topic: dict[str, list[tuple[str, str]]] = {}
        for event_id, topic_arn, body in mine:
            by_topic.setdefault(topic_arn, []).append((event_id, body))
        chunks = [(topic, items[i:i + batch]) for topic, items in by_topic.items() for i in range(0, len(items), batch)]
        for topic_arn, chunk in chunks:
            entries = [{"Id": str(i), "Message": body} for i, (_, body) in enumerate(chunk)]
            try:
                response = sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=entries)
            except Exception:  # the whole call failed: every entry counts as an error
                with lock:
                    result.publish_errors += len(chunk)
                continue
            ok = {int(entry["Id"]) for entry in response.get("Successful", [])}
            with lock:
                result.publish_errors += len(chunk) - len(ok)
                published.update(chunk[i][0] for i in ok)

    def consumer() -> None:
        sqs = make_sqs()
        while not stop.is_set():
            response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            batch = response.get("Messages", [])
            if not batch:
                continue
            now = time.monotonic()
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
            with lock:
                for message in batch:
                    event_id = planted_id(message["Body"])
                    if event_id is None:
                        result.strays += 1
                    elif event_id in seen:
                        result.duplicates += 1
                    else:
                        seen.add(event_id)
                        last_delivery[0] = now

    consumer_threads = [threading.Thread(target=consumer, name=f"bench-consumer-{i}", daemon=True)
                        for i in range(consumers)]
    publisher_threads = [threading.Thread(target=publisher, args=(i,), name=f"bench-publisher-{i}", daemon=True)
                         for i in range(publishers)]
    for thread in consumer_threads:
        thread.start()
    started = time.monotonic()
    for thread in publisher_threads:
        thread.start()
    for thread in publisher_threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    result.publish_s = time.monotonic() - started
    publishing_done.set()

    # Bounded wait for the stragglers: all seen, the deadline, or nothing new for IDLE_GIVE_UP_S.
    while time.monotonic() < deadline:
        with lock:
            complete = published <= seen
            idle_for = time.monotonic() - max(last_delivery[0], started + result.publish_s)
        if complete or idle_for > IDLE_GIVE_UP_S:
            break
        stop.wait(0.1)  # bounded poll of the consumers' progress
    stop.set()
    for thread in consumer_threads:
        thread.join(10)

    with lock:
        result.published = len(published)
        delivered_ids = seen & published
        result.delivered = len(delivered_ids)
        result.strays += len(seen - published)
        missing = published - seen
        result.lost = len(missing)
        result.lost_sample = sorted(missing)[:5]
        result.deliver_s = (last_delivery[0] - started) if last_delivery[0] else 0.0
    return result
