"""The policy questions doctor asks, answered by localcloud's pure IAM evaluator (localcloud.policy:
stdlib only, no moto, so it runs against real AWS as well), with causes worded for the person who
has to fix the policy: which statement is missing, or which condition value is wrong and what it
should be."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from localcloud.policy import PolicySource, Request, arn_matches, evaluate

# Service principals reach SQS over HTTPS (aws-behaviour.md §1.1), so transport guards never deny them.
_SECURE = {"aws:SecureTransport": True}
_CUSTOM_BUS_RULE = re.compile(r"^(arn:[^:]+:events:[^:]+:\d{12}:rule/)([^/]+)/(.+)$")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    cause: str  # "" when allowed; otherwise one sentence naming the problem
    reason: str  # the evaluator's own reason (which statement decided)


def as_text(document: Any) -> str | None:
    """A policy as JSON text: IAM returns dicts (boto3 decodes them) or URL-encoded JSON strings."""
    if document is None or document == "":
        return None
    if isinstance(document, str):
        text = document.strip()
        if text.startswith("%7B") or text.startswith("%7b"):
            text = urllib.parse.unquote(text)
        return text
    return json.dumps(document)


def _statements(text: str | None) -> list[dict[str, Any]]:
    try:
        document = json.loads(text or "")
    except ValueError:
        return []
    raw = document.get("Statement", []) if isinstance(document, dict) else []
    return [s for s in (raw if isinstance(raw, list) else [raw]) if isinstance(s, dict)]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _names_service(statement: dict[str, Any], service: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if "*" in _listed(principal.get("AWS", [])):
        return True
    return service.lower() in {str(s).lower() for s in _listed(principal.get("Service", []))}


def _covers_action(statement: dict[str, Any], action: str) -> bool:
    if "Action" not in statement:
        return False
    return any(fnmatchcase(action.lower(), str(a).lower()) for a in _listed(statement["Action"]))


def _condition_values(statement: dict[str, Any], key: str) -> list[str]:
    """Every value any operator in the statement compares `key` with (keys are case-insensitive)."""
    found: list[str] = []
    for keys in (statement.get("Condition") or {}).values():
        if isinstance(keys, dict):
            for name, values in keys.items():
                if name.lower() == key.lower():
                    found.extend(str(v) for v in _listed(values))
    return found


def rule_arn_hint(value: str, expected: str) -> str:
    """Explain the default-bus form mistake (aws-behaviour.md §7.10), or ""."""
    custom = _CUSTOM_BUS_RULE.match(expected)
    if custom and value == f"{custom.group(1)}{custom.group(3)}":
        return (f" (that is the default-bus form of the rule ARN; a rule on custom bus {custom.group(2)} "
                f"has ARN rule/{custom.group(2)}/{custom.group(3)}, so the condition never matches)")
    return ""


def _near_miss(text: str, service: str, action: str, resource: str, source_arn: str, source_account: str) -> str:
    """Why the Allow statements that name this service and action still do not apply, or ""."""
    for statement in _statements(text):
        if statement.get("Effect") != "Allow" or not _names_service(statement, service):
            continue
        if not _covers_action(statement, action):
            continue
        arns = _condition_values(statement, "aws:SourceArn")
        if arns and not any(arn_matches(v, source_arn) for v in arns):
            shown = ", ".join(arns)
            return f"aws:SourceArn condition is {shown}, expected {source_arn}" + rule_arn_hint(arns[0], source_arn)
        accounts = _condition_values(statement, "aws:SourceAccount")
        if accounts and not any(fnmatchcase(source_account, v) for v in accounts):
            return f"aws:SourceAccount condition is {', '.join(accounts)}, expected {source_account}"
        resources = [str(r) for r in _listed(statement.get("Resource", []))]
        if resources and not any(r == "*" or arn_matches(r, resource) for r in resources):
            return f"the statement allowing {service} {action} covers {', '.join(resources)}, not {resource}"
    return ""


def service_access(
    policy: Any, *, service: str, action: str, resource: str, source_arn: str, source_account: str,
    resource_label: str, source_label: str,
) -> Verdict:
    """May `service` (e.g. sns.amazonaws.com) call `action` on `resource` for `source_arn`? Only the
    resource policy can allow a service principal (aws-behaviour.md §6)."""
    text = as_text(policy)
    context = {**_SECURE, "aws:SourceArn": source_arn, "aws:SourceAccount": source_account}
    decision = evaluate([PolicySource(resource_label, text, "resource")], Request(service, action, resource, context))
    if decision.allowed:
        return Verdict(True, "", decision.reason)
    wanted = f"{service} {action} for {source_label} {source_arn}"
    if text is None:
        return Verdict(False, f"{resource_label} has no access policy: no statement allows {wanted}", decision.reason)
    if "explicit Deny" in decision.reason or "malformed" in decision.reason:
        return Verdict(False, decision.reason, decision.reason)
    miss = _near_miss(text, service, action, resource, source_arn, source_account)
    return Verdict(False, miss or f"no statement allows {wanted}", decision.reason)


def role_access(
    identity: Iterable[tuple[str, Any]], role_arn: str, action: str, resource: str,
    resource_label: str = "", resource_policy: Any = None,
) -> Verdict:
    """May the role call `action` on `resource`? Its identity policies ((label, document) pairs)
    unioned with the resource's policy, explicit Deny in either wins (same account)."""
    sources = [PolicySource(label, as_text(doc), "identity") for label, doc in identity]
    if as_text(resource_policy) is not None:
        label = resource_label or f"the policy of {resource}"
        sources.append(PolicySource(label, as_text(resource_policy), "resource"))
    context = {**_SECURE, "aws:PrincipalArn": role_arn, "aws:PrincipalAccount": role_arn.split(":")[4]}
    decision = evaluate(sources, Request(role_arn, action, resource, context))
    if decision.allowed:
        return Verdict(True, "", decision.reason)
    return Verdict(False, decision.reason, decision.reason)


def trust(document: Any, role_label: str, role_arn: str, service: str, source_arn: str, source_account: str) -> Verdict:
    """May `service` assume the role on behalf of `source_arn` (the trust policy)?"""
    text = as_text(document)
    context = {**_SECURE, "aws:SourceArn": source_arn, "aws:SourceAccount": source_account}
    decision = evaluate([PolicySource(f"the trust policy of {role_label}", text, "resource")],
                        Request(service, "sts:AssumeRole", role_arn, context))
    if decision.allowed:
        return Verdict(True, "", decision.reason)
    if text is None:
        return Verdict(False, f"{role_label} has no trust policy", decision.reason)
    miss = _near_miss(text, service, "sts:AssumeRole", role_arn, source_arn, source_account)
    return Verdict(False, miss or f"the trust policy of {role_label} does not let {service} assume it for "
                                  f"{source_arn} ({decision.reason})", decision.reason)
