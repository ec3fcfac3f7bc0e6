"""Where the stack runs: the local cloud (default) or real AWS (TARGET=aws), and clients bound to it.

Everything that talks to AWS (boto3 here, Terraform and the AWS CLI in subprocesses) gets its
endpoint and credentials from `Target`, so the same code runs unchanged against both."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from localcloud.server import HEALTH_PATH

from .settings import ROOT, Settings

LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "localcloud", "AWS_SECRET_ACCESS_KEY": "localcloud"}
STATE_DIR = ROOT / ".localcloud"


class TargetError(RuntimeError):
    pass


@dataclass
class Target:
    name: str
    region: str
    endpoint_url: str | None  # None: real AWS
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_local(self) -> bool:
        return self.endpoint_url is not None

    def env(self) -> dict[str, str]:
        """Environment for subprocesses (terraform, aws cli, scripts) aimed at this target."""
        env = dict(os.environ)
        env["AWS_REGION"] = self.region
        env["AWS_DEFAULT_REGION"] = self.region
        if self.endpoint_url:
            env.update(LOCAL_CREDENTIALS)
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
            env["AWS_EC2_METADATA_DISABLED"] = "true"
            # Never let a developer's real profile leak into a local run.
            for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
                env.pop(key, None)
        return env

    def client(self, service: str) -> Any:
        if service not in self._clients:
            kwargs: dict[str, Any] = {
                "region_name": self.region,
                "config": Config(retries={"max_attempts": 3, "mode": "standard"}),
            }
            if self.endpoint_url:
                kwargs.update(
                    endpoint_url=self.endpoint_url,
                    aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                )
            self._clients[service] = boto3.session.Session().client(service, **kwargs)
        return self._clients[service]

    def account_id(self) -> str:
        return str(self.client("sts").get_caller_identity()["Account"])


def health(url: str, timeout: float = 0.5) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url + HEALTH_PATH, timeout=timeout) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalCloudProcess:
    """localcloud in a child process, with its pid and log under .localcloud/ (git-ignored)."""

    def __init__(self, port: int, state_dir: Path = STATE_DIR) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.state_dir = state_dir
        self.pid_file = state_dir / f"localcloud-{port}.pid"
        self.log_file = state_dir / f"localcloud-{port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.start_s = 0.0  # spawn -> first ready health answer

    def start(self, timeout: float = 15.0, detach: bool = False, poll: float = 0.05) -> str:
        if health(self.url):
            raise TargetError(f"something already answers on {self.url}; stop it first (make down)")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        spawned = time.perf_counter()
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "localcloud", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=detach,
            )
        self.pid_file.write_text(str(self.process.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if health(self.url, timeout=0.2):
                self.start_s = time.perf_counter() - spawned
                return self.url
            if self.process.poll() is not None:
                raise TargetError(f"localcloud exited with {self.process.returncode}; see {self.log_file}")
            time.sleep(poll)  # bounded readiness poll, deadline above
        self.stop()
        raise TargetError(f"localcloud did not answer on {self.url} within {timeout:.0f} s; see {self.log_file}")

    def stop(self, timeout: float = 10.0) -> bool:
        pid = self.process.pid if self.process else _read_pid(self.pid_file)
        stopped = False
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
                stopped = True
            except ProcessLookupError:
                pass
            if self.process is not None:
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout)
            else:
                _wait_gone(pid, timeout)
        self.pid_file.unlink(missing_ok=True)
        return stopped


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def resolve(settings: Settings, start_local: bool = True) -> Target:
    """The target the settings name; for the local cloud, start it (detached) if nothing answers."""
    if settings.target == "aws":
        return Target("aws", settings.region, None)
    url = settings.localcloud_url
    if not health(url):
        if not start_local:
            raise TargetError(f"localcloud is not running on {url}: run `make up`")
        port = int(url.rsplit(":", 1)[1])
        LocalCloudProcess(port).start(detach=True)
    return Target("local", settings.region, url)
