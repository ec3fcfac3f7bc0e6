"""The one place the harness reads its environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
DEMO_USERNAME = "demo"
LOCAL_DEFAULT_URL = "http://127.0.0.1:4566"
# Same rule as variables.tf `username` (32 keeps every derived name within AWS limits).
USERNAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")

TargetName = Literal["local", "aws"]


class SettingsError(ValueError):
    """An environment variable holds a value the harness cannot use."""


@dataclass(frozen=True)
class Settings:
    target: TargetName
    username: str
    region: str
    localcloud_url: str
    state_bucket: str | None  # real AWS only: the S3 bucket of the Terraform backend

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        target = env.get("TARGET", "local") or "local"
        if target not in ("local", "aws"):
            raise SettingsError(f"TARGET: expected 'local' or 'aws', got {target!r}")
        username = env.get("USERNAME_PREFIX") or env.get("IAM_USERNAME") or ""
        if not username:
            if target == "aws":
                raise SettingsError("IAM_USERNAME: required with TARGET=aws (the prefix of every resource name)")
            username = DEMO_USERNAME
        if not USERNAME_RE.match(username):
            raise SettingsError(
                f"IAM_USERNAME: expected lowercase letters, digits and hyphens, starting with a letter, "
                f"at most 32 characters; got {username!r}"
            )
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-west-1"
        return cls(
            target=target,  # type: ignore[arg-type]
            username=username,
            region=region,
            localcloud_url=env.get("LOCALCLOUD_URL", LOCAL_DEFAULT_URL).rstrip("/"),
            state_bucket=env.get("TF_STATE_BUCKET") or None,
        )
