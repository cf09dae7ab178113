"""Fixtures of the live tests: the loopback Alpaca stand-in, keys in the environment, providers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from alpaca_helpers import KEY, SECRET, provider_threads
from alpaca_standin import AlpacaStandIn

from workstation.live import AlpacaProvider


@pytest.fixture
def standin() -> Iterator[AlpacaStandIn]:
    server = AlpacaStandIn(KEY, SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APCA_API_KEY_ID", KEY)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)


@pytest.fixture
def make_provider(standin: AlpacaStandIn, keys: None) -> Iterator[Callable[..., AlpacaProvider]]:
    """Build providers wired to the stand-in with fast back-off; all are closed after the test."""
    made: list[AlpacaProvider] = []

    def make(**kwargs: object) -> AlpacaProvider:
        settings: dict[str, object] = {
            "ws_url": standin.ws_url,
            "rest_url": standin.rest_url,
            "initial_backoff_s": 0.05,
            "max_backoff_s": 0.2,
            "jitter": 0.0,
        }
        settings.update(kwargs)
        provider = AlpacaProvider(**settings)  # type: ignore[arg-type]
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()
    assert provider_threads() == []
