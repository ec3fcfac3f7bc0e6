"""SNS -> SQS delivery with the queue policy enforced, and the AWS/SNS metrics (aws-behaviour.md §1).

- The queue policy must let sns.amazonaws.com SendMessage for the topic (§1.1); otherwise the
  notification is dropped: a client-side error, not retried (§1.3). Publish still succeeds.
- Raw delivery: body = the message, attributes become SQS attributes; more than 10 attributes =>
  discarded (§1.2). Otherwise the JSON envelope, with the UnsubscribeURL in the topic's region.
- Metrics per topic: NumberOfMessagesPublished, PublishSize, NumberOfNotificationsDelivered,
  NumberOfNotificationsFailed, NumberOfNotificationsFilteredOut (§1.4).
- Publish size counts UTF-8 bytes of the message and its attributes (moto counts characters).
Other protocols keep moto's behaviour."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from . import access, metrics
from .patching import wrap

log = logging.getLogger("localcloud.sns_delivery")

NAMESPACE = "AWS/SNS"
SNS_PRINCIPAL = "sns.amazonaws.com"
MAX_PUBLISH_BYTES = 262144  # 256 KiB, message plus attributes
MAX_RAW_ATTRIBUTES = 10


def _emit(topic: Any, name: str, value: float = 1.0, unit: str = "Count") -> None:
    region = topic.sns_backend.region_name
    metrics.emit(topic.account_id, region, NAMESPACE, name, {"TopicName": topic.name}, value, unit)


def _publish_size(message: str, attributes: dict[str, Any] | None) -> int:
    size = len(message.encode("utf-8"))
    for name, attribute in (attributes or {}).items():
        size += len(name.encode("utf-8")) + len(str(attribute.get("Type", "")).encode("utf-8"))
        size += len(str(attribute.get("Value", "")).encode("utf-8"))
    return size


def _backend_publish(
    original: Callable[..., str], self: Any, message: str, arn: str | None, *args: Any, **kwargs: Any
) -> str:
    from moto.sns.exceptions import InvalidParameterValue

    attributes = kwargs.get("message_attributes")
    too_long = isinstance(message, str) and _publish_size(message, attributes) > MAX_PUBLISH_BYTES
    if too_long and not kwargs.get("phone_number"):
        raise InvalidParameterValue("Invalid parameter: Message too long")
    return original(self, message, arn, *args, **kwargs)


def _topic_publish(original: Callable[..., str], self: Any, message: str, *args: Any, **kwargs: Any) -> str:
    message_id = original(self, message, *args, **kwargs)
    _emit(self, "NumberOfMessagesPublished")
    _emit(self, "PublishSize", len(message.encode("utf-8")), "Bytes")
    return message_id


def _envelope(subscription: Any, message: str, message_id: str, subject: str | None,
              attributes: dict[str, Any] | None) -> str:
    """The SNS JSON envelope (§1.2) in AWS's field order and layout; moto signs it."""
    data = subscription.get_post_data(message, message_id, subject, message_attributes=attributes)
    region = subscription.topic.sns_backend.region_name
    data["UnsubscribeURL"] = (
        f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription.arn}"
    )
    order = ("Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion",
             "Signature", "SigningCertURL", "UnsubscribeURL", "MessageAttributes")
    ordered = {key: data[key] for key in order if key in data}
    return json.dumps(ordered, indent=2, separators=(",", " : "), ensure_ascii=False)


def _raw_attributes(attributes: dict[str, Any] | None) -> dict[str, Any]:
    converted = {}
    for name, attribute in (attributes or {}).items():
        data_type = attribute["Type"]
        if data_type.startswith("Binary"):
            converted[name] = {"DataType": data_type, "BinaryValue": attribute["Value"]}
        else:
            converted[name] = {"DataType": data_type, "StringValue": str(attribute["Value"])}
    return converted


def _subscription_publish(
    original: Callable[..., None], self: Any, message: str, message_id: str, subject: str | None = None,
    message_attributes: dict[str, Any] | None = None, group_id: str | None = None,
    deduplication_id: str | None = None, message_structure: str | None = None,
) -> None:
    if self.protocol != "sqs":
        original(self, message, message_id, subject=subject, message_attributes=message_attributes,
                 group_id=group_id, deduplication_id=deduplication_id, message_structure=message_structure)
        return
    topic = self.topic
    if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(message_attributes, message):
        _emit(topic, "NumberOfNotificationsFilteredOut")
        return
    if message_structure == "json":
        message = self._parse_message_structure(message, self.protocol)
    problem = _deliver_to_queue(self, message, message_id, subject, message_attributes, group_id, deduplication_id)
    if problem:
        log.warning("SNS %s -> %s: notification %s not delivered: %s", topic.arn, self.endpoint, message_id, problem)
        _emit(topic, "NumberOfNotificationsFailed")
    else:
        _emit(topic, "NumberOfNotificationsDelivered")


def _deliver_to_queue(subscription: Any, message: str, message_id: str, subject: str | None,
                      attributes: dict[str, Any] | None, group_id: str | None, deduplication_id: str | None) -> str:
    """Send one notification to the subscribed queue; the reason it failed, or "" on success."""
    from moto.core.exceptions import JsonRESTError, ServiceException
    from moto.sqs.models import sqs_backends

    topic = subscription.topic
    parts = subscription.endpoint.split(":", 5)
    if len(parts) != 6:
        return f"endpoint {subscription.endpoint} is not an SQS queue ARN"
    backend = sqs_backends[parts[4]][parts[3]]
    queue = backend.queues.get(parts[5])
    if queue is None:
        return "queue does not exist"
    raw = bool(subscription.attributes.get("RawMessageDelivery"))
    if raw and len(attributes or {}) > MAX_RAW_ATTRIBUTES:
        return f"raw delivery allows at most {MAX_RAW_ATTRIBUTES} message attributes, got {len(attributes or {})}"
    decision = access.service_may(SNS_PRINCIPAL, "sqs:SendMessage", queue.queue_arn, queue.policy,
                                  source_arn=topic.arn, source_account=topic.account_id)
    if not decision.allowed:
        return f"queue policy denies sqs:SendMessage: {decision.reason}"
    try:
        if raw:
            backend.send_message(parts[5], message, message_attributes=_raw_attributes(attributes),
                                 deduplication_id=deduplication_id, group_id=group_id, validate_group_id=False)
        else:
            body = _envelope(subscription, message, message_id, subject, attributes)
            backend.send_message(parts[5], body, deduplication_id=deduplication_id, group_id=group_id,
                                 validate_group_id=False)
    except (ServiceException, JsonRESTError) as error:
        return f"SendMessage failed: {error}"
    return ""


def install() -> None:
    from moto.sns.models import SNSBackend, Subscription, Topic

    wrap(SNSBackend, "publish", "publish size in bytes incl. attributes (256 KiB)")(_backend_publish)
    wrap(Topic, "publish", "NumberOfMessagesPublished / PublishSize per topic")(_topic_publish)
    wrap(Subscription, "publish", "queue policy, raw 10-attribute limit, delivery metrics")(_subscription_publish)
