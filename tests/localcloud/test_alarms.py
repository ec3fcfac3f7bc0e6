"""localcloud.alarms: alarms start INSUFFICIENT_DATA and are evaluated against live metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

REGION = "eu-west-1"


def _alarm(cw: Any, alarm_name: str) -> dict[str, Any]:
    alarms = cw.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    assert len(alarms) == 1, f"got {len(alarms)} alarms named {alarm_name}, expected 1"
    return alarms[0]


def _wait_state(cw: Any, alarm_name: str, state: str, timeout: float = 6.0) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    alarm = _alarm(cw, alarm_name)
    while alarm["StateValue"] != state and time.monotonic() - started < timeout:
        time.sleep(0.1)
        alarm = _alarm(cw, alarm_name)
    assert alarm["StateValue"] == state, (
        f"got {alarm['StateValue']} ({alarm['StateReason']}) after {timeout} s, expected {state}"
    )
    return alarm, time.monotonic() - started


def _depth_alarm(cw: Any, alarm_name: str, queue_name: str, **extra: Any) -> None:
    cw.put_metric_alarm(
        AlarmName=alarm_name, Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": queue_name}], Statistic="Maximum", Period=60,
        EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching", **extra,
    )


def test_new_alarm_without_data_is_insufficient_data(aws: Callable[[str], Any], name: str) -> None:
    cw = aws("cloudwatch")
    cw.put_metric_alarm(
        AlarmName=name, Namespace=name, MetricName="Nothing", Statistic="Sum", Period=60, EvaluationPeriods=1,
        Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    alarm = _alarm(cw, name)
    assert alarm["StateValue"] == "INSUFFICIENT_DATA", f"got {alarm['StateValue']}, expected INSUFFICIENT_DATA"
    time.sleep(1.5)  # let the evaluator run at least once: missing data keeps it there
    alarm = _alarm(cw, name)
    assert alarm["StateValue"] == "INSUFFICIENT_DATA", f"got {alarm['StateValue']}, expected INSUFFICIENT_DATA"


def test_not_breaching_missing_data_turns_ok(aws: Callable[[str], Any], name: str) -> None:
    cw = aws("cloudwatch")
    cw.put_metric_alarm(
        AlarmName=name, Namespace=name, MetricName="Nothing", Statistic="Sum", Period=60, EvaluationPeriods=1,
        Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
    )
    alarm, _ = _wait_state(cw, name, "OK", timeout=3)
    assert "NonBreaching" in alarm["StateReason"], f"got reason {alarm['StateReason']!r}, expected NonBreaching"


def test_dlq_depth_alarm_fires_on_a_message_and_clears_after_purge(aws: Callable[[str], Any], name: str) -> None:
    sqs, cw = aws("sqs"), aws("cloudwatch")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    _depth_alarm(cw, name, name)
    _wait_state(cw, name, "OK")
    sqs.send_message(QueueUrl=url, MessageBody="dead letter")
    alarm, latency = _wait_state(cw, name, "ALARM")
    assert latency < 3, f"got ALARM after {latency:.2f} s, expected < 3 s"
    assert "greater than the threshold" in alarm["StateReason"], f"got reason {alarm['StateReason']!r}"
    sqs.purge_queue(QueueUrl=url)
    _wait_state(cw, name, "OK")


def test_datapoints_to_alarm_and_breaching_missing_data(aws: Callable[[str], Any], name: str) -> None:
    cw = aws("cloudwatch")
    # One non-breaching datapoint (1 <= 5) and two empty periods that count as breaching: 2 of 3 fire an
    # alarm that needs 2, not one that needs 3.
    expectations = {f"{name}-2of3": (2, "ALARM"), f"{name}-3of3": (3, "OK")}
    for alarm_name, (needed, _) in expectations.items():
        cw.put_metric_alarm(
            AlarmName=alarm_name, Namespace=name, MetricName="Errors", Statistic="Sum", Period=60,
            EvaluationPeriods=3, DatapointsToAlarm=needed, Threshold=5, ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="breaching",
        )
    cw.put_metric_data(Namespace=name, MetricData=[{"MetricName": "Errors", "Value": 1}])
    for alarm_name, (_, state) in expectations.items():
        _wait_state(cw, alarm_name, state)


def test_alarm_action_publishes_to_sns(aws: Callable[[str], Any], name: str) -> None:
    sqs, sns, cw = aws("sqs"), aws("sns"), aws("cloudwatch")
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                       "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}],
    })})
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    cw.put_metric_alarm(
        AlarmName=name, Namespace=name, MetricName="Hits", Statistic="Sum", Period=60, EvaluationPeriods=1,
        Threshold=2, ComparisonOperator="GreaterThanThreshold", AlarmActions=[topic_arn],
    )
    cw.put_metric_data(Namespace=name, MetricData=[{"MetricName": "Hits", "Value": 3}])
    _wait_state(cw, name, "ALARM")
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
    assert messages, "got no notification, expected one in the subscribed queue"
    body = json.loads(messages[0]["Body"])
    got = (body.get("AlarmName"), body.get("NewStateValue"), body.get("OldStateValue"))
    assert got == (name, "ALARM", "INSUFFICIENT_DATA"), f"got {got}, expected ({name}, ALARM, INSUFFICIENT_DATA)"


def test_update_keeps_state(aws: Callable[[str], Any], name: str) -> None:
    sqs, cw = aws("sqs"), aws("cloudwatch")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    _depth_alarm(cw, name, name)
    _wait_state(cw, name, "ALARM")
    _depth_alarm(cw, name, name, AlarmDescription="updated")
    alarm = _alarm(cw, name)
    assert (alarm["StateValue"], alarm.get("AlarmDescription")) == ("ALARM", "updated"), (
        f"got {alarm['StateValue']}, {alarm.get('AlarmDescription')}, expected ALARM, updated (AWS keeps the state)"
    )
