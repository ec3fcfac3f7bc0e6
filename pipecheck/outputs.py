"""The stack's Terraform outputs as a typed view (names as in outputs.tf)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StackView:
    username: str
    region: str
    account_id: str
    event_bus_name: str
    topic_arns: dict[str, str]
    buffer_queue_urls: dict[str, str]
    buffer_queue_arns: dict[str, str]
    buffer_dlq_urls: dict[str, str]
    subscription_arns: dict[str, str]
    pipe_names: dict[str, str]
    pipe_arns: dict[str, str]
    pipe_role_arns: dict[str, str]
    pipe_log_group_names: dict[str, str]
    purchase_queue_url: str
    purchase_queue_arn: str
    purchase_dlq_url: str
    purchase_dlq_arn: str
    rule_name: str
    rule_arn: str
    rule_event_pattern: str
    alarm_names: Any
    feed_events: dict[str, dict[str, str]]  # feed -> {"source", "detail_type"} the pipe sets

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any]) -> StackView:
        missing = [f for f in cls.__dataclass_fields__ if f not in outputs]
        if missing:
            raise KeyError(f"terraform outputs: missing {missing}; got {sorted(outputs)}")
        return cls(**{f: outputs[f] for f in cls.__dataclass_fields__})

    @property
    def feeds(self) -> list[str]:
        return sorted(self.topic_arns)
