"""One thread per RUNNING pipe with an SQS source and an event-bus target (aws-behaviour.md §3).

receive (long poll that wakes on send) -> §3.1 records -> filter (§3.3, dropped records deleted) ->
input template (§3.4) -> PutEvents (§3.5) -> delete what succeeded; what failed stays in the queue
so its redrive policy moves it to the DLQ after maxReceiveCount (§3.6). Every AWS call the pipe makes
is checked against its role (§3.7); logs (§3.8) and metrics (§3.9) along the way."""

from __future__ import annotations

import base64
import itertools
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from . import access, metrics, pipes_logs
from .jsonlimits import loads_strict
from .pipes_filter import compile_filters, passes
from .pipes_template import MISSING, TemplateError, dynamic, parse_body, render

log = logging.getLogger("localcloud.pipes")

NAMESPACE = "AWS/EventBridge/Pipes"
PIPES_PRINCIPAL = "pipes.amazonaws.com"
# [DOC] eb-pipes-error-troubleshooting: the StateReason AWS shows when the role cannot use the queue.
QUEUE_PERMISSIONS_TEXT = ("Pipes does not have required permissions to perform Queue operations "
                          "(sqs:ReceiveMessage, sqs:DeleteMessage and sqs:GetQueueAttributes)")
DEFAULT_BATCH = 10  # §3.2: effective default, and the event-bus target maximum
IDLE_WAIT_S = 1.0  # longest a long poll waits before re-reading config and permissions
DENIED_RETRY_S = 1.0  # re-check of a denied source permission, so a fixed policy resumes the flow
# §3.2: with a batching window the poller sets visibility to function timeout (7 min) + window + 30 s.
PIPES_FUNCTION_TIMEOUT_S = 420

_generation = itertools.count(1)


def bump(pipe: Any) -> None:
    """Mark a pipe's configuration as changed so its worker re-reads it."""
    pipe.localcloud_generation = next(_generation)


def should_run(pipe: Any) -> bool:
    return bool(pipe.desired_state == "RUNNING" and pipe.current_state == "RUNNING")


def set_reason(pipe: Any, kind: str, text: str | None) -> None:
    """Worker-owned StateReason parts (source, target, delete); the first present one is shown."""
    reasons: dict[str, str] = getattr(pipe, "localcloud_reasons", None) or {}
    if text is None:
        if kind not in reasons:
            return
        reasons.pop(kind)
    else:
        reasons[kind] = text
    pipe.localcloud_reasons = reasons
    pipe.state_reason = next((reasons[k] for k in ("source", "target", "delete") if k in reasons), None)


@dataclass(frozen=True)
class PipeConfig:
    name: str
    arn: str
    account_id: str
    region: str
    role_arn: str
    source_arn: str
    target_arn: str
    enrichment_arn: str
    batch_size: int
    window_s: int
    patterns: list[Any]
    template: str | None
    bus_params: dict[str, Any]
    log_config: dict[str, Any] | None

    @classmethod
    def of(cls, pipe: Any) -> PipeConfig:
        source_params = pipe.source_parameters or {}
        sqs_params = source_params.get("SqsQueueParameters") or {}
        target_params = pipe.target_parameters or {}
        return cls(
            name=pipe.name,
            arn=pipe.arn,
            account_id=pipe.account_id,
            region=pipe.region_name,
            role_arn=pipe.role_arn,
            source_arn=pipe.source,
            target_arn=pipe.target,
            enrichment_arn=pipe.enrichment or "",
            batch_size=max(1, min(int(sqs_params.get("BatchSize") or DEFAULT_BATCH), DEFAULT_BATCH)),
            window_s=int(sqs_params.get("MaximumBatchingWindowInSeconds") or 0),
            patterns=compile_filters(source_params.get("FilterCriteria")),
            template=target_params.get("InputTemplate") or None,
            bus_params=target_params.get("EventBridgeEventBusParameters") or {},
            log_config=pipe.log_configuration,
        )


@dataclass
class _Record:
    message: Any  # moto Message (copy taken at receive)
    record: dict[str, Any]  # §3.1 shape, body a string
    event: dict[str, Any]  # the same with body parsed when it is JSON
    body_is_json: bool


class Worker:
    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe
        self._stop = threading.Event()
        self._cond: Any = None  # the queue condition the worker may be waiting on
        self._config: PipeConfig | None = None
        self._generation = -1
        self._failures = 0
        self._thread = threading.Thread(target=self._run, name=f"localcloud-pipe-{pipe.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        cond = self._cond
        if cond is not None:
            with cond:
                cond.notify_all()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # ---- loop -------------------------------------------------------------------------------------

    def _run(self) -> None:
        crash_backoff = 0.0
        while not self._stop.is_set():
            try:
                self._iteration()
                crash_backoff = 0.0
            except Exception:  # the thread must survive anything; log it and back off
                log.exception("pipe %s: worker iteration failed", self.pipe.name)
                crash_backoff = min(crash_backoff * 2 or 0.1, 2.0)
                self._stop.wait(crash_backoff)

    def _current_config(self) -> PipeConfig:
        generation = getattr(self.pipe, "localcloud_generation", 0)
        if self._config is None or generation != self._generation:
            self._config = PipeConfig.of(self.pipe)
            self._generation = generation
        return self._config

    def _iteration(self) -> None:
        from moto.sqs.exceptions import QueueDoesNotExist
        from moto.sqs.models import sqs_backends

        if not should_run(self.pipe):  # the supervisor stops this worker; consume nothing meanwhile
            self._stop.wait(0.2)
            return
        cfg = self._current_config()
        _, _, _, q_region, q_account, q_name = cfg.source_arn.split(":", 5)
        backend = sqs_backends[q_account][q_region]
        try:
            queue = backend.get_queue(q_name)
        except QueueDoesNotExist:
            # UNCONFIRMED wording for a source queue that is gone.
            self._source_failed(cfg, f"The source queue {cfg.source_arn} does not exist", "QueueDoesNotExist")
            self._stop.wait(DENIED_RETRY_S)
            return
        denial = self._source_denial(cfg, queue)
        if denial is not None:
            self._source_failed(cfg, denial, "AccessDeniedException")
            self._stop.wait(DENIED_RETRY_S)
            return
        set_reason(self.pipe, "source", None)
        messages = self._receive(cfg, backend, queue)
        if not messages:
            self._failures = 0  # a quiet queue ends the backoff
            return
        # A batch already received is finished even when stopping, as AWS does. Config re-read: an
        # UpdatePipe during the long poll applies to what the poll returned.
        self._process(self._current_config(), backend, queue, messages)
        if self._failures:
            # §3.6: polling backs off while customer errors keep coming.
            self._stop.wait(min(0.05 * 2 ** min(self._failures, 5), 1.0))

    def _source_denial(self, cfg: PipeConfig, queue: Any) -> str | None:
        trust = access.role_trusts(cfg.role_arn, PIPES_PRINCIPAL, cfg.arn, cfg.account_id)
        if not trust.allowed:
            # UNCONFIRMED wording: AWS's text for a role Pipes cannot assume is not documented.
            return (f"Pipes is not authorized to perform sts:AssumeRole on {cfg.role_arn} "
                    f"(localcloud: {trust.reason})")
        for action in ("sqs:ReceiveMessage", "sqs:GetQueueAttributes"):
            decision = access.role_may(cfg.role_arn, action, queue.queue_arn, queue.policy)
            if not decision.allowed:
                return f"{QUEUE_PERMISSIONS_TEXT} (localcloud: {action} on {queue.queue_arn}: {decision.reason})"
        return None

    def _source_failed(self, cfg: PipeConfig, reason: str, exception_type: str) -> None:
        if self.pipe.state_reason != reason:
            log.warning("pipe %s: %s", cfg.name, reason)
            pipes_logs.write(cfg.log_config, cfg.arn, str(uuid.uuid4()), "ExecutionFailed",
                             error=pipes_logs.error(reason, exception_type, "sqs", cfg.source_arn))
        set_reason(self.pipe, "source", reason)
        # INF: AWS documents no metric for a pipe that cannot poll; ExecutionFailed once per re-check
        # lets an alarm on it fire.
        self._metric(cfg, "ExecutionFailed", 1)

    # ---- receive ----------------------------------------------------------------------------------

    def _receive(self, cfg: PipeConfig, backend: Any, queue: Any) -> list[Any]:
        """Up to BatchSize messages: returns as soon as one arrives (no window) or when the batch is
        full / the window has passed; [] after IDLE_WAIT_S of nothing."""
        cond = queue._messages_lock
        self._cond = cond
        batch: list[Any] = []
        window_end: float | None = None
        idle_end = time.monotonic() + IDLE_WAIT_S
        woke = False
        while not self._stop.is_set():
            # Received outside the condition: moto's receive tolerates concurrent appends, and holding
            # the lock through its O(queue) scan would stall every SendMessage on a deep queue.
            # Read per receive: a SetQueueAttributes VisibilityTimeout applies to the very next receive.
            visibility = queue.visibility_timeout
            if cfg.window_s > 0:
                visibility = PIPES_FUNCTION_TIMEOUT_S + cfg.window_s + 30
            got = backend.receive_message(
                queue_name=queue.name, count=cfg.batch_size - len(batch), wait_seconds_timeout=0,
                visibility_timeout=visibility, message_attribute_names=["All"],
            )
            batch.extend(got)
            if len(batch) >= cfg.batch_size or (batch and cfg.window_s <= 0):
                break
            if batch and window_end is None:
                window_end = time.monotonic() + cfg.window_s
            remaining = (window_end if window_end is not None else idle_end) - time.monotonic()
            if remaining <= 0:
                break
            if got or not woke:
                with cond:  # the predicate re-reads the queue, so a send since the receive is not missed
                    woke = cond.wait_for(lambda: self._stop.is_set() or bool(queue.messages), remaining)
                continue
            # Woken for visible messages the receive did not return (a FIFO group in flight): no busy loop.
            woke = False
            self._stop.wait(0.01)
        return batch

    # ---- execution --------------------------------------------------------------------------------

    def _process(self, cfg: PipeConfig, backend: Any, queue: Any, messages: list[Any]) -> None:
        started = time.monotonic()
        records = [self._record(m, queue, cfg.region) for m in messages]
        kept: list[_Record] = []
        dropped: list[_Record] = []
        for rec in records:
            (kept if passes(cfg.patterns, rec.event, rec.body_is_json) else dropped).append(rec)
        # §3.3: filtered-out SQS messages are deleted, never sent on. INF: filtering happens before an
        # execution starts, so they count in no pipe metric (TargetStageSkipped is for an enrichment
        # that returns nothing, and this engine has no enrichment).
        if dropped:
            self._delete(cfg, backend, queue, dropped)
        if not kept:
            return
        execution = str(uuid.uuid4())
        payload = [r.record for r in kept]
        event_size = len(json.dumps(payload))
        self._log(cfg, execution, "ExecutionStarted", payload=payload)
        self._log(cfg, execution, "TargetStageEntered", payload=payload)
        target_started = time.monotonic()
        sent, failed, stage_error = self._target_stage(cfg, execution, kept)
        target_ms = (time.monotonic() - target_started) * 1000
        if failed and sent:
            self._log(cfg, execution, "TargetStagePartiallyFailed", error=stage_error)
            self._log(cfg, execution, "ExecutionPartiallyFailed", error=stage_error)
        elif failed:
            self._log(cfg, execution, "TargetStageFailed", error=stage_error)
            self._log(cfg, execution, "ExecutionFailed", error=stage_error)
        else:
            self._log(cfg, execution, "TargetStageSucceeded")
        delete_ok = self._delete(cfg, backend, queue, sent, execution) if sent else True
        if not failed and delete_ok:
            self._log(cfg, execution, "ExecutionSucceeded")
        self._failures = self._failures + 1 if failed else 0
        duration_ms = (time.monotonic() - started) * 1000
        for name, value, unit in (
            ("Invocations", 1, "Count"),
            ("EventCount", len(kept), "Count"),
            ("EventSize", event_size, "Bytes"),
            ("Duration", duration_ms, "Milliseconds"),
            ("TargetStageDuration", target_ms, "Milliseconds"),
            # §3.9: the failure metrics publish 0 when nothing failed.
            ("ExecutionFailed", int(bool(failed and not sent) or not delete_ok), "Count"),
            ("ExecutionPartiallyFailed", int(bool(failed and sent)), "Count"),
            ("TargetStageFailed", int(bool(failed and not sent)), "Count"),
            ("TargetStagePartiallyFailed", int(bool(failed and sent)), "Count"),
        ):
            self._metric(cfg, name, value, unit)

    def _record(self, message: Any, queue: Any, region: str) -> _Record:
        attributes = {
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "SentTimestamp": str(message.sent_timestamp),
            "SenderId": message.sender_id,
            "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        }
        if queue.fifo_queue:
            attributes.update(SequenceNumber=str(message.sequence_number or ""),
                              MessageGroupId=message.group_id or "",
                              MessageDeduplicationId=message.deduplication_id or "")
        record = {
            "messageId": message.id,
            "receiptHandle": message.receipt_handle,
            "body": message.body,
            "attributes": attributes,
            "messageAttributes": {k: _esm_attribute(v) for k, v in message.message_attributes.items()},
            "md5OfBody": message.body_md5,
            "eventSource": "aws:sqs",
            "eventSourceARN": queue.queue_arn,
            "awsRegion": region,
        }
        body = parse_body(message.body)
        body_is_json = body is not message.body
        return _Record(message, record, {**record, "body": body}, body_is_json)

    def _target_stage(self, cfg: PipeConfig, execution: str, kept: list[_Record]
                      ) -> tuple[list[_Record], list[_Record], dict[str, Any] | None]:
        """Transform and put; returns (sent, failed, error of the stage)."""
        failed: list[_Record] = []
        entries: list[tuple[_Record, dict[str, Any]]] = []
        stage_error: dict[str, Any] | None = None
        for rec in kept:
            self._log(cfg, execution, "TargetTransformationStarted", payload=rec.record)
            try:
                entry = self._entry(cfg, rec)
            except TemplateError as exc:
                stage_error = pipes_logs.error(str(exc), "ValidationException", "pipes", cfg.arn)
                self._log(cfg, execution, "TargetTransformationFailed", error=stage_error, payload=rec.record)
                failed.append(rec)
                continue
            self._log(cfg, execution, "TargetTransformationSucceeded", payload=entry["Detail"])
            entries.append((rec, entry))
        if not entries:
            return [], failed, stage_error
        bus_name = cfg.target_arn.rsplit("/", 1)[-1]
        events_backend = _events_backend(cfg)
        bus = events_backend.event_buses.get(bus_name)
        decision = access.role_may(cfg.role_arn, "events:PutEvents", cfg.target_arn, bus.policy if bus else None)
        request = [e for _, e in entries]
        if not decision.allowed:
            # UNCONFIRMED wording (the customer-error case of §3.6).
            reason = (f"Pipes does not have required permissions to perform events:PutEvents on "
                      f"{cfg.target_arn} (localcloud: {decision.reason})")
            set_reason(self.pipe, "target", reason)
            stage_error = pipes_logs.error(reason, "AccessDeniedException", "events", cfg.target_arn, 403)
            self._log(cfg, execution, "TargetInvocationFailed", error=stage_error, aws_request=request)
            return [], failed + [r for r, _ in entries], stage_error
        self._log(cfg, execution, "TargetInvocationStarted", aws_request=request)
        sent: list[_Record] = []
        results: list[dict[str, Any]] = []
        try:
            for start in range(0, len(entries), DEFAULT_BATCH):  # PutEvents takes at most 10 entries
                results.extend(events_backend.put_events(request[start:start + DEFAULT_BATCH]))
        except Exception as exc:  # moto raises its JsonRESTError family; a missing bus is one of them
            code = getattr(exc, "error_type", type(exc).__name__)
            message = getattr(exc, "message", None) or str(exc)
            stage_error = pipes_logs.error(message, code, "events", cfg.target_arn)
            self._log(cfg, execution, "TargetInvocationFailed", error=stage_error, aws_request=request)
            return [], failed + [r for r, _ in entries], stage_error
        entry_errors = []
        for index, (rec, _) in enumerate(entries):
            result = results[index] if index < len(results) else {"ErrorCode": "InternalFailure"}
            if result.get("ErrorCode"):
                failed.append(rec)
                entry_errors.append(f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}")
            else:
                sent.append(rec)
        response = {"FailedEntryCount": len(entry_errors), "Entries": results}
        if entry_errors:
            stage_error = pipes_logs.error("; ".join(entry_errors), "PutEventsFailedEntries", "events",
                                           cfg.target_arn)
            kind = "TargetInvocationPartiallyFailed" if sent else "TargetInvocationFailed"
            self._log(cfg, execution, kind, error=stage_error, aws_request=request, aws_response=response)
        else:
            set_reason(self.pipe, "target", None)
            self._log(cfg, execution, "TargetInvocationSucceeded", aws_request=request, aws_response=response)
        return sent, failed, stage_error

    def _entry(self, cfg: PipeConfig, rec: _Record) -> dict[str, Any]:
        if cfg.template is None:
            # UNCONFIRMED (§3.5/§9): with no template the detail is the record itself; `body` is kept
            # as the string the record carries.
            detail = json.dumps(rec.record)
        else:
            reserved = {
                "aws.pipes.pipe-arn": cfg.arn,
                "aws.pipes.pipe-name": cfg.name,
                "aws.pipes.source-arn": cfg.source_arn,
                "aws.pipes.enrichment-arn": cfg.enrichment_arn,
                "aws.pipes.target-arn": cfg.target_arn,
                "aws.pipes.event.ingestion-time": _iso_now(),
                "aws.pipes.event": rec.record,
                "aws.pipes.event.json": rec.event,
            }
            detail = render(cfg.template, rec.event, reserved)
            try:
                loads_strict(detail)
            except ValueError as exc:
                # §3.4: output that is not JSON fails delivery to a target that needs JSON.
                raise TemplateError(f"Input template output is not valid JSON: {exc}: {detail[:200]}") from exc
        params = cfg.bus_params
        source = dynamic(params.get("Source"), rec.event)
        detail_type = dynamic(params.get("DetailType"), rec.event)
        entry: dict[str, Any] = {
            # §3.5 defaults when the target parameters leave them unset.
            "Source": f"Pipe {cfg.name}" if source is None else _text(source),
            "DetailType": "Event from aws:sqs" if detail_type is None else _text(detail_type),
            "Detail": detail,
            "EventBusName": cfg.target_arn,
            "Resources": _resources(params.get("Resources"), rec.event),
        }
        if params.get("Time"):
            when = _epoch(dynamic(params["Time"], rec.event))
            if when is not None:
                entry["Time"] = when
        return entry

    def _delete(self, cfg: PipeConfig, backend: Any, queue: Any, recs: list[_Record],
                execution: str | None = None) -> bool:
        from moto.sqs.exceptions import ReceiptHandleIsInvalid

        decision = access.role_may(cfg.role_arn, "sqs:DeleteMessage", queue.queue_arn, queue.policy)
        if not decision.allowed:
            # The message stays: it comes back after the visibility timeout (a duplicate at the target)
            # and the redrive policy eventually moves it to the DLQ.
            reason = f"{QUEUE_PERMISSIONS_TEXT} (localcloud: sqs:DeleteMessage on {queue.queue_arn}: {decision.reason})"
            set_reason(self.pipe, "delete", reason)
            self._log(cfg, execution or str(uuid.uuid4()), "ExecutionFailed",
                      error=pipes_logs.error(reason, "AccessDeniedException", "sqs", cfg.source_arn, 403))
            return False
        set_reason(self.pipe, "delete", None)
        # moto's delete rebuilds the message list; under the queue's condition (which add_message
        # holds while appending) a message sent meanwhile cannot be lost.
        with queue._messages_lock:
            for rec in recs:
                try:
                    backend.delete_message(queue.name, rec.message.receipt_handle)
                except ReceiptHandleIsInvalid:  # purged or deleted meanwhile: nothing left to delete
                    pass
        return True

    # ---- helpers ----------------------------------------------------------------------------------

    def _log(self, cfg: PipeConfig, execution: str, message_type: str, **fields: Any) -> None:
        if pipes_logs.enabled(cfg.log_config, message_type):
            pipes_logs.write(cfg.log_config, cfg.arn, execution, message_type, **fields)

    def _metric(self, cfg: PipeConfig, name: str, value: float, unit: str = "Count") -> None:
        metrics.emit(cfg.account_id, cfg.region, NAMESPACE, name, {"PipeName": cfg.name}, value, unit)


def _events_backend(cfg: PipeConfig) -> Any:
    from moto.events.models import events_backends

    # §3.5: the bus is in the pipe's account and Region.
    return events_backends[cfg.account_id][cfg.region]


def _esm_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """SQS message attribute in the Lambda ESM shape (§3.1)."""
    out: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType")}
    if value.get("StringValue") is not None:
        out["stringValue"] = value["StringValue"]
    binary = value.get("BinaryValue")
    if binary is not None:
        out["binaryValue"] = base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary
    return out


def _text(value: Any) -> str:
    if value is MISSING:
        return ""  # PutEvents then rejects the entry: a failed record
    return value if isinstance(value, str) else json.dumps(value)


def _resources(resources: Any, event: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for item in resources or []:
        value = dynamic(item, event)
        if isinstance(value, list):
            out.extend(_text(v) for v in value)
        elif value is not MISSING:
            out.append(_text(value))
    return out


def _epoch(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _iso_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
