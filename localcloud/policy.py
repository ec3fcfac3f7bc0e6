"""Pure IAM policy evaluator (aws-behaviour.md §6). No moto here: callers hand in policy JSON text.

Semantics: default deny; an explicit Deny in any policy wins; within one account the identity and
resource policies are unioned, across accounts both sides must allow. Every Decision carries a reason
naming the policy and statement that decided, so doctor tooling can print it as is.

Choices where AWS would have refused the policy at write time (moto stores it anyway):
- a policy that is not valid policy JSON is "malformed" and denies the request outright (we cannot
  know what it meant; denying is the safe reading);
- an unknown condition operator makes its statement never apply, Allow or Deny alike, with a warning
  logged once per policy text. UNCONFIRMED, AWS never stores such a policy; not applying is the
  reading that can never grant by accident.
Not supported (not needed by this pipeline): policy variables (${aws:username}), Date*, IpAddress,
Binary operators (they count as unknown operators), permission boundaries, SCPs/RCPs.
"""

from __future__ import annotations

import functools
import json
import logging
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger("localcloud.policy")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


@dataclass(frozen=True)
class PolicySource:
    label: str  # how reasons name it, e.g. "the queue policy of 'orders'"
    text: str | None  # policy JSON; None or "" = no policy set
    kind: Literal["identity", "resource"] = "resource"


@dataclass(frozen=True)
class Request:
    principal: str  # service principal ("sns.amazonaws.com") or an IAM/STS ARN
    action: str  # "sqs:SendMessage"
    resource: str  # ARN
    context: Mapping[str, Any] = field(default_factory=dict)  # condition keys; None values = absent


# --- matching primitives -------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """`*` = any run of characters, `?` = any one character, anything else literal."""
    body = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def arn_matches(pattern: str, value: str) -> bool:
    """ArnEquals/ArnLike (§6): component by component over the 6 colon-separated parts, `*`/`?` inside a
    component, a `*` never crosses a `:`; the 6th (resource) part is the rest of the string, colons
    included. A bare `*` matches any value (UNCONFIRMED, the only reading that makes `"*"` useful)."""
    if pattern == "*":
        return True
    pattern_parts = pattern.split(":", 5)
    value_parts = value.split(":", 5)
    if len(pattern_parts) != len(value_parts):
        return False
    return all(_glob(p, False).fullmatch(v) is not None for p, v in zip(pattern_parts, value_parts))


def _resource_matches(pattern: str, resource: str) -> bool:
    # Resource element: ARN wildcards work within a segment, as for ArnLike; non-ARN text is a glob.
    # UNCONFIRMED whether "arn:aws:sqs:*" covers a queue in AWS; component-wise is what §6 states for ARNs.
    if pattern.startswith("arn:"):
        return arn_matches(pattern, resource)
    return _glob(pattern, False).fullmatch(resource) is not None


def _arn_account(arn: str) -> str:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 else ""


_ROOT = re.compile(r"arn:[^:]+:iam::(\d{12}):root")
_ROLE = re.compile(r"arn:[^:]+:iam::(\d{12}):role/(?:.*/)?([^/]+)")
_SESSION = re.compile(r"arn:[^:]+:sts::(\d{12}):assumed-role/([^/]+)/[^/]+")


# --- condition operators -------------------------------------------------------------------------


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def check(request_value: str, policy_value: str) -> bool:
        try:
            return compare(float(request_value), float(policy_value))
        except ValueError:
            return False

    return check


Check = Callable[[str, str], bool]  # (request value, policy value) -> matches
_OPERATORS: dict[str, tuple[str, Check, bool]] = {  # lower-case name -> (canonical, check, negated)
    name.lower(): (name, check, negated)
    for name, check, negated in (
        ("StringEquals", operator.eq, False),
        ("StringNotEquals", operator.eq, True),
        ("StringEqualsIgnoreCase", lambda r, p: r.casefold() == p.casefold(), False),
        ("StringNotEqualsIgnoreCase", lambda r, p: r.casefold() == p.casefold(), True),
        ("StringLike", lambda r, p: _glob(p, False).fullmatch(r) is not None, False),
        ("StringNotLike", lambda r, p: _glob(p, False).fullmatch(r) is not None, True),
        ("ArnEquals", lambda r, p: arn_matches(p, r), False),
        ("ArnLike", lambda r, p: arn_matches(p, r), False),
        ("ArnNotEquals", lambda r, p: arn_matches(p, r), True),
        ("ArnNotLike", lambda r, p: arn_matches(p, r), True),
        ("Bool", lambda r, p: r.lower() == p.lower(), False),
        ("NumericEquals", _numeric(operator.eq), False),
        ("NumericNotEquals", _numeric(operator.eq), True),
        ("NumericLessThan", _numeric(operator.lt), False),
        ("NumericLessThanEquals", _numeric(operator.le), False),
        ("NumericGreaterThan", _numeric(operator.gt), False),
        ("NumericGreaterThanEquals", _numeric(operator.ge), False),
        ("Null", operator.eq, False),  # handled apart: it tests presence, not values
    )
}


def _text(value: Any) -> str:
    """Policy and context values as AWS compares them: JSON true/false -> "true"/"false"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class _Condition:
    operator: str  # as written, for reasons
    canonical: str
    check: Check
    negated: bool
    if_exists: bool
    set_op: str  # "", "foranyvalue", "forallvalues"
    key: str  # lower-case: keys are case-insensitive
    key_as_written: str
    values: tuple[str, ...]

    def holds(self, context: Mapping[str, tuple[str, ...]]) -> bool:
        present = context.get(self.key)
        if self.canonical == "Null":
            return any((v.lower() == "true") == (present is None) for v in self.values)
        if present is None:
            if self.if_exists or self.set_op == "forallvalues":
                return True
            if self.set_op == "foranyvalue":
                return False
            return self.negated  # missing key: positive operators false, negated ones true

        def one(request_value: str) -> bool:
            hit = any(self.check(request_value, v) for v in self.values)
            return not hit if self.negated else hit

        if self.set_op == "forallvalues":
            return all(one(v) for v in present)
        if self.set_op == "foranyvalue" or not self.negated:
            return any(one(v) for v in present)
        return all(one(v) for v in present)  # plain negated operator: no request value may match

    def describe(self, context: Mapping[str, tuple[str, ...]]) -> str:
        present = context.get(self.key)
        got = "the key is absent" if present is None else f"the request has {_show(present)}"
        return f"condition {self.operator} {self.key_as_written} {_show(self.values)} is not met ({got})"


def _show(values: tuple[str, ...]) -> str:
    return repr(values[0]) if len(values) == 1 else "[" + ", ".join(repr(v) for v in values) + "]"


# --- statements ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Principals:
    anyone: bool
    aws: frozenset[str]
    services: frozenset[str]  # lower-case
    other: frozenset[str]  # Federated / CanonicalUser values, compared exactly

    def match(self, principal: str) -> bool:
        if self.anyone:
            return True
        if not principal.startswith("arn:"):  # a service principal: only Service entries name it
            return principal.lower() in self.services or principal in self.other
        if principal in self.aws or principal in self.other:
            return True
        account = _arn_account(principal)
        session = _SESSION.fullmatch(principal)
        for entry in self.aws:
            root = _ROOT.fullmatch(entry)
            if entry == account or (root and root.group(1) == account):
                return True
            role = _ROLE.fullmatch(entry)
            if session and role and role.groups() == session.groups():
                return True
        return False


@dataclass(frozen=True)
class _Statement:
    name: str  # "'Sid'" or "#2" (1-based index) for reasons
    deny: bool
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...] | None  # None: omitted in a resource policy = the resource itself
    not_resource: bool
    principals: _Principals | None  # None in identity policies
    not_principal: bool
    conditions: tuple[_Condition, ...]
    unknown_operator: str | None

    def mismatch(self, request: Request, context: Mapping[str, tuple[str, ...]]) -> tuple[str, str] | None:
        """None if the statement applies to the request, else (stage, why)."""
        hit = any(_glob(a, True).fullmatch(request.action) for a in self.actions)
        if hit == self.not_action:
            return "action", f"does not cover {request.action}"
        if self.resources is not None:
            hit = any(_resource_matches(r, request.resource) for r in self.resources)
            if hit == self.not_resource:
                return "resource", f"does not cover {request.resource}"
        if self.principals is not None and self.principals.match(request.principal) == self.not_principal:
            return "principal", f"does not name {request.principal}"
        if self.unknown_operator is not None:
            return "condition", f"uses unknown condition operator {self.unknown_operator!r} and is ignored"
        for condition in self.conditions:
            if not condition.holds(context):
                return "condition", condition.describe(context)
        return None


class _Malformed(ValueError):
    pass


@dataclass(frozen=True)
class _Parsed:
    statements: tuple[_Statement, ...]
    error: str | None


def _strings(value: Any, what: str, name: str) -> tuple[str, ...]:
    items = _as_list(value)
    if not items or not all(isinstance(i, str) for i in items):
        raise _Malformed(f"statement {name}: {what} must be a string or a list of strings")
    return tuple(items)


def _principals(value: Any, name: str) -> _Principals:
    if value == "*":
        return _Principals(True, frozenset(), frozenset(), frozenset())
    if not isinstance(value, dict) or not value:
        raise _Malformed(f"statement {name}: Principal must be \"*\" or an object")
    aws: set[str] = set()
    services: set[str] = set()
    other: set[str] = set()
    for kind, entries in value.items():
        texts = _strings(entries, f"Principal {kind}", name)
        if kind == "AWS":
            aws.update(texts)
        elif kind == "Service":
            services.update(t.lower() for t in texts)
        else:
            other.update(texts)
    return _Principals("*" in aws, frozenset(aws), frozenset(services), frozenset(other))


def _conditions(block: Any, name: str) -> tuple[tuple[_Condition, ...], str | None]:
    if block is None:
        return (), None
    if not isinstance(block, dict):
        raise _Malformed(f"statement {name}: Condition must be an object")
    found: list[_Condition] = []
    for written, keys in block.items():
        if not isinstance(keys, dict):
            raise _Malformed(f"statement {name}: Condition {written} must map keys to values")
        set_op, _, base = written.rpartition(":")
        set_op = set_op.lower()
        if_exists = base.lower().endswith("ifexists") and base.lower() != "null"
        base_lower = base.lower().removesuffix("ifexists") if if_exists else base.lower()
        known = _OPERATORS.get(base_lower)
        if known is None or set_op not in ("", "foranyvalue", "forallvalues"):
            return (), written
        canonical, check, negated = known
        for key, values in keys.items():
            texts = tuple(_text(v) for v in _as_list(values))
            if not texts:
                raise _Malformed(f"statement {name}: Condition {written} {key} has no values")
            found.append(_Condition(written, canonical, check, negated, if_exists, set_op, key.lower(), key, texts))
    return tuple(found), None


def _statement(raw: Any, index: int, resource_policy: bool) -> _Statement:
    if not isinstance(raw, dict):
        raise _Malformed(f"statement #{index} is not an object")
    sid = raw.get("Sid")
    name = f"'{sid}'" if isinstance(sid, str) and sid else f"#{index}"
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise _Malformed(f"statement {name}: Effect must be Allow or Deny, got {effect!r}")
    if ("Action" in raw) == ("NotAction" in raw):
        raise _Malformed(f"statement {name}: exactly one of Action and NotAction is required")
    if "Resource" in raw and "NotResource" in raw:
        raise _Malformed(f"statement {name}: Resource and NotResource are exclusive")
    if "Principal" in raw and "NotPrincipal" in raw:
        raise _Malformed(f"statement {name}: Principal and NotPrincipal are exclusive")
    has_principal = "Principal" in raw or "NotPrincipal" in raw
    if resource_policy and not has_principal:
        raise _Malformed(f"statement {name}: a resource policy statement needs a Principal")
    if not resource_policy and has_principal:
        raise _Malformed(f"statement {name}: an identity policy statement may not name a Principal")
    has_resource = "Resource" in raw or "NotResource" in raw
    if not resource_policy and not has_resource:
        raise _Malformed(f"statement {name}: an identity policy statement needs a Resource")
    conditions, unknown = _conditions(raw.get("Condition"), name)
    if unknown is not None:
        log.warning("policy statement %s uses unknown condition operator %r: the statement never applies",
                    name, unknown)
    return _Statement(
        name=name,
        deny=effect == "Deny",
        actions=_strings(raw.get("Action", raw.get("NotAction")), "Action", name),
        not_action="NotAction" in raw,
        resources=_strings(raw.get("Resource", raw.get("NotResource")), "Resource", name) if has_resource else None,
        not_resource="NotResource" in raw,
        principals=_principals(raw.get("Principal", raw.get("NotPrincipal")), name) if resource_policy else None,
        not_principal="NotPrincipal" in raw,
        conditions=conditions,
        unknown_operator=unknown,
    )


@functools.lru_cache(maxsize=1024)
def _parse(text: str, resource_policy: bool) -> _Parsed:
    """Parsed once per distinct policy text (deliveries re-evaluate the same few policies)."""
    try:
        document = json.loads(text)
        if not isinstance(document, dict) or "Statement" not in document:
            raise _Malformed("no Statement")
        raw = document["Statement"]
        statements = tuple(
            _statement(s, i, resource_policy) for i, s in enumerate(_as_list(raw), start=1)
        )
        if not statements:
            raise _Malformed("Statement is empty")
        return _Parsed(statements, None)
    except json.JSONDecodeError as exc:
        return _Parsed((), f"not valid JSON: {exc}")
    except _Malformed as exc:
        return _Parsed((), str(exc))


# --- evaluation ----------------------------------------------------------------------------------


def _context(raw: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    return {
        key.lower(): tuple(_text(v) for v in _as_list(value))
        for key, value in raw.items()
        if value is not None and value != []
    }


def evaluate(policies: Sequence[PolicySource], request: Request) -> Decision:
    """Decide `request` against every policy in `policies` (§6). Never raises on bad policy text."""
    context = _context(request.context)
    allowed_by: dict[str, str] = {}  # kind -> "statement X of <label>"
    checked: list[str] = []
    nearest: str | None = None  # an Allow that matched all but its conditions: the likely culprit
    for source in policies:
        if not source.text or not source.text.strip():
            checked.append(f"{source.label} (not set)")
            continue
        parsed = _parse(source.text, source.kind == "resource")
        if parsed.error is not None:
            return Decision(False, f"{source.label} is malformed ({parsed.error}), so it denies "
                                   f"{request.action} on {request.resource}")
        checked.append(source.label)
        for statement in parsed.statements:
            miss = statement.mismatch(request, context)
            if miss is None:
                if statement.deny:
                    return Decision(False, f"explicit Deny by statement {statement.name} of {source.label} "
                                           f"({request.action} on {request.resource} for {request.principal})")
                allowed_by.setdefault(source.kind, f"statement {statement.name} of {source.label}")
            elif nearest is None and not statement.deny and miss[0] == "condition":
                nearest = f"statement {statement.name} of {source.label}: {miss[1]}"

    denied = f"{request.action} on {request.resource} for {request.principal}"
    principal_account = _arn_account(request.principal) if request.principal.startswith("arn:") else ""
    principal_account = principal_account or context.get("aws:principalaccount", ("",))[0]
    resource_account = _arn_account(request.resource)
    if principal_account and resource_account and principal_account != resource_account:
        missing = [side for side in ("identity", "resource") if side not in allowed_by]
        if not missing:
            return Decision(True, f"allowed cross-account by {allowed_by['identity']} and {allowed_by['resource']}")
        reason = (f"cross-account request ({principal_account} -> {resource_account}) needs an Allow in both "
                  f"the identity and the resource policies; no {' or '.join(missing)} policy allows {denied}")
    elif allowed_by:
        return Decision(True, f"allowed by {allowed_by.get('identity') or allowed_by['resource']}")
    else:
        reason = f"no statement allows {denied} (checked: {'; '.join(checked) or 'no policies'})"
    if nearest is not None:
        reason += f"; nearest miss: {nearest}"
    return Decision(False, reason)
