"""StreamSubscription on its own: the ready handshake, waits, overruns."""

from __future__ import annotations

import threading

from workstation.pipeline.subscription import StreamSubscription


def test_nothing_pending_means_ready_at_once():
    sub = StreamSubscription("x")
    assert sub.wait_until_ready(0.0) is True and sub.waits == 0


def test_ready_from_another_thread_ends_the_wait():
    sub = StreamSubscription("x")
    sub.start_cycle()
    threading.Timer(0.05, sub.signal_ready).start()
    assert sub.wait_until_ready(None) is True
    assert sub.waits == 1 and sub.overruns == 0
    assert sub.wait_until_ready(0.0) is True                    # nothing owed any more


def test_a_late_consumer_counts_an_overrun_and_is_still_waited_for():
    sub = StreamSubscription("x")
    sub.start_cycle()
    assert sub.wait_until_ready(0.01) is False and sub.overruns == 1
    sub.signal_ready()
    sub.signal_ready()                                          # twice: harmless
    assert sub.wait_until_ready(None) is True
    stats = sub.stats()
    assert stats["overruns"] == 1 and stats["waits"] == 2


def test_reset_forgets_an_owed_signal():
    sub = StreamSubscription("x")
    sub.start_cycle()
    sub.signal_ready()
    sub.reset()
    sub.start_cycle()
    assert sub.is_ready() is False                              # the old signal is gone
