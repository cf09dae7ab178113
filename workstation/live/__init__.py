"""Live market-data providers: the provider interface and its implementations (Alpaca, replay)."""

from workstation.live.alpaca import AlpacaProvider
from workstation.live.provider import (
    HealthEvent,
    MarketDataProvider,
    NsClock,
    ProviderHealth,
    Quote,
    WallClock,
)

__all__ = [
    "AlpacaProvider",
    "HealthEvent",
    "MarketDataProvider",
    "NsClock",
    "ProviderHealth",
    "Quote",
    "WallClock",
]
