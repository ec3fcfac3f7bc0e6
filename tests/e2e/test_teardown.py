"""Destroy leaves nothing with the prefix behind, checked through the APIs (runs last: it tears
down the session's stack)."""

from __future__ import annotations

from typing import Any

from pipecheck.outputs import StackView
from pipecheck.stack import Deployment


def leftovers(client: Any, username: str, bus: str) -> dict[str, list[str]]:
    """Every resource type the stack creates, listed by the prefix."""
    prefix = f"{username}-"
    sqs, sns, pipes, events, iam, logs, cw = (
        client(s) for s in ("sqs", "sns", "pipes", "events", "iam", "logs", "cloudwatch")
    )
    found: dict[str, list[str]] = {
        "queues": sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", []),
        "subscriptions": [
            s["SubscriptionArn"]
            for s in sns.list_subscriptions()["Subscriptions"]
            if f":{prefix}" in s["Endpoint"]
        ],
        "pipes": [p["Name"] for p in pipes.list_pipes(NamePrefix=prefix)["Pipes"]],
        "roles": [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(prefix)],
        "log groups": [
            g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=f"/{username}/")["logGroups"]
        ],
        "alarms": [a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]],
    }
    buses = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    found["rules"] = (
        [r["Name"] for r in events.list_rules(EventBusName=bus, NamePrefix=prefix)["Rules"]] if bus in buses else []
    )
    return {kind: names for kind, names in found.items() if names}


def test_destroy_leaves_nothing_with_the_prefix(deployment: Deployment, view: StackView) -> None:
    client = deployment.target.client
    before = leftovers(client, view.username, view.event_bus_name)
    assert {"queues", "pipes", "roles", "rules", "alarms"} <= set(before), (
        f"got resource kinds {sorted(before)} before destroy, expected the stack's to be listed"
    )
    deployment.stack.destroy()
    after = leftovers(client, view.username, view.event_bus_name)
    assert not after, f"got {after} after destroy, expected nothing with prefix {view.username}-"
    if deployment.target.is_local:
        deployment.provided.destroy()
        topics = [t["TopicArn"] for t in client("sns").list_topics()["Topics"] if f":{view.username}-" in t["TopicArn"]]
        buses = [b["Name"] for b in client("events").list_event_buses()["EventBuses"] if b["Name"].startswith(view.username)]
        assert not topics and not buses, f"got topics {topics} and buses {buses} after destroy, expected none"
    deployment.live = False
