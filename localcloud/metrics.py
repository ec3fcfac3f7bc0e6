"""CloudWatch metrics of localcloud's services, readable through moto's CloudWatch API.

Storage: one series per (account, region, namespace, name, dimensions), aggregated into 60-second
buckets (sum, min, max, count) kept for RETENTION_S. AWS service metrics are standard resolution
(one minute), so the bucket is also the finest period a reader sees; a 10k-event burst costs one dict
update per emit, never a stored point. Gauges (SQS queue depths) keep the latest sample of the minute,
like the one sample per minute AWS reports, so a purged queue reads 0 at once.

moto sees the store through its official hook, a `CloudWatchMetricProvider` subclass (moto/cloudwatch/
models.py CloudWatchBackend.aws_metric_data), so ListMetrics, GetMetricStatistics and GetMetricData
and the alarm evaluator (localcloud.alarms) read the same data.

SQS metrics (aws-behaviour.md §5, namespace AWS/SQS, dimension QueueName) come from wrapping the
SQSBackend data-plane methods: every send through the backend counts (SNS and EventBridge deliveries
too), redrive moves to a DLQ do not (moto moves them with Queue.add_message, not send_message). A
sampler thread (1 s) sets the queue-depth gauges from live queue state, writes a 0 for idle SQS
counters (AWS reports active queues every minute, so their SampleCount is one higher than the number
of events), then runs the tick hooks (the alarm evaluator).

moto read-path defects fixed here: GetMetricStatistics matched dimensions as a subset (AWS: exactly),
ListMetrics de-duplication was quadratic and kept duplicates of multi-dimension series, and
Dimension ordering compared names with values.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from moto.cloudwatch.exceptions import InvalidParameterValue
from moto.cloudwatch.models import (
    CloudWatchBackend,
    Dimension,
    MetricAggregatedDatum,
    MetricDatumBase,
    Statistics,
    daterange,
)
from moto.core.common_models import CloudWatchMetricProvider
from moto.sqs.models import SQSBackend, sqs_backends

from .fixes import queue_counts_skipped
from .patching import wrap

log = logging.getLogger("localcloud.metrics")

BUCKET_S = 60
RETENTION_S = 3 * 3600
SAMPLE_INTERVAL_S = 1.0

SeriesKey = tuple[str, str, str, str, tuple[tuple[str, str], ...]]  # account, region, namespace, name, dims


@dataclass
class Series:
    unit: str
    # minute start (epoch seconds) -> [sum, min, max, count]; inserted in time order, so pruning pops
    # from the front.
    buckets: dict[int, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Aggregate:
    sum: float
    minimum: float
    maximum: float
    count: float

    def statistic(self, name: str) -> float:
        if name == "Sum":
            return self.sum
        if name == "Minimum":
            return self.minimum
        if name == "Maximum":
            return self.maximum
        if name == "SampleCount":
            return self.count
        if name == "Average":
            return self.sum / self.count if self.count else 0.0
        raise ValueError(f"unsupported statistic {name!r}")


_lock = threading.Lock()
_series: dict[SeriesKey, Series] = {}


def _key(account_id: str, region: str, namespace: str, name: str, dimensions: dict[str, str]) -> SeriesKey:
    return (account_id, region, namespace, name, tuple(sorted(dimensions.items())))


def _record(key: SeriesKey, value: float, unit: str, now: float, gauge: bool) -> None:
    minute = int(now) // BUCKET_S * BUCKET_S
    with _lock:
        series = _series.get(key)
        if series is None:
            series = _series[key] = Series(unit)
        bucket = series.buckets.get(minute)
        if bucket is None or gauge:
            series.buckets[minute] = [value, value, value, 1.0]
        else:
            bucket[0] += value
            if value < bucket[1]:
                bucket[1] = value
            if value > bucket[2]:
                bucket[2] = value
            bucket[3] += 1.0


def emit(
    account_id: str,
    region: str,
    namespace: str,
    name: str,
    dimensions: dict[str, str],
    value: float = 1.0,
    unit: str = "Count",
) -> None:
    """Record one data point, e.g. emit(acct, "eu-west-1", "AWS/SNS", "NumberOfMessagesPublished",
    {"TopicName": "t"}). Thread-safe, never raises into the caller's delivery path."""
    try:
        _record(_key(account_id, region, namespace, name, dimensions), float(value), unit, time.time(), gauge=False)
        if _thread is None:
            start()
    except Exception:  # noqa: BLE001 - metrics are best effort, as on AWS; a delivery must never fail here
        log.debug("emit dropped for %s/%s", namespace, name, exc_info=True)


def set_gauge(
    account_id: str, region: str, namespace: str, name: str, dimensions: dict[str, str], value: float, unit: str = "Count"
) -> None:
    """Record a sampled level: the latest sample of the minute replaces earlier ones."""
    try:
        _record(_key(account_id, region, namespace, name, dimensions), float(value), unit, time.time(), gauge=True)
    except Exception:  # noqa: BLE001 - same reason as emit
        log.debug("gauge dropped for %s/%s", namespace, name, exc_info=True)


def _ensure(key: SeriesKey, unit: str, now: float) -> None:
    """A 0 datapoint for a counter with no activity this minute (AWS reports 0 for active queues)."""
    minute = int(now) // BUCKET_S * BUCKET_S
    with _lock:
        series = _series.get(key)
        if series is None:
            series = _series[key] = Series(unit)
        series.buckets.setdefault(minute, [0.0, 0.0, 0.0, 1.0])


def aggregate(
    account_id: str, region: str, namespace: str, name: str, dimensions: dict[str, str], start: float, end: float
) -> Aggregate | None:
    """Statistics over buckets whose minute starts in [start, end); None if there is no data. A period
    shorter than a minute reads the bucket of the minute it falls in (standard resolution)."""
    key = _key(account_id, region, namespace, name, dimensions)
    first = int(start) // BUCKET_S * BUCKET_S
    last = max(first, int(end - 1e-9) // BUCKET_S * BUCKET_S)
    with _lock:
        series = _series.get(key)
        if series is None:
            return None
        picked = [series.buckets[m] for m in range(first, last + 1, BUCKET_S) if m in series.buckets]
    if not picked:
        return None
    return Aggregate(
        sum=sum(b[0] for b in picked),
        minimum=min(b[1] for b in picked),
        maximum=max(b[2] for b in picked),
        count=sum(b[3] for b in picked),
    )


def points(namespace: str, name: str, dimensions: dict[str, str], account_id: str | None = None,
           region: str | None = None) -> list[tuple[float, Aggregate]]:
    """For tests: (minute start, aggregate) of every matching series, oldest first, any account/region
    unless given."""
    dims = tuple(sorted(dimensions.items()))
    out: list[tuple[float, Aggregate]] = []
    with _lock:
        for (acct, reg, ns, metric, series_dims), series in _series.items():
            if (ns, metric, series_dims) != (namespace, name, dims):
                continue
            if (account_id and acct != account_id) or (region and reg != region):
                continue
            out.extend((float(m), Aggregate(*b)) for m, b in series.buckets.items())
    return sorted(out, key=lambda item: item[0])


def total(namespace: str, name: str, dimensions: dict[str, str], account_id: str | None = None,
          region: str | None = None) -> float:
    """For tests: the sum of every point of the matching series."""
    return sum(agg.sum for _, agg in points(namespace, name, dimensions, account_id, region))


def reset() -> None:
    with _lock:
        _series.clear()


def _prune(now: float) -> None:
    cutoff = now - RETENTION_S
    with _lock:
        for key in list(_series):
            buckets = _series[key].buckets
            for minute in list(buckets):
                if minute >= cutoff:
                    break
                del buckets[minute]
            if not buckets:
                del _series[key]


class LocalcloudMetrics(CloudWatchMetricProvider):
    """moto collects every direct subclass of CloudWatchMetricProvider on each metric read."""

    @staticmethod
    def get_cloudwatch_metrics(account_id: str, region: str) -> list[MetricDatumBase]:
        if _thread is None:
            start()
        with _lock:
            selected = [
                (key, series.unit, list(series.buckets.items()))
                for key, series in _series.items()
                if key[0] == account_id and key[1] == region
            ]
        out: list[MetricDatumBase] = []
        for (_, _, namespace, name, dims), unit, buckets in selected:
            dimensions = [{"Name": k, "Value": v} for k, v in dims]
            for minute, (total_, low, high, count) in buckets:
                out.append(
                    MetricAggregatedDatum(
                        namespace=namespace, name=name, min_stat=low, max_stat=high, sample_count=count,
                        sum_stat=total_, dimensions=dimensions,
                        # moto compares naive UTC datetimes (moto.core.utils.utcnow)
                        timestamp=datetime.fromtimestamp(minute, timezone.utc).replace(tzinfo=None), unit=unit,
                    )
                )
        return out


# --- SQS ------------------------------------------------------------------------------------------

SQS = "AWS/SQS"
SQS_COUNTERS = ("NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted", "NumberOfEmptyReceives")


def _message_size(body: str, attributes: dict[str, Any] | None) -> int:
    size = len(body.encode("utf-8"))
    for attr_name, attr in (attributes or {}).items():
        size += len(attr_name.encode("utf-8")) + len(str(attr.get("DataType", "")).encode("utf-8"))
        value = attr.get("StringValue") if attr.get("StringValue") is not None else attr.get("BinaryValue", b"")
        size += len(value if isinstance(value, bytes) else str(value).encode("utf-8"))
    return size


def _install_sqs() -> None:
    # send_message_batch and delete_message_batch call these per entry, so batches count once each.
    @wrap(SQSBackend, "send_message", "AWS/SQS NumberOfMessagesSent, SentMessageSize")
    def send_message(original: Any, backend: SQSBackend, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
        with queue_counts_skipped():
            message = original(backend, queue_name, message_body, *args, **kwargs)
        dims = {"QueueName": queue_name}
        emit(backend.account_id, backend.region_name, SQS, "NumberOfMessagesSent", dims)
        try:
            attributes = kwargs.get("message_attributes", args[0] if args else None)
            emit(backend.account_id, backend.region_name, SQS, "SentMessageSize", dims,
                 _message_size(message_body, attributes), "Bytes")
        except Exception:  # noqa: BLE001 - odd attribute shapes must not fail the send
            log.debug("SentMessageSize skipped", exc_info=True)
        return message

    @wrap(SQSBackend, "receive_message", "AWS/SQS NumberOfMessagesReceived, NumberOfEmptyReceives")
    def receive_message(original: Any, backend: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        messages = original(backend, queue_name, *args, **kwargs)
        dims = {"QueueName": queue_name}
        if messages:
            emit(backend.account_id, backend.region_name, SQS, "NumberOfMessagesReceived", dims, len(messages))
        else:
            emit(backend.account_id, backend.region_name, SQS, "NumberOfEmptyReceives", dims)
        return messages

    @wrap(SQSBackend, "delete_message", "AWS/SQS NumberOfMessagesDeleted")
    def delete_message(original: Any, backend: SQSBackend, queue_name: str, receipt_handle: str) -> Any:
        result = original(backend, queue_name, receipt_handle)
        # Reached only with a valid handle; repeated deletes count too (§5).
        emit(backend.account_id, backend.region_name, SQS, "NumberOfMessagesDeleted", {"QueueName": queue_name})
        return result


def sample_sqs(now: float | None = None) -> None:
    """Queue-depth gauges from live queue state, plus a 0 for idle counters (AWS reports active
    queues every minute). Reads moto's message lists without its locks: a snapshot copy is enough for
    an approximate gauge."""
    now = time.time() if now is None else now
    now_ms = now * 1000
    for account_id, regions in list(sqs_backends.items()):
        for region, backend in list(regions.items()):
            for queue_name, queue in list(backend.queues.items()):
                messages = list(queue._messages)
                visible = not_visible = delayed = 0
                oldest_ms: float | None = None
                for message in messages:
                    if message.visible_at >= now_ms:
                        not_visible += 1
                    elif message.delayed_until > now_ms:
                        delayed += 1
                    else:
                        visible += 1
                    sent = message.sent_timestamp
                    if sent is not None and (oldest_ms is None or sent < oldest_ms):
                        oldest_ms = sent
                dims = {"QueueName": queue_name}
                set_gauge(account_id, region, SQS, "ApproximateNumberOfMessagesVisible", dims, visible)
                set_gauge(account_id, region, SQS, "ApproximateNumberOfMessagesNotVisible", dims, not_visible)
                set_gauge(account_id, region, SQS, "ApproximateNumberOfMessagesDelayed", dims, delayed)
                # [UNCONFIRMED] for a DLQ whether AWS's clock starts at the original enqueue: moto keeps the
                # original SentTimestamp on a redriven message, so this one does.
                age = max(0.0, (now_ms - oldest_ms) / 1000) if oldest_ms is not None else 0.0
                set_gauge(account_id, region, SQS, "ApproximateAgeOfOldestMessage", dims, round(age), "Seconds")
                for counter in SQS_COUNTERS:
                    _ensure(_key(account_id, region, SQS, counter, dims), "Count", now)


# --- moto CloudWatch read-path fixes ---------------------------------------------------------------

def _install_cloudwatch_fixes() -> None:
    @wrap(CloudWatchBackend, "put_metric_data", "resume the sampler (and alarm evaluation) after a restart")
    def put_metric_data(original: Any, backend: CloudWatchBackend, *args: Any, **kwargs: Any) -> Any:
        if _thread is None:
            start()
        return original(backend, *args, **kwargs)

    @wrap(Dimension, "__lt__", "moto compares name with value; sorted() of dimensions must be stable")
    def dimension_lt(original: Any, left: Dimension, right: Dimension) -> bool:
        return (left.name or "", left.value or "") < (right.name or "", right.value or "")

    @wrap(CloudWatchBackend, "get_metric_statistics", "exact dimension match, as AWS (moto matches a subset)")
    def get_metric_statistics(
        original: Any, backend: CloudWatchBackend, namespace: str, metric_name: str, start_time: datetime,
        end_time: datetime, period: int, stats: list[str], dimensions: list[dict[str, str]], unit: str | None = None,
    ) -> list[Statistics]:
        # moto's body with the filter made exact: {RuleName} must not also match {EventBusName, RuleName}.
        start_time = start_time.replace(microsecond=0)
        end_time = end_time.replace(microsecond=0)
        if start_time >= end_time:
            raise InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
        wanted = {(d["Name"], d.get("Value")) for d in dimensions or []}
        data = sorted(
            (
                md for md in backend.get_all_metrics()
                if md.namespace == namespace and md.name == metric_name and start_time <= md.timestamp < end_time
                and (not unit or md.unit == unit) and {(d.name, d.value) for d in md.dimensions} == wanted
            ),
            key=lambda md: md.timestamp,
        )
        step = timedelta(seconds=period)
        out: list[Statistics] = []
        index = 0
        for begin in daterange(data[0].timestamp, data[-1].timestamp + step, step) if data else ():
            stat = Statistics(stats, begin)
            while index < len(data) and data[index].timestamp < begin + step:
                stat.metric_data.append(data[index])
                stat.unit = data[index].unit
                index += 1
            if stat.metric_data:
                out.append(stat)
        return out

    @wrap(CloudWatchBackend, "get_filtered_metrics", "ListMetrics: one entry per series, in linear time")
    def get_filtered_metrics(
        original: Any, backend: CloudWatchBackend, metric_name: str, namespace: str, dimensions: list[dict[str, str]]
    ) -> list[MetricDatumBase]:
        # moto's de-duplication is quadratic and never matches multi-dimension series (are_dimensions_same).
        seen: set[tuple[str, str, frozenset[tuple[str | None, str | None]]]] = set()
        out: list[MetricDatumBase] = []
        for datum in backend.get_all_metrics():
            if not datum.filter(namespace=namespace, name=metric_name, dimensions=dimensions):
                continue
            key = (datum.namespace, datum.name, frozenset((d.name, d.value) for d in datum.dimensions))
            if key not in seen:
                seen.add(key)
                out.append(datum)
        return out


# --- lifecycle ------------------------------------------------------------------------------------

_stop = threading.Event()
_thread: threading.Thread | None = None
_thread_lock = threading.Lock()
_tick_hooks: list[Callable[[float], None]] = []


def on_tick(hook: Callable[[float], None]) -> None:
    """Run `hook(now)` on the sampler thread right after each gauge sample (the alarm evaluator)."""
    if hook not in _tick_hooks:
        _tick_hooks.append(hook)


def _run() -> None:
    last_prune = 0.0
    while not _stop.wait(SAMPLE_INTERVAL_S):
        now = time.time()
        try:
            sample_sqs(now)
            if now - last_prune > BUCKET_S:
                _prune(now)
                last_prune = now
        except Exception:  # noqa: BLE001 - a queue deleted mid-sample must not kill the sampler
            log.debug("sampler pass failed", exc_info=True)
        for hook in list(_tick_hooks):
            try:
                hook(now)
            except Exception:  # noqa: BLE001 - a failing hook must not stop sampling
                log.warning("tick hook %s failed", getattr(hook, "__name__", hook), exc_info=True)


def start() -> None:
    """Start the sampler (idempotent). install() starts it; after shutdown() the next emit, PutMetricData
    or metric read starts it again, since install() runs once per process."""
    global _thread
    with _thread_lock:
        if _thread is not None and _thread.is_alive():
            return
        _stop.clear()
        _thread = threading.Thread(target=_run, name="localcloud-metrics-sampler", daemon=True)
        _thread.start()


def install() -> None:
    _install_sqs()
    _install_cloudwatch_fixes()
    start()


def shutdown() -> None:
    global _thread
    with _thread_lock:
        _stop.set()
        if _thread is not None:
            _thread.join(timeout=5)
        _thread = None
