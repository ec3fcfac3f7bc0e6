"""Decisions about who may do what on a delivery, read from moto's state (queue policies, IAM roles),
with the enforcement mode (enforce | warn | off) applied. The evaluation itself is localcloud.policy."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from localcloud import config
from localcloud.policy import Decision, PolicySource, Request, evaluate

if TYPE_CHECKING:
    from moto.iam.models import Role

__all__ = ["Decision", "service_may", "role_may", "role_trusts"]

log = logging.getLogger("localcloud.access")

# Service-to-service deliveries (SNS -> SQS, EventBridge -> SQS, Pipes -> SQS/bus) use HTTPS (§1.1).
_SECURE = {"aws:SecureTransport": True}


def _enforced(decision: Decision, what: str) -> Decision:
    mode = config.current().enforcement
    if decision.allowed or mode == "enforce":
        return decision
    if mode == "warn":
        log.warning("%s: warn mode: would deny: %s", what, decision.reason)
        return Decision(True, f"warn mode: would deny: {decision.reason}")
    return Decision(True, f"enforcement off: would deny: {decision.reason}")


def _resource_label(resource_arn: str) -> str:
    parts = resource_arn.split(":", 5)
    if len(parts) != 6:
        return f"the resource policy of {resource_arn}"
    kind = {"sqs": "queue", "sns": "topic", "events": "event bus"}.get(parts[2], "resource")
    return f"the {kind} policy of '{parts[5].rsplit('/', 1)[-1]}'"


def _role(role_arn: str) -> Role | None:
    """The role named by `role_arn` in moto's IAM backend of the ARN's account, None if absent."""
    from moto.iam.models import iam_backends  # deferred: moto must be imported after Settings.apply_to_moto

    parts = role_arn.split(":", 5)
    if len(parts) != 6 or not parts[5].startswith("role/"):
        return None
    name = parts[5].rsplit("/", 1)[-1]
    # iam_backends[acct] creates the account's backend on first use, like any moto request would.
    for role in list(iam_backends[parts[4]]["global"].roles.values()):
        if role.name == name and role.arn == role_arn:
            return role
    return None


def _identity_policies(role: Role) -> list[PolicySource]:
    sources = [
        PolicySource(f"inline policy '{name}' of role '{role.name}'", text, "identity")
        for name, text in dict(role.policies).items()
    ]
    for arn, managed in dict(role.managed_policies).items():
        default = next((v for v in list(managed.versions) if v.is_default), None)
        text = default.document if default is not None else None
        sources.append(PolicySource(f"managed policy {arn} attached to role '{role.name}'", text, "identity"))
    return sources


def service_may(
    service: str, action: str, resource_arn: str, resource_policy: str | None,
    source_arn: str | None, source_account: str | None,
) -> Decision:
    """May service principal `service` (e.g. "sns.amazonaws.com") call `action` on `resource_arn`,
    acting for `source_arn`? Only the resource policy can allow a service principal."""
    context = {**_SECURE, "aws:SourceArn": source_arn, "aws:SourceAccount": source_account,
               "aws:PrincipalIsAWSService": True, "aws:PrincipalServiceName": service}
    decision = evaluate(
        [PolicySource(_resource_label(resource_arn), resource_policy, "resource")],
        Request(service, action, resource_arn, context),
    )
    return _enforced(decision, f"{service} {action} on {resource_arn}")


def role_may(role_arn: str, action: str, resource_arn: str, resource_policy: str | None = None) -> Decision:
    """May the (assumed) role call `action` on `resource_arn`? Identity policies of the role (inline
    and attached) unioned with the resource policy, explicit Deny in either wins."""
    what = f"role {role_arn} {action} on {resource_arn}"
    role = _role(role_arn)
    if role is None:
        return _enforced(Decision(False, f"role {role_arn} does not exist"), what)
    sources = _identity_policies(role)
    if resource_policy is not None:
        sources.append(PolicySource(_resource_label(resource_arn), resource_policy, "resource"))
    context = {**_SECURE, "aws:PrincipalArn": role_arn, "aws:PrincipalAccount": role_arn.split(":")[4],
               "aws:PrincipalIsAWSService": False}
    return _enforced(evaluate(sources, Request(role_arn, action, resource_arn, context)), what)


def role_trusts(role_arn: str, service: str, source_arn: str | None, source_account: str | None) -> Decision:
    """May `service` assume `role_arn` on behalf of `source_arn` (trust policy)?"""
    what = f"{service} sts:AssumeRole on {role_arn}"
    role = _role(role_arn)
    if role is None:
        return _enforced(Decision(False, f"role {role_arn} does not exist"), what)
    context = {**_SECURE, "aws:SourceArn": source_arn, "aws:SourceAccount": source_account,
               "aws:PrincipalIsAWSService": True, "aws:PrincipalServiceName": service}
    decision = evaluate(
        [PolicySource(f"the trust policy of role '{role.name}'", role.assume_role_policy_document, "resource")],
        Request(service, "sts:AssumeRole", role_arn, context),
    )
    return _enforced(decision, what)
