"""Fixtures of the sweep tests: one small demo store per session and a config that exercises every
kind of stored bar a run reads (warm-up, trailing days, intraday averages, daily indicators)."""

from __future__ import annotations

from pathlib import Path

import pytest

SWEEP_SYMBOLS = ("ACME", "BOLT", "CYRX")


@pytest.fixture(scope="session")
def sweep_store(tmp_path_factory) -> Path:
    """3 demo symbols, the 20 sessions 2024-11-08 .. 2024-12-06 (Thanksgiving and the early close of
    2024-11-29 inside) and a year of daily bars before."""
    from workstation.store import generate_demo

    root = tmp_path_factory.mktemp("sweep_store") / "store"
    generate_demo(root, symbols=list(SWEEP_SYMBOLS), days=20, seed=5)
    return root


def sweep_config(store: Path, start: str = "2024-11-25", end: str = "2024-11-29", **over) -> dict:
    """SMA crossover on three symbols with warm-up, trailing bars and historical indicators."""
    cfg = {
        "name": "sweep test",
        "symbols": list(SWEEP_SYMBOLS),
        "streams": {"interval": "1m", "derived": ["5m"], "indicators": ["sma(20)"]},
        "historical": {
            "trailing_days": 3,
            "warmup_bars": 120,
            "indicators": [
                {"name": "avg_volume_5d", "kind": "avg_daily", "field": "volume", "period": "5d"},
                {"name": "avg_volume_by_minute_4d", "kind": "avg_intraday", "field": "volume", "period": "4d"},
                {"name": "high_52w", "kind": "max", "field": "high", "period": "52w"},
            ],
        },
        "backtest": {"start_date": start, "end_date": end, "speed_multiplier": 0},
        "strategies": [{"name": "sma", "class_path": "sma_crossover",
                        "params": {"fast": 5, "slow": 20, "quantity": 100}}],
        "risk": {"min_quality_pct": 0, "min_confidence": 0, "max_position_qty": 1e9},
        "execution": {"commission_per_share": 0.005, "commission_min": 1.0, "slippage_bps": 1.0},
        "data_source": {"store_path": str(store)},
    }
    cfg.update(over)
    return cfg
