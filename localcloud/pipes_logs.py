"""Pipe execution log records (aws-behaviour.md §3.8) written to the CloudWatch Logs group named in the
pipe's LogConfiguration, through moto's logs backend.

Whether the pipe role needs logs:CreateLogStream/PutLogEvents is UNCONFIRMED (§3.7): records are written
without checking any permission."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger("localcloud.pipes")

LEVELS = {"OFF": 0, "ERROR": 1, "INFO": 2, "TRACE": 3}
_ERROR = ("ExecutionFailed", "ExecutionPartiallyFailed", "ExecutionThrottled", "ExecutionTimeout",
          "EnrichmentInvocationFailed", "EnrichmentStageFailed", "EnrichmentTransformationFailed",
          "TargetInvocationFailed", "TargetStageFailed", "TargetTransformationFailed",
          "TargetInvocationPartiallyFailed", "TargetStagePartiallyFailed")
_INFO = ("ExecutionStarted", "ExecutionSucceeded", "EnrichmentInvocationSkipped", "EnrichmentStageEntered",
         "EnrichmentStageSucceeded", "TargetStageEntered", "TargetStageSucceeded")
MESSAGE_LEVEL = {**{m: "ERROR" for m in _ERROR}, **{m: "INFO" for m in _INFO}}  # anything else: TRACE
_MAX_RECORD = 256 * 1024
_TRUNCATION_ORDER = ("payload", "awsRequest", "awsResponse")

_lock = threading.Lock()  # moto's log streams are not thread-safe
_missing_groups: set[str] = set()


def enabled(log_config: dict[str, Any] | None, message_type: str) -> bool:
    """Would a record of this type be written? Cheap, so callers can skip building payloads."""
    if not log_config or not _group_arn(log_config):
        return False
    configured = LEVELS.get(str(log_config.get("Level", "OFF")).upper(), 0)
    return configured >= LEVELS[MESSAGE_LEVEL.get(message_type, "TRACE")]


def _group_arn(log_config: dict[str, Any]) -> str | None:
    destination = log_config.get("CloudwatchLogsLogDestination") or {}
    arn = destination.get("LogGroupArn")
    return arn if isinstance(arn, str) and ":log-group:" in arn else None


def write(
    log_config: dict[str, Any] | None,
    pipe_arn: str,
    execution_id: str,
    message_type: str,
    error: dict[str, Any] | None = None,
    payload: Any = None,
    aws_request: Any = None,
    aws_response: Any = None,
) -> None:
    """Write one record if the pipe's level includes `message_type`. Never raises."""
    if log_config is None or not enabled(log_config, message_type):
        return
    record: dict[str, Any] = {
        "resourceArn": pipe_arn,
        "timestamp": int(time.time() * 1000),
        "executionId": execution_id,
        "messageType": message_type,
        "logLevel": MESSAGE_LEVEL.get(message_type, "TRACE"),
    }
    if "ALL" in (log_config.get("IncludeExecutionData") or []):
        for key, value in (("payload", payload), ("awsRequest", aws_request), ("awsResponse", aws_response)):
            if value is not None:
                record[key] = value if isinstance(value, str) else json.dumps(value)
    if error is not None:
        record["error"] = error
    text = _capped(record)
    try:
        _put(_group_arn(log_config) or "", pipe_arn, record["timestamp"], text)
    except Exception:  # a logging failure must never break delivery
        log.exception("pipe log record for %s not written", pipe_arn)


def _capped(record: dict[str, Any]) -> str:
    text = json.dumps(record)
    truncated = []
    for key in _TRUNCATION_ORDER:
        if len(text.encode()) <= _MAX_RECORD:
            break
        if key in record:
            del record[key]
            truncated.append(key)
            record["truncatedFields"] = truncated
            text = json.dumps(record)
    return text


def _put(group_arn: str, pipe_arn: str, timestamp: int, message: str) -> None:
    from moto.logs.exceptions import ResourceNotFoundException
    from moto.logs.models import logs_backends

    parts = group_arn.split(":")
    region, account = parts[3], parts[4]
    group = group_arn.split(":log-group:", 1)[1]
    if group.endswith(":*"):
        group = group[:-2]
    pipe_name = pipe_arn.rsplit("/", 1)[-1]
    # Stream naming is not documented; one stream per pipe and UTC day keeps records grouped.
    stream = f"{datetime.now(timezone.utc):%Y/%m/%d}/{pipe_name}"
    backend = logs_backends[account][region]
    with _lock:
        try:
            backend.ensure_log_stream(group, stream)
            backend.put_log_events(group, stream, [{"timestamp": timestamp, "message": message}])
        except ResourceNotFoundException:
            if group_arn not in _missing_groups:
                _missing_groups.add(group_arn)
                log.warning("pipe %s logs to %s, which does not exist: records dropped", pipe_name, group_arn)
            return
        _missing_groups.discard(group_arn)


def error(
    message: str, exception_type: str, aws_service: str, resource_arn: str, http_status: int = 400,
    details: str = "",
) -> dict[str, Any]:
    """The `error` object of a record (§3.8, incl. exceptionType/resourceArn seen in real records)."""
    return {
        "httpStatusCode": http_status,
        "message": message,
        "details": details,
        "awsService": aws_service,
        "requestId": str(uuid.uuid4()),
        "exceptionType": exception_type,
        "resourceArn": resource_arn,
    }
