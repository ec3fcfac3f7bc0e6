"""Publishing events to the feeds' topics: the seed's example events as they are, or copies with a
planted event_id so a test can find exactly its own message."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from typing import Any

from .settings import ROOT

EXAMPLES = ROOT / "example-sns-events"
# feed key -> example file, as in the exercise's send-mock-events.sh
EXAMPLE_FILES = {"basket": "basket-updated-event.json", "checkout": "checkout-created-event.json"}


@dataclass(frozen=True)
class Published:
    feed: str
    topic_arn: str
    message_id: str
    event: Any  # what was published (parsed JSON), or the raw text for non-JSON payloads
    raw: str


def example(feed: str) -> dict[str, Any]:
    path = EXAMPLES / EXAMPLE_FILES[feed]
    return json.loads(path.read_text())


def planted(feed: str) -> dict[str, Any]:
    """The feed's example event with a fresh event_id."""
    event = copy.deepcopy(example(feed))
    event["event_id"] = str(uuid.uuid4())
    return event


class Publisher:
    def __init__(self, sns: Any, topic_arns: dict[str, str]) -> None:
        self.sns = sns
        self.topic_arns = topic_arns

    def publish(self, feed: str, event: Any, attributes: dict[str, Any] | None = None) -> Published:
        if feed not in self.topic_arns:
            raise KeyError(f"feed {feed!r}: expected one of {sorted(self.topic_arns)}")
        raw = event if isinstance(event, str) else json.dumps(event)
        kwargs: dict[str, Any] = {"TopicArn": self.topic_arns[feed], "Message": raw}
        if attributes:
            kwargs["MessageAttributes"] = attributes
        response = self.sns.publish(**kwargs)
        return Published(feed, self.topic_arns[feed], response["MessageId"], event, raw)
