"""Footprint: localcloud start time (spawn -> health endpoint ready, measured by
pipecheck.target.LocalCloudProcess) and resident memory."""

from __future__ import annotations

from pipecheck.target import LocalCloudProcess

from .common import BenchError, process_rss_mb

READY_POLL_S = 0.005  # a finer readiness poll than the harness's 50 ms, for a finer start clock


def cloud_rss_mb(cloud: LocalCloudProcess) -> float:
    if cloud.process is None:
        raise BenchError("localcloud is not running")
    return process_rss_mb(cloud.process.pid)
