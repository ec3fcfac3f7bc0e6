"""Waiting for messages: bounded long-polls with a deadline, matching on what the test planted."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import backoff

Predicate = Callable[[dict[str, Any]], bool]


class QueueTimeout(AssertionError):
    """Raised when the awaited messages did not arrive; names the queue and the seconds waited."""

    def __init__(self, queue: str, waited: float, wanted: int, got: int, seen: int) -> None:
        super().__init__(
            f"queue {queue}: got {got} of {wanted} expected message(s) after waiting {waited:.1f} s "
            f"({seen} other message(s) seen and left alone)"
        )
        self.queue = queue
        self.waited = waited


@dataclass
class Received:
    body: Any  # parsed JSON when the body is JSON, else the raw string
    raw: str
    attributes: dict[str, Any]
    message_attributes: dict[str, Any]
    receipt_handle: str


def _parse(message: dict[str, Any]) -> Received:
    raw = message["Body"]
    try:
        body: Any = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's parser goes
        body = raw
    return Received(
        body=body,
        raw=raw,
        attributes=message.get("Attributes", {}),
        message_attributes=message.get("MessageAttributes", {}),
        receipt_handle=message["ReceiptHandle"],
    )


class QueueWatcher:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.name = queue_url.rsplit("/", 1)[-1]

    def _receive(self, wait: int) -> list[Received]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=30,
        )
        return [_parse(m) for m in response.get("Messages", [])]

    def collect(
        self,
        predicates: list[Predicate],
        timeout: float,
        delete: bool = True,
        linger: float = 0.0,
    ) -> list[Received]:
        """Wait until each predicate has matched one message (in order of the list), or raise
        QueueTimeout. Matching messages are deleted; others are made visible again at once.
        With `linger`, keep listening that long after the last match, to catch duplicates of
        matched messages (returned as extra entries)."""
        found: list[Received | None] = [None] * len(predicates)
        extras: list[Received] = []
        started = time.monotonic()
        deadline = started + timeout
        seen_other = 0
        waits = backoff.expo(base=2, factor=1, max_value=5)  # long-poll length grows 1, 2, 4, 5 s
        next(waits)  # backoff's wait generators yield None first (primed by .send(None) in backoff itself)
        linger_until: float | None = None
        while True:
            now = time.monotonic()
            if all(found):
                if linger_until is None:
                    linger_until = now + linger
                if now >= linger_until:
                    break
            end = deadline if linger_until is None else min(deadline, linger_until)
            if now >= end:
                break
            wait = max(0, min(int(next(waits)), int(end - now)))
            for message in self._receive(wait):
                slot = next(
                    (i for i, pred in enumerate(predicates) if found[i] is None and pred(message.body)), None
                )
                if slot is not None:
                    found[slot] = message
                elif any(pred(message.body) for pred in predicates):
                    extras.append(message)  # a duplicate of something already matched
                else:
                    seen_other += 1
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=0
                    )
                    continue
                if delete:
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message.receipt_handle)
        if not all(found):
            raise QueueTimeout(
                self.name, time.monotonic() - started, len(predicates), sum(1 for f in found if f), seen_other
            )
        return [f for f in found if f is not None] + extras

    def drain(self, timeout: float = 5.0) -> int:
        """Delete whatever is visible now; returns how many."""
        count = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = self._receive(0)
            if not batch:
                break
            for message in batch:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message.receipt_handle)
            count += len(batch)
        return count

    def depth(self) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
