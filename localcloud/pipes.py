"""EventBridge Pipes data plane on top of moto's control plane (aws-behaviour.md §3).

moto stores pipes and moves nothing. Here a supervisor keeps one worker thread (pipes_worker) per pipe
that is RUNNING with an SQS source and an event-bus target, re-reconciled after every control-plane
call. The control plane is corrected where moto differs from AWS:
- state: moto's managed state walks STOPPED -> STARTING -> RUNNING on later describes and a pipe
  created STOPPED shows RUNNING; here CurrentState is what create/update/start/stop made it;
- UpdatePipe (§3.6): fields left out stay; inside Source/TargetParameters only the objects given are
  replaced (a service-specific *Parameters object as a whole), moto replaced the whole parameter set;
- validation: batch > 10 for a bus target (§3.2), a static Source starting with `aws.` (§3.5),
  malformed filter patterns;
- pitfall §7.4: a role that cannot be assumed or may not ReceiveMessage on the queue at creation
  leaves the pipe CREATE_FAILED with the reason AWS gives.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

from . import access
from .patching import replace_property, wrap
from .pipes_filter import compile_filters
from .pipes_worker import PIPES_PRINCIPAL, Worker, bump, should_run

log = logging.getLogger("localcloud.pipes")

RUNNING, STOPPED, CREATE_FAILED = "RUNNING", "STOPPED", "CREATE_FAILED"
_ACTIVE = {"RUNNING", "STOPPED", "STARTING", "STOPPING", "CREATING", "UPDATING"}
# [OBS] terraform-aws-modules/terraform-aws-eventbridge PR #133: CreatePipe before the role policy exists.
CREATE_FAILED_TEXT = ("Input parameter is invalid from the request due to : The provided customer role does "
                      "not have permissions to call ReceiveMessage on SQS")
SUPERVISE_EVERY_S = 1.0
SHUTDOWN_BUDGET_S = 0.9

_lock = threading.RLock()
_workers: dict[tuple[str, str, str], Worker] = {}
_ignored: set[tuple[str, str, str]] = set()
_wake = threading.Event()
_closing = threading.Event()
_supervisor: threading.Thread | None = None


def install() -> None:
    from moto.pipes.exceptions import ValidationException
    from moto.pipes.models import EventBridgePipesBackend, Pipe

    replace_property(Pipe, "current_state", "CurrentState is what create/update/start/stop set; moto's "
                     "managed state drifts STOPPED -> RUNNING on describe", _current_state)

    @wrap(EventBridgePipesBackend, "create_pipe", "validate, set the real state, start the pipe's worker")
    def create_pipe(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
        params = _bind(original, self, args, kwargs)
        _validate(params["target"], params["source_parameters"], params["target_parameters"],
                  ValidationException)
        pipe = original(self, *args, **kwargs)
        denial = _creation_denial(pipe)
        if denial is not None:
            pipe.status, pipe.state_reason = CREATE_FAILED, denial
        else:
            pipe.status = STOPPED if pipe.desired_state == STOPPED else RUNNING
        _changed(pipe)
        return pipe

    @wrap(EventBridgePipesBackend, "update_pipe", "UpdatePipe merge semantics (§3.6), state, live reload")
    def update_pipe(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
        params = _bind(original, self, args, kwargs)
        old = self.pipes.get(params["name"])
        if old is None:
            return original(self, *args, **kwargs)  # moto raises NotFoundException
        params["source_parameters"] = _merge(old.source_parameters, params["source_parameters"])
        params["target_parameters"] = _merge(old.target_parameters, params["target_parameters"])
        _validate(params["target"] or old.target, params["source_parameters"], params["target_parameters"],
                  ValidationException)
        del params["self"]
        pipe = original(self, **params)
        if pipe.enrichment == "":  # an empty string removes the enrichment
            pipe.enrichment = None
        if pipe.current_state == CREATE_FAILED:
            # INF: an update can repair a pipe that failed creation for lack of permissions.
            denial = _creation_denial(pipe)
            if denial is not None:
                pipe.state_reason = denial
                _changed(pipe)
                return pipe
        pipe.localcloud_reasons = {}
        pipe.state_reason = None
        pipe.status = STOPPED if pipe.desired_state == STOPPED else RUNNING
        _changed(pipe)
        return pipe

    @wrap(EventBridgePipesBackend, "start_pipe", "RUNNING at once; start its worker")
    def start_pipe(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
        pipe = original(self, *args, **kwargs)
        if pipe.current_state in _ACTIVE:
            pipe.status = RUNNING
        _changed(pipe)
        return pipe

    @wrap(EventBridgePipesBackend, "stop_pipe", "STOPPED at once; stop its worker before answering")
    def stop_pipe(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
        pipe = original(self, *args, **kwargs)
        if pipe.current_state in _ACTIVE:
            pipe.status = STOPPED
        _changed(pipe)
        return pipe

    @wrap(EventBridgePipesBackend, "describe_pipe", "resume the engine after a server restart")
    def describe_pipe(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
        _ensure_supervisor()
        return original(self, *args, **kwargs)

    @wrap(EventBridgePipesBackend, "list_pipes", "resume the engine after a server restart")
    def list_pipes(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
        _ensure_supervisor()
        return original(self, *args, **kwargs)

    @wrap(EventBridgePipesBackend, "delete_pipe", "stop its worker before answering")
    def delete_pipe(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
        pipe = original(self, *args, **kwargs)
        _changed(pipe)
        return pipe


def start() -> None:
    """On every server start: resume the pipes that should run (a restart in the same process)."""
    _ensure_supervisor()
    reconcile()


def shutdown() -> None:
    """Stop the supervisor and every worker within ~1 s; a later server start works again."""
    global _supervisor
    deadline = time.monotonic() + SHUTDOWN_BUDGET_S
    _closing.set()
    _wake.set()
    with _lock:
        workers = list(_workers.values())
        _workers.clear()
        _ignored.clear()
        supervisor, _supervisor = _supervisor, None
    for worker in workers:
        worker.stop()
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    if supervisor is not None:
        supervisor.join(max(0.0, deadline - time.monotonic()))
    _closing.clear()


def reconcile() -> None:
    """Start a worker for each pipe that should run, stop the others; waits for stopped workers so
    StopPipe/DeletePipe answer only once nothing more is consumed."""
    from moto.pipes.models import pipes_backends

    stopped: list[Worker] = []
    with _lock:
        wanted: dict[tuple[str, str, str], Any] = {}
        if not _closing.is_set():
            for account, by_region in list(pipes_backends.items()):
                for region, backend in list(by_region.items()):
                    for pipe in list(backend.pipes.values()):
                        key = (account, region, pipe.name)
                        if should_run(pipe):
                            if _supported(pipe):
                                wanted[key] = pipe
                            elif key not in _ignored:
                                _ignored.add(key)
                                log.info("pipe %s: only SQS sources with event-bus targets move data here "
                                         "(source %s, target %s)", pipe.name, pipe.source, pipe.target)
        for key, worker in list(_workers.items()):
            if wanted.get(key) is not worker.pipe:
                stopped.append(_workers.pop(key))
                worker.stop()
        for key, pipe in wanted.items():
            if key not in _workers:
                worker = Worker(pipe)
                _workers[key] = worker
                worker.start()
    for worker in stopped:
        worker.join(2.0)


def _supported(pipe: Any) -> bool:
    source, target = pipe.source or "", pipe.target or ""
    return source.startswith("arn:") and source.split(":")[2:3] == ["sqs"] and ":event-bus/" in target


def _changed(pipe: Any) -> None:
    bump(pipe)
    _ensure_supervisor()
    reconcile()


def _ensure_supervisor() -> None:
    global _supervisor
    with _lock:
        if _closing.is_set() or (_supervisor is not None and _supervisor.is_alive()):
            return
        _supervisor = threading.Thread(target=_supervise, name="localcloud-pipes-supervisor", daemon=True)
        _supervisor.start()


def _supervise() -> None:
    # Catches what no control-plane call announces: moto resets, pipes of a previous server run.
    while not _closing.is_set():
        _wake.wait(SUPERVISE_EVERY_S)
        _wake.clear()
        try:
            reconcile()
        except Exception:  # keep supervising whatever one pass hit
            log.exception("pipes supervisor pass failed")


def _current_state(pipe: Any) -> str:
    status = pipe._status
    return str(status.value if isinstance(status, Enum) else status)


def _bind(original: Callable[..., Any], self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    bound = inspect.signature(original).bind(self, *args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _merge(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any] | None:
    """UpdatePipe (§3.6): a parameter set left out is unchanged; inside it, the objects given replace
    the old ones whole (omitted optional fields of a *Parameters object return to defaults) and the
    rest stay. FilterCriteria without filters and an empty InputTemplate remove those settings."""
    if new is None:
        return old
    merged = {**(old or {}), **new}
    if "FilterCriteria" in new and not (new["FilterCriteria"] or {}).get("Filters"):
        merged.pop("FilterCriteria")
    if new.get("InputTemplate") == "":
        merged.pop("InputTemplate")
    return merged


def _validate(target: str | None, source_parameters: dict[str, Any] | None,
              target_parameters: dict[str, Any] | None, error: type[Exception]) -> None:
    from moto.events.exceptions import InvalidEventPatternException

    sqs_params = (source_parameters or {}).get("SqsQueueParameters") or {}
    batch = sqs_params.get("BatchSize")
    if ":event-bus/" in (target or "") and batch is not None and int(batch) > 10:
        # [DOC] eb-pipes-batching-concurrency: an event bus target takes at most 10 (message text ours).
        raise error(f"BatchSize {batch} is larger than the maximum of 10 for an EventBridge event bus target")
    bus_params = (target_parameters or {}).get("EventBridgeEventBusParameters") or {}
    source = bus_params.get("Source")
    if isinstance(source, str) and source.startswith("aws."):
        # [DOC] API_PipeTargetEventBridgeEventBusParameters: the Source pattern forbids `aws.` unless a path.
        raise error(f"Source {source!r} is invalid: a static Source may not start with 'aws.'")
    try:
        compile_filters((source_parameters or {}).get("FilterCriteria"))
    except InvalidEventPatternException as exc:
        raise error(f"FilterCriteria is invalid: {exc.message}") from exc


def _creation_denial(pipe: Any) -> str | None:
    """§7.4: CreatePipe fails when the role cannot be assumed or may not receive from the queue."""
    if not _supported(pipe):
        return None
    trust = access.role_trusts(pipe.role_arn, PIPES_PRINCIPAL, pipe.arn, pipe.account_id)
    if not trust.allowed:
        # UNCONFIRMED wording for a role Pipes cannot assume.
        return (f"Input parameter is invalid from the request due to : Pipes could not assume the provided "
                f"customer role (localcloud: {trust.reason})")
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, name = pipe.source.split(":", 5)
    queue = sqs_backends[account][region].queues.get(name)
    if queue is None:
        return None  # the worker reports a missing source
    decision = access.role_may(pipe.role_arn, "sqs:ReceiveMessage", queue.queue_arn, queue.policy)
    if not decision.allowed:
        return f"{CREATE_FAILED_TEXT} (localcloud: {decision.reason})"
    return None
