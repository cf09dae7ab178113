"""LiveSystemManager: a SystemManager given a live clock and a provider feed.

The same stages, strategies and coordinator as a backtest, built once; paper only (the simulated
broker, no order is ever sent anywhere). The live clock and the ProviderFeed (workstation.live.feed)
are made first and passed in: the stages read that clock from the start, the coordinator streams
what the feed hands it. Provider "replay" plays the bar store as if live on a ReplayClock; provider
"alpaca" streams Alpaca market data on the wall clock (keys from environment variables).
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workstation.calendar import TimeManager, WallClock
from workstation.errors import ConfigError, WorkstationError
from workstation.events import EventBus
from workstation.live.bar_checks import LiveBarChecks
from workstation.live.feed import FillSettings, ProviderFeed
from workstation.live.gap_filler import GapFiller
from workstation.live.known_empty import KnownEmptyMinutes
from workstation.live.replay import ReplayClock, ReplayProvider
from workstation.model import parse_interval
from workstation.pipeline.quality import GapStatus
from workstation.store import BarStore
from workstation.store.schema import STORE_FILE
from workstation.system import SystemManager, resolve_store_path, run_bar_source, run_time_manager

if TYPE_CHECKING:
    from workstation.config import SessionConfig


log = logging.getLogger(__name__)


def live_clock(cfg: SessionConfig, tm: TimeManager):
    """The clock of a live run: a ReplayClock from the replay's start (default: the first session's open)
    at its speed, or the wall clock."""
    if cfg.live.provider != "replay":
        return WallClock()
    rp = cfg.live.replay
    if rp.start is not None:
        start = pd.Timestamp(rp.start)
        start = start.tz_localize(cfg.timezone) if start.tzinfo is None else start
        start_ns = int(start.tz_convert("UTC").value)
    else:
        sessions = tm.sessions(cfg.backtest.start_date, cfg.backtest.end_date)
        start_ns = sessions[0].open_ns if sessions else 0      # no session: the build says so
    return ReplayClock(start_ns, rp.speed, held=True)    # runs from the run's start (LiveFeed.run_starts)


def live_provider(cfg: SessionConfig, store, tm: TimeManager, clock):
    """The market-data provider the config names, on `clock`."""
    if cfg.live.provider == "replay":
        rp = cfg.live.replay
        return ReplayProvider(store, tm, clock, rp.drop_fraction, rp.delay_fraction, rp.delay_seconds,
                              rp.seed, end_date=cfg.backtest.end_date)
    from workstation.live.alpaca import AlpacaProvider

    a = cfg.live.alpaca
    return AlpacaProvider(ws_url=a.stream_url(), rest_url=a.rest_url, feed=a.feed, key_env=a.key_env,
                          secret_env=a.secret_env, clock=clock, quiet_after_s=cfg.live.quiet_after_seconds)


def provider_feed(cfg: SessionConfig, provider, clock, duration_s: float | None = None) -> ProviderFeed:
    """The live feed of `provider` on `clock`, set up from the config (grace, quiet window, gap filler)."""
    step_ns = parse_interval(cfg.streams.interval).ns
    speed = float(getattr(clock, "speed", 1.0))
    known_empty = KnownEmptyMinutes(step_ns)
    fill = FillSettings(cfg.gap_filler.max_retries, cfg.gap_filler.retry_interval_seconds,
                        # a bar merely late arrives within seconds (market time): wait that long before asking
                        first_delay_s=min(2.0, 10.0 / speed))
    return ProviderFeed(provider, clock, fill, grace_s=cfg.live.grace_seconds, batch_quiet_ms=cfg.live.quiet_ms(),
                        # the trailing gaps of a session settle in the history `settle` (market time) after the close
                        end_wait_s=5.0 + known_empty.settle_ns / 1e9 / speed, duration_s=duration_s,
                        known_empty=known_empty)


class LiveSystemManager(SystemManager):
    """Live run: `duration_s` limits it (None = until the last session ends or stop()). `provider` and
    `clock` replace the ones the config names (tests, benchmarks)."""

    feed: ProviderFeed

    def __init__(self, cfg: SessionConfig, store: BarStore | None = None, store_path: str | Path | None = None,
                 time_manager: TimeManager | None = None, events: EventBus | None = None, thread_factory=None,
                 rewindable: bool = False, *, duration_s: float | None = None, provider=None, clock=None):
        if rewindable:
            raise WorkstationError("a live run cannot step back or seek (build it with rewindable=False)")
        if "stage_threads" not in cfg.backtest.model_fields_set:
            # a live bar time is latency-bound, not throughput-bound: the stages run in the coordinator's
            # thread unless the config asks for threads (no cross-thread hand-offs: p50 1.3 ms instead
            # of 2.0 ms bar -> decision at 100 symbols, benchmarks/bench_live.py)
            cfg = cfg.model_copy(deep=True)
            cfg.backtest.stage_threads = False
        self.duration_s = duration_s
        tm = run_time_manager(cfg, time_manager)
        clock = clock if clock is not None else live_clock(cfg, tm)
        self._no_store: tempfile.TemporaryDirectory | None = None
        if cfg.live.provider != "replay":
            if provider is None:             # its keys checked before the store is looked at
                provider = live_provider(cfg, None, tm, clock)
            if store is None:
                store = self._empty_store_when_missing(cfg, tm, store_path)
        bars = run_bar_source(cfg, tm, store, store_path)
        self.provider = provider if provider is not None else live_provider(cfg, bars, tm, clock)
        super().__init__(cfg, store=bars, time_manager=tm, events=events, thread_factory=thread_factory,
                         clock=clock, feed=provider_feed(cfg, self.provider, clock, duration_s))

    def _empty_store_when_missing(self, cfg: SessionConfig, tm: TimeManager,
                                  store_path: str | Path | None) -> BarStore | None:
        """A live run on a provider (not a replay) needs no bar store: without one at the config's path it
        starts with no stored history (no warm-up, trailing bars or historical indicators; the provider's
        own history still catches up on the session), from an empty store of its own, and says so. None
        when the store is there (the run opens it as usual)."""
        path = Path(store_path) if store_path else resolve_store_path(cfg)
        if (path / STORE_FILE).is_file():
            return None
        log.warning("no bar store at %s: the live run starts without stored history (no indicator warm-up, "
                    "trailing bars or historical indicators); fetch history into a store "
                    "(`workstation fetch`) and point data_source.store_path to it to have them", path)
        self._no_store = tempfile.TemporaryDirectory(prefix="workstation-live-no-store-")
        return BarStore(Path(self._no_store.name) / "store", create=True, exchange=cfg.exchange, time_manager=tm)

    def _validate_inputs(self) -> list:
        cfg = self.cfg
        if cfg.live.provider == "replay":
            return super()._validate_inputs()
        now_ns = self._given_clock.now_ns() if self._given_clock is not None else time.time_ns()
        today = pd.Timestamp(now_ns, unit="ns", tz="UTC").tz_convert(cfg.timezone).date()
        sessions = self.tm.sessions(today, today + dt.timedelta(days=14))
        if not sessions:
            raise ConfigError("(config)", [("live", "no trading session in the next two weeks")])
        return sessions

    def _build(self) -> None:
        super()._build()
        self.mode = "live"
        feed = self.feed
        assert feed.gap_filler is not None and feed.known_empty is not None and feed.bar_checks is not None
        self.gap_filler: GapFiller = feed.gap_filler          # made by the feed when bound to this run
        self.known_empty: KnownEmptyMinutes = feed.known_empty
        self.bar_checks: LiveBarChecks = feed.bar_checks

    def start(self) -> None:
        self.feed.run_starts()          # a replay's pace and the duration count from now
        super().start()

    def live_status(self) -> dict:
        """What the live monitor shows: provider health, per-symbol feed figures, gaps, latency."""
        c = self.feed
        lat = sorted(c.latencies_ms[-5000:])
        p99 = lat[int(0.99 * (len(lat) - 1))] if lat else float("nan")
        return {
            "provider": self.provider.name,
            "health": str(self.provider.health),
            "health_history": [(e.time_ns, str(e.state), e.detail) for e in self.provider.health_history()],
            "provider_stats": self.provider.stats(),
            "clock_ns": self.clock.now_ns(),
            "symbols": list(c.symbols),
            "last_bar_ts": np.array(c.last_bar_ts, dtype=np.int64),
            "feed_latency_ms": np.array(c.feed_latency_ms, dtype=float),
            "messages": np.array(c.messages, dtype=np.int64),
            "pipeline_latency_p99_ms": p99,
            "late_bars": c.late_bars,
            "filled_bars": c.filled_bars,
            "key_destinations": self.provider.key_destinations(),
            "quarantine": self.bar_checks.summary(),
            "no_trade_minutes": self.known_empty.counts(),
            "history_requests": len(self.gap_filler.requests),
            "catch_up_error": c.catch_up_error,
            "gaps": [g.as_dict() for g in self.gap_filler.gaps],
            "fill_log": list(self.gap_filler.log),
        }

    def summary(self) -> dict:
        out = super().summary()
        c = self.feed
        lat = sorted(c.latencies_ms)
        fills = sorted(c.fill_latencies_ms)
        gaps = self.gap_filler.gaps
        out.update({
            "mode": "live",
            "provider": self.provider.name,
            "health": str(self.provider.health),
            "late_bars": c.late_bars,
            "filled_bars": c.filled_bars,
            "gaps_found": len(gaps),
            "gaps_filled": sum(1 for g in gaps if g.status == GapStatus.FILLED),
            "gaps_failed": sum(1 for g in gaps if g.status == GapStatus.FAILED),
            "gaps_no_trades": sum(1 for g in gaps if g.status == GapStatus.NO_TRADES),
            "no_trade_minutes": sum(self.known_empty.counts().values()),
            "bars_quarantined": self.bar_checks.quarantined,
            "latency_ms_p50": lat[len(lat) // 2] if lat else None,
            "latency_ms_p99": lat[int(0.99 * (len(lat) - 1))] if lat else None,
            "fill_ms_max": fills[-1] if fills else None,
        })
        return out
