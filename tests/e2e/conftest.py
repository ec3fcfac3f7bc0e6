"""One live stack per test session, on the local cloud (default) or real AWS (TARGET=aws).

All tests here share the group "stack", so with xdist they run on one worker, in file order:
e2e, idempotency, pitfalls, reliability, teardown."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from pipecheck.outputs import StackView
from pipecheck.settings import Settings
from pipecheck.stack import Deployment
from pipecheck.target import LocalCloudProcess, Target, free_port


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.xdist_group("stack"))
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
def target(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    if settings.target == "aws":
        yield Target("aws", settings.region, None)
        return
    cloud = LocalCloudProcess(free_port(), state_dir=tmp_path_factory.mktemp("localcloud"))
    url = cloud.start()
    try:
        yield Target("local", settings.region, url)
    finally:
        cloud.stop()


@pytest.fixture(scope="session")
def deployment(target: Target, settings: Settings) -> Iterator[Deployment]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    # On the local cloud every session has its own prefix; on AWS the user's own.
    username = f"e2e-{worker}" if target.is_local else settings.username
    deployed = Deployment(target, username, settings.state_bucket)
    try:
        deployed.up()
        yield deployed
    finally:
        if deployed.live:  # not yet destroyed by test_teardown
            deployed.down()
        deployed.close()


@pytest.fixture(scope="session")
def view(deployment: Deployment) -> StackView:
    return StackView.from_outputs(deployment.outputs)
