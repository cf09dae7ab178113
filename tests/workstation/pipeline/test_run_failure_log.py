"""A run that stops on a WorkstationError (a live feed that failed, a damaged store file) logs its reason as
one line, the traceback only at debug level (`-v`); anything else (a bug) keeps its traceback."""

from __future__ import annotations

import logging

import pytest

from workstation.config import validate_config_dict
from workstation.errors import StoreError
from workstation.pipeline.feed import StoreFeed
from workstation.system import SystemManager


@pytest.mark.parametrize("error, traceback", [(StoreError("the bar file x.parquet is damaged"), False),
                                              (RuntimeError("a bug"), True)])
def test_the_reason_a_run_stopped_is_logged_once_and_a_bug_with_its_traceback(store, monkeypatch, caplog, error,
                                                                             traceback):
    def fail(self, *args, **kwargs):
        raise error

    monkeypatch.setattr(StoreFeed, "session", fail)
    cfg = validate_config_dict({
        "name": "fails", "symbols": ["ACME", "BOLT"],
        "backtest": {"start_date": "2024-12-04", "end_date": "2024-12-04"},
        "historical": {"trailing_days": 0, "warmup_bars": 0},
        "strategies": [{"name": "sma", "class_path": "sma_crossover"}], "risk": {"min_quality_pct": 0},
    })
    system = SystemManager(cfg, store=store)
    with caplog.at_level(logging.DEBUG, logger="workstation.pipeline.coordinator"):
        system.start()
        assert system.wait(60)
    assert system.error is error
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    if traceback:
        assert errors[0].getMessage() == "coordinator failed" and errors[0].exc_info is not None
    else:
        assert errors[0].getMessage() == f"the run stopped: {error}" and not errors[0].exc_info
        assert any(r.levelno == logging.DEBUG and r.exc_info for r in caplog.records)    # -v still has it
