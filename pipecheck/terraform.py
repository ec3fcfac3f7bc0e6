"""Terraform driver: python-terraform behind a thin adapter that pins its quirks.

Measured with Terraform 1.11 and python-terraform 0.10.1 (pinned by tests/pipecheck/test_terraform_adapter.py):
- `apply()` asks for approval unless `skip_plan=True` (which is how it spells -auto-approve);
- `destroy()` passes `-force` by default, which Terraform >= 0.15 rejects: pass
  `force=IsNotFlagged, auto_approve=True`;
- `output("name")` raises TypeError: use `output(name, full_value=True)`, which returns the bare
  value (Terraform >= 0.14 prints no {value, type} wrapper for a named output);
- it runs terraform with a copy of os.environ and takes no env argument, so the adapter swaps the
  environment in for the duration of a call (under a lock).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged, IsNotFlagged, Terraform

from . import tfcli
from .settings import ROOT

_environ_lock = threading.Lock()

# What a workspace copy of the project needs to plan and apply (no venvs, state, caches).
ROOT_FILES = ("*.tf", ".terraform.lock.hcl", "backend.tf.dist")
ROOT_DIRS = ("modules", "fixtures")


class TerraformError(RuntimeError):
    def __init__(self, command: str, code: int, stderr: str) -> None:
        super().__init__(f"terraform {command} failed (exit {code}):\n{stderr.strip()[-4000:]}")
        self.command = command
        self.code = code
        self.stderr = stderr


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    with _environ_lock:
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


@dataclass(frozen=True)
class Backend:
    """S3 backend settings rendered into backend.tf from backend.tf.dist."""

    bucket: str
    key: str
    region: str
    path_style: bool  # the local cloud serves S3 path-style only

    def render(self, template: str, username: str) -> str:
        lines = []
        for line in template.splitlines():
            if line.strip() == "@EXTRA@":
                if not self.path_style:
                    continue
                line = line.replace("@EXTRA@", "use_path_style = true")
            lines.append(line.replace("@BUCKET@", self.bucket).replace("@USERNAME@", username).replace("@REGION@", self.region))
        return "\n".join(lines) + "\n"


@dataclass
class Workspace:
    """One Terraform root in a directory, with its own data dir (so parallel runs never share
    .terraform) and environment."""

    directory: Path
    env: dict[str, str]
    variables: dict[str, Any] = field(default_factory=dict)
    data_dir: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = dict(self.env)
        self.env["TF_CLI_CONFIG_FILE"] = str(tfcli.ensure(ROOT, self.env))
        cache = ROOT / ".tf" / "plugin-cache"
        cache.mkdir(parents=True, exist_ok=True)
        self.env.setdefault("TF_PLUGIN_CACHE_DIR", str(cache))
        self.env["TF_IN_AUTOMATION"] = "1"
        if self.data_dir is not None:
            self.env["TF_DATA_DIR"] = str(self.data_dir)
        self._tf = Terraform(working_dir=str(self.directory))

    # -- commands -------------------------------------------------------------------------------
    def _run(self, name: str, method: str, *args: Any, stream: bool = False, ok: tuple[int, ...] = (0,), **kwargs: Any) -> tuple[int, str, str]:
        if stream:
            kwargs["capture_output"] = False
        started = time.monotonic()
        with _environment(self.env):
            code, out, err = getattr(self._tf, method)(*args, **kwargs)
        self.timings[name] = round(time.monotonic() - started, 2)
        if code not in ok:
            raise TerraformError(name, code, err or "(output was streamed above)")
        return code, out or "", err or ""

    def init(self, backend: Backend | None = None, username: str = "", stream: bool = False) -> None:
        backend_file = self.directory / "backend.tf"
        if backend is not None:
            template = (ROOT / "backend.tf.dist").read_text()
            backend_file.write_text(backend.render(template, username))
            # Aligned like the rest of the code, so `terraform fmt -check` stays clean after a run.
            subprocess.run(["terraform", "fmt", "-list=false", str(backend_file)], env=self.env, check=False)
            self._run("init", "init", backend_config={"key": backend.key}, reconfigure=IsFlagged, stream=stream)
        else:
            backend_file.unlink(missing_ok=True)
            self._run("init", "init", backend=False, stream=stream)

    def apply(self, stream: bool = False) -> None:
        self._run("apply", "apply", skip_plan=True, var=self.variables, stream=stream)

    def destroy(self, stream: bool = False) -> None:
        self._run("destroy", "destroy", force=IsNotFlagged, auto_approve=True, var=self.variables, stream=stream)

    def plan_changes(self) -> tuple[bool, str]:
        """(True if the plan has changes, its text): `plan -detailed-exitcode` exits 2 on changes."""
        code, out, _ = self._run(
            "plan", "plan", detailed_exitcode=IsFlagged, var=self.variables, ok=(0, 2), lock=False
        )
        return code == 2, out

    def outputs(self) -> dict[str, Any]:
        with _environment(self.env):
            raw = self._tf.output()
        if raw is None:
            raise TerraformError("output", 1, "terraform output -json returned nothing")
        return {name: item["value"] for name, item in raw.items()}

    def output(self, name: str) -> Any:
        with _environment(self.env):
            value = self._tf.output(name, full_value=True)  # Terraform >= 0.14 prints the bare value
        if value is None:
            raise TerraformError("output", 1, f"no output named {name!r}")
        return value

    def show_plan_json(self, plan_file: str = "tfplan") -> dict[str, Any]:
        """A saved plan read through `terraform show -json`."""
        self._run("plan", "plan", out=plan_file, var=self.variables)
        result = subprocess.run(
            ["terraform", "show", "-json", plan_file],
            cwd=self.directory,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise TerraformError("show", result.returncode, result.stderr)
        return json.loads(result.stdout)


def copy_project(destination: Path) -> Path:
    """A private copy of the Terraform sources, so parallel stacks and the developer's own working
    tree never share backend.tf or .terraform."""
    destination.mkdir(parents=True, exist_ok=True)
    for pattern in ROOT_FILES:
        for path in ROOT.glob(pattern):
            if path.is_file() and path.name != "backend.tf":  # "*.tf" also matches the .tf/ directory
                shutil.copy2(path, destination / path.name)
    for name in ROOT_DIRS:
        shutil.copytree(
            ROOT / name,
            destination / name,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "backend.tf", "tests"),
        )
    return destination
