"""Footprint: localcloud start time (child process spawn -> health endpoint ready) and RSS."""

from __future__ import annotations

import subprocess
import sys
import time

from pipecheck.settings import ROOT
from pipecheck.target import health

from .common import BenchError, process_rss_mb

POLL_S = 0.005


class SpawnedCloud:
    """`python -m localcloud serve` in a child process, timed from spawn to a ready health answer.
    (pipecheck.target.LocalCloudProcess polls every 50 ms; this polls every 5 ms for a finer clock.)"""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.start_s = 0.0

    def start(self, timeout: float = 30.0) -> SpawnedCloud:
        if health(self.url):
            raise BenchError(f"something already answers on {self.url}")
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localcloud", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )
        deadline = started + timeout
        while time.perf_counter() < deadline:
            answer = health(self.url, timeout=0.2)
            if answer and answer.get("status") == "ready":
                self.start_s = time.perf_counter() - started
                return self
            if self.process.poll() is not None:
                raise BenchError(f"localcloud exited with {self.process.returncode} while starting")
            time.sleep(POLL_S)  # bounded readiness poll, deadline above
        self.stop()
        raise BenchError(f"localcloud did not answer on {self.url} within {timeout:.0f} s")

    def rss_mb(self) -> float:
        if self.process is None:
            raise BenchError("localcloud is not running")
        return process_rss_mb(self.process.pid)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
