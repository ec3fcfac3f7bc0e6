"""The bench code paths in miniature, so they cannot rot between benchmark runs: the naive-layout
rewrite on the real modules, the statistics, the table, and a tiny latency + burst run against plain
moto_server (no Terraform, no localcloud; well under 20 s)."""

from __future__ import annotations

import json
import re

import pytest

from bench import latency, throughput
from bench.__main__ import table
from bench.apply import MODULES, naive_queues_tf
from bench.common import MotoServer, moto_topic_queue, percentile, planted_id
from pipecheck.publisher import planted
from pipecheck.settings import ROOT


@pytest.mark.parametrize("module", MODULES)
def test_naive_layout_moves_every_inline_queue_policy(module: str) -> None:
    original = (ROOT / module / "queues.tf").read_text()
    queues = re.findall(r'^resource "aws_sqs_queue" "(\w+)"', original, re.M)
    text, moved = naive_queues_tf(original)
    assert moved == len(queues), f"got {moved} policies moved, expected {len(queues)} (one per queue)"
    separate = re.findall(r'^resource "aws_sqs_queue_policy" "(\w+)"', text, re.M)
    assert sorted(separate) == sorted(queues), f"got aws_sqs_queue_policy {separate}, expected {queues}"
    inline = re.findall(r"^\s+policy\s*=", text.split('resource "aws_sqs_queue_policy"')[0], re.M)
    assert not inline, f"got {len(inline)} inline policy arguments left, expected 0"
    kept = (text.count("redrive_policy"), text.count("redrive_allow_policy"))
    want = (original.count("redrive_policy"), original.count("redrive_allow_policy"))
    assert kept == want, f"got redrive arguments {kept}, expected {want} (untouched)"


def test_percentile_nearest_rank() -> None:
    sample = list(range(1, 101))
    got = (percentile(sample, 50), percentile(sample, 95), percentile(sample, 99), percentile([7.0], 99))
    assert got == (50.0, 95.0, 99.0, 7.0), f"got {got}, expected (50, 95, 99, 7)"


def test_planted_id_reads_envelopes_and_raw_events() -> None:
    envelope = json.dumps({"detail": {"event": {"event_id": "a"}}})
    got = (planted_id(envelope), planted_id(json.dumps({"event_id": "b"})), planted_id("text"), planted_id("[1]"))
    assert got == ("a", "b", None, None), f"got {got}, expected ('a', 'b', None, None)"


def test_table_renders_every_figure() -> None:
    results = {
        "quick": True, "when": "now", "total_s": 1.0, "apply_s": 61.0, "apply_naive_s": 87.0,
        "apply_ratio_naive": 1.43, "destroy_s": 17.0, "destroy_naive_s": 40.0, "start_s": 0.9,
        "start_samples_s": [0.9], "rss_mb": 120.0, "rss_idle_mb": 90.0,
        "latency_ms": {"p50": 10.0, "p95": 20.0, "p99": 30.0, "n": 200},
        "moto_hop_latency_ms": {"p50": 7.0, "p99": 12.0},
        "throughput": {"published": 10, "published_per_s": 5.0, "publish_errors": 0, "delivered": 10,
                       "delivered_per_s": 5.0, "lost": 0, "duplicates": 0, "ratio_vs_moto": 2.5, "moto_per_s": 2.0},
        "throughput_batch": {"delivered_per_s": 9.0, "moto_per_s": 3.0, "ratio_vs_moto": 3.0, "lost": 0,
                             "duplicates": 0},
    }
    text = table(results)
    assert "MISS" in text and "ok" in text, f"got no target verdicts in:\n{text}"
    assert "apply (median)" in text and "x1.43" in text, f"got no apply row in:\n{text}"


def test_latency_and_burst_on_plain_moto() -> None:
    with MotoServer() as moto:
        hop = latency.moto_hop(moto, 5)
        assert hop.summary()["n"] == 5, f"got {hop.summary()['n']} samples, expected 5"
        topic_arn, queue_url = moto_topic_queue(moto, "smoke")
        result = throughput.burst(lambda: moto.client("sns"), lambda: moto.client("sqs"),
                                  [(topic_arn, planted("basket"))], queue_url, 40, publishers=2, consumers=2,
                                  deadline_s=15)
        batched = throughput.burst(lambda: moto.client("sns"), lambda: moto.client("sqs"),
                                   [(topic_arn, planted("basket"))], queue_url, 40, publishers=2, consumers=2,
                                   deadline_s=15, batch=10)
    for name, outcome in (("single", result), ("batch", batched)):
        summary = outcome.as_dict()
        assert (summary["published"], summary["delivered"], summary["lost"]) == (40, 40, 0), (
            f"{name}: got {summary}, expected 40 published, 40 delivered, 0 lost"
        )
