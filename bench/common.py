"""Shared pieces of the benchmarks: statistics, plain moto_server in a child process,
event matching and bounded waits. Nothing here sleeps to synchronise: every wait is a poll with a
deadline."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.config import Config

from pipecheck.target import free_port

REGION = "eu-west-1"
MOTO_CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


class BenchError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0-100) of a non-empty sample."""
    if not values:
        raise ValueError("percentile of an empty sample")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * pct // 100)))  # ceil without floats
    return float(ordered[int(rank) - 1])


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def machine() -> dict[str, Any]:
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count() or 0,
        "loadavg_at_start": load,
    }


# -------------------------------------------------------------------------------- plain moto_server


class MotoServer:
    """Plain moto_server (no localcloud patches) in a child process on 127.0.0.1."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> MotoServer:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"moto_server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
                with urllib.request.urlopen(self.url + "/moto-api/", timeout=1.0):
                    return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.05)  # bounded readiness poll, deadline above
        self.stop()
        raise BenchError(f"moto_server did not answer on {self.url} within {timeout:.0f} s")

    def client(self, service: str, pool: int = 10) -> Any:
        return boto3.session.Session().client(
            service,
            region_name=REGION,
            endpoint_url=self.url,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=pool),
            **MOTO_CREDENTIALS,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def moto_topic_queue(server: MotoServer, name: str) -> tuple[str, str]:
    """A topic with one raw SQS subscription on plain moto: (topic ARN, queue URL)."""
    sns, sqs = server.client("sns"), server.client("sqs")
    topic_arn = sns.create_topic(Name=f"{name}-topic")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"{name}-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return topic_arn, queue_url


# --------------------------------------------------------------------------------------- matching


def planted_id(body: str) -> str | None:
    """The planted event_id of a message body: the delivered envelope's detail.event.event_id on the
    stack, or the raw event's event_id on a plain SNS -> SQS hop."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    detail = data.get("detail")
    if isinstance(detail, dict) and isinstance(detail.get("event"), dict):
        data = detail["event"]
    value = data.get("event_id")
    return value if isinstance(value, str) else None


def process_rss_mb(pid: int) -> float:
    import psutil

    return round(psutil.Process(pid).memory_info().rss / (1024 * 1024), 1)
