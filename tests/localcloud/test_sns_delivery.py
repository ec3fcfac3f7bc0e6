"""SNS -> SQS against the running server (aws-behaviour.md §1): raw and envelope bodies, queue policy
enforcement, the 10-attribute raw limit, publish size, and the AWS/SNS metrics."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

REGION = "eu-west-1"
Aws = Callable[[str], Any]


def topic_and_queue(aws: Aws, name: str, raw: bool, policy: str = "allow") -> tuple[str, str, str]:
    """Topic subscribed by a queue; policy "allow" (scoped to the topic), "none", or "other-topic"."""
    topic = aws("sns").create_topic(Name=f"{name}-topic")["TopicArn"]
    url = aws("sqs").create_queue(QueueName=f"{name}-queue")["QueueUrl"]
    qarn = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    if policy != "none":
        source = topic if policy == "allow" else topic + "-other"
        document = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": qarn, "Condition": {"ArnEquals": {"aws:SourceArn": source}}}]}
        aws("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(document)})
    aws("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn,
                         Attributes={"RawMessageDelivery": "true" if raw else "false"})
    return topic, url, qarn


def receive(aws: Aws, url: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = aws("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        if answer.get("Messages"):
            return answer["Messages"]  # type: ignore[no-any-return]
    return []


def assert_empty(aws: Aws, url: str) -> None:
    answer = aws("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    bodies = [m["Body"] for m in answer.get("Messages", [])]
    assert bodies == [], f"got {bodies}, expected no message"


def metric(aws: Aws, name: str, topic_name: str, statistic: str = "Sum", at_least: float = 1.0,
           timeout: float = 3.0) -> float:
    now = datetime.now(timezone.utc)
    deadline = time.monotonic() + timeout
    while True:
        answer = aws("cloudwatch").get_metric_statistics(
            Namespace="AWS/SNS", MetricName=name, Dimensions=[{"Name": "TopicName", "Value": topic_name}],
            StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=2), Period=60,
            Statistics=[statistic],
        )
        points = [point[statistic] for point in answer["Datapoints"]]
        value = sum(points) if statistic == "Sum" else (points[0] if points else 0.0)
        if value >= at_least or time.monotonic() > deadline:
            return value


def attributes(count: int) -> dict[str, dict[str, str]]:
    return {f"a{i}": {"DataType": "String", "StringValue": f"v{i}"} for i in range(count)}


def test_raw_delivery_body_is_the_message_and_attributes_carry_over(aws: Aws, name: str) -> None:
    topic, url, _ = topic_and_queue(aws, name, raw=True)
    message = '{"orderId":"o-1","amount":42}'
    aws("sns").publish(TopicArn=topic, Message=message,
                       MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"},
                                          "n": {"DataType": "Number", "StringValue": "7"}})
    messages = receive(aws, url)
    assert len(messages) == 1, f"got {len(messages)} messages, expected 1"
    assert messages[0]["Body"] == message, f"got body {messages[0]['Body']!r}, expected {message!r}"
    got = {k: (v["DataType"], v["StringValue"]) for k, v in messages[0]["MessageAttributes"].items()}
    expected = {"kind": ("String", "order"), "n": ("Number", "7")}
    assert got == expected, f"got attributes {got}, expected {expected}"


def test_envelope_delivery_wraps_the_message_as_a_string(aws: Aws, name: str) -> None:
    topic, url, _ = topic_and_queue(aws, name, raw=False)
    message = '{"orderId":"o-1","amount":42}'
    kind = {"kind": {"DataType": "String", "StringValue": "order"}}
    message_id = aws("sns").publish(TopicArn=topic, Message=message, Subject="hi", MessageAttributes=kind)["MessageId"]
    messages = receive(aws, url)
    assert len(messages) == 1, f"got {len(messages)} messages, expected 1"
    envelope = json.loads(messages[0]["Body"])
    assert envelope["Type"] == "Notification", f"got Type {envelope['Type']!r}, expected 'Notification'"
    assert envelope["Message"] == message, f"got Message {envelope['Message']!r}, expected the published string"
    assert envelope["MessageId"] == message_id and envelope["TopicArn"] == topic, (
        f"got {envelope}, expected ids of the publish"
    )
    assert envelope["Subject"] == "hi", f"got Subject {envelope.get('Subject')!r}, expected 'hi'"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", envelope["Timestamp"]), (
        f"got Timestamp {envelope['Timestamp']!r}"
    )
    assert f"sns.{REGION}.amazonaws.com" in envelope["UnsubscribeURL"], (
        f"got {envelope['UnsubscribeURL']}, expected the topic's region"
    )
    assert envelope["MessageAttributes"] == {"kind": {"Type": "String", "Value": "order"}}, (
        f"got {envelope.get('MessageAttributes')}"
    )
    assert envelope["SignatureVersion"] in ("1", "2") and envelope["Signature"], f"got {envelope}, expected a signature"


def test_delivered_publish_metrics(aws: Aws, name: str) -> None:
    topic, url, _ = topic_and_queue(aws, name, raw=True)
    aws("sns").publish(TopicArn=topic, Message="12345")
    assert receive(aws, url), "got no message, expected delivery"
    topic_name = f"{name}-topic"
    for metric_name in ("NumberOfMessagesPublished", "NumberOfNotificationsDelivered"):
        got = metric(aws, metric_name, topic_name)
        assert got == 1, f"got {metric_name} {got}, expected 1"
    size = metric(aws, "PublishSize", topic_name, statistic="Average")
    assert size == 5, f"got PublishSize {size}, expected 5 bytes"
    failed = metric(aws, "NumberOfNotificationsFailed", topic_name, timeout=0)
    assert failed == 0, f"got NumberOfNotificationsFailed {failed}, expected 0"


@pytest.mark.parametrize("policy", ["none", "other-topic"])
def test_queue_policy_that_does_not_admit_the_topic_drops_silently(aws: Aws, name: str, policy: str) -> None:
    topic, url, _ = topic_and_queue(aws, name, raw=True, policy=policy)
    answer = aws("sns").publish(TopicArn=topic, Message="hello")
    assert answer["MessageId"], f"got {answer}, expected Publish to succeed"
    failed = metric(aws, "NumberOfNotificationsFailed", f"{name}-topic")
    assert failed == 1, f"got NumberOfNotificationsFailed {failed}, expected 1"
    assert_empty(aws, url)
    delivered = metric(aws, "NumberOfNotificationsDelivered", f"{name}-topic", timeout=0)
    assert delivered == 0, f"got NumberOfNotificationsDelivered {delivered}, expected 0"


def test_raw_delivery_drops_more_than_ten_attributes(aws: Aws, name: str) -> None:
    topic, url, _ = topic_and_queue(aws, name, raw=True)
    aws("sns").publish(TopicArn=topic, Message="eleven", MessageAttributes=attributes(11))
    failed = metric(aws, "NumberOfNotificationsFailed", f"{name}-topic")
    assert failed == 1, f"got NumberOfNotificationsFailed {failed}, expected 1"
    assert_empty(aws, url)
    aws("sns").publish(TopicArn=topic, Message="ten", MessageAttributes=attributes(10))
    messages = receive(aws, url)
    bodies = [m["Body"] for m in messages]
    assert bodies == ["ten"], f"got {bodies}, expected only the 10-attribute message"


def test_envelope_delivery_keeps_more_than_ten_attributes(aws: Aws, name: str) -> None:
    topic, url, _ = topic_and_queue(aws, name, raw=False)
    aws("sns").publish(TopicArn=topic, Message="eleven", MessageAttributes=attributes(11))
    messages = receive(aws, url)
    assert len(messages) == 1, f"got {len(messages)} messages, expected 1 (the limit is for raw delivery)"
    got = len(json.loads(messages[0]["Body"])["MessageAttributes"])
    assert got == 11, f"got {got} attributes in the envelope, expected 11"


def test_missing_queue_fails_the_notification_not_the_publish(aws: Aws, name: str) -> None:
    topic, url, _ = topic_and_queue(aws, name, raw=True)
    aws("sqs").delete_queue(QueueUrl=url)
    answer = aws("sns").publish(TopicArn=topic, Message="hello")
    assert answer["MessageId"], f"got {answer}, expected Publish to succeed"
    failed = metric(aws, "NumberOfNotificationsFailed", f"{name}-topic")
    assert failed == 1, f"got NumberOfNotificationsFailed {failed}, expected 1"


def test_filter_policy_drop_is_counted(aws: Aws, name: str) -> None:
    topic, url, _ = topic_and_queue(aws, name, raw=True)
    subscription = aws("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"]
    aws("sns").set_subscription_attributes(SubscriptionArn=subscription, AttributeName="FilterPolicy",
                                           AttributeValue=json.dumps({"kind": ["order"]}))
    aws("sns").publish(TopicArn=topic, Message="other",
                       MessageAttributes={"kind": {"DataType": "String", "StringValue": "refund"}})
    filtered = metric(aws, "NumberOfNotificationsFilteredOut", f"{name}-topic")
    assert filtered == 1, f"got NumberOfNotificationsFilteredOut {filtered}, expected 1"
    assert_empty(aws, url)


def test_publish_over_256_kib_in_bytes_is_refused(aws: Aws, name: str) -> None:
    topic, _, _ = topic_and_queue(aws, name, raw=True)
    message = "é" * 131073  # 131,073 characters but 262,146 UTF-8 bytes
    with pytest.raises(ClientError) as error:
        aws("sns").publish(TopicArn=topic, Message=message)
    code = error.value.response["Error"]["Code"]
    assert code == "InvalidParameter", f"got {code}, expected InvalidParameter"
    assert "too long" in error.value.response["Error"]["Message"], (
        f"got {error.value.response['Error']}, expected 'Message too long'"
    )
