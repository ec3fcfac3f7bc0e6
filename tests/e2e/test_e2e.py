"""The seed's promise: each example event arrives in USERNAME-purchase-events as the expected
envelope, and every hop's metrics moved."""

from __future__ import annotations

import pytest

from pipecheck import e2e
from pipecheck.envelope import diff
from pipecheck.outputs import StackView
from pipecheck.publisher import Publisher, planted
from pipecheck.target import Target
from pipecheck.watcher import QueueWatcher


def _timeout(target: Target) -> float:
    return 30.0 if target.is_local else 180.0


def test_examples_arrive_exactly_with_hop_metrics(target: Target, view: StackView) -> None:
    outcome = e2e.run(target, view, _timeout(target), 10.0 if target.is_local else 600.0, lambda _: None)
    assert len(outcome.envelopes) == len(view.feeds), (
        f"got envelopes for {sorted(outcome.envelopes)}, expected {view.feeds}"
    )
    for feed, problems in outcome.problems.items():
        assert not problems, f"{feed}: " + "; ".join(problems)
    assert not outcome.shortfalls, "; ".join(outcome.shortfalls)


@pytest.mark.parametrize("feed", ["basket", "checkout"])
def test_planted_event_arrives_once_per_feed(target: Target, view: StackView, feed: str) -> None:
    event = planted(feed)
    Publisher(target.client("sns"), view.topic_arns).publish(feed, event)
    expected = e2e.expected_for(view, feed, event)
    watcher = QueueWatcher(target.client("sqs"), view.purchase_queue_url)
    received = watcher.collect([expected.matches_event], timeout=_timeout(target), linger=1.0)
    assert len(received) == 1, f"got {len(received)} copies of event {event['event_id']}, expected 1"
    problems = diff(received[0].body, expected)
    assert not problems, "; ".join(problems)


def test_nothing_left_behind_in_buffer_or_dead_letter_queues(target: Target, view: StackView) -> None:
    sqs = target.client("sqs")
    for url in [*view.buffer_queue_urls.values(), *view.buffer_dlq_urls.values(), view.purchase_dlq_url]:
        depth = QueueWatcher(sqs, url).depth()
        assert depth == 0, f"{url.rsplit('/', 1)[-1]}: got {depth} message(s), expected 0 after the happy path"
