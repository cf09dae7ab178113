"""Live market-data providers: the provider interface and its implementations (Alpaca, replay).

Names are imported on first use, so light modules of this package (e.g. `endpoints`, used by the
config model) do not pull in the websocket client.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AlpacaProvider": "workstation.live.alpaca",
    "HealthEvent": "workstation.live.provider",
    "MarketDataProvider": "workstation.live.provider",
    "NsClock": "workstation.live.provider",
    "ProviderHealth": "workstation.live.provider",
    "Quote": "workstation.live.provider",
    "WallClock": "workstation.live.provider",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'workstation.live' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
