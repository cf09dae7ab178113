"""Helpers for whole-run tests (build stores, configs, run to the end, canonical trades)."""

from __future__ import annotations

from pathlib import Path

from workstation.config import validate_config_dict
from workstation.store import BarStore


def store_from_frame(df, root: Path) -> BarStore:
    store = BarStore(root, create=True)
    store.write_bars(df, "1m")
    return store


def crossover_config(symbols, start, end, **over) -> dict:
    """A config reproducing the peer benchmark's semantics exactly (no risk, no costs)."""
    cfg = {
        "name": "sma crossover reference semantics",
        "symbols": list(symbols),
        "streams": {"interval": "1m", "derived": over.pop("derived", []), "indicators": over.pop("indicators", [])},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": [], "enable_quality": False},
        "backtest": {"start_date": str(start), "end_date": str(end), "speed_multiplier": 0, "prefetch_days": 2},
        "strategies": [{"name": "sma_5_20", "class_path": "sma_crossover",
                        "params": {"fast": 5, "slow": 20, "quantity": 100}}],
        "risk": {"min_quality_pct": 0, "min_confidence": 0, "max_position_qty": 1e12},
        "execution": {"fill_rule": "next_open", "commission_per_share": 0, "commission_min": 0,
                      "slippage_bps": 0, "starting_cash": 1e9},
    }
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k].update(v)
        else:
            cfg[k] = v
    return cfg


def run_to_end(cfg_dict: dict, store: BarStore, subscribe=None, timeout: float = 120.0):
    """Build, run to completion and return the SystemManager."""
    from workstation.system import SystemManager

    cfg = validate_config_dict(cfg_dict)
    system = SystemManager(cfg, store=store)
    if subscribe:
        for kind, cb in subscribe.items():
            system.events.subscribe(kind, cb)
    system.start()
    assert system.wait(timeout), "run did not finish in time"
    assert system.error is None, system.error
    return system


def canonical(trades, iso) -> list[dict]:
    """Engine trades as the bench's canonical dicts (times ISO Z, prices to the cent)."""
    out = [{"symbol": t.symbol, "entry_time": iso(t.entry_time), "entry_price": round(t.entry_price, 2),
            "exit_time": iso(t.exit_time), "exit_price": round(t.exit_price, 2)} for t in trades]
    out.sort(key=lambda t: (t["symbol"], t["entry_time"]))
    return out
