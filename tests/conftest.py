"""Fixtures shared by the suites that talk to an in-process localcloud (localcloud's own tests and the
helper-script tests): one server per test session (per xdist worker), clients bound to it, and a
fresh name prefix per test. The e2e suite runs localcloud as a subprocess instead (tests/e2e)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from localcloud.config import Settings
from localcloud.server import LocalCloud

REGION = "eu-west-1"


@pytest.fixture(scope="session")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(Settings(port=0)) as running:
        yield running


@pytest.fixture(scope="session")
def aws(cloud: LocalCloud) -> Callable[[str], Any]:
    """`aws("sqs")` -> a boto3 client bound to the test server."""
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = boto3.client(
                service,
                endpoint_url=cloud.url,
                region_name=REGION,
                aws_access_key_id="test",
                aws_secret_access_key="test",
            )
        return clients[service]

    return client


@pytest.fixture
def name() -> str:
    """A fresh resource-name prefix, so tests sharing the session server never collide."""
    return f"t{uuid.uuid4().hex[:10]}"
