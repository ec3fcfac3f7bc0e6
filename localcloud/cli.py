"""`python -m localcloud serve [--host H] [--port P]`: run localcloud in the foreground."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from dataclasses import replace

from . import __version__
from .config import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__)
    parser.add_argument("--version", action="version", version=f"localcloud {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server in the foreground until SIGINT/SIGTERM")
    serve.add_argument("--host", help="bind address (default LOCALCLOUD_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default LOCALCLOUD_PORT or 4566; 0 picks a free one)")
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"localcloud: {error}", file=sys.stderr)
        return 2
    if args.host:
        settings = replace(settings, host=args.host)
    if args.port is not None:
        settings = replace(settings, port=args.port)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # werkzeug logs every request at INFO; keep that out of the log unless asked for.
    logging.getLogger("werkzeug").setLevel(max(logging.WARNING, logging.getLogger().level))

    from .server import LocalCloud

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    cloud = LocalCloud(settings).start()
    print(f"localcloud {__version__} ready on {cloud.url}", flush=True)
    stop.wait()
    cloud.stop()
    return 0
