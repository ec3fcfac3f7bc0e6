"""Apply / destroy wall time of the stack (not the provided fixture), and of a naive layout of the
same stack in which every queue policy is a separate `aws_sqs_queue_policy` resource instead of the
inline `policy` argument of `aws_sqs_queue` (moto-notes: each separate SQS attribute write costs the
provider ~25 s of propagation checks)."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipecheck.stack import Deployment
from pipecheck.target import Target
from pipecheck.terraform import copy_project

from .common import BenchError

MODULES = ("modules/sns_pipe", "modules/event_rule_queue")
_QUEUE_BLOCK = re.compile(r'^resource\s+"aws_sqs_queue"\s+"(?P<name>[A-Za-z0-9_-]+)"\s*\{\s*$')
_POLICY_LINE = re.compile(r"^\s*policy\s*=\s*(?P<expr>.+?)\s*$")


def naive_queues_tf(text: str) -> tuple[str, int]:
    """queues.tf with each inline `policy = X` of an `aws_sqs_queue` moved into its own
    `aws_sqs_queue_policy` resource; returns (new text, how many policies were moved).
    Works on the layout terraform fmt writes: a resource header line, arguments one per line,
    the block closed by a `}` in column 0."""
    out: list[str] = []
    moved: list[tuple[str, str]] = []
    current: str | None = None
    for line in text.splitlines():
        header = _QUEUE_BLOCK.match(line)
        if header:
            current = header.group("name")
        elif current is not None and line.rstrip() == "}":
            current = None
        elif current is not None:
            policy = _POLICY_LINE.match(line)
            if policy:
                moved.append((current, policy.group("expr")))
                continue  # drop the inline argument
        out.append(line)
    for name, expr in moved:
        out += [
            "",
            f'resource "aws_sqs_queue_policy" "{name}" {{',
            f"  queue_url = aws_sqs_queue.{name}.id",
            f"  policy    = {expr}",
            "}",
        ]
    return "\n".join(out) + "\n", len(moved)


def make_naive(project: Path) -> int:
    """Rewrite the modules of a project copy in place; returns the number of policies moved."""
    total = 0
    for module in MODULES:
        path = project / module / "queues.tf"
        text, moved = naive_queues_tf(path.read_text())
        if moved == 0:
            raise BenchError(f"{path}: got 0 inline queue policies to move, expected at least 1")
        path.write_text(text)
        total += moved
    return total


@dataclass
class Cycle:
    """One deployment in a private project copy; `up()` keeps it live until `down()`."""

    target: Target
    username: str
    naive: bool = False

    def __post_init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix=f"bench-{self.username}-")
        project = copy_project(Path(self._tmp.name))
        self.policies_moved = make_naive(project) if self.naive else 0
        self.deployment = Deployment(self.target, self.username, directory=project)
        self.apply_s: float | None = None
        self.destroy_s: float | None = None

    def up(self) -> dict[str, object]:
        outputs = self.deployment.up()
        self.apply_s = self.deployment.stack.timings["apply"]
        return outputs

    def down(self) -> None:
        self.deployment.down()
        self.destroy_s = self.deployment.stack.timings["destroy"]

    def close(self) -> None:
        self.deployment.close()
        self._tmp.cleanup()
