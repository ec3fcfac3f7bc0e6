"""Fixtures for the helper-script tests: an environment that points the AWS CLI at the session's
localcloud (tests/conftest.py), isolated from the caller's ~/.aws."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from localcloud.server import LocalCloud

REGION = "eu-west-1"
REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = REPO_ROOT / "scripts"


@pytest.fixture(scope="session")
def script_env(cloud: LocalCloud) -> dict[str, str]:
    """The environment the scripts run with: the local cloud's endpoint, fake credentials, no ~/.aws."""
    for tool in ("aws", "jq"):
        if shutil.which(tool) is None:
            # The scripts need these; CI installs them (.ci/run), so there a missing tool is a failure.
            message = f"{tool} is not installed (the helper scripts need it)"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key not in ("IAM_USERNAME",)
    }
    env.update(
        AWS_ENDPOINT_URL=cloud.url,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    return env


@pytest.fixture(scope="session")
def run_script(script_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`run_script("watch-sqs-queue.sh", "--once", "q", env={...}, cwd=...)` -> the completed process.
    An env value of None removes that variable."""

    def run(
        script: str,
        *args: str,
        env: dict[str, str | None] | None = None,
        cwd: Path | str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        merged = {key: value for key, value in {**script_env, **(env or {})}.items() if value is not None}
        return subprocess.run(
            [str(SCRIPTS / script), *args],
            env=merged,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run
