"""EventBridge Pipes data plane against the running server (aws-behaviour.md §3): SQS source queue ->
pipe -> custom bus -> rule (matches the account) -> result queue."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
REGION = "eu-west-1"
TEMPLATE = '{ "event": <$.body> }'
Aws = Callable[[str], Any]


@dataclass
class Stack:
    aws: Aws
    name: str
    src_url: str
    src_arn: str
    dlq_url: str
    out_url: str
    bus_arn: str
    role_arn: str
    role_name: str
    log_group: str

    @property
    def pipe_arn(self) -> str:
        return f"arn:aws:pipes:{REGION}:{ACCOUNT}:pipe/{self.name}"

    def send(self, body: str, **kwargs: Any) -> str:
        return str(self.aws("sqs").send_message(QueueUrl=self.src_url, MessageBody=body, **kwargs)["MessageId"])

    def create_pipe(self, template: str | None = TEMPLATE, bus_params: dict[str, Any] | None = None,
                    sqs_params: dict[str, Any] | None = None, filters: list[dict[str, Any]] | None = None,
                    **kwargs: Any) -> dict[str, Any]:
        source_parameters: dict[str, Any] = {"SqsQueueParameters": sqs_params or {"BatchSize": 10}}
        if filters is not None:
            source_parameters["FilterCriteria"] = {"Filters": [{"Pattern": json.dumps(f)} for f in filters]}
        target_parameters: dict[str, Any] = {}
        if template is not None:
            target_parameters["InputTemplate"] = template
        if bus_params is not None:
            target_parameters["EventBridgeEventBusParameters"] = bus_params
        return dict(self.aws("pipes").create_pipe(
            Name=self.name, RoleArn=self.role_arn, Source=self.src_arn, Target=self.bus_arn,
            SourceParameters=source_parameters, TargetParameters=target_parameters,
            LogConfiguration={"Level": "TRACE", "IncludeExecutionData": ["ALL"],
                              "CloudwatchLogsLogDestination": {
                                  "LogGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{self.log_group}"}},
            **kwargs,
        ))

    def describe(self) -> dict[str, Any]:
        return dict(self.aws("pipes").describe_pipe(Name=self.name))

    def set_role_policy(self, actions: list[str]) -> None:
        statements = []
        sqs_actions = [a for a in actions if a.startswith("sqs:")]
        if sqs_actions:
            statements.append({"Effect": "Allow", "Action": sqs_actions, "Resource": self.src_arn})
        if "events:PutEvents" in actions:
            statements.append({"Effect": "Allow", "Action": "events:PutEvents", "Resource": self.bus_arn})
        self.aws("iam").put_role_policy(RoleName=self.role_name, PolicyName="pipe",
                                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))

    def received(self, count: int, timeout: float = 8.0, url: str | None = None) -> list[dict[str, Any]]:
        """Collect `count` messages from the result queue (deleting them) within `timeout`."""
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            got = self.aws("sqs").receive_message(QueueUrl=url or self.out_url, MaxNumberOfMessages=10,
                                                  WaitTimeSeconds=1, MessageAttributeNames=["All"])
            for message in got.get("Messages", []):
                out.append(json.loads(message["Body"]) if url is None else message)
                self.aws("sqs").delete_message(QueueUrl=url or self.out_url, ReceiptHandle=message["ReceiptHandle"])
        return out

    def depth(self, url: str) -> tuple[int, int]:
        attrs = self.aws("sqs").get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def log_records(self, timeout: float = 5.0, until: Callable[[list[dict[str, Any]]], bool] | None = None
                    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        records: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            events = self.aws("logs").filter_log_events(logGroupName=self.log_group)["events"]
            records = [json.loads(e["message"]) for e in events]
            if until is None or until(records):
                break
            time.sleep(0.1)
        return records


def queue(aws: Aws, name: str, attributes: dict[str, str] | None = None) -> tuple[str, str]:
    url = aws("sqs").create_queue(QueueName=name, Attributes=attributes or {})["QueueUrl"]
    arn = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def trust_policy(pipe_arn: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "pipes.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnEquals": {"aws:SourceArn": pipe_arn}},
        }],
    })


@pytest.fixture
def stack(aws: Aws, name: str) -> Iterator[Stack]:
    dlq_url, dlq_arn = queue(aws, f"{name}-dlq")
    src_url, src_arn = queue(aws, f"{name}-src", {
        "VisibilityTimeout": "1",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
    })
    out_url, out_arn = queue(aws, f"{name}-out")
    bus_arn = aws("events").create_event_bus(Name=f"{name}-bus")["EventBusArn"]
    rule_arn = aws("events").put_rule(Name=f"{name}-rule", EventBusName=f"{name}-bus",
                                      EventPattern=json.dumps({"account": [ACCOUNT]}))["RuleArn"]
    aws("sqs").set_queue_attributes(QueueUrl=out_url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                       "Action": "sqs:SendMessage", "Resource": out_arn,
                       "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}],
    })})
    aws("events").put_targets(Rule=f"{name}-rule", EventBusName=f"{name}-bus",
                              Targets=[{"Id": "out", "Arn": out_arn}])
    pipe_arn = f"arn:aws:pipes:{REGION}:{ACCOUNT}:pipe/{name}"
    role_arn = aws("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=trust_policy(pipe_arn))[
        "Role"]["Arn"]
    log_group = f"/aws/vendedlogs/pipes/{name}"
    aws("logs").create_log_group(logGroupName=log_group)
    built = Stack(aws, name, src_url, src_arn, dlq_url, out_url, bus_arn, role_arn, f"{name}-role", log_group)
    built.set_role_policy(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "events:PutEvents"])
    yield built
    try:
        aws("pipes").delete_pipe(Name=name)
    except ClientError:
        pass


# ---------------------------------------------------------------------------------------- happy path


def test_json_body_becomes_detail_event_object_with_target_params(stack: Stack) -> None:
    stack.create_pipe(bus_params={"Source": "com.example.orders", "DetailType": "OrderPlaced"})
    stack.send('{"orderId":"o-1","amount":42}')
    events = stack.received(1)
    assert len(events) == 1, f"got {len(events)} events, expected 1"
    event = events[0]
    assert event["detail"] == {"event": {"orderId": "o-1", "amount": 42}}, f"got {event['detail']}"
    assert (event["source"], event["detail-type"]) == ("com.example.orders", "OrderPlaced"), \
        f"got {(event['source'], event['detail-type'])}, expected the target parameters"
    assert event["resources"] == [], f"got {event['resources']}, expected []"
    assert event["account"] == ACCOUNT and event["region"] == REGION, f"got {event['account']}/{event['region']}"
    assert stack.depth(stack.src_url) == (0, 0), f"got {stack.depth(stack.src_url)}, expected the source drained"


def test_defaults_when_target_params_unset(stack: Stack) -> None:
    stack.create_pipe()
    stack.send('{"a":1}')
    events = stack.received(1)
    assert len(events) == 1, f"got {len(events)} events, expected 1"
    got = (events[0]["source"], events[0]["detail-type"])
    assert got == (f"Pipe {stack.name}", "Event from aws:sqs"), f"got {got}, expected the §3.5 defaults"


def test_plain_text_body_is_quoted_string(stack: Stack) -> None:
    stack.create_pipe()
    stack.send("hello")
    events = stack.received(1)
    assert events and events[0]["detail"] == {"event": "hello"}, f"got {events}, expected detail.event 'hello'"


def test_quoted_template_strips_inner_quotes(stack: Stack) -> None:
    stack.create_pipe(template='{"event": "<$.body>"}')
    stack.send('{"orderId":"o-1","amount":42}')
    events = stack.received(1)
    assert events, "got no event, expected one with a string detail.event"
    assert events[0]["detail"]["event"] == "{orderId: o-1, amount: 42}", \
        f"got {events[0]['detail']['event']!r}, expected the quote-stripped string"


def test_no_template_detail_is_the_record(stack: Stack) -> None:
    stack.create_pipe(template=None)
    message_id = stack.send('{"k":"v"}', MessageAttributes={"color": {"DataType": "String", "StringValue": "red"}})
    events = stack.received(1)
    assert events, "got no event, expected the record as detail"
    record = events[0]["detail"]
    assert record["messageId"] == message_id, f"got {record['messageId']}, expected {message_id}"
    assert record["body"] == '{"k":"v"}', f"got {record['body']!r}, expected the body string"
    assert record["md5OfBody"] == hashlib.md5(b'{"k":"v"}').hexdigest(), f"got {record['md5OfBody']}"
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == ("aws:sqs", stack.src_arn, REGION)
    assert set(record["attributes"]) == {"ApproximateReceiveCount", "SentTimestamp", "SenderId",
                                         "ApproximateFirstReceiveTimestamp"}, f"got {record['attributes']}"
    assert record["attributes"]["ApproximateReceiveCount"] == "1", f"got {record['attributes']}"
    assert record["messageAttributes"] == {"color": {"stringValue": "red", "stringListValues": [],
                                                     "binaryListValues": [], "dataType": "String"}}, \
        f"got {record['messageAttributes']}"
    assert record["receiptHandle"], "got an empty receiptHandle"


def test_dynamic_target_params_and_reserved_variables(stack: Stack) -> None:
    stack.create_pipe(
        template='{"id": <$.body.id>, "pipe": <aws.pipes.pipe-name>, "src": "<aws.pipes.source-arn>", '
                 '"first": <$.body.items[0]>, "missing": <$.body.nope>, "n": <$.body.n>}',
        bus_params={"Source": "$.body.src", "DetailType": "Static", "Resources": ["$.body.res"]},
    )
    stack.send('{"id":"x-1","src":"my.app","res":"arn:aws:s3:::b","items":["a","b"],"n":7}')
    events = stack.received(1)
    assert events, "got no event"
    event = events[0]
    assert event["source"] == "my.app" and event["resources"] == ["arn:aws:s3:::b"], \
        f"got source {event['source']} resources {event['resources']}, expected values read by $. paths"
    expected = {"id": "x-1", "pipe": stack.name, "src": stack.src_arn, "first": "a", "missing": None, "n": 7}
    assert event["detail"] == expected, f"got {event['detail']}, expected {expected}"


# ------------------------------------------------------------------------------- filter and batching


def test_filter_drops_and_deletes_non_matching(stack: Stack) -> None:
    stack.create_pipe(filters=[{"body": {"kind": ["keep"]}}, {"body": {"kind": ["also"]}}])
    stack.send('{"kind":"drop"}')
    stack.send("plain text")
    stack.send('{"kind":"keep"}')
    stack.send('{"kind":"also"}')
    events = stack.received(2)
    kinds = sorted(e["detail"]["event"]["kind"] for e in events)
    assert kinds == ["also", "keep"], f"got {kinds}, expected the two matching messages (filters OR-ed)"
    deadline = time.monotonic() + 3
    while stack.depth(stack.src_url) != (0, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stack.depth(stack.src_url) == (0, 0), f"got {stack.depth(stack.src_url)}, expected filtered ones deleted"
    assert stack.received(1, timeout=1.5) == [], "got an extra event, expected filtered messages never sent"
    assert stack.depth(stack.dlq_url) == (0, 0), "got messages in the DLQ, expected filtered ones deleted"


def test_plain_string_filter_matches_plain_body_only(stack: Stack) -> None:
    stack.create_pipe(filters=[{"body": [{"prefix": "he"}]}])
    stack.send('"hello-as-json"')
    stack.send("hello")
    events = stack.received(1)
    assert [e["detail"]["event"] for e in events] == ["hello"], f"got {events}, expected only the plain body"
    assert stack.received(1, timeout=1.5) == [], "got an event for the JSON body, expected it dropped"


def test_batch_size_and_window_gather_one_batch(stack: Stack) -> None:
    stack.create_pipe(template=None, sqs_params={"BatchSize": 3, "MaximumBatchingWindowInSeconds": 1})
    for i in range(3):
        stack.send(json.dumps({"i": i}))
    events = stack.received(3)
    assert len(events) == 3, f"got {len(events)} events, expected 3"
    records = stack.log_records(until=lambda rs: any(r["messageType"] == "ExecutionStarted" for r in rs))
    payloads = [json.loads(r["payload"]) for r in records if r["messageType"] == "ExecutionStarted"]
    assert [len(p) for p in payloads] == [3], f"got batches of {[len(p) for p in payloads]}, expected one of 3"


def test_bus_target_rejects_batch_over_10(stack: Stack) -> None:
    with pytest.raises(ClientError) as error:
        stack.create_pipe(sqs_params={"BatchSize": 11})
    assert error.value.response["Error"]["Code"] == "ValidationException", f"got {error.value.response['Error']}"


def test_static_source_may_not_start_with_aws(stack: Stack) -> None:
    with pytest.raises(ClientError) as error:
        stack.create_pipe(bus_params={"Source": "aws.orders"})
    assert error.value.response["Error"]["Code"] == "ValidationException", f"got {error.value.response['Error']}"


# ------------------------------------------------------------------------------------- control plane


def test_stop_leaves_messages_and_start_drains(stack: Stack) -> None:
    stack.create_pipe(DesiredState="STOPPED")
    assert stack.describe()["CurrentState"] == "STOPPED", f"got {stack.describe()['CurrentState']}"
    stack.send('{"n":1}')
    time.sleep(1.0)  # a stopped pipe has nothing to be waited for: the absence is the assertion
    assert stack.depth(stack.src_url) == (1, 0), f"got {stack.depth(stack.src_url)}, expected 1 visible"
    for _ in range(3):  # moto's managed state walked STOPPED -> STARTING -> RUNNING on describe
        assert stack.describe()["CurrentState"] == "STOPPED", f"got {stack.describe()['CurrentState']}"
    stack.aws("pipes").start_pipe(Name=stack.name)
    assert len(stack.received(1)) == 1, "got no event, expected start to drain the queue"
    stack.aws("pipes").stop_pipe(Name=stack.name)
    assert stack.describe()["CurrentState"] == "STOPPED", f"got {stack.describe()['CurrentState']}"
    stack.send('{"n":2}')
    time.sleep(1.0)
    assert stack.depth(stack.src_url) == (1, 0), f"got {stack.depth(stack.src_url)}, expected stopped pipe idle"


def test_delete_stops_consuming(stack: Stack) -> None:
    stack.create_pipe()
    stack.send('{"n":1}')
    assert len(stack.received(1)) == 1, "got no event before delete"
    stack.aws("pipes").delete_pipe(Name=stack.name)
    stack.send('{"n":2}')
    time.sleep(1.0)
    assert stack.depth(stack.src_url) == (1, 0), f"got {stack.depth(stack.src_url)}, expected deleted pipe idle"


def test_update_changes_template_live_and_keeps_omitted_fields(stack: Stack) -> None:
    stack.create_pipe(bus_params={"Source": "my.app", "DetailType": "T"})
    stack.send('{"v":1}')
    assert [e["detail"] for e in stack.received(1)] == [{"event": {"v": 1}}], "first template not applied"
    stack.aws("pipes").update_pipe(Name=stack.name, RoleArn=stack.role_arn,
                                   TargetParameters={"InputTemplate": '{"wrapped": <$.body.v>}'})
    described = stack.describe()["TargetParameters"]
    assert described == {"InputTemplate": '{"wrapped": <$.body.v>}',
                         "EventBridgeEventBusParameters": {"Source": "my.app", "DetailType": "T"}}, \
        f"got {described}, expected the omitted bus parameters kept (§3.6)"
    stack.send('{"v":2}')
    events = stack.received(1)
    assert [(e["detail"], e["source"]) for e in events] == [({"wrapped": 2}, "my.app")], f"got {events}"
    stack.aws("pipes").update_pipe(Name=stack.name, RoleArn=stack.role_arn,
                                   TargetParameters={"EventBridgeEventBusParameters": {"Source": "other.app"}})
    described = stack.describe()["TargetParameters"]
    assert described == {"InputTemplate": '{"wrapped": <$.body.v>}',
                         "EventBridgeEventBusParameters": {"Source": "other.app"}}, \
        f"got {described}, expected the bus parameters replaced whole and the template kept"


# ------------------------------------------------------------------------------- failures and IAM


def test_invalid_template_output_goes_to_dlq(stack: Stack) -> None:
    stack.create_pipe(template='{"event": <$.body>')
    stack.send('{"a":1}')
    dead = stack.received(1, timeout=10, url=stack.dlq_url)
    assert len(dead) == 1, f"got {len(dead)} DLQ messages, expected the untransformable one"
    records = stack.log_records(until=lambda rs: any(r["messageType"] == "TargetTransformationFailed" for r in rs))
    assert any(r["messageType"] == "TargetTransformationFailed" and r["logLevel"] == "ERROR" for r in records), \
        f"got {[r['messageType'] for r in records]}, expected TargetTransformationFailed"


def test_no_put_events_permission_ends_in_dlq(stack: Stack) -> None:
    stack.set_role_policy(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"])
    stack.create_pipe()
    stack.send('{"a":1}')
    dead = stack.received(1, timeout=10, url=stack.dlq_url)
    assert len(dead) == 1, f"got {len(dead)} DLQ messages, expected the undeliverable one"
    assert stack.received(1, timeout=0.5) == [], "got an event on the bus, expected none"
    reason = stack.describe().get("StateReason", "")
    assert "events:PutEvents" in reason, f"got StateReason {reason!r}, expected the PutEvents denial"
    records = stack.log_records(until=lambda rs: any(r["messageType"] == "TargetInvocationFailed" for r in rs))
    failed = [r for r in records if r["messageType"] == "TargetInvocationFailed"]
    assert failed and failed[0]["error"]["awsService"] == "events" and failed[0]["resourceArn"] == stack.pipe_arn, \
        f"got {failed[:1]}, expected an ERROR record about events"


def test_no_delete_permission_duplicates_then_dlq(stack: Stack) -> None:
    stack.set_role_policy(["sqs:ReceiveMessage", "sqs:GetQueueAttributes", "events:PutEvents"])
    stack.create_pipe()
    stack.send('{"a":1}')
    events = stack.received(2, timeout=10)
    assert len(events) == 2, f"got {len(events)} events, expected a duplicate per receive (maxReceiveCount 2)"
    dead = stack.received(1, timeout=10, url=stack.dlq_url)
    assert len(dead) == 1, f"got {len(dead)} DLQ messages, expected the never-deleted message"
    reason = stack.describe().get("StateReason", "")
    assert reason.startswith("Pipes does not have required permissions to perform Queue operations"), \
        f"got StateReason {reason!r}"


def test_wrong_trust_source_arn_consumes_nothing(stack: Stack) -> None:
    stack.aws("iam").update_assume_role_policy(RoleName=stack.role_name,
                                               PolicyDocument=trust_policy(stack.pipe_arn + "-other"))
    stack.create_pipe()
    described = stack.describe()
    assert described["CurrentState"] == "CREATE_FAILED", f"got {described['CurrentState']}, expected CREATE_FAILED"
    stack.send('{"a":1}')
    time.sleep(1.0)
    assert stack.depth(stack.src_url) == (1, 0), f"got {stack.depth(stack.src_url)}, expected nothing consumed"


def test_create_before_role_policy_fails(stack: Stack) -> None:
    stack.aws("iam").delete_role_policy(RoleName=stack.role_name, PolicyName="pipe")
    stack.create_pipe()
    described = stack.describe()
    assert described["CurrentState"] == "CREATE_FAILED", f"got {described['CurrentState']}"
    assert "does not have permissions to call ReceiveMessage on SQS" in described.get("StateReason", ""), \
        f"got {described.get('StateReason')!r}"


def test_revoked_receive_stops_flow_and_restore_resumes(stack: Stack) -> None:
    stack.create_pipe()
    stack.send('{"n":1}')
    assert len(stack.received(1)) == 1, "got no event while permitted"
    stack.set_role_policy(["sqs:DeleteMessage", "sqs:GetQueueAttributes", "events:PutEvents"])
    deadline = time.monotonic() + 5
    while "StateReason" not in stack.describe() and time.monotonic() < deadline:
        time.sleep(0.1)
    reason = stack.describe().get("StateReason", "")
    assert reason.startswith("Pipes does not have required permissions to perform Queue operations"), \
        f"got StateReason {reason!r}"
    stack.send('{"n":2}')
    time.sleep(1.0)
    assert stack.depth(stack.src_url) == (1, 0), f"got {stack.depth(stack.src_url)}, expected nothing consumed"
    records = stack.log_records(until=lambda rs: any(r["messageType"] == "ExecutionFailed" for r in rs))
    assert any(r["messageType"] == "ExecutionFailed" and "sqs:ReceiveMessage" in r["error"]["message"]
               for r in records), f"got {[r['messageType'] for r in records]}, expected an ExecutionFailed record"
    stack.set_role_policy(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "events:PutEvents"])
    assert len(stack.received(1)) == 1, "got no event, expected the restored permission to resume the flow"
    assert "StateReason" not in stack.describe(), f"got {stack.describe().get('StateReason')!r}, expected cleared"


# ----------------------------------------------------------------------------------- logs, metrics


def test_log_records_follow_the_schema(stack: Stack) -> None:
    stack.create_pipe()
    stack.send('{"a":1}')
    assert len(stack.received(1)) == 1, "got no event"
    records = stack.log_records(until=lambda rs: any(r["messageType"] == "ExecutionSucceeded" for r in rs))
    types = [r["messageType"] for r in records]
    for expected in ("ExecutionStarted", "TargetStageEntered", "TargetTransformationSucceeded",
                     "TargetInvocationSucceeded", "TargetStageSucceeded", "ExecutionSucceeded"):
        assert expected in types, f"got {types}, expected {expected}"
    first = records[0]
    assert {"executionId", "timestamp", "messageType", "resourceArn", "logLevel"} <= set(first), f"got {first}"
    assert first["resourceArn"] == stack.pipe_arn, f"got {first['resourceArn']}"
    assert len({r["executionId"] for r in records}) == 1, "got several executionIds for one execution"


def test_error_level_writes_only_errors(stack: Stack) -> None:
    stack.create_pipe(template="not json")
    stack.aws("pipes").update_pipe(Name=stack.name, RoleArn=stack.role_arn, LogConfiguration={
        "Level": "ERROR", "CloudwatchLogsLogDestination": {
            "LogGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{stack.log_group}"}})
    stack.send('{"a":1}')
    records = stack.log_records(until=lambda rs: any(r["messageType"] == "ExecutionFailed" for r in rs))
    assert records and all(r["logLevel"] == "ERROR" for r in records), f"got {[r['logLevel'] for r in records]}"
    assert all("payload" not in r for r in records), "got payload without IncludeExecutionData ALL"


def test_metrics_published(stack: Stack) -> None:
    stack.create_pipe()
    stack.send('{"a":1}')
    assert len(stack.received(1)) == 1, "got no event"
    deadline = time.monotonic() + 5
    names: set[str] = set()
    wanted = {"Invocations", "EventCount", "EventSize", "Duration", "ExecutionFailed", "TargetStageFailed",
              "TargetStageDuration"}
    while not wanted <= names and time.monotonic() < deadline:
        metrics = stack.aws("cloudwatch").list_metrics(Namespace="AWS/EventBridge/Pipes",
                                                       Dimensions=[{"Name": "PipeName", "Value": stack.name}])
        names = {m["MetricName"] for m in metrics["Metrics"]}
        time.sleep(0.1)
    assert wanted <= names, f"got {sorted(names)}, expected {sorted(wanted)}"


def test_revoked_trust_stops_flow(stack: Stack) -> None:
    stack.create_pipe()
    stack.send('{"n":1}')
    assert len(stack.received(1)) == 1, "got no event while trusted"
    stack.aws("iam").update_assume_role_policy(RoleName=stack.role_name,
                                               PolicyDocument=trust_policy(stack.pipe_arn + "-other"))
    deadline = time.monotonic() + 5
    while "StateReason" not in stack.describe() and time.monotonic() < deadline:
        time.sleep(0.1)
    reason = stack.describe().get("StateReason", "")
    assert "sts:AssumeRole" in reason, f"got StateReason {reason!r}, expected the trust failure"
    stack.send('{"n":2}')
    time.sleep(1.0)
    assert stack.depth(stack.src_url) == (1, 0), f"got {stack.depth(stack.src_url)}, expected nothing consumed"


def test_update_repairs_create_failed_pipe(stack: Stack) -> None:
    stack.aws("iam").delete_role_policy(RoleName=stack.role_name, PolicyName="pipe")
    stack.create_pipe()
    assert stack.describe()["CurrentState"] == "CREATE_FAILED", f"got {stack.describe()['CurrentState']}"
    stack.set_role_policy(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "events:PutEvents"])
    stack.aws("pipes").update_pipe(Name=stack.name, RoleArn=stack.role_arn)
    described = stack.describe()
    assert (described["CurrentState"], described.get("StateReason")) == ("RUNNING", None), f"got {described}"
    stack.send('{"n":1}')
    assert len(stack.received(1)) == 1, "got no event after the repairing update"


def test_sns_envelope_body_keeps_message_a_string(stack: Stack) -> None:
    # §7.1: without raw delivery the body is the SNS envelope; Message stays an escaped JSON string.
    stack.create_pipe()
    envelope = {"Type": "Notification", "MessageId": "m-1", "Message": json.dumps({"orderId": "o-1"})}
    stack.send(json.dumps(envelope))
    events = stack.received(1)
    assert events and events[0]["detail"]["event"]["Message"] == '{"orderId": "o-1"}', f"got {events}"


def test_shutdown_is_prompt_and_engine_resumes(stack: Stack) -> None:
    import threading

    from localcloud import pipes

    stack.create_pipe()
    stack.send('{"n":1}')
    assert len(stack.received(1)) == 1, "got no event before shutdown"
    started = time.monotonic()
    pipes.shutdown()
    took = time.monotonic() - started
    assert took < 1.0, f"got shutdown in {took:.2f} s, expected < 1 s"
    alive = [t.name for t in threading.enumerate() if t.name.startswith("localcloud-pipe")]
    assert alive == [], f"got live engine threads {alive}, expected none"
    stack.describe()  # any Pipes call after a restart brings the engine back
    stack.send('{"n":2}')
    assert len(stack.received(1)) == 1, "got no event, expected the engine to resume"
