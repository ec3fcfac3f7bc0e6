"""CloudWatch metric alarms that really evaluate (moto creates them in state OK and never looks again).

New alarms start INSUFFICIENT_DATA ("Unchecked: Initial alarm creation"), as on AWS; PutMetricAlarm on
an existing alarm keeps its state (AWS: "the alarm state is left unchanged" on update). The metrics
sampler thread evaluates every alarm once a second, right after sampling queue depths, against
localcloud's metric store (localcloud.metrics) plus data sent with PutMetricData.

Local deviation, on purpose: the most recent, still open period is evaluated as if it were complete,
so a "DLQ depth > 0, period 60" alarm turns ALARM about 1 s after the message lands instead of after
the minute closes; a gauge keeps the latest sample of its minute, so a purge clears it as fast. If that open period has no data yet, the window ends at the previous period
instead, so alarms do not flap at every period boundary.

Supported: Statistic Sum/Average/Minimum/Maximum/SampleCount, Period, EvaluationPeriods,
DatapointsToAlarm, Threshold, the four static ComparisonOperators, TreatMissingData
missing/notBreaching/breaching/ignore, single-MetricStat `Metrics` alarms. Not evaluated (the alarm
goes INSUFFICIENT_DATA once, with a reason saying so): percentiles, metric math, anomaly detection;
composite alarms are left alone. The Unit of an alarm is not used to filter data. Actions: SNS
topic ARNs are published to (the AWS alarm notification JSON); other actions are logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from moto.cloudwatch.models import Alarm, CloudWatchBackend, MetricAggregatedDatum, MetricDatum, cloudwatch_backends

from . import metrics
from .patching import wrap

log = logging.getLogger("localcloud.alarms")

INITIAL_REASON = "Unchecked: Initial alarm creation"
COMPARISONS = {
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}
STATISTICS = ("Sum", "Average", "Minimum", "Maximum", "SampleCount")


@dataclass(frozen=True)
class Target:
    namespace: str
    name: str
    dimensions: dict[str, str]
    statistic: str
    period: int


def _target(alarm: Alarm) -> Target | str:
    """What the alarm watches, or why it cannot be evaluated here."""
    if alarm.extended_statistic:
        return f"percentile statistic {alarm.extended_statistic}"
    if alarm.comparison_operator not in COMPARISONS:
        return f"comparison operator {alarm.comparison_operator}"
    if alarm.metric_name:
        if alarm.statistic not in STATISTICS:
            return f"statistic {alarm.statistic}"
        dims = {d.name: d.value for d in alarm.dimensions}
        return Target(alarm.namespace, alarm.metric_name, dims, alarm.statistic, int(alarm.period))
    queries = alarm.metric_data_queries
    if len(queries) == 1 and queries[0].metric_stat is not None and not queries[0].expression:
        stat = queries[0].metric_stat
        if stat.stat not in STATISTICS:
            return f"statistic {stat.stat}"
        dims = {d.name: d.value for d in stat.metric.dimensions}
        return Target(stat.metric.namespace, stat.metric.metric_name, dims, stat.stat, int(stat.period))
    return "metric math"


def _epoch(ts: datetime) -> float:
    return (ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)).timestamp()


def _datapoint(backend: CloudWatchBackend, target: Target, start: float, end: float) -> float | None:
    """The statistic over [start, end) from localcloud's store and PutMetricData, None if no data."""
    parts: list[tuple[float, float, float, float]] = []
    stored = metrics.aggregate(backend.account_id, backend.region_name, target.namespace, target.name,
                               target.dimensions, start, end)
    if stored is not None:
        parts.append((stored.sum, stored.minimum, stored.maximum, stored.count))
    wanted = set(target.dimensions.items())
    for datum in list(backend.metric_data):
        if datum.namespace != target.namespace or datum.name != target.name:
            continue
        if {(d.name, d.value) for d in datum.dimensions} != wanted or not start <= _epoch(datum.timestamp) < end:
            continue
        if isinstance(datum, MetricAggregatedDatum):
            parts.append((datum.sum, datum.min, datum.max, datum.sample_count))
        elif isinstance(datum, MetricDatum):
            parts.append((datum.value, datum.value, datum.value, 1.0))
    if not parts:
        return None
    combined = metrics.Aggregate(
        sum=sum(p[0] for p in parts), minimum=min(p[1] for p in parts),
        maximum=max(p[2] for p in parts), count=sum(p[3] for p in parts),
    )
    return combined.statistic(target.statistic)


def _fmt_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%d/%m/%y %H:%M:%S")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _threshold_reason(present: list[tuple[int, float]], periods: int, absent: int, policy: str, new_state: str,
                      old_state: str, verb: str, threshold: float, needed: int) -> str:
    """StateReason worded as AWS words it."""
    if not present:
        treated = "Breaching" if policy == "breaching" else "NonBreaching"
        return (f"Threshold Crossed: no datapoints were received for {_plural(periods, 'period')} and "
                f"{_plural(absent, 'missing datapoint')} {'was' if absent == 1 else 'were'} treated as [{treated}].")
    shown = ", ".join(f"{v} ({_fmt_time(s)})" for s, v in present[:5])
    return (f"Threshold Crossed: {len(present)} out of the last {periods} datapoints [{shown}] "
            f"{'was' if len(present) == 1 else 'were'} {verb} the threshold ({threshold}) "
            f"(minimum {_plural(needed, 'datapoint')} for {old_state} -> {new_state} transition).")


def evaluate(backend: CloudWatchBackend, alarm: Alarm, now: float) -> None:
    target = _target(alarm)
    if isinstance(target, str):
        if alarm.state_reason == INITIAL_REASON:
            log.info("alarm %s not evaluated by localcloud: %s", alarm.name, target)
            alarm.update_state(f"localcloud does not evaluate {target}", "{}", "INSUFFICIENT_DATA")
        return
    period = max(1, target.period)
    periods = max(1, int(alarm.evaluation_periods))
    needed = int(alarm.datapoints_to_alarm or periods)
    threshold = float(alarm.threshold)
    compare, words = COMPARISONS[alarm.comparison_operator]

    newest = int(now) // period * period
    if _datapoint(backend, target, newest, newest + period) is None:
        newest -= period  # the open period has no data yet: end the window at the last one
    starts = [newest - i * period for i in range(periods)]
    values = [_datapoint(backend, target, s, s + period) for s in starts]

    missing_policy = alarm.treat_missing_data or "missing"
    present = [(s, v) for s, v in zip(starts, values) if v is not None]
    breaching = sum(1 for _, v in present if compare(v, threshold))
    absent = periods - len(present)
    if missing_policy == "breaching":
        breaching += absent
    if not present and missing_policy in ("missing", "ignore"):
        if missing_policy == "ignore" and alarm.state_reason != INITIAL_REASON:
            return  # ignore: keep the current state while data is missing
        new_state = "INSUFFICIENT_DATA"
        reason = f"Insufficient Data: {_plural(periods, 'datapoint')} {'was' if periods == 1 else 'were'} unknown."
    else:
        new_state = "ALARM" if breaching >= needed else "OK"
        reason = _threshold_reason(present, periods, absent, missing_policy, new_state, alarm.state_value,
                                   f"{'' if new_state == 'ALARM' else 'not '}{words}", threshold, needed)
    if new_state == alarm.state_value and alarm.state_reason != INITIAL_REASON:
        return
    reason_data = json.dumps({
        "version": "1.0",
        "queryDate": datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "startDate": datetime.fromtimestamp(starts[-1], timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "statistic": target.statistic, "period": period,
        "recentDatapoints": [v for _, v in present], "threshold": threshold,
    }, separators=(",", ":"))
    old_state = alarm.state_value
    alarm.update_state(reason, reason_data, new_state)
    log.info("alarm %s: %s -> %s (%s)", alarm.name, old_state, new_state, reason)
    if old_state != new_state:
        _run_actions(backend, alarm, old_state, target)


def _run_actions(backend: CloudWatchBackend, alarm: Alarm, old_state: str, target: Target) -> None:
    if not alarm.actions_enabled:
        return
    actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions,
               "INSUFFICIENT_DATA": alarm.insufficient_data_actions}[alarm.state_value] or []
    for arn in actions:
        if not arn.startswith("arn:aws:sns:"):
            log.info("alarm %s: action %s not run by localcloud", alarm.name, arn)
            continue
        try:
            _publish_to_sns(backend, alarm, old_state, target, arn)
        except Exception:  # noqa: BLE001 - a missing topic must not stop the evaluator
            log.warning("alarm %s: publishing to %s failed", alarm.name, arn, exc_info=True)


def _publish_to_sns(backend: CloudWatchBackend, alarm: Alarm, old_state: str, target: Target, arn: str) -> None:
    from moto.sns.models import sns_backends

    _, _, _, region, account_id, _ = arn.split(":", 5)
    message = {
        "AlarmName": alarm.name, "AlarmDescription": alarm.description, "AWSAccountId": backend.account_id,
        "AlarmConfigurationUpdatedTimestamp": alarm.configuration_updated_timestamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "NewStateValue": alarm.state_value, "NewStateReason": alarm.state_reason,
        "StateChangeTime": alarm.state_updated_timestamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "Region": backend.region_name, "AlarmArn": alarm.alarm_arn, "OldStateValue": old_state,
        "OKActions": alarm.ok_actions, "AlarmActions": alarm.alarm_actions,
        "InsufficientDataActions": alarm.insufficient_data_actions,
        "Trigger": {
            "MetricName": target.name, "Namespace": target.namespace, "StatisticType": "Statistic",
            "Statistic": target.statistic.upper(), "Unit": alarm.unit, "Period": target.period,
            "EvaluationPeriods": int(alarm.evaluation_periods), "ComparisonOperator": alarm.comparison_operator,
            "Threshold": float(alarm.threshold), "TreatMissingData": alarm.treat_missing_data or "missing",
            "Dimensions": [{"name": k, "value": v} for k, v in target.dimensions.items()],
        },
    }
    subject = f'{alarm.state_value}: "{alarm.name}" in {backend.region_name}'[:99]
    sns_backends[account_id][region].publish(json.dumps(message), arn=arn, subject=subject)


# Serialises evaluation with PutMetricAlarm, so a state change cannot land on a just-replaced alarm.
_eval_lock = threading.Lock()


def evaluate_all(now: float | None = None) -> None:
    with _eval_lock:
        _evaluate_all(time.time() if now is None else now)


def _evaluate_all(now: float) -> None:
    for _, regions in list(cloudwatch_backends.items()):
        for _, backend in list(regions.items()):
            for alarm in list(backend.alarms.values()):
                if alarm.rule is not None:
                    continue  # composite alarms are not evaluated
                try:
                    evaluate(backend, alarm, now)
                except Exception:  # noqa: BLE001 - one malformed alarm must not stop the others
                    log.warning("alarm %s: evaluation failed", alarm.name, exc_info=True)


# --- lifecycle ------------------------------------------------------------------------------------

def install() -> None:
    @wrap(CloudWatchBackend, "put_metric_alarm", "alarms start INSUFFICIENT_DATA; updates keep their state")
    def put_metric_alarm(original: Any, backend: CloudWatchBackend, name: str, *args: Any, **kwargs: Any) -> Alarm:
        with _eval_lock:
            previous = backend.alarms.get(name)
            alarm: Alarm = original(backend, name, *args, **kwargs)
            if previous is not None and previous is not alarm:
                alarm.state_value = previous.state_value
                alarm.state_reason = previous.state_reason
                alarm.state_reason_data = previous.state_reason_data
                alarm.state_updated_timestamp = previous.state_updated_timestamp
                alarm.history = previous.history
            else:
                alarm.state_value = "INSUFFICIENT_DATA"
        metrics.start()  # resumes evaluation after a server restart
        return alarm

    # Evaluated on the metrics sampler thread, right after it samples the queue gauges: one clock, the
    # freshest depth, and the thread's lifecycle (shutdown, lazy restart) is metrics'.
    metrics.on_tick(evaluate_all)
