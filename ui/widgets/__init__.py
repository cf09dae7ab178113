"""Dockable panels of the main window: candles, quality gauges, speed control, signal log, metrics."""
