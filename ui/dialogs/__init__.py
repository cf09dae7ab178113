"""Dialogs of the Backtest Workstation GUI (the session config editor)."""
