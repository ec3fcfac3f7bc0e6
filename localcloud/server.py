"""The HTTP front: moto's WSGI app behind a thin middleware that adds a health endpoint, with
localcloud's behaviour modules installed in the order data flows through them."""

from __future__ import annotations

import importlib
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from . import __version__
from .config import Settings, set_current

log = logging.getLogger("localcloud")

HEALTH_PATH = "/_localcloud/health"

# SNS -> SQS -> pipe -> bus -> rule -> SQS, then what observes it. Each module has install() (patch
# moto once per process) and may have start() / shutdown() (its threads, per server start and stop).
COMPONENTS: tuple[str, ...] = (
    "localcloud.fixes",
    "localcloud.metrics",
    "localcloud.sns_delivery",
    "localcloud.pipes",
    "localcloud.events",
    "localcloud.alarms",
)

_install_lock = threading.Lock()
_installed: list[Any] = []


def install_components() -> list[Any]:
    """Import and install every component once per process (moto's backends are process-global)."""
    with _install_lock:
        if not _installed:
            for name in COMPONENTS:
                module = importlib.import_module(name)
                module.install()
                _installed.append(module)
        return list(_installed)


class HealthMiddleware:
    def __init__(self, app: Callable[..., Iterable[bytes]], settings: Settings, started: float) -> None:
        self.app = app
        self.settings = settings
        self.started = started

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            from .patching import applied

            body = json.dumps(
                {
                    "status": "ready",
                    "version": __version__,
                    "account_id": self.settings.account_id,
                    "enforcement": self.settings.enforcement,
                    "uptime_s": round(time.monotonic() - self.started, 3),
                    "patches": sorted(applied()),
                }
            ).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return self.app(environ, start_response)


class LocalCloud:
    """One server on host:port (port 0 picks a free one). Use as a context manager or start()/stop()."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._components: list[Any] = []

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("localcloud is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.port}"

    def start(self) -> LocalCloud:
        # EventBridge processes JSON nested up to 1000 levels (§4.2); Python's default limit of 1000
        # frames would stop the parser just short of that.
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
        self.settings.apply_to_moto()
        set_current(self.settings)
        started = time.monotonic()
        # Imported here: moto reads MOTO_ACCOUNT_ID when first imported.
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self._components = install_components()
        for module in self._components:
            start = getattr(module, "start", None)
            if start is not None:
                start()
        app = HealthMiddleware(DomainDispatcherApplication(create_backend_app), self.settings, started)
        self._server = make_server(
            self.settings.host, self.settings.port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="localcloud-http", daemon=True)
        self._thread.start()
        log.info("localcloud %s listening on %s (enforcement=%s)", __version__, self.url, self.settings.enforcement)
        return self

    def stop(self) -> None:
        for module in reversed(self._components):
            shutdown = getattr(module, "shutdown", None)
            if shutdown is not None:
                shutdown()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
