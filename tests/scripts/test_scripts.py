"""The helper scripts in scripts/, run as a user would (AWS CLI on PATH) against an in-process localcloud."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REGION = "eu-west-1"
REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = REPO_ROOT / "scripts"
EVENTS = REPO_ROOT / "example-sns-events"
BASKET = json.loads((EVENTS / "basket-updated-event.json").read_text())
CHECKOUT = json.loads((EVENTS / "checkout-created-event.json").read_text())
SCRIPT_NAMES = ("send-mock-events.sh", "watch-sqs-queue.sh", "watch-logs-group.sh")


def json_documents(text: str) -> list[Any]:
    """Every JSON document in a stream of concatenated (pretty-printed) documents."""
    decoder = json.JSONDecoder()
    docs, index = [], 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return docs
        doc, index = decoder.raw_decode(text, index)
        docs.append(doc)


def receive_all(sqs: Any, queue_url: str, expected: int, deadline_s: float = 30) -> list[dict[str, Any]]:
    """Long-poll until `expected` messages arrived (or the deadline passed); leaves them in flight."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + deadline_s
    while len(messages) < expected and time.monotonic() < deadline:
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2, VisibilityTimeout=60
        )
        messages.extend(response.get("Messages", []))
    return messages


def queue_counts(sqs: Any, queue_url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def feeds(aws: Callable[[str], Any], name: str) -> dict[str, str]:
    """The provided topics of user `name`, and a queue subscribed (raw) to both, allowed by its policy."""
    sns, sqs = aws("sns"), aws("sqs")
    basket = sns.create_topic(Name=f"{name}-basket-events")["TopicArn"]
    checkout = sns.create_topic(Name=f"{name}-checkout-events")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"{name}-sink")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowProvidedTopics",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": [basket, checkout]}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    for topic in (basket, checkout):
        sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
        )
    return {"basket": basket, "checkout": checkout, "queue_url": queue_url}


@pytest.fixture
def queue(aws: Callable[[str], Any], name: str) -> str:
    return aws("sqs").create_queue(QueueName=f"{name}-purchase-events")["QueueUrl"]


@pytest.fixture
def log_group(aws: Callable[[str], Any], name: str) -> str:
    """A log group /NAME/pipes/NAME-basket holding one event written now."""
    logs = aws("logs")
    group = f"/{name}/pipes/{name}-basket"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="stream-1")
    logs.put_log_events(
        logGroupName=group,
        logStreamName="stream-1",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": f"hello from {name}"}],
    )
    return group


@pytest.fixture
def path_without(tmp_path: Path) -> Callable[[str], str]:
    """`path_without("jq")` -> a PATH of one directory linking every command on PATH except that one."""

    def build(missing: str) -> str:
        bin_dir = tmp_path / f"bin-without-{missing}"
        bin_dir.mkdir()
        for directory in os.environ.get("PATH", "").split(os.pathsep):
            if not directory or not os.path.isdir(directory):
                continue
            for entry in os.scandir(directory):
                target = bin_dir / entry.name
                if entry.name == missing or target.exists() or target.is_symlink():
                    continue
                if os.access(entry.path, os.X_OK) and not entry.is_dir():
                    target.symlink_to(entry.path)
        return str(bin_dir)

    return build


# --- common behaviour --------------------------------------------------------------------------


@pytest.mark.parametrize("script", SCRIPT_NAMES)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_usage(run_script: Callable[..., Any], script: str, flag: str) -> None:
    result = run_script(script, flag)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: {script}")
    for variable in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_PROFILE", "IAM_USERNAME"):
        assert variable in result.stdout


@pytest.mark.parametrize("script", SCRIPT_NAMES)
def test_unknown_option_is_a_usage_error(run_script: Callable[..., Any], script: str) -> None:
    result = run_script(script, "--bogus")
    assert result.returncode == 2
    assert "unknown option: --bogus" in result.stderr
    assert "Usage:" in result.stderr


@pytest.mark.parametrize(("script", "args"), [(s, ["someone"]) for s in SCRIPT_NAMES])
@pytest.mark.parametrize("missing", ["jq", "aws"])
def test_missing_tool_is_named_with_install_hint(
    run_script: Callable[..., Any], path_without: Callable[[str], str], script: str, args: list[str], missing: str
) -> None:
    result = run_script(script, *args, env={"PATH": path_without(missing)})
    assert result.returncode == 1
    assert f"required tool '{missing}' was not found" in result.stderr
    assert "brew install" in result.stderr and "Debian" in result.stderr


@pytest.mark.parametrize("script", [*SCRIPT_NAMES, "lib.sh"])
def test_scripts_are_shellcheck_clean(script: str) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed")
    result = subprocess.run(
        [shellcheck, "-x", f"scripts/{script}"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS"])
def test_endpoint_override_is_honoured_even_by_cli_v1(run_script: Callable[..., Any], variable: str) -> None:
    # AWS CLI v1 ignores AWS_ENDPOINT_URL; the scripts pass it explicitly. An unreachable endpoint must
    # fail on that endpoint, never reach real AWS.
    result = run_script("watch-sqs-queue.sh", env={variable: "http://127.0.0.1:1", "AWS_MAX_ATTEMPTS": "1"})
    assert result.returncode == 1
    assert "http://127.0.0.1:1" in result.stderr
    assert "amazonaws.com" not in result.stderr


# --- send-mock-events.sh -----------------------------------------------------------------------


def test_send_mock_events_publishes_both_examples(
    run_script: Callable[..., Any], aws: Callable[[str], Any], feeds: dict[str, str], name: str, tmp_path: Path
) -> None:
    result = run_script("send-mock-events.sh", name, cwd=tmp_path)  # cwd elsewhere: paths come from the script
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert feeds["basket"] in lines[0] and "MessageId: " in lines[0]
    assert feeds["checkout"] in lines[1] and "MessageId: " in lines[1]
    assert all(line.split("MessageId: ")[1].strip() for line in lines)

    messages = receive_all(aws("sqs"), feeds["queue_url"], expected=2)
    bodies = [json.loads(m["Body"]) for m in messages]
    assert len(bodies) == 2
    assert sorted(map(json.dumps, bodies)) == sorted(map(json.dumps, [BASKET, CHECKOUT]))
    extra = aws("sqs").receive_message(QueueUrl=feeds["queue_url"], MaxNumberOfMessages=10, WaitTimeSeconds=1)
    assert extra.get("Messages", []) == []


def test_send_mock_events_takes_iam_username_from_env(
    run_script: Callable[..., Any], aws: Callable[[str], Any], feeds: dict[str, str], name: str
) -> None:
    result = run_script("send-mock-events.sh", env={"IAM_USERNAME": name})
    assert result.returncode == 0, result.stderr
    assert len(receive_all(aws("sqs"), feeds["queue_url"], expected=2)) == 2


def test_send_mock_events_defaults_region_when_none_configured(
    run_script: Callable[..., Any], aws: Callable[[str], Any], feeds: dict[str, str], name: str
) -> None:
    result = run_script("send-mock-events.sh", name, env={"AWS_REGION": None})
    assert result.returncode == 0, result.stderr
    assert "no region configured" in result.stderr and "eu-west-1" in result.stderr
    assert f":sns:{REGION}:" in result.stdout


def test_send_mock_events_uses_the_configured_region(
    run_script: Callable[..., Any], feeds: dict[str, str], name: str
) -> None:
    # Topics exist only in eu-west-1: a different region shows in the ARN and the publish fails clearly.
    result = run_script("send-mock-events.sh", name, env={"AWS_REGION": "us-east-2"})
    assert result.returncode == 1
    assert ":sns:us-east-2:" in result.stderr
    assert "failed" in result.stderr


def test_send_mock_events_without_username_is_a_usage_error(run_script: Callable[..., Any]) -> None:
    result = run_script("send-mock-events.sh")
    assert result.returncode == 2
    assert "Usage:" in result.stderr
    assert "missing USERNAME" in result.stderr


def test_send_mock_events_rejects_an_invalid_username(run_script: Callable[..., Any]) -> None:
    result = run_script("send-mock-events.sh", "not a/name")
    assert result.returncode == 2
    assert "invalid USERNAME" in result.stderr


def test_send_mock_events_reports_a_missing_topic(run_script: Callable[..., Any], name: str) -> None:
    result = run_script("send-mock-events.sh", f"{name}-nobody")
    assert result.returncode == 1
    assert f"{name}-nobody-basket-events" in result.stderr


# --- watch-sqs-queue.sh ------------------------------------------------------------------------


def test_watch_sqs_queue_prints_pretty_bodies_and_deletes_them(
    run_script: Callable[..., Any], aws: Callable[[str], Any], queue: str, name: str
) -> None:
    sqs = aws("sqs")
    for event in (BASKET, CHECKOUT):
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(event, separators=(",", ":")))

    result = run_script("watch-sqs-queue.sh", "--once", "--wait", "1", f"{name}-purchase-events")
    assert result.returncode == 0, result.stderr
    docs = json_documents(result.stdout)
    assert sorted(map(json.dumps, docs)) == sorted(map(json.dumps, [BASKET, CHECKOUT]))
    assert '\n  "event_attributes": {\n    "basket_id": 1000,' in result.stdout  # jq-pretty, not compact
    assert queue_counts(sqs, queue) == (0, 0)


def test_watch_sqs_queue_keep_leaves_messages(
    run_script: Callable[..., Any], aws: Callable[[str], Any], queue: str, name: str
) -> None:
    sqs = aws("sqs")
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(BASKET))
    result = run_script("watch-sqs-queue.sh", "--once", "--keep", "--wait", "0", f"{name}-purchase-events")
    assert result.returncode == 0, result.stderr
    assert json_documents(result.stdout) == [BASKET]
    assert sum(queue_counts(sqs, queue)) == 1


def test_watch_sqs_queue_prints_raw_body_and_message_attributes(
    run_script: Callable[..., Any], aws: Callable[[str], Any], queue: str
) -> None:
    aws("sqs").send_message(
        QueueUrl=queue,
        MessageBody="plain text, not JSON",
        MessageAttributes={"origin": {"DataType": "String", "StringValue": "unit-test"}},
    )
    result = run_script("watch-sqs-queue.sh", "--once", "--wait", "0", queue)  # a queue URL works too
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("plain text, not JSON\nMessageAttributes:\n")
    assert json.loads(result.stdout.split("MessageAttributes:\n", 1)[1]) == {"origin": "unit-test"}


def test_watch_sqs_queue_unknown_queue_names_it_and_near_names(
    run_script: Callable[..., Any], queue: str, name: str
) -> None:
    result = run_script("watch-sqs-queue.sh", "--once", f"{name}-purchase-event")
    assert result.returncode == 1
    assert f"queue '{name}-purchase-event' not found" in result.stderr
    assert f"{name}-purchase-events" in result.stderr


def test_watch_sqs_queue_without_argument_lists_queues(
    run_script: Callable[..., Any], queue: str, name: str
) -> None:
    result = run_script("watch-sqs-queue.sh")
    assert result.returncode == 0, result.stderr
    assert f"{name}-purchase-events" in result.stdout.splitlines()


def test_watch_sqs_queue_rejects_a_bad_wait(run_script: Callable[..., Any]) -> None:
    result = run_script("watch-sqs-queue.sh", "--wait", "21", "q")
    assert result.returncode == 2


# --- watch-logs-group.sh -----------------------------------------------------------------------


def test_watch_logs_group_once_prints_events(
    run_script: Callable[..., Any], log_group: str, name: str
) -> None:
    result = run_script("watch-logs-group.sh", "--once", log_group)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    timestamp, message = lines[0].split(" ", 1)
    assert message == f"hello from {name}"
    assert timestamp.endswith("Z") and timestamp[10] == "T"


def test_watch_logs_group_since_excludes_older_events(
    run_script: Callable[..., Any], aws: Callable[[str], Any], name: str
) -> None:
    logs = aws("logs")
    group = f"/{name}/old"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now_ms = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[
            {"timestamp": now_ms - 3_600_000, "message": "an hour ago"},
            {"timestamp": now_ms, "message": "now"},
        ],
    )
    result = run_script("watch-logs-group.sh", "--once", "--since", "600", group)
    assert result.returncode == 0, result.stderr
    assert [line.split(" ", 1)[1] for line in result.stdout.splitlines()] == ["now"]


def test_watch_logs_group_without_argument_lists_groups(
    run_script: Callable[..., Any], log_group: str
) -> None:
    result = run_script("watch-logs-group.sh")
    assert result.returncode == 0, result.stderr
    assert log_group in result.stdout.splitlines()


def test_watch_logs_group_follows_the_single_matching_group(
    run_script: Callable[..., Any], log_group: str, name: str
) -> None:
    result = run_script("watch-logs-group.sh", "--once", f"{name}-basket")
    assert result.returncode == 0, result.stderr
    assert log_group in result.stderr
    assert f"hello from {name}" in result.stdout


def test_watch_logs_group_names_several_matches(
    run_script: Callable[..., Any], aws: Callable[[str], Any], name: str
) -> None:
    for feed in ("basket", "checkout"):
        aws("logs").create_log_group(logGroupName=f"/{name}/pipes/{name}-{feed}")
    result = run_script("watch-logs-group.sh", "--once", name)
    assert result.returncode == 1
    assert f"log group '{name}' not found" in result.stderr
    assert f"/{name}/pipes/{name}-basket" in result.stderr
    assert f"/{name}/pipes/{name}-checkout" in result.stderr


def test_watch_logs_group_unknown_group(run_script: Callable[..., Any], name: str) -> None:
    result = run_script("watch-logs-group.sh", "--once", f"{name}-nothing")
    assert result.returncode == 1
    assert f"log group '{name}-nothing' not found" in result.stderr


def test_scripts_exist_and_are_executable() -> None:
    for script in SCRIPT_NAMES:
        assert os.access(SCRIPTS / script, os.X_OK)
