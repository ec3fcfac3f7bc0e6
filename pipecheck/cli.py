"""`python -m pipecheck COMMAND`: what the Makefile runs.

  up | down            start / stop the local cloud in the background (.localcloud/ holds pid and log)
  backend              render backend.tf from backend.tf.dist for the target
  plan | apply | destroy   the stack in this checkout (local cloud: provided resources too)
  e2e                  the whole thing: deploy, publish the examples, check every hop, print envelopes
  doctor               walk the hops of a deployed stack and name the broken one
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from . import e2e, tfcli
from .outputs import StackView
from .settings import Settings, SettingsError
from .stack import Deployment, in_place
from .target import LocalCloudProcess, TargetError, health, resolve
from .terraform import TerraformError


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _local_port(settings: Settings) -> int:
    return int(settings.localcloud_url.rsplit(":", 1)[1])


def cmd_up(settings: Settings, _: argparse.Namespace) -> int:
    if info := health(settings.localcloud_url):
        say(f"localcloud {info.get('version')} already running on {settings.localcloud_url}")
        return 0
    url = LocalCloudProcess(_local_port(settings)).start(detach=True)
    say(f"localcloud running on {url} (log: .localcloud/)")
    return 0


def cmd_down(settings: Settings, _: argparse.Namespace) -> int:
    stopped = LocalCloudProcess(_local_port(settings)).stop()
    say("localcloud stopped" if stopped else "localcloud was not running")
    return 0


def cmd_backend(settings: Settings, _: argparse.Namespace) -> int:
    target = resolve(settings)
    deployment = in_place(target, settings.username, settings.state_bucket)
    deployment.init()
    say(f"backend.tf rendered for {target.name} and initialised")
    return 0


def cmd_terraform(settings: Settings, args: argparse.Namespace) -> int:
    target = resolve(settings)
    deployment = in_place(target, settings.username, settings.state_bucket)
    deployment.init()
    if args.command == "plan":
        if target.is_local:
            deployment.provided.apply(stream=True)
        _, text = deployment.stack.plan_changes()
        print(text)
        return 0
    if args.command == "apply":
        deployment.up()
        say(f"applied in {deployment.stack.timings.get('apply', 0):.1f} s")
        return 0
    deployment.down()
    say(f"destroyed in {deployment.stack.timings.get('destroy', 0):.1f} s")
    return 0


def cmd_e2e(settings: Settings, args: argparse.Namespace) -> int:
    started_here: LocalCloudProcess | None = None
    if settings.target == "local" and not health(settings.localcloud_url):
        started_here = LocalCloudProcess(_local_port(settings))
        started_here.start()
        say(f"started localcloud on {started_here.url}")
    deployment: Deployment | None = None
    try:
        target = resolve(settings, start_local=False)
        if target.is_local:
            deployment = Deployment(target, settings.username)
        else:
            deployment = in_place(target, settings.username, settings.state_bucket)
        say(f"deploying the stack for {settings.username!r} on {target.name} (terraform apply)")
        outputs = deployment.up()
        say(f"applied in {deployment.stack.timings.get('apply', 0):.1f} s")
        view = StackView.from_outputs(outputs)
        timeout = args.timeout or (30.0 if target.is_local else 120.0)
        metrics_timeout = 10.0 if target.is_local else 600.0
        outcome = e2e.run(target, view, timeout, metrics_timeout, say)
        print(e2e.render(outcome))
        say("both envelopes arrived exactly as expected" if outcome.ok else "FAILED: see the differences above")
        return 0 if outcome.ok else 1
    finally:
        if deployment is not None and deployment.target.is_local:
            say("destroying the local stack")
            try:
                deployment.down()
            finally:
                deployment.close()
        if started_here is not None:
            started_here.stop()
            say("stopped localcloud")


def cmd_doctor(settings: Settings, args: argparse.Namespace) -> int:
    from .doctor import main as doctor_main

    return doctor_main(settings, args)


COMMANDS: dict[str, Any] = {
    "up": cmd_up,
    "down": cmd_down,
    "backend": cmd_backend,
    "plan": cmd_terraform,
    "apply": cmd_terraform,
    "destroy": cmd_terraform,
    "e2e": cmd_e2e,
    "doctor": cmd_doctor,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipecheck", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=sorted(COMMANDS) + ["tfrc"])
    parser.add_argument("--timeout", type=float, default=0, help="e2e: seconds to wait for the envelopes")
    args = parser.parse_args(argv)
    if args.command == "tfrc":
        return tfcli.main()
    try:
        settings = Settings.from_env()
        return int(COMMANDS[args.command](settings, args))
    except (SettingsError, TargetError, TerraformError, ValueError) as error:
        print(f"pipecheck {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
