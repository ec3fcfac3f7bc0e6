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


def test_plan_holds_exactly_the_stack_and_all_of_it_is_unchanged(deployment: Deployment) -> None:
    """Read through `terraform show -json`: the root manages exactly these resources (the topics and
    the bus are looked up, never managed), and after apply every one of them is a no-op."""
    plan = deployment.stack.show_plan_json()
    changes = [c for c in plan["resource_changes"] if c["mode"] == "managed"]
    counts: dict[str, int] = {}
    for change in changes:
        counts[change["type"]] = counts.get(change["type"], 0) + 1
    expected = {
        "aws_sqs_queue": 6,  # per feed a buffer queue and its DLQ; the purchase queue and the target DLQ
        "aws_sns_topic_subscription": 2,
        "aws_iam_role": 2,
        "aws_iam_role_policy": 2,
        "aws_cloudwatch_log_group": 2,
        "aws_pipes_pipe": 2,
        "aws_cloudwatch_metric_alarm": 4,  # two buffer DLQs, the target DLQ, the rule's FailedInvocations
        "aws_cloudwatch_event_rule": 1,
        "aws_cloudwatch_event_target": 1,
    }
    assert counts == expected, f"got managed resources {counts}, expected {expected}"
    root = plan["prior_state"]["values"]["root_module"]["resources"]
    looked_up = {r["type"] for r in root if r["mode"] == "data"}
    assert {"aws_sns_topic", "aws_cloudwatch_event_bus"} <= looked_up, (
        f"got root data sources {sorted(looked_up)}, expected the provided topics and bus to be looked up"
    )
    changed = [c["address"] for c in changes if c["change"]["actions"] != ["no-op"]]
    assert not changed, f"got changes for {changed}, expected every resource to be a no-op after apply"
