"""moto defects fixed by localcloud.fixes, checked through boto3 against the running server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.server import LocalCloud

REGION = "eu-west-1"
# moto warns that localcloud's error codes are not in the service models; pytest re-enables warnings per test.
pytestmark = pytest.mark.filterwarnings(r"ignore:Exception\(LocalcloudError\):UserWarning")


def _queue_with_dlq(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}, indent=2)  # spaces on purpose
    url = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": redrive, **attributes})["QueueUrl"]
    return url, dlq_arn


def test_redrive_policy_is_compact_json_like_aws(aws: Callable[[str], Any], name: str) -> None:
    sqs = aws("sqs")
    url, dlq_arn = _queue_with_dlq(sqs, name)
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["RedrivePolicy"]
    expected = f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":5}}'
    assert got == expected, f"got {got!r}, expected {expected!r}"


def test_redrive_allow_policy_is_returned_compact(aws: Callable[[str], Any], name: str) -> None:
    sqs = aws("sqs")
    allow = {"redrivePermission": "byQueue", "sourceQueueArns": [f"arn:aws:sqs:{REGION}:123456789012:{name}-src"]}
    url = sqs.create_queue(QueueName=name, Attributes={"RedriveAllowPolicy": json.dumps(allow, indent=1)})["QueueUrl"]
    expected = json.dumps(allow, separators=(",", ":"))
    for names in (["All"], ["RedriveAllowPolicy"]):
        got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"].get("RedriveAllowPolicy")
        assert got == expected, f"AttributeNames={names}: got {got!r}, expected {expected!r}"


def _policy(queue_arn: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "sns", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                       "Action": "sqs:SendMessage", "Resource": queue_arn}],
    })


def test_policy_survives_set_queue_attributes_without_policy(aws: Callable[[str], Any], name: str) -> None:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": _policy(arn)})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "45"})
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs.get("VisibilityTimeout") == "45", f"got {attrs.get('VisibilityTimeout')}, expected 45"
    got = json.loads(attrs.get("Policy", "null"))
    assert got == json.loads(_policy(arn)), f"got {got}, expected the policy set before"


def test_empty_policy_removes_it(aws: Callable[[str], Any], name: str) -> None:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": _policy(arn)})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert "Policy" not in attrs, f"got Policy {attrs.get('Policy')!r}, expected none"


def _default_retry_client(cloud: LocalCloud, service: str) -> Any:
    # Default botocore retry behaviour on purpose: a retryable answer would make these calls slow.
    return boto3.client(service, endpoint_url=cloud.url, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


@pytest.mark.parametrize(
    ("service", "target", "call"),
    [
        ("sqs", "SQS.ListMessageMoveTasks",  # JSON protocol
         lambda c: c.list_message_move_tasks(SourceArn=f"arn:aws:sqs:{REGION}:123456789012:nope")),
        ("sns", "SNS.GetDataProtectionPolicy",  # query (XML) protocol
         lambda c: c.get_data_protection_policy(ResourceArn=f"arn:aws:sns:{REGION}:123456789012:nope")),
        ("events", "EventBridge.ListEndpoints", lambda c: c.list_endpoints()),
    ],
)
def test_unimplemented_action_answers_a_quick_non_retryable_400(
    cloud: LocalCloud, service: str, target: str, call: Callable[[Any], Any]
) -> None:
    client = _default_retry_client(cloud, service)
    started = time.monotonic()
    with pytest.raises(ClientError) as caught:
        call(client)
    elapsed = time.monotonic() - started
    response = caught.value.response
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    assert status == 400, f"got HTTP {status}, expected 400"
    assert response["Error"]["Code"] == "InvalidAction", f"got {response['Error']['Code']}, expected InvalidAction"
    expected = f"localcloud: {target} is not implemented"
    assert expected in response["Error"]["Message"], f"got {response['Error']['Message']!r}, expected {expected!r}"
    retries = response["ResponseMetadata"]["RetryAttempts"]
    assert retries == 0, f"got {retries} retries, expected 0"
    assert elapsed < 2, f"got {elapsed:.2f} s, expected < 2 s"


def test_handler_crash_answers_aws_style_internal_failure(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.sqs.models import SQSBackend

    def crash(*_: Any, **__: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(SQSBackend, "list_queues", crash)
    client = boto3.client("sqs", endpoint_url=cloud.url, region_name=REGION, aws_access_key_id="testing",
                          aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    with pytest.raises(ClientError) as caught:
        client.list_queues()
    response = caught.value.response
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    assert status == 500, f"got HTTP {status}, expected 500"
    assert response["Error"]["Code"] == "InternalFailure", f"got {response['Error']['Code']}, expected InternalFailure"
    assert "boom" in response["Error"]["Message"], f"got {response['Error']['Message']!r}, expected the cause"


def test_concurrent_sends_and_deletes_lose_nothing(aws, name) -> None:
    """Deletes rebuild the message list; sends racing them must all survive."""
    import threading

    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=f"{name}-race")["QueueUrl"]
    sent: list[str] = []
    for i in range(50):
        sqs.send_message(QueueUrl=url, MessageBody=f"old-{i}")
    handles = [m["ReceiptHandle"] for _ in range(5)
               for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]

    def send() -> None:
        for i in range(100):
            body = f"new-{threading.get_ident()}-{i}"
            sqs.send_message(QueueUrl=url, MessageBody=body)
            sent.append(body)

    def delete() -> None:
        for handle in handles:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)

    threads = [threading.Thread(target=send), threading.Thread(target=send), threading.Thread(target=delete)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                   "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    total = int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
    expected = 50 - len(handles) + len(sent)
    assert total == expected, f"got {total} messages in the queue, expected {expected} (sends lost to a racing delete?)"
