"""Backtest Workstation engine: replay, backtest and live-monitor intraday 1-minute bar sessions.

The engine never imports Qt; the `ui` package adapts it to PySide6.
"""

__version__ = "0.1.0"
