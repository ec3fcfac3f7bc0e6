"""A deployment of the stack for one username on one target: the provided resources (local cloud
only; on AWS they exist already), then the root; and the way back."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .settings import ROOT
from .target import Target
from .terraform import Backend, Workspace, copy_project

LOCAL_STATE_BUCKET = "localcloud-tfstate"


@dataclass
class Deployment:
    target: Target
    username: str
    state_bucket: str | None = None  # required on AWS; the local cloud gets its own bucket
    directory: Path | None = None  # None: a private temporary copy of the project
    stream: bool = False  # show Terraform's output as it runs (make), or capture it (tests)
    outputs: dict[str, Any] = field(default_factory=dict)
    live: bool = False  # something may exist: set before the first apply, cleared by down()

    def __post_init__(self) -> None:
        if self.directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix=f"pipecheck-{self.username}-")
            self.directory = copy_project(Path(self._tmp.name))
        data_root = self.directory / ".terraform-pipecheck" / self.target.name / self.username
        variables = {"username": self.username, "region": self.target.region}
        env = self.target.env()
        self.stack = Workspace(self.directory, env, variables, data_dir=data_root / "stack")
        self.provided = Workspace(
            self.directory / "fixtures" / "provided", env, dict(variables), data_dir=data_root / "provided"
        )

    def _backend(self, key: str) -> Backend:
        if self.target.is_local:
            return Backend(LOCAL_STATE_BUCKET, key, self.target.region, path_style=True)
        if not self.state_bucket:
            raise ValueError("TF_STATE_BUCKET: required with TARGET=aws (the S3 bucket of backend.tf.dist)")
        return Backend(self.state_bucket, key, self.target.region, path_style=False)

    def _ensure_local_bucket(self) -> None:
        s3 = self.target.client("s3")
        if LOCAL_STATE_BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            s3.create_bucket(
                Bucket=LOCAL_STATE_BUCKET,
                CreateBucketConfiguration={"LocationConstraint": self.target.region},
            )

    def init(self) -> None:
        if self.target.is_local:
            self._ensure_local_bucket()
            self.provided.init(self._backend(f"{self.username}/provided/terraform.tfstate"), self.username, self.stream)
        self.stack.init(self._backend(f"{self.username}/event-pipes/terraform.tfstate"), self.username, self.stream)

    def up(self) -> dict[str, Any]:
        self.init()
        self.live = True
        if self.target.is_local:
            self.provided.apply(self.stream)
        self.stack.apply(self.stream)
        self.outputs = self.stack.outputs()
        return self.outputs

    def down(self) -> None:
        self.stack.destroy(self.stream)
        if self.target.is_local:
            self.provided.destroy(self.stream)
        self.live = False
        self.outputs = {}

    def close(self) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            tmp.cleanup()


def in_place(target: Target, username: str, state_bucket: str | None) -> Deployment:
    """The developer's own checkout (make plan/apply/destroy): Terraform output streams through."""
    return Deployment(target, username, state_bucket, directory=ROOT, stream=True)
