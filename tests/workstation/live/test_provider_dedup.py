"""The provider's duplicate check remembers a bounded window of delivered bars."""

from __future__ import annotations

import workstation.live.provider as provider_module
from workstation.live.provider import MarketDataProvider
from workstation.model import Bar

DAY = 86_400 * 1_000_000_000
MIN = 60_000_000_000


class _Provider(MarketDataProvider):
    def connect(self): ...
    def subscribe(self, symbols, intervals): ...
    def request_history(self, symbol, interval, start_ns, end_ns, timeout=10.0):
        return []
    def close(self): ...


def test_dedup_memory_is_pruned_to_the_window(monkeypatch):
    monkeypatch.setattr(provider_module, "DEDUP_PRUNE_EVERY", 100)
    p = _Provider("t")
    got = []
    p.set_bar_sink(lambda bar, _ns: got.append(bar))

    def bar(ts):
        return Bar("AAA", "1m", ts, 1.0, 1.0, 1.0, 1.0, 10.0)

    for k in range(150):                               # day 0
        p._deliver_bar(bar(k * MIN), 0)
    for k in range(150):                               # three days later
        p._deliver_bar(bar(3 * DAY + k * MIN), 0)
    assert len(got) == 300
    assert len(p._delivered) < 300                     # day 0 was forgotten at a pruning
    assert all(k[2] >= 3 * DAY - 2 * DAY for k in p._delivered)
    assert not p._deliver_bar(bar(3 * DAY + 5 * MIN), 0)   # a recent repeat is still a duplicate
    assert p.stats()["duplicates_dropped"] == 1
