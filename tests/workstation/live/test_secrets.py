"""No API key or secret in any log record at any level, in the CLI's output with -v, or in a run
folder; a rejected key ends a headless live run with a non-zero exit and a clear message."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from alpaca_helpers import KEY, MINUTE, SECRET, T0, WAIT, start
from alpaca_standin import AlpacaStandIn, bar_message

from workstation.live import ProviderHealth
from workstation.live.redaction import MIN_FRAGMENT, RedactingLogger, Redactor
from workstation.store import BarStore

ROOT = Path(__file__).resolve().parents[3]


def leaks(text: str) -> list[str]:
    """Pieces of the key or the secret (4 characters or more) found in `text`."""
    return sorted({secret[i : i + 4] for secret in (KEY, SECRET) for i in range(len(secret) - 3)
                   if secret[i : i + 4] in text})


def test_redactor_masks_secrets_their_pieces_and_json_fields():
    r = Redactor([KEY, SECRET])
    assert r.redact(f"auth {KEY} {SECRET}!") == "auth *** ***!"
    elided = '> TEXT \'{"action":"auth","key":"' + KEY + '","secret":"' + SECRET[:9] + "..." + SECRET[-12:] + '"}\''
    out = r.redact(elided)
    assert not leaks(out), out
    assert '"secret":"***' in out and '"key":"***' in out
    assert r.redact('{"secret": "abc') == '{"secret": "***'
    assert r.contains_secret(SECRET.encode()) and not r.contains_secret(b"hello")


def test_redacting_logger_formats_then_masks_and_drops_frames_with_credentials(caplog):
    base = logging.getLogger("test.redaction")
    log = RedactingLogger(base, [KEY, SECRET])

    class Frame:
        data = f'{{"key":"{KEY}","secret":"{SECRET}"}}'.encode()

        def __str__(self) -> str:
            return self.data.decode()

    with caplog.at_level(logging.DEBUG, logger="test.redaction"):
        log.debug("> %s", Frame())
        log.info("key %s secret %r", KEY, SECRET)
        try:
            raise ValueError(f"bad {SECRET}")
        except ValueError:
            log.exception("failed with %s", KEY[:MIN_FRAGMENT + 2])
    text = "\n".join(rec.getMessage() for rec in caplog.records)
    assert not leaks(text), text
    assert "Frame with credentials, not logged" in text
    assert "ValueError: bad ***" in text
    assert all(rec.exc_info is None for rec in caplog.records)


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR])
def test_no_secret_in_any_log_record_of_a_whole_provider_life(make_provider, standin, caplog, monkeypatch, level):
    """Connect, authenticate, stream, malformed frames, drop and reconnect, errors, history, then a
    rejected key: nothing any logger above `level` emits may hold a piece of the key or secret."""
    caplog.set_level(level)
    standin.replay_overlap = 1
    provider = make_provider()
    sink = start(provider, standin, ["AAA"])
    standin.push([bar_message("b", "AAA", T0, 100)])
    standin.send_raw(f'[{{"T": "b", "S": "{SECRET}", "o": "x"}}]')     # a hostile echo of the secret
    standin.send_error(499, f"weird {KEY}", close=False)
    deadline = time.monotonic() + WAIT
    while provider.stats()["server_errors"] < 1 or provider.stats()["malformed_messages"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    standin.drop()
    assert standin.wait_until(lambda: len(standin.subscribe_messages) == 2, timeout=WAIT)
    assert sink.wait_for(1)
    provider.request_history("AAA", "1m", T0, T0 + MINUTE)
    provider.close()
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET + "-wrong")
    bad = make_provider()
    bad.subscribe(["AAA"], ["1m"])
    bad.connect()
    assert bad.wait_for_health({ProviderHealth.FAILED}, WAIT) is ProviderHealth.FAILED
    bad.close()

    mine = [rec for rec in caplog.records if not rec.name.startswith(("alpaca_standin", "websockets.server"))]
    text = "\n".join(f"{rec.name} {rec.levelname} {rec.getMessage()}" for rec in mine)
    assert not leaks(text), leaks(text)
    assert all(rec.levelno >= level for rec in mine)
    if level == logging.DEBUG:
        # the websocket library did log its frames (through our logger): the check above is not vacuous
        wire = [rec.getMessage() for rec in mine if rec.name.endswith(".wire")]
        assert any(m.startswith("> TEXT") for m in wire) and any("credentials, not logged" in m for m in wire)
    if level <= logging.WARNING:
        assert "weird ***" in text and "unknown code" in text


def _live_config(tmp_path: Path, standin: AlpacaStandIn) -> Path:
    store = tmp_path / "store"
    BarStore(store, create=True).write_bars(pd.DataFrame({
        "symbol": ["AAA"], "timestamp": pd.to_datetime(["2024-01-02 14:30"], utc=True),
        "open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0], "volume": [1.0]}), "1m")
    cfg = {
        "name": "secrets check", "mode": "live", "symbols": ["AAA"],
        "streams": {"interval": "1m", "derived": ["5m"], "indicators": []},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": []},
        "backtest": {"start_date": "2024-01-02", "end_date": "2024-01-02"},
        "data_source": {"store_path": str(store)},
        "live": {"provider": "alpaca", "alpaca": {"ws_url": standin.ws_url, "rest_url": standin.rest_url}},
    }
    path = tmp_path / "live.json"
    path.write_text(json.dumps(cfg), encoding="utf-8")
    return path


def _run_cli(tmp_path: Path, config: Path, secret: str, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "APCA_API_KEY_ID": KEY, "APCA_API_SECRET_KEY": secret, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "workstation.cli", "-v", "run", str(config), "--out", str(tmp_path / "run"),
         *extra],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )


def test_cli_verbose_live_run_shows_where_keys_go_and_never_the_keys(tmp_path, standin):
    config = _live_config(tmp_path, standin)
    done = _run_cli(tmp_path, config, SECRET, "--duration", "3s")
    assert done.returncode == 0, done.stderr[-2000:]
    assert standin.auth_messages and standin.auth_messages[0]["secret"] == SECRET     # it did authenticate
    assert f"API keys (from APCA_API_KEY_ID, APCA_API_SECRET_KEY) go to 127.0.0.1:{standin.port} (stream)" \
        in done.stderr
    assert "DEBUG workstation.live.alpaca.provider.wire: > TEXT" in done.stderr   # -v did log frames
    assert not leaks(done.stdout + done.stderr), leaks(done.stdout + done.stderr)
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert any(p.name == "live_status.json" for p in files)
    for path in files:
        assert not leaks(path.read_bytes().decode("utf-8", "replace")), path


def test_a_rejected_key_ends_the_headless_run_with_an_error_exit_and_a_clear_message(tmp_path, standin):
    config = _live_config(tmp_path, standin)
    done = _run_cli(tmp_path, config, "wrong-secret-value-123", "--duration", "60s")
    assert done.returncode == 1
    assert ("error: the live run failed: the live feed (alpaca) failed: Alpaca rejected the API key "
            "(402 auth failed): check APCA_API_KEY_ID / APCA_API_SECRET_KEY") in done.stderr
    assert len(standin.auth_messages) == 1            # not retried
    status = json.loads((tmp_path / "run" / "live_status.json").read_text())
    assert status["health"] == "FAILED"
    assert "wrong-secret" not in done.stderr + done.stdout
