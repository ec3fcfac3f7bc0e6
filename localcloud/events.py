"""EventBridge data plane on top of moto (aws-behaviour.md §4).

- PutEvents (§4.2): 1-10 entries, request size < 1 MB, per-entry errors index-aligned, the full
  nine-field envelope (§4.1) that moto does not build (it drops `account`).
- Matching (§4.3) with localcloud.events_pattern (exact number texts, event-ruler semantics); the
  same matcher backs moto's EventPattern, pattern validation at PutRule and TestEventPattern.
- Rule -> SQS (§4.4, §4.5): the target role or the queue policy decides; a denied or missing
  queue is a permanent failure: no retry, straight to the target's DLQ (which needs its own
  policy) with RULE_ARN / TARGET_ARN / ERROR_CODE / ERROR_MESSAGE / RETRY_ATTEMPTS attributes.
  CloudWatch Logs targets get the same target input; other target types (archives, buses, API
  destinations) are handed to moto's own code, one target at a time.
- Metrics (§4.7) in AWS/Events.
Delivery is synchronous inside PutEvents (low latency) but never raises into it.
"""

from __future__ import annotations

import copy
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from . import access, metrics
from .events_pattern import PatternError, compile_pattern, loads_exact, matches
from .events_transform import TransformError, dumps, target_input
from .jsonlimits import event_detail_problem
from .patching import wrap

log = logging.getLogger("localcloud.events")

NAMESPACE = "AWS/Events"
MAX_ENTRIES = 10
# API_PutEvents: total entry size "less than 1 MB" since 2026-01-29 (256 KB before).
MAX_REQUEST_BYTES = 1024 * 1024
# §4.2 size rule: Time counts 14 bytes, plus the UTF-8 bytes of Source, DetailType, Detail, Resources.
TIME_FIELD_BYTES = 14
EVENTS_PRINCIPAL = "events.amazonaws.com"

# DLQ ERROR_CODE values. AWS documents ERROR_CODE but the values for these two causes are
# UNCONFIRMED (taken from the sample list of eb-rule-dlq as recalled, not verified against AWS).
ERROR_NO_PERMISSIONS = "NO_PERMISSIONS"
ERROR_NO_RESOURCE = "NO_RESOURCE"
ERROR_INVALID_PARAMETER = "INVALID_PARAMETER"
ERROR_SDK_CLIENT = "SDK_CLIENT_ERROR"
ERROR_UNSUPPORTED = "UNSUPPORTED_TARGET"

_moto_send_to_targets: Callable[..., None] | None = None


@dataclass(frozen=True)
class Ingested:
    """One accepted event: `envelope` is what targets get, `match_view` keeps exact number texts."""

    envelope: dict[str, Any]
    match_view: dict[str, Any]
    wall: float  # epoch seconds at ingestion
    mono: float  # monotonic clock at ingestion, for latency metrics


@dataclass(frozen=True)
class Failure:
    code: str
    message: str


# ----------------------------------------------------------------------------------------- helpers


def _emit(account: str, region: str, name: str, dimension_sets: list[dict[str, str]],
          value: float = 1.0, unit: str = "Count") -> None:
    for dimensions in dimension_sets:
        metrics.emit(account, region, NAMESPACE, name, dimensions, value, unit)


def _rule_dimensions(rule: Any) -> dict[str, str]:
    """§4.7: RuleName alone means the default bus; EventBusName + RuleName a custom bus."""
    if rule.event_bus_name == "default":
        return {"RuleName": rule.name}
    return {"EventBusName": rule.event_bus_name, "RuleName": rule.name}


def _invocation_dimension_sets(rule: Any) -> list[dict[str, str]]:
    """Invocations / FailedInvocations / ...Dlq: with the bus (what alarms on a custom-bus rule use)
    and with RuleName alone (the table's documented dimension)."""
    primary = _rule_dimensions(rule)
    return [primary] if len(primary) == 1 else [primary, {"RuleName": rule.name}]


def _format_time(value: Any) -> str:
    """Second-precision UTC `YYYY-MM-DDTHH:MM:SSZ` from an entry's Time (epoch number, ISO text or
    datetime); now when absent or unreadable."""
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
        except ValueError:
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                moment = None
            if moment is not None and moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
    if moment is None:
        moment = datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_millis(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _envelope(event_id: str, detail_type: str, source: str, account: str, when: str, region: str,
              resources: list[str], detail: Any) -> dict[str, Any]:
    # Key order as AWS delivers it.
    return {
        "version": "0", "id": event_id, "detail-type": detail_type, "source": source,
        "account": account, "time": when, "region": region, "resources": resources, "detail": detail,
    }


def _entry_size(entry: dict[str, Any]) -> int:
    size = TIME_FIELD_BYTES if entry.get("Time") is not None else 0
    for field in ("Source", "DetailType", "Detail"):
        value = entry.get(field)
        if isinstance(value, str):
            size += len(value.encode("utf-8"))
    for resource in entry.get("Resources") or []:
        if isinstance(resource, str):
            size += len(resource.encode("utf-8"))
    return size


def _entry_error(code: str, message: str) -> dict[str, str]:
    return {"ErrorCode": code, "ErrorMessage": message}


def _resolve_bus(backend: Any, name_or_arn: str) -> Any:
    """The bus for a name or ARN (possibly another account's or region's); None when it does not exist."""
    from moto.events.models import events_backends

    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":", 5)
        if len(parts) == 6 and parts[5].startswith("event-bus/"):
            return events_backends[parts[4]][parts[3]].event_buses.get(parts[5][len("event-bus/"):])
        return None
    return backend.event_buses.get(name_or_arn)


def _queue(queue_arn: str) -> tuple[Any, Any, str]:
    """(sqs backend, queue or None, queue name) for an SQS ARN."""
    from moto.sqs.models import sqs_backends

    parts = queue_arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "sqs":
        return None, None, ""
    backend = sqs_backends[parts[4]][parts[3]]
    return backend, backend.queues.get(parts[5]), parts[5]


# ---------------------------------------------------------------------------------------- PutEvents


def _put_events(original: Callable[..., Any], self: Any, entries: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    from moto.events.exceptions import ValidationException

    started = time.monotonic()
    entries = entries or []
    account, region = self.account_id, self.region_name
    _emit(account, region, "PutEventsApproximateCallCount", [{}])
    if not 1 <= len(entries) <= MAX_ENTRIES:
        _emit(account, region, "PutEventsApproximateFailedCount", [{}])
        raise ValidationException(
            "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_ENTRIES}"
            if entries else
            "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1"
        )
    request_size = sum(_entry_size(entry) for entry in entries)
    if request_size >= MAX_REQUEST_BYTES:
        _emit(account, region, "PutEventsApproximateFailedCount", [{}])
        # Message as AWS words it for this case [OBS, widely quoted]; the whole call fails.
        raise ValidationException("Total size of the entries in the request is over the limit.")

    results = [_put_one(self, entry) for entry in entries]
    failed = sum(1 for result in results if "ErrorCode" in result)
    _emit(account, region, "PutEventsApproximateSuccessCount", [{}])
    _emit(account, region, "PutEventsEntriesCount", [{}], len(entries))
    _emit(account, region, "PutEventsFailedEntriesCount", [{}], failed)
    _emit(account, region, "PutEventsRequestSize", [{}], request_size, "Bytes")
    _emit(account, region, "PutEventsLatency", [{}], (time.monotonic() - started) * 1000, "Milliseconds")
    return results


def _put_one(backend: Any, entry: dict[str, Any]) -> dict[str, str]:
    source, detail_type, detail_text = entry.get("Source"), entry.get("DetailType"), entry.get("Detail")
    for field, value in (("Source", source), ("DetailType", detail_type), ("Detail", detail_text)):
        if not value or not isinstance(value, str):
            return _entry_error(
                "InvalidArgument", f"Parameter {field} is not valid. Reason: {field} is a required argument."
            )
    detail, problem = event_detail_problem(detail_text)
    if problem is not None:
        # §4.2 limits (1000 levels, 64-bit integers) and strict JSON. UNCONFIRMED which error code AWS
        # gives for the limits: MalformedDetail, the code for a detail it cannot take.
        return _entry_error("MalformedDetail", problem)
    exact_detail = loads_exact(detail_text)
    if not isinstance(detail, dict):
        # UNCONFIRMED whether AWS rejects valid non-object JSON; the docs require an object: reject.
        return _entry_error("MalformedDetail", "Detail is malformed.")
    if source.startswith("aws."):
        return _entry_error("NotAuthorizedForSourceException", "Not authorized for the source.")
    resources = entry.get("Resources") or []
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        return _entry_error(
            "InvalidArgument", "Parameter Resources is not valid. Reason: Resources must be a list of strings."
        )

    event_id = str(uuid.uuid4())
    bus = _resolve_bus(backend, entry.get("EventBusName") or "default")
    if bus is None:
        # AWS accepts events for a bus that does not exist and drops them (aws-cli#9186,
        # aws-sdk#186): success with an EventId.
        log.warning("PutEvents: event bus %s does not exist; event %s dropped", entry.get("EventBusName"), event_id)
        return {"EventId": event_id}

    when = _format_time(entry.get("Time"))
    # account/region are the sender's, also when the bus (given by ARN) belongs to another account.
    envelope = _envelope(
        event_id, detail_type, source, backend.account_id, when, backend.region_name, list(resources), detail
    )
    match_view = dict(envelope, detail=exact_detail)
    ingested = Ingested(envelope, match_view, time.time(), time.monotonic())
    for rule in list(bus.rules.values()):
        if _rule_matches(rule, match_view):
            _dispatch(rule, ingested)
    return {"EventId": event_id}


def _rule_matches(rule: Any, event: dict[str, Any]) -> bool:
    if not str(rule.state).startswith("ENABLED"):
        return False
    raw = rule.event_pattern.dump()
    if not raw:
        return False  # schedule-only rule: never matches events
    try:
        return matches(compile_pattern(raw), event)
    except PatternError as error:
        log.warning("rule %s has an invalid pattern (%s); skipped", rule.arn, error)
        return False


# ----------------------------------------------------------------------------------------- delivery


def _dispatch(rule: Any, ingested: Ingested) -> None:
    """Deliver one event to every target of a matched rule; never raises."""
    account, region = rule.account_id, rule.region_name
    primary = _rule_dimensions(rule)
    _emit(account, region, "MatchedEvents", [primary])
    _emit(account, region, "TriggeredRules", [primary, {}])
    for target in list(rule.targets):
        failure = _invoke(rule, target, ingested)
        invocation_sets = _invocation_dimension_sets(rule)
        _emit(account, region, "Invocations", [*invocation_sets, {}])
        _emit(account, region, "InvocationAttempts", [primary, {}])
        if failure is None:
            _emit(account, region, "SuccessfulInvocationAttempts", [primary, {}])
        else:
            _emit(account, region, "FailedInvocations", invocation_sets)
            log.warning("rule %s target %s: delivery failed (%s: %s)", rule.arn, target.get("Arn"),
                        failure.code, failure.message)
            _send_to_dlq(rule, target, ingested, failure)
        latency_ms = (time.monotonic() - ingested.mono) * 1000
        _emit(account, region, "IngestiontoInvocationCompleteLatency", [primary, {}], latency_ms, "Milliseconds")


def _predefined(rule: Any, ingested: Ingested) -> dict[str, Any]:
    without_detail = {key: value for key, value in ingested.envelope.items() if key != "detail"}
    return {
        "aws.events.rule-arn": rule.arn,
        "aws.events.rule-name": rule.name,
        "aws.events.event.ingestion-time": _iso_millis(ingested.wall),
        "aws.events.event": without_detail,
        "aws.events.event.json": ingested.envelope,
    }


def _invoke(rule: Any, target: dict[str, Any], ingested: Ingested) -> Failure | None:
    service = str(target.get("Arn", "")).split(":")[2:3]
    if service == ["sqs"]:
        return _send_to_sqs_target(rule, target, ingested)
    if service == ["logs"]:
        return _send_to_log_group(rule, target, ingested)
    return _delegate_to_moto(rule, target, ingested)


def _send_to_log_group(rule: Any, target: dict[str, Any], ingested: Ingested) -> Failure | None:
    """CloudWatch Logs target: one stream per event, the target input as the message (moto's own
    version writes its event template, which lacks `account`). Log-group resource policies are not
    checked."""
    from moto.core.exceptions import JsonRESTError, ServiceException
    from moto.logs.models import logs_backends

    parts = target["Arn"].split(":", 5)
    if len(parts) != 6 or not parts[5].startswith("log-group:"):
        return Failure(ERROR_INVALID_PARAMETER, f"not a log group ARN: {target['Arn']}")
    group = parts[5][len("log-group:"):].removesuffix(":*")
    try:
        message = target_input(target, ingested.envelope, _predefined(rule, ingested))
        backend = logs_backends[parts[4]][parts[3]]
        stream = str(uuid.uuid4())
        backend.create_log_stream(group, stream)
        backend.put_log_events(group, stream, [{"timestamp": int(ingested.wall * 1000), "message": message}])
    except TransformError as error:
        return Failure(ERROR_INVALID_PARAMETER, str(error))
    except (ServiceException, JsonRESTError) as error:
        return Failure(ERROR_NO_RESOURCE, f"CloudWatch Logs: {error}")
    return None


def _send_to_sqs_target(rule: Any, target: dict[str, Any], ingested: Ingested) -> Failure | None:
    from moto.core.exceptions import JsonRESTError, ServiceException

    queue_arn = target["Arn"]
    try:
        body = target_input(target, ingested.envelope, _predefined(rule, ingested))
    except TransformError as error:
        return Failure(ERROR_INVALID_PARAMETER, str(error))
    backend, queue, queue_name = _queue(queue_arn)
    if queue is None:
        return Failure(ERROR_NO_RESOURCE, f"SQS queue {queue_arn} does not exist.")
    decision = _may_send(rule, target, queue_arn, queue.policy)
    if not decision.allowed:
        return Failure(
            ERROR_NO_PERMISSIONS, f"Not authorized to call sqs:SendMessage on {queue_arn}: {decision.reason}"
        )
    group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
    if queue.fifo_queue and queue.attributes.get("ContentBasedDeduplication") != "true":
        return Failure(ERROR_INVALID_PARAMETER, "FIFO target queue must have content-based deduplication enabled.")
    try:
        backend.send_message(queue_name=queue_name, message_body=body, group_id=group_id)
    except (ServiceException, JsonRESTError) as error:
        return Failure(ERROR_SDK_CLIENT, f"SQS SendMessage failed: {error}")
    return None


def _may_send(rule: Any, target: dict[str, Any], queue_arn: str, policy: str | None) -> access.Decision:
    role_arn = target.get("RoleArn")
    if role_arn:
        trust = access.role_trusts(role_arn, EVENTS_PRINCIPAL, rule.arn, rule.account_id)
        if not trust.allowed:
            return access.Decision(False, f"EventBridge cannot assume {role_arn}: {trust.reason}")
        return access.role_may(role_arn, "sqs:SendMessage", queue_arn, policy)
    return access.service_may(EVENTS_PRINCIPAL, "sqs:SendMessage", queue_arn, policy,
                              source_arn=rule.arn, source_account=rule.account_id)


def _send_to_dlq(rule: Any, target: dict[str, Any], ingested: Ingested, failure: Failure) -> None:
    from moto.core.exceptions import JsonRESTError, ServiceException

    dlq_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
    if not dlq_arn:
        return  # permanent failure without a DLQ: the event is dropped
    account, region = rule.account_id, rule.region_name
    backend, queue, queue_name = _queue(dlq_arn)
    if queue is None:
        problem = f"DLQ {dlq_arn} does not exist"
    else:
        decision = access.service_may(EVENTS_PRINCIPAL, "sqs:SendMessage", dlq_arn, queue.policy,
                                      source_arn=rule.arn, source_account=rule.account_id)
        problem = "" if decision.allowed else f"not authorized to send to DLQ {dlq_arn}: {decision.reason}"
    if not problem:
        attributes = {
            "RULE_ARN": rule.arn, "TARGET_ARN": target["Arn"], "ERROR_CODE": failure.code,
            "ERROR_MESSAGE": failure.message, "RETRY_ATTEMPTS": "0",
        }
        try:
            backend.send_message(
                queue_name=queue_name, message_body=dumps(ingested.envelope),
                message_attributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
            )
        except (ServiceException, JsonRESTError) as error:
            problem = f"SendMessage to DLQ {dlq_arn} failed: {error}"
    if problem:
        log.warning("rule %s target %s: event %s lost: %s", rule.arn, target["Arn"], ingested.envelope["id"], problem)
        _emit(account, region, "InvocationsFailedToBeSentToDlq", _invocation_dimension_sets(rule))
    else:
        _emit(account, region, "InvocationsSentToDlq", _invocation_dimension_sets(rule))


def _moto_event(ingested: Ingested) -> dict[str, Any]:
    """The event in moto's internal form (epoch `time`, `ingestion-time`) for moto's target code."""
    event = copy.deepcopy(ingested.envelope)
    moment = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    event["time"] = moment.timestamp()
    event["ingestion-time"] = ingested.wall
    return event


def _delegate_to_moto(rule: Any, target: dict[str, Any], ingested: Ingested) -> Failure | None:
    """Archives, other buses, API destinations: moto's code, for this one target."""
    if _moto_send_to_targets is None:
        raise RuntimeError("localcloud.events is not installed")
    shadow = copy.copy(rule)
    shadow.targets = [target]
    try:
        _moto_send_to_targets(shadow, _moto_event(ingested))
    except NotImplementedError:
        return Failure(ERROR_UNSUPPORTED, f"localcloud does not deliver to targets like {target.get('Arn')}")
    except Exception as error:  # noqa: BLE001 - moto's target code may raise anything; PutEvents must not
        log.warning("rule %s target %s: moto delivery raised", rule.arn, target.get("Arn"), exc_info=True)
        return Failure(ERROR_SDK_CLIENT, f"{type(error).__name__}: {error}")
    return None


# -------------------------------------------------------------------------------- other moto paths


def _envelope_from_moto(event: dict[str, Any], rule: Any) -> Ingested:
    """An event handed to Rule.send_to_targets by moto itself (S3 notifications, replays)."""
    envelope = _envelope(
        str(event.get("id") or uuid.uuid4()), event.get("detail-type", ""), event.get("source", ""),
        event.get("account") or rule.account_id, _format_time(event.get("time")),
        event.get("region") or rule.region_name, list(event.get("resources") or []), event.get("detail") or {},
    )
    view = loads_exact(json.dumps(envelope))
    return Ingested(envelope, view, time.time(), time.monotonic())


def _send_to_targets(original: Callable[..., Any], self: Any, original_event: dict[str, Any],
                     transform_input: bool = True) -> None:
    ingested = _envelope_from_moto(original_event, self)
    if _rule_matches(self, ingested.match_view):
        _dispatch(self, ingested)


def _matches_event(original: Callable[..., Any], self: Any, event: Any) -> bool:
    raw = self.dump()
    if not raw:
        return True  # moto: no pattern matches everything
    return matches(compile_pattern(raw), loads_exact(json.dumps(event, default=str)))


def _parse_pattern(original: Callable[..., Any], self: Any) -> dict[str, Any]:
    from moto.events.exceptions import InvalidEventPatternException

    parsed: dict[str, Any] = original(self)
    if self.pattern:
        try:
            compile_pattern(self.pattern)
        except PatternError as error:
            raise InvalidEventPatternException(reason=str(error)) from error
    return parsed


_REQUIRED_TEST_FIELDS = ("id", "account", "source", "time", "region", "detail-type")


def _test_event_pattern(original: Callable[..., Any], self: Any) -> Any:
    """TestEventPattern (moto leaves it unimplemented)."""
    try:
        pattern = compile_pattern(self._get_param("EventPattern") or "")
    except PatternError as error:
        return self.error("InvalidEventPatternException", f"Event pattern is not valid. Reason: {error}")
    try:
        event = loads_exact(self._get_param("Event") or "")
    except ValueError:
        return self.error("ValidationException", "Parameter Event is not valid.")
    missing = [field for field in _REQUIRED_TEST_FIELDS if not isinstance(event, dict) or field not in event]
    if missing:
        reason = f"Provided Event must have a '{missing[0]}' field."
        return self.error("ValidationException", f"Parameter Event is not valid. Reason: {reason}")
    return json.dumps({"Result": matches(pattern, event)})


def install() -> None:
    from moto.events.models import EventPattern, EventPatternParser, EventsBackend, Rule
    from moto.events.responses import EventsHandler

    global _moto_send_to_targets
    _moto_send_to_targets = Rule.send_to_targets
    wrap(EventsBackend, "put_events", "PutEvents limits, entry errors, full envelope, checked delivery")(_put_events)
    wrap(Rule, "send_to_targets", "route moto's own events (S3, replays) through localcloud delivery")(_send_to_targets)
    wrap(EventPattern, "matches_event", "event-ruler matching semantics (§4.3)")(_matches_event)
    wrap(EventPatternParser, "parse", "reject invalid patterns at PutRule like AWS")(_parse_pattern)
    wrap(EventsHandler, "test_event_pattern", "TestEventPattern is unimplemented in moto")(_test_event_pattern)
