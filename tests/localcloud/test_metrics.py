"""localcloud.metrics: SQS metrics and emitted metrics, read back through the CloudWatch API."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from localcloud import metrics

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def _window() -> dict[str, datetime]:
    now = datetime.now(timezone.utc)
    return {"StartTime": now - timedelta(minutes=10), "EndTime": now + timedelta(minutes=2)}


def _sum_statistics(cw: Any, namespace: str, metric: str, dims: dict[str, str], stat: str = "Sum") -> float | None:
    """Sum over the window, or for other statistics the value of the latest minute."""
    points = cw.get_metric_statistics(
        Namespace=namespace, MetricName=metric, Period=60, Statistics=[stat],
        Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()], **_window(),
    )["Datapoints"]
    if not points:
        return None
    if stat == "Sum":
        return sum(p[stat] for p in points)
    return max(points, key=lambda p: p["Timestamp"])[stat]  # a gauge: the latest minute, whatever the clock


def _metric_data_sums(cw: Any, queries: dict[str, tuple[str, str, dict[str, str]]]) -> dict[str, float]:
    response = cw.get_metric_data(
        MetricDataQueries=[
            {"Id": query_id, "MetricStat": {
                "Metric": {"Namespace": ns, "MetricName": metric,
                           "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
                "Period": 60, "Stat": "Sum"}}
            for query_id, (ns, metric, dims) in queries.items()
        ],
        **_window(),
    )
    return {r["Id"]: sum(r["Values"]) for r in response["MetricDataResults"]}


def _poll(read: Callable[[], Any], accept: Callable[[Any], bool], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    value = read()
    while not accept(value) and time.monotonic() < deadline:
        time.sleep(0.1)
        value = read()
    return value


def test_sqs_counters_via_get_metric_statistics_and_get_metric_data(aws: Callable[[str], Any], name: str) -> None:
    sqs, cw = aws("sqs"), aws("cloudwatch")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    for _ in range(3):
        sqs.send_message(QueueUrl=url, MessageBody="hello")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "batch"} for i in range(2)])
    received: list[dict[str, Any]] = []
    while len(received) < 5:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        assert got, f"got no message after {len(received)}, expected 5 in total"
        received.extend(got)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                     for i, m in enumerate(received[1:4])])
    assert "Messages" not in sqs.receive_message(QueueUrl=url), "got a message, expected an empty receive"

    dims = {"QueueName": name}
    sent = _sum_statistics(cw, "AWS/SQS", "NumberOfMessagesSent", dims)
    assert sent == 5, f"got NumberOfMessagesSent {sent}, expected 5"
    size = _sum_statistics(cw, "AWS/SQS", "SentMessageSize", dims)
    expected_size = 3 * len("hello") + 2 * len("batch")
    assert size == expected_size, f"got SentMessageSize sum {size}, expected {expected_size}"
    sums = _metric_data_sums(cw, {
        "received": ("AWS/SQS", "NumberOfMessagesReceived", dims),
        "deleted": ("AWS/SQS", "NumberOfMessagesDeleted", dims),
        "empty": ("AWS/SQS", "NumberOfEmptyReceives", dims),
    })
    assert sums == {"received": 5, "deleted": 4, "empty": 1}, f"got {sums}, expected received 5, deleted 4, empty 1"


def test_redrive_to_dlq_is_not_counted_as_sent(aws: Callable[[str], Any], name: str) -> None:
    sqs, cw = aws("sqs"), aws("cloudwatch")
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": "0",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
    })["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    sqs.receive_message(QueueUrl=url)  # receive count 1; the next receive moves it to the DLQ
    sqs.receive_message(QueueUrl=url)
    in_dlq = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert in_dlq["Attributes"]["ApproximateNumberOfMessages"] == "1", f"got {in_dlq['Attributes']}, expected 1 in the DLQ"

    visible = _poll(lambda: _sum_statistics(cw, "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                                            {"QueueName": f"{name}-dlq"}, "Maximum"), lambda v: v == 1)
    assert visible == 1, f"got DLQ ApproximateNumberOfMessagesVisible {visible}, expected 1"
    dlq_sent = _sum_statistics(cw, "AWS/SQS", "NumberOfMessagesSent", {"QueueName": f"{name}-dlq"}) or 0
    assert dlq_sent == 0, f"got DLQ NumberOfMessagesSent {dlq_sent}, expected 0 (redrive is not a send)"


def test_queue_depth_gauges_follow_live_state(aws: Callable[[str], Any], name: str) -> None:
    sqs, cw = aws("sqs"), aws("cloudwatch")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="a")
    sqs.send_message(QueueUrl=url, MessageBody="b")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)
    dims = {"QueueName": name}

    def gauges() -> dict[str, float | None]:
        return {metric: _sum_statistics(cw, "AWS/SQS", f"ApproximateNumberOf{metric}", dims, "Maximum")
                for metric in ("MessagesVisible", "MessagesNotVisible", "MessagesDelayed")}

    expected = {"MessagesVisible": 1, "MessagesNotVisible": 1, "MessagesDelayed": 1}
    got = _poll(gauges, lambda g: g == expected)
    assert got == expected, f"got {got}, expected {expected}"
    sqs.purge_queue(QueueUrl=url)
    empty = {"MessagesVisible": 0, "MessagesNotVisible": 0, "MessagesDelayed": 0}
    got = _poll(gauges, lambda g: g == empty)
    assert got == empty, f"got {got} after purge, expected {empty} (the minute keeps its latest sample)"


def test_emit_from_python_is_readable_with_several_dimensions(aws: Callable[[str], Any], name: str) -> None:
    cw = aws("cloudwatch")
    dims = {"EventBusName": f"{name}-bus", "RuleName": f"{name}-rule"}
    for _ in range(3):
        metrics.emit(ACCOUNT, REGION, "AWS/Events", "Invocations", dims)
    metrics.emit(ACCOUNT, REGION, "AWS/Events", "Invocations", {"RuleName": f"{name}-rule"}, 10)
    # Query dimensions in the opposite order of emission: the series is the same.
    reversed_dims = dict(reversed(list(dims.items())))
    sums = _metric_data_sums(cw, {"both": ("AWS/Events", "Invocations", reversed_dims)})
    assert sums == {"both": 3}, f"got {sums}, expected 3 for the EventBusName+RuleName series"
    # Dimensions select one series exactly, as on AWS: {RuleName} is not a prefix of {EventBusName, RuleName}.
    rule_only = _sum_statistics(cw, "AWS/Events", "Invocations", {"RuleName": f"{name}-rule"})
    assert rule_only == 10, f"got {rule_only} for RuleName only, expected 10"

    listed = cw.list_metrics(Namespace="AWS/Events", Dimensions=[{"Name": "EventBusName", "Value": f"{name}-bus"}])
    got = [(m["MetricName"], sorted((d["Name"], d["Value"]) for d in m["Dimensions"])) for m in listed["Metrics"]]
    expected = [("Invocations", sorted(dims.items()))]
    assert got == expected, f"got {got}, expected {expected}"
    listed = cw.list_metrics(Namespace="AWS/Events", Dimensions=[{"Name": "RuleName", "Value": f"{name}-rule"}])
    assert len(listed["Metrics"]) == 2, f"got {listed['Metrics']}, expected the two series once each"


def test_put_metric_data_is_stored_once(aws: Callable[[str], Any], name: str) -> None:
    cw = aws("cloudwatch")
    cw.put_metric_data(Namespace=name, MetricData=[{"MetricName": "m", "Value": 5}])
    got = _sum_statistics(cw, name, "m", {})
    assert got == 5, f"got Sum {got}, expected 5"


def test_emit_never_raises_and_store_stays_bounded() -> None:
    metrics.emit(ACCOUNT, REGION, "X", "y", {"k": "v"}, value="not a number")  # type: ignore[arg-type]
    started = time.perf_counter()
    for _ in range(100_000):
        metrics.emit(ACCOUNT, REGION, "Bench", "Hits", {"QueueName": "hot"})
    per_emit_us = (time.perf_counter() - started) / 100_000 * 1e6
    buckets = metrics.points("Bench", "Hits", {"QueueName": "hot"}, ACCOUNT, REGION)
    assert len(buckets) <= 2, f"got {len(buckets)} stored buckets for 100k emits, expected <= 2 (per-minute)"
    assert per_emit_us < 50, f"got {per_emit_us:.1f} µs per emit, expected < 50"
