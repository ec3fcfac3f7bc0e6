"""Offline checks of the Terraform code: formatting, validation of every root and module, the
plan-mode `terraform test` suite (mock provider), and the checkov security scan."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from pipecheck import tfcli
from pipecheck.settings import ROOT

pytestmark = pytest.mark.terraform

TF_DIRS = [".", "modules/sns_pipe", "modules/event_rule_queue", "fixtures/provided"]
SCANNER = ROOT / ".venv-scan" / "bin" / "checkov"


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["TF_CLI_CONFIG_FILE"] = str(tfcli.ensure(ROOT))
    env["TF_PLUGIN_CACHE_DIR"] = str(ROOT / ".tf" / "plugin-cache")
    env["TF_DATA_DIR"] = str(data_dir)
    env["TF_IN_AUTOMATION"] = "1"
    # Static checks must never reach a cloud, local or real.
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        env.pop(key, None)
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_fmt_is_clean() -> None:
    result = _run(["terraform", "fmt", "-check", "-recursive", "-no-color"], ROOT, dict(os.environ))
    assert result.returncode == 0, f"got unformatted files {result.stdout.split()}, expected none (run make fmt)"


@pytest.mark.parametrize("directory", TF_DIRS)
def test_validate(directory: str, tmp_path: Path) -> None:
    (ROOT / ".tf" / "plugin-cache").mkdir(parents=True, exist_ok=True)
    env = _env(tmp_path / "data")
    cwd = ROOT / directory
    init = _run(["terraform", "init", "-backend=false", "-input=false", "-no-color"], cwd, env)
    assert init.returncode == 0, f"{directory}: init failed:\n{init.stderr}"
    result = _run(["terraform", "validate", "-no-color"], cwd, env)
    assert result.returncode == 0, f"{directory}: got validate errors, expected none:\n{result.stderr}"


def test_terraform_test_suite_passes(tmp_path: Path) -> None:
    env = _env(tmp_path / "data")
    init = _run(["terraform", "init", "-backend=false", "-input=false", "-no-color"], ROOT, env)
    assert init.returncode == 0, f"init failed:\n{init.stderr}"
    result = _run(["terraform", "test", "-no-color"], ROOT, env, timeout=600)
    summary = re.search(r"(\d+) passed, (\d+) failed", result.stdout)
    assert summary, f"got no summary line from terraform test, expected 'N passed, M failed':\n{result.stdout[-3000:]}{result.stderr}"
    passed, failed = int(summary.group(1)), int(summary.group(2))
    assert result.returncode == 0 and failed == 0, f"got {failed} failed run(s), expected 0:\n{result.stdout[-5000:]}"
    assert passed >= 10, f"got {passed} passing runs, expected the full suite (>= 10)"


# checkov's --skip-path takes regular expressions: "\.tf/" keeps .tf/ (the CLI config and plugin
# cache) out without skipping every file that ends in ".tf".
SCAN_SKIPS = [r"\.venv", r"\.terraform", r"(^|/)\.tf/"]


def test_checkov_finds_nothing() -> None:
    assert SCANNER.exists(), f"got no scanner at {SCANNER}, expected `make test` to install it (requirements-scan.txt)"
    args = [str(SCANNER), "-d", ".", "--framework", "terraform", "--skip-download", "--compact", "-o", "json"]
    for skip in SCAN_SKIPS:
        args += ["--skip-path", skip]
    result = _run(args, ROOT, dict(os.environ))
    reports = json.loads(result.stdout)
    summary = (reports[0] if isinstance(reports, list) else reports).get("summary", reports)
    assert summary["resource_count"] >= 20, f"got {summary['resource_count']} resources scanned, expected the whole stack"
    failed = [
        f"{c['check_id']} {c['file_path']}:{c['resource']}"
        for report in (reports if isinstance(reports, list) else [reports])
        for c in report.get("results", {}).get("failed_checks", [])
    ]
    assert summary["failed"] == 0, f"got {summary['failed']} failed checks, expected 0: {failed}"
    assert summary["passed"] > 100, f"got {summary['passed']} passed checks, expected a real scan"


def test_skips_carry_a_reason() -> None:
    """Every inline checkov skip explains itself beyond the check id."""
    for path in ROOT.rglob("*.tf"):
        if any(part.startswith(".") for part in path.relative_to(ROOT).parts):
            continue
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                reason = line.split("checkov:skip=", 1)[1].split(":", 1)
                assert len(reason) == 2 and len(reason[1].strip()) >= 20, (
                    f"{path.relative_to(ROOT)}: got skip {line.strip()!r}, expected a reason of its own"
                )
