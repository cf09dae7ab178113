"""LiveSystemManager: a SystemManager whose clock and data come from a live provider.

The same stages and strategies as a backtest; paper only (the simulated broker, no order is ever
sent anywhere). Provider "replay" plays the bar store as if live on a ReplayClock; provider
"alpaca" streams Alpaca market data on the wall clock (keys from environment variables).
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd

from workstation.calendar import WallClock
from workstation.config import SessionConfig
from workstation.errors import ConfigError
from workstation.live.coordinator import LiveCoordinator
from workstation.live.gap_filler import GapFiller
from workstation.live.known_empty import KnownEmptyMinutes
from workstation.live.replay import ReplayClock, ReplayProvider
from workstation.model import parse_interval
from workstation.pipeline.quality import GapStatus
from workstation.system import SystemManager


class LiveSystemManager(SystemManager):
    """Live run: `duration_s` limits it (None = until the last session ends or stop())."""

    coordinator: LiveCoordinator  # replaces the backtest's coordinator in __init__

    def __init__(self, cfg: SessionConfig, *args, duration_s: float | None = None, provider=None, clock=None,
                 **kwargs):
        self.duration_s = duration_s
        self._provider_override = provider
        self._clock_override = clock
        if "stage_threads" not in cfg.backtest.model_fields_set:
            # a live bar time is latency-bound, not throughput-bound: the stages run in the coordinator's
            # thread unless the config asks for threads (no cross-thread hand-offs: p50 1.3 ms instead
            # of 2.0 ms bar -> decision at 100 symbols, benchmarks/bench_live.py)
            cfg = cfg.model_copy(deep=True)
            cfg.backtest.stage_threads = False
        super().__init__(cfg, *args, **kwargs)

    def _validate_inputs(self) -> list:
        cfg = self.cfg
        if cfg.live.provider == "replay":
            return super()._validate_inputs()
        now_ns = self._clock_override.now_ns() if self._clock_override is not None else time.time_ns()
        today = pd.Timestamp(now_ns, unit="ns", tz="UTC").tz_convert(cfg.timezone).date()
        sessions = self.tm.sessions(today, today + dt.timedelta(days=14))
        if not sessions:
            raise ConfigError("(config)", [("live", "no trading session in the next two weeks")])
        return sessions

    def _make_clock(self):
        if self._clock_override is not None:
            return self._clock_override
        cfg = self.cfg
        if cfg.live.provider == "replay":
            rp = cfg.live.replay
            if rp.start is not None:
                start = pd.Timestamp(rp.start)
                start = start.tz_localize(cfg.timezone) if start.tzinfo is None else start
                start_ns = int(start.tz_convert("UTC").value)
            else:
                start_ns = self.sessions[0].open_ns
            return ReplayClock(start_ns, rp.speed)
        return WallClock()

    def _make_provider(self, clock):
        if self._provider_override is not None:
            return self._provider_override
        cfg = self.cfg
        if cfg.live.provider == "replay":
            rp = cfg.live.replay
            return ReplayProvider(self.store, self.tm, clock, rp.drop_fraction, rp.delay_fraction, rp.delay_seconds,
                                  rp.seed, end_date=cfg.backtest.end_date)
        from workstation.live.alpaca import AlpacaProvider

        a = cfg.live.alpaca
        return AlpacaProvider(ws_url=a.stream_url(), rest_url=a.rest_url, feed=a.feed, key_env=a.key_env,
                              secret_env=a.secret_env, clock=clock, quiet_after_s=cfg.live.quiet_after_seconds)

    def _build(self) -> None:
        super()._build()
        cfg = self.cfg
        self.mode = "live"
        self.clock = self._make_clock()
        self.provider = self._make_provider(self.clock)
        # the stages read the live clock
        self.analysis.ctx._clock = self.clock
        self.analysis.clock = self.clock
        step_ns = parse_interval(cfg.streams.interval).ns
        deadline = time.monotonic() + self.duration_s if self.duration_s else None
        speed = float(getattr(self.clock, "speed", 1.0))
        self.known_empty = KnownEmptyMinutes(step_ns)
        old = self.coordinator
        self.coordinator = LiveCoordinator(
            cfg, self.store, self.tm, self.session_data, self.clock, self.pipeline, self.historical, self.metrics,
            self.events, self.control, self.sessions,
            provider=self.provider, gap_filler=None, deadline_wall=deadline,
            grace_s=cfg.live.grace_seconds, batch_quiet_ms=cfg.live.quiet_ms(), known_empty=self.known_empty,
            # the trailing gaps of a session settle in the history `settle` (market time) after the close
            end_wait_s=5.0 + self.known_empty.settle_ns / 1e9 / speed,
        )
        del old
        self.gap_filler = GapFiller(
            self.provider, self.coordinator.deliver_fill, cfg.streams.interval, step_ns,
            cfg.gap_filler.max_retries, cfg.gap_filler.retry_interval_seconds, self.events,
            # a bar merely late arrives within seconds (market time): wait that long before asking
            first_delay_s=min(2.0, 10.0 / speed), present_starts=self.coordinator.present_starts,
            on_failed=self.coordinator.gap_failed, known_empty=self.known_empty, clock=self.clock,
            on_resolved=self.coordinator.gap_resolved)
        self.coordinator.gap_filler = self.gap_filler

    def start(self) -> None:
        if hasattr(self.clock, "rebase"):
            self.clock.rebase()                 # a replay starts when the run starts, not when built
        if self.duration_s:
            self.coordinator.deadline_wall = time.monotonic() + self.duration_s
        super().start()

    def live_status(self) -> dict:
        """What the live monitor shows: provider health, per-symbol feed figures, gaps, latency."""
        c = self.coordinator
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
            "quarantine": c.bar_checks.summary(),
            "no_trade_minutes": self.known_empty.counts(),
            "history_requests": len(self.gap_filler.requests),
            "catch_up_error": c.catch_up_error,
            "gaps": [g.as_dict() for g in self.gap_filler.gaps],
            "fill_log": list(self.gap_filler.log),
        }

    def summary(self) -> dict:
        out = super().summary()
        c = self.coordinator
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
            "bars_quarantined": c.bar_checks.quarantined,
            "latency_ms_p50": lat[len(lat) // 2] if lat else None,
            "latency_ms_p99": lat[int(0.99 * (len(lat) - 1))] if lat else None,
            "fill_ms_max": fills[-1] if fills else None,
        })
        return out
