"""The lines under a run's figures, shared by the results view and the reports."""

from __future__ import annotations

from workstation.report.formatting import run_time_text, sharpe_note


def test_the_sharpe_note_says_what_the_figure_stands_on_or_why_there_is_none():
    assert sharpe_note({"sharpe": 1.2, "sessions": 231}) == "annualised, 231 daily returns"
    assert sharpe_note({"sharpe": 1.2, "sessions": 1_250}, short=True) == "1,250 daily returns"
    assert sharpe_note({"sharpe": None, "sessions": 1}) == "needs \u2265 2 sessions"
    assert sharpe_note({"sharpe": None, "sessions": 5}) == "no volatility"


def test_the_run_time_says_the_pause_and_an_older_summary_without_one_reads_as_before():
    paused = {"elapsed_s": 422.1, "paused_s": 418.0, "bars_per_s": 2587.4}
    assert run_time_text(paused, 1) == "422.1 s, 418.0 s of it paused (2,587 bars/s playing)"
    assert run_time_text(paused, 1, rate=False) == "422.1 s, 418.0 s of it paused"
    assert run_time_text({"elapsed_s": 4.1, "bars_per_s": 2587.4}) == "4.10 s (2,587 bars/s)"
