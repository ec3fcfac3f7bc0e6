"""`python -m bench [--quick] [--out FILE]`: the benchmarks of issue 5, printed as a table and written
to bench/results.json. Baselines (plain moto_server, the naive Terraform layout) run in the same
invocation, side by side, and figures are medians over repetitions."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from pipecheck.publisher import planted
from pipecheck.target import LOCAL_CREDENTIALS, LocalCloudProcess, Target, free_port

from . import latency, throughput
from .apply import Cycle
from .common import REGION, MotoServer, machine, median, moto_topic_queue
from .footprint import READY_POLL_S, cloud_rss_mb

RESULTS = Path(__file__).resolve().parent / "results.json"

# Targets from issues 3 and 5, checked in the table.
TARGETS = {
    "apply_s": ("<=", 60.0),
    "destroy_s": ("<=", 20.0),
    "latency_p50_ms": ("<=", 30.0),
    "latency_p99_ms": ("<=", 150.0),
    "lost": ("<=", 0),
    "ratio_vs_moto": (">=", 2.0),
    "start_s": ("<=", 1.0),
    "rss_mb": ("<=", 250.0),
}


@dataclass(frozen=True)
class Plan:
    quick: bool
    apply_runs: int
    naive_runs: int
    latency_events: int
    burst_events: int
    start_runs: int
    batch_events: int
    publishers: int = 4
    consumers: int = 4

    @classmethod
    def of(cls, quick: bool) -> Plan:
        if quick:
            return cls(True, apply_runs=1, naive_runs=1, latency_events=60, burst_events=600, start_runs=1,
                       batch_events=600)
        return cls(False, apply_runs=3, naive_runs=3, latency_events=200, burst_events=10_000, start_runs=3,
                   batch_events=2000)


def _log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _client_factory(url: str, service: str) -> Any:
    def make() -> Any:
        return boto3.session.Session().client(
            service, region_name=REGION, endpoint_url=url,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=20),
        )
    return make


def run(plan: Plan) -> dict[str, Any]:
    results: dict[str, Any] = {
        "quick": plan.quick,
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "runs": {"apply": plan.apply_runs, "apply_naive": plan.naive_runs, "start": plan.start_runs},
    }
    started = time.monotonic()

    # Footprint: start time over start_runs spawns; the last one serves the rest of the run.
    starts: list[float] = []
    state_dir = Path(tempfile.mkdtemp(prefix="bench-localcloud-"))  # its log, away from .localcloud/
    cloud: LocalCloudProcess | None = None
    for i in range(plan.start_runs):
        cloud = LocalCloudProcess(free_port(), state_dir=state_dir)
        cloud.start(poll=READY_POLL_S)
        starts.append(cloud.start_s)
        _log(f"localcloud start {i + 1}/{plan.start_runs}: {cloud.start_s:.3f} s")
        if i < plan.start_runs - 1:
            cloud.stop()
    assert cloud is not None
    results["start_s"] = round(median(starts), 3)
    results["start_samples_s"] = [round(s, 3) for s in starts]
    results["rss_idle_mb"] = cloud_rss_mb(cloud)

    target = Target("local", REGION, cloud.url)
    applies: list[float] = []
    destroys: list[float] = []
    naive_applies: list[float] = []
    naive_destroys: list[float] = []
    tag = datetime.now(timezone.utc).strftime("%H%M%S")
    try:
        # 1) The measured stack, kept live for latency and throughput.
        cycle = Cycle(target, f"bench{tag}-1")
        try:
            _log("apply 1 (inline policies)")
            outputs = cycle.up()
            applies.append(float(cycle.apply_s or 0))
            _log(f"apply 1: {cycle.apply_s:.1f} s")
            # The outputs dict, not StackView: only what the bench needs, so it never depends on
            # outputs the measurement does not use.
            topic_arns: dict[str, str] = dict(outputs["topic_arns"])  # type: ignore[arg-type]
            purchase_url = str(outputs["purchase_queue_url"])
            feeds = sorted(topic_arns)
            make_sns, make_sqs = _client_factory(cloud.url, "sns"), _client_factory(cloud.url, "sqs")

            with MotoServer() as moto:
                _log(f"latency: {plan.latency_events} events through the stack")
                lat = latency.stack(make_sns(), make_sqs(), topic_arns, purchase_url,
                                    plan.latency_events)
                _log(f"latency: plain moto_server SNS -> SQS hop, {plan.latency_events} events")
                hop = latency.moto_hop(moto, plan.latency_events)
                results["latency_ms"] = lat.summary()
                results["latency_strays"] = lat.strays
                results["moto_hop_latency_ms"] = hop.summary()

                _log(f"throughput: {plan.burst_events} events, {plan.publishers} publishers, stack")
                topics = [(topic_arns[f], planted(f)) for f in feeds]
                burst = throughput.burst(make_sns, make_sqs, topics, purchase_url, plan.burst_events,
                                         plan.publishers, plan.consumers)
                results["rss_mb"] = cloud_rss_mb(cloud)
                _log(f"throughput stack: {burst.as_dict()}")
                _log(f"throughput: {plan.burst_events} events, plain moto_server, one raw subscription")
                topic_arn, queue_url = moto_topic_queue(moto, "burst")
                base = throughput.burst(lambda: moto.client("sns", 20), lambda: moto.client("sqs", 20),
                                        [(topic_arn, planted("basket"))], queue_url, plan.burst_events,
                                        plan.publishers, plan.consumers)
                _log(f"throughput moto: {base.as_dict()}")
                # Per-message publishing is client-bound on a small machine (both servers see the same
                # rate); PublishBatch (10 per call) takes the client out and compares the servers.
                _log(f"throughput (PublishBatch of 10): {plan.batch_events} events, stack")
                burst_b = throughput.burst(make_sns, make_sqs, topics, purchase_url, plan.batch_events,
                                           plan.publishers, plan.consumers, batch=10)
                _log(f"throughput batch stack: {burst_b.as_dict()}")
                topic_b, queue_b = moto_topic_queue(moto, "burstbatch")
                base_b = throughput.burst(lambda: moto.client("sns", 20), lambda: moto.client("sqs", 20),
                                          [(topic_b, planted("basket"))], queue_b, plan.batch_events,
                                          plan.publishers, plan.consumers, batch=10)
                _log(f"throughput batch moto: {base_b.as_dict()}")
                results["rss_mb"] = max(results["rss_mb"], cloud_rss_mb(cloud))
            batch_tp = burst_b.as_dict()
            batch_tp["moto_per_s"] = base_b.delivered_per_s
            batch_tp["moto_lost"] = base_b.lost
            batch_tp["ratio_vs_moto"] = (round(burst_b.delivered_per_s / base_b.delivered_per_s, 2)
                                         if base_b.delivered_per_s else 0.0)
            results["throughput_batch"] = batch_tp
            tp = burst.as_dict()
            tp["moto_per_s"] = base.delivered_per_s
            tp["moto_published_per_s"] = base.published_per_s
            tp["moto_lost"] = base.lost
            ratio = burst.delivered_per_s / base.delivered_per_s if base.delivered_per_s else 0.0
            tp["ratio_vs_moto"] = round(ratio, 2)
            results["throughput"] = tp

            _log("destroy 1")
            cycle.down()
            destroys.append(float(cycle.destroy_s or 0))
        finally:
            if cycle.deployment.live:
                cycle.down()
            cycle.close()

        # 2) Further apply/destroy repetitions of the same layout.
        for i in range(2, plan.apply_runs + 1):
            extra = Cycle(target, f"bench{tag}-{i}")
            try:
                _log(f"apply {i}")
                extra.up()
                extra.down()
                applies.append(float(extra.apply_s or 0))
                destroys.append(float(extra.destroy_s or 0))
                _log(f"apply {i}: {extra.apply_s:.1f} s, destroy {extra.destroy_s:.1f} s")
            finally:
                if extra.deployment.live:
                    extra.down()
                extra.close()

        # 3) The naive layout (separate aws_sqs_queue_policy resources).
        for i in range(1, plan.naive_runs + 1):
            naive = Cycle(target, f"bench{tag}-n{i}", naive=True)
            try:
                _log(f"naive apply {i} ({naive.policies_moved} queue policies as separate resources)")
                naive.up()
                naive_applies.append(float(naive.apply_s or 0))
                _log(f"naive apply {i}: {naive.apply_s:.1f} s")
                if not plan.quick:  # QUICK: the server is discarded at the end, so skip the ~40 s destroy
                    naive.down()
                    naive_destroys.append(float(naive.destroy_s or 0))
                    _log(f"naive destroy {i}: {naive.destroy_s:.1f} s")
            finally:
                if naive.deployment.live and not plan.quick:
                    naive.down()
                naive.close()
    finally:
        cloud.stop()

    results["apply_s"] = round(median(applies), 2)
    results["destroy_s"] = round(median(destroys), 2)
    results["apply_naive_s"] = round(median(naive_applies), 2)
    results["destroy_naive_s"] = round(median(naive_destroys), 2) if naive_destroys else None
    results["apply_ratio_naive"] = round(results["apply_naive_s"] / results["apply_s"], 2)
    results["apply_samples_s"] = applies
    results["destroy_samples_s"] = destroys
    results["apply_naive_samples_s"] = naive_applies
    results["total_s"] = round(time.monotonic() - started, 1)
    return results


def _check(key: str, value: float) -> str:
    if key not in TARGETS:
        return ""
    op, limit = TARGETS[key]
    ok = value <= limit if op == "<=" else value >= limit
    return f"{'ok  ' if ok else 'MISS'} {op} {limit:g}"


def table(r: dict[str, Any]) -> str:
    lat, hop, tp = r["latency_ms"], r["moto_hop_latency_ms"], r["throughput"]
    rows = [
        ("apply_s", "apply (median)", r["apply_s"], f"naive {r['apply_naive_s']} s, x{r['apply_ratio_naive']}"),
        ("destroy_s", "destroy (median)", r["destroy_s"],
         f"naive {r['destroy_naive_s']} s" if r.get("destroy_naive_s") is not None else "naive not destroyed (QUICK)"),
        ("latency_p50_ms", "latency p50 ms", lat["p50"], f"moto hop p50 {hop['p50']} ms"),
        ("latency_p95_ms", "latency p95 ms", lat["p95"], f"n={lat['n']}"),
        ("latency_p99_ms", "latency p99 ms", lat["p99"], f"moto hop p99 {hop['p99']} ms"),
        ("published", "burst published", tp["published"], f"{tp['published_per_s']}/s, errors {tp['publish_errors']}"),
        ("delivered", "burst delivered", tp["delivered"], f"{tp['delivered_per_s']}/s"),
        ("lost", "burst lost", tp["lost"], f"duplicates {tp['duplicates']}"),
        ("ratio_vs_moto", "delivered/s vs moto", tp["ratio_vs_moto"], f"moto {tp['moto_per_s']}/s (1 hop)"),
        ("ratio_batch", "batch delivered/s vs moto", r["throughput_batch"]["ratio_vs_moto"],
         f"{r['throughput_batch']['delivered_per_s']}/s vs moto {r['throughput_batch']['moto_per_s']}/s, "
         f"lost {r['throughput_batch']['lost']}, duplicates {r['throughput_batch']['duplicates']}"),
        ("start_s", "localcloud start s", r["start_s"], f"samples {r['start_samples_s']}"),
        ("rss_mb", "localcloud RSS MB", r["rss_mb"], f"idle {r['rss_idle_mb']} MB"),
    ]
    width = max(len(label) for _, label, _, _ in rows)
    lines = [f"bench ({'QUICK' if r['quick'] else 'full'}, {r['when']}, {r['total_s']} s total)"]
    lines.append(f"{'figure'.ljust(width)}  {'value':>10}  {'target':<14}  beside it")
    for key, label, value, note in rows:
        lines.append(f"{label.ljust(width)}  {value:>10}  {_check(key, float(value)):<14}  {note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer events, one repetition (< 5 min)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    args = parser.parse_args(argv)
    results = run(Plan.of(args.quick))
    tmp = args.out.with_suffix(args.out.suffix + ".tmp")
    tmp.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    tmp.replace(args.out)
    print(table(results))
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
