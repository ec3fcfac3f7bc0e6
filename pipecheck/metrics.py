"""Reading CloudWatch metrics per hop with GetMetricData, waiting long enough for real AWS, where
metrics lag by minutes (the local cloud has them at once)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import backoff


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str = "Sum"

    @classmethod
    def of(cls, namespace: str, name: str, stat: str = "Sum", **dimensions: str) -> Metric:
        return cls(namespace, name, tuple(sorted(dimensions.items())), stat)

    def label(self) -> str:
        dims = ",".join(f"{k}={v}" for k, v in self.dimensions)
        return f"{self.namespace} {self.name} [{dims}] {self.stat}"


class MetricsReader:
    def __init__(self, cloudwatch: Any) -> None:
        self.cloudwatch = cloudwatch

    def totals(self, metrics: list[Metric], since: datetime, until: datetime | None = None) -> dict[Metric, float]:
        """The sum over [since, until] of each metric (0.0 when there is no data point)."""
        until = until or datetime.now(timezone.utc) + timedelta(minutes=1)
        queries = [
            {
                "Id": f"m{i}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": m.namespace,
                        "MetricName": m.name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in m.dimensions],
                    },
                    "Period": 60,
                    "Stat": m.stat,
                },
                "ReturnData": True,
            }
            for i, m in enumerate(metrics)
        ]
        results: dict[Metric, float] = {}
        for start in range(0, len(queries), 500):
            response = self.cloudwatch.get_metric_data(
                MetricDataQueries=queries[start : start + 500],
                StartTime=since - timedelta(minutes=1),
                EndTime=until,
            )
            for item in response["MetricDataResults"]:
                metric = metrics[int(item["Id"][1:])]
                values = item.get("Values", [])
                results[metric] = float(max(values) if metric.stat == "Maximum" and values else sum(values))
        return results

    def wait_for(self, wanted: dict[Metric, float], since: datetime, timeout: float) -> dict[Metric, float]:
        """Poll until every metric's total reaches its wanted minimum, or the deadline passes; returns
        the last totals (the caller compares and reports)."""
        return _poll(lambda: self.totals(list(wanted), since), wanted, timeout)


class Deltas:
    """Metric totals relative to a baseline taken at construction (same window start, so the
    difference is what happened since then)."""

    def __init__(self, reader: MetricsReader, metrics: list[Metric]) -> None:
        self.reader = reader
        self.metrics = metrics
        self.since = datetime.now(timezone.utc)
        self.base = reader.totals(metrics, self.since)

    def now(self) -> dict[Metric, float]:
        totals = self.reader.totals(self.metrics, self.since)
        return {m: totals[m] - self.base[m] for m in self.metrics}

    def wait(self, wanted: dict[Metric, float], timeout: float) -> dict[Metric, float]:
        """Poll until every wanted delta is reached; returns the last deltas (callers assert)."""
        return _poll(self.now, wanted, timeout)


def _poll(read: Callable[[], dict[Metric, float]], wanted: dict[Metric, float], timeout: float) -> dict[Metric, float]:
    """read() until every wanted value is reached or the deadline passes, backing off from 0.25 s to
    30 s (real AWS publishes metrics minutes late); returns the last reading."""
    deadline = time.monotonic() + timeout
    delays = backoff.expo(base=2, factor=0.25, max_value=30)
    next(delays)  # backoff's wait generators yield None first
    while True:
        current = read()
        if all(current[m] >= want for m, want in wanted.items()) or time.monotonic() >= deadline:
            return current
        time.sleep(min(next(delays), max(0.0, deadline - time.monotonic())))  # bounded backoff poll
