"""A second plan right after apply must be empty: no emulator defect, no provider quirk, no
heredoc newline may leave a perpetual diff."""

from __future__ import annotations

import pytest

from pipecheck.stack import Deployment


def test_second_plan_shows_no_changes(deployment: Deployment) -> None:
    changed, text = deployment.stack.plan_changes()
    assert not changed, f"got a plan with changes after apply, expected none:\n{text[-3000:]}"


def test_fixture_plan_shows_no_changes(deployment: Deployment) -> None:
    if not deployment.target.is_local:
        pytest.skip("on AWS the provided resources are not ours to plan")
    changed, text = deployment.provided.plan_changes()
    assert not changed, f"got a plan with changes for fixtures/provided, expected none:\n{text[-3000:]}"
