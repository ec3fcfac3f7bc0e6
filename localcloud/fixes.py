"""moto defects that break Terraform or make SDKs hang (moto-notes.md), fixed in place.

- SQS Policy / RedrivePolicy / RedriveAllowPolicy come back as compact JSON, as AWS returns them (moto
  `json.dumps` adds spaces, so every `terraform plan` shows a diff); RedriveAllowPolicy is returned at all.
- SetQueueAttributes without `Policy` keeps the queue policy (moto wipes it); `Policy=""` removes it.
- PutMetricData stores each datum once (moto 5.2.5 CloudWatchResponse.put_metric_data stores it twice).
- An unimplemented action answers a non-retryable AWS-style 400 in the service's own protocol instead
  of HTTP 500 text/html, which SDKs retry for minutes. Any other unexpected handler exception answers
  500 `InternalFailure` in the same format (retryable, as a real 500 is).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse, EmptyResult
from moto.core.utils import camelcase_to_underscores, convert_to_flask_response, get_service_model
from moto.sqs.exceptions import InvalidAttributeName
from moto.sqs.models import Message, Queue, SQSBackend
from werkzeug.exceptions import HTTPException

from .patching import replace_property, wrap

log = logging.getLogger("localcloud.fixes")

REDRIVE_ALLOW_POLICY = "RedriveAllowPolicy"


def compact_json(value: Any) -> str:
    """AWS's serialisation of JSON-valued attributes: no whitespace, keys in the order given."""
    return json.dumps(value, separators=(",", ":"))


def redrive_policy_json(policy: dict[str, Any]) -> str:
    # AWS answers {"deadLetterTargetArn":"...","maxReceiveCount":5}: this key order, count as a number.
    ordered = {"deadLetterTargetArn": policy["deadLetterTargetArn"], "maxReceiveCount": int(policy["maxReceiveCount"])}
    ordered.update((key, value) for key, value in policy.items() if key not in ordered)
    return compact_json(ordered)


class LocalcloudError(ServiceException):
    """A serialisable error moto renders in the protocol of the service that was called."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def _install_dispatch_fix() -> None:
    import moto.backends

    modules: list[tuple[str, ...]] = []

    @wrap(moto.backends, "list_of_moto_modules", "list moto's packages once, not on every request")
    def list_of_moto_modules(original: Any) -> tuple[str, ...]:
        # moto's dispatcher asks this (a listdir plus ~200 isdir calls) for every request, under the
        # lock that serialises all request routing: a fifth of the server's time under load.
        if not modules:
            modules.append(tuple(original()))  # sorted, as moto yields them
        return modules[0]


def install() -> None:
    _install_dispatch_fix()
    _install_sqs_fixes()
    _install_error_answers()
    _install_cloudwatch_fixes()
    # moto warns that our error codes are not in the service model; they are meant not to be.
    warnings.filterwarnings("ignore", message=r"Exception\(LocalcloudError\)", category=UserWarning)


def _install_cloudwatch_fixes() -> None:
    @wrap(CloudWatchResponse, "put_metric_data", "moto stores every PutMetricData datum twice")
    def put_metric_data(original: Any, response: CloudWatchResponse) -> Any:
        namespace = response._get_param("Namespace")
        response.cloudwatch_backend.put_metric_data(namespace, response._get_param("MetricData", []))
        return EmptyResult()


_COUNT_ATTRIBUTES = (
    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessagesNotVisible",
)
_COMPUTED_ATTRIBUTES = (*_COUNT_ATTRIBUTES, "Policy", "RedrivePolicy")
_counts_off = threading.local()
# camelcase_to_underscores costs ~50 µs per call; moto ran it for every attribute on every send.
_FIELD = {name: camelcase_to_underscores(name)
          for name in (*Queue.BASE_ATTRIBUTES, *Queue.FIFO_ATTRIBUTES, *Queue.KMS_ATTRIBUTES)}


@contextmanager
def queue_counts_skipped() -> Iterator[None]:
    """Within this block Queue.attributes leaves out the message counts: moto reads `attributes` on every
    SendMessage just for ContentBasedDeduplication, and counting is O(queue length)."""
    previous = getattr(_counts_off, "on", False)
    _counts_off.on = True
    try:
        yield
    finally:
        _counts_off.on = previous


def _now_ms() -> float:
    # moto's unix_time_millis builds datetimes on every call (~5 µs); its callers ask per message.
    return time.time() * 1000.0


def _queue_attributes(queue: Queue) -> dict[str, Any]:
    """moto's Queue.attributes with one pass over the messages, compact JSON and RedriveAllowPolicy."""
    result: dict[str, Any] = {}
    skip_counts = getattr(_counts_off, "on", False)
    for attribute in Queue.BASE_ATTRIBUTES:
        if attribute not in _COMPUTED_ATTRIBUTES:
            result[attribute] = getattr(queue, _FIELD[attribute])
    if not skip_counts:
        now = _now_ms()
        visible = not_visible = delayed = 0
        for message in list(queue._messages):
            is_visible = now > message.visible_at
            is_delayed = now < message.delayed_until
            not_visible += not is_visible
            delayed += is_delayed
            visible += is_visible and not is_delayed
        result.update(zip(_COUNT_ATTRIBUTES, (visible, delayed, not_visible)))
    if queue.fifo_queue:
        for attribute in Queue.FIFO_ATTRIBUTES:
            result[attribute] = getattr(queue, _FIELD[attribute])
    if queue.kms_master_key_id:  # type: ignore[attr-defined]
        for attribute in Queue.KMS_ATTRIBUTES:
            result[attribute] = getattr(queue, _FIELD[attribute])
    result["Policy"] = compact_json(queue._policy_json) if queue._policy_json.get("Statement") else None
    result["RedrivePolicy"] = redrive_policy_json(queue.redrive_policy) if queue.redrive_policy else None
    allow = getattr(queue, "redrive_allow_policy", None)
    if allow:
        # moto stores the string as sent (setattr in _set_attributes) and never returns it.
        try:
            result[REDRIVE_ALLOW_POLICY] = compact_json(json.loads(allow))
        except ValueError:
            result[REDRIVE_ALLOW_POLICY] = allow
    for key, value in result.items():
        if isinstance(value, bool):
            result[key] = str(value).lower()
    return result


def _visible_messages(queue: Queue) -> list[Message]:
    now = _now_ms()
    return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]


def _install_sqs_fixes() -> None:
    replace_property(Queue, "attributes", "compact JSON, RedriveAllowPolicy, one pass to count", _queue_attributes)
    replace_property(Queue, "messages", "one clock read per call, not two per message", _visible_messages)
    replace_property(Message, "visible", "time.time(), not moto's datetime arithmetic",
                     lambda message: _now_ms() > message.visible_at)
    replace_property(Message, "delayed", "time.time(), not moto's datetime arithmetic",
                     lambda message: _now_ms() < message.delayed_until)

    @wrap(Queue, "_set_attributes", "keep the queue policy unless the call sets Policy")
    def _set_attributes(original: Any, queue: Queue, attributes: dict[str, Any], now: float | None = None) -> None:
        kept = getattr(queue, "_policy_json", None)  # absent while the constructor runs
        original(queue, attributes, now)
        if "Policy" not in attributes and kept is not None:
            queue._policy_json = kept

    @wrap(Queue, "delete_message", "rebuild the message list under the queue lock")
    def delete_message(original: Any, queue: Queue, receipt_handle: str) -> None:
        # moto rebuilds queue._messages without a lock while add_message appends under it: a send
        # racing a delete (SNS delivery vs. a consumer, or the pipe engine) could be lost.
        with queue._messages_lock:
            original(queue, receipt_handle)

    @wrap(SQSBackend, "get_queue_attributes", "RedriveAllowPolicy; build the attributes once, not per name")
    def get_queue_attributes(original: Any, backend: SQSBackend, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
        queue = backend.get_queue(queue_name)
        if not attribute_names:
            return {}
        valid = {"All", REDRIVE_ALLOW_POLICY, *Queue.BASE_ATTRIBUTES, *Queue.FIFO_ATTRIBUTES, *Queue.KMS_ATTRIBUTES}
        invalid = next((name for name in attribute_names if name not in valid), None)
        if invalid is not None:
            raise InvalidAttributeName(invalid)
        attributes = queue.attributes
        if "All" in attribute_names:
            return attributes
        return {name: attributes[name] for name in attribute_names if attributes.get(name) is not None}

    @wrap(SQSBackend, "is_message_valid_based_on_retention_period", "O(1): moto builds all attributes 3x per message")
    def is_message_valid(original: Any, backend: SQSBackend, queue_name: str, message: Message) -> bool:
        retention = int(backend.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
        return bool(retention + message.sent_timestamp / 1000 > time.time())


def _service_id(response: BaseResponse) -> str:
    try:
        return str(get_service_model(response.boto3_service_name).service_id)
    except Exception:  # noqa: BLE001 - any model lookup failure: fall back to moto's name
        return str(response.service_name or "unknown")


def _action_name(response: BaseResponse) -> str:
    try:
        return str(response._get_action() or "?")
    except Exception:  # noqa: BLE001 - the request may be too malformed to name its action
        return "?"


def _install_error_answers() -> None:
    @wrap(BaseResponse, "call_action", "unimplemented actions -> 400, crashes -> AWS-style 500")
    def call_action(original: Any, response: BaseResponse) -> Any:
        try:
            return original(response)
        except HTTPException:
            raise  # moto's RESTError family: Flask renders these as moto meant
        except ServiceException as error:  # raised outside the action method, where moto does not catch it
            status, headers, body = response.serialized(ActionResult(error))
            headers["status"] = str(status)
            return status, headers, body
        except NotImplementedError as error:
            target = f"{_service_id(response)}.{_action_name(response)}"
            log.warning("not implemented: %s (%s)", target, error)
            message = f"localcloud: {target} is not implemented"
            if str(error):
                message += f" ({error})"
            # 400 is not retried by botocore or the Go SDK; NotImplemented is not a retryable code.
            return _error_response(response, "InvalidAction", message, status=400)
        except Exception as error:  # noqa: BLE001 - a handler crash must become an answer, never a hang
            target = f"{_service_id(response)}.{_action_name(response)}"
            log.exception("handler error in %s", target)
            return _error_response(response, "InternalFailure", f"localcloud: {target} failed: {error!r}", status=500)

    @wrap(convert_to_flask_response, "__call__", "errors before call_action -> AWS-style answer")
    def flask_call(original: Any, converter: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(converter, *args, **kwargs)
        except HTTPException:
            raise
        except NotImplementedError as error:
            log.warning("not implemented before dispatch: %s", error)
            return _fallback_response("InvalidAction", f"localcloud: not implemented ({error})", 400)
        except Exception as error:  # noqa: BLE001 - same reason as above
            log.exception("request failed before dispatch")
            return _fallback_response("InternalFailure", f"localcloud: request failed: {error!r}", 500)


def _error_response(response: BaseResponse, code: str, message: str, status: int) -> Any:
    try:
        _, headers, body = response.serialized(ActionResult(LocalcloudError(code, message)))
    except Exception:  # noqa: BLE001 - no botocore model for this service: plain JSON below
        headers, body = {"Content-Type": "application/json"}, json.dumps({"__type": code, "message": message})
    headers = dict(headers)
    headers["status"] = str(status)
    headers["x-amzn-ErrorType"] = code
    return status, headers, body


def _fallback_response(code: str, message: str, status: int) -> Any:
    """No response object yet: guess the protocol from the request (query form -> XML, else JSON)."""
    from flask import Response
    from flask import request as flask_request

    headers = {"x-amzn-ErrorType": code}
    if "x-amz-target" not in flask_request.headers and "form-urlencoded" in (flask_request.content_type or ""):
        body = (
            f"<ErrorResponse><Error><Type>{'Receiver' if status >= 500 else 'Sender'}</Type><Code>{code}</Code>"
            f"<Message>{_xml_escape(message)}</Message></Error><RequestId>localcloud</RequestId></ErrorResponse>"
        )
        headers["Content-Type"] = "text/xml"
    else:
        body = json.dumps({"__type": code, "message": message})
        headers["Content-Type"] = "application/x-amz-json-1.0"
    return Response(response=body, status=status, headers=headers)


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
