"""The one place localcloud reads its environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Enforcement = Literal["enforce", "warn", "off"]
ENFORCEMENT_MODES: tuple[str, ...] = ("enforce", "warn", "off")


class ConfigError(ValueError):
    """A LOCALCLOUD_* variable holds a value localcloud cannot use."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 4566
    account_id: str = "123456789012"
    enforcement: Enforcement = "enforce"
    log_level: str = "WARNING"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        port_text = env.get("LOCALCLOUD_PORT", str(cls.port))
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise ConfigError(f"LOCALCLOUD_PORT: expected a port number 0-65535, got {port_text!r}")
        account_id = env.get("LOCALCLOUD_ACCOUNT_ID", cls.account_id)
        if not re.fullmatch(r"\d{12}", account_id):
            raise ConfigError(f"LOCALCLOUD_ACCOUNT_ID: expected 12 digits, got {account_id!r}")
        enforcement = env.get("LOCALCLOUD_ENFORCEMENT", cls.enforcement)
        if enforcement not in ENFORCEMENT_MODES:
            raise ConfigError(
                f"LOCALCLOUD_ENFORCEMENT: expected one of {', '.join(ENFORCEMENT_MODES)}, got {enforcement!r}"
            )
        return cls(
            host=env.get("LOCALCLOUD_HOST", cls.host),
            port=int(port_text),
            account_id=account_id,
            enforcement=enforcement,  # type: ignore[arg-type]
            log_level=env.get("LOCALCLOUD_LOG_LEVEL", cls.log_level).upper(),
        )

    def apply_to_moto(self) -> None:
        """moto reads its account id from the environment at import time: call before importing moto."""
        os.environ["MOTO_ACCOUNT_ID"] = self.account_id
        # moto 5.2.5 refuses a second PurgeQueue within 60 s, as AWS does; tests that empty a queue
        # between cases need it, and the 60 s rule plays no part in this pipeline.
        os.environ.setdefault("MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR", "false")


_current: Settings | None = None


def current() -> Settings:
    """Settings of the running server (set by server.start); from the environment otherwise."""
    return _current or Settings.from_env()


def set_current(settings: Settings) -> None:
    global _current
    _current = settings
