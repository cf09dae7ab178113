"""A TimeManager shipped to sweep workers (pickled) answers exactly as the original, loads other years
on demand, is small, and counts its own cache hits."""

from __future__ import annotations

import pickle

from workstation.calendar import TimeManager


def test_a_pickled_calendar_answers_like_the_original():
    original = TimeManager("XNYS", "America/New_York")
    original.sessions("2023-11-01", "2024-12-06")
    data = pickle.dumps(original)
    assert len(data) < 50_000  # the years' tables, not the exchange calendar's own caches
    copy = pickle.loads(data)
    assert copy.stats.hits == copy.stats.misses == 0 and copy.stats.years_loaded == 2
    for start, end in (("2023-11-01", "2024-12-06"), ("2020-02-20", "2020-03-20")):  # loaded, then not loaded
        assert copy.sessions(start, end) == original.sessions(start, end)
    assert copy.trailing_dates("2024-11-29", "52w") == original.trailing_dates("2024-11-29", "52w")
    assert copy.session("2024-11-29").early_close and copy.session("2024-11-28") is None
