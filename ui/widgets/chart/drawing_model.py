"""Drawings on charts (horizontal line, trend line, rectangle, text note), kept per symbol with the
session config in a sidecar file next to it: ``session_configs/NAME.drawings.json``.

A drawing's points are (time, price): times are UTC (ns in memory, ISO 8601 in the file), so a line
drawn on the 1m chart sits at the same moments on the 5m chart. The file is written atomically after
every change; a file that cannot be read is set aside as ``NAME.drawings.json.unreadable-<time>``
(never overwritten) and the problem reported. UI thread only.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import logging
import math
import os
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from PySide6 import QtCore

from ui.widgets.chart.theme import ChartTheme
from workstation.atomic_files import write_text_atomic

log = logging.getLogger(__name__)

FORMAT = "backtest-workstation drawings"
VERSION = 1
# a new drawing's colour (the chart theme's: light, and no indicator's)
DEFAULT_COLOR = ChartTheme.new_drawing
# the colours a drawing's context menu offers (name, colour)
DRAWING_COLORS: tuple[tuple[str, str], ...] = (
    ("White", DEFAULT_COLOR),
    ("Yellow", "#ffeb3b"),
    ("Cyan", "#00bcd4"),
    ("Green", "#00e676"),
    ("Red", "#ff5252"),
    ("Purple", "#b388ff"),
    ("Blue", "#2962ff"),
)


class DrawingKind(enum.Enum):
    """The drawing tools."""

    HORIZONTAL_LINE = "horizontal_line"
    TREND_LINE = "trend_line"
    RECTANGLE = "rectangle"
    TEXT_NOTE = "text_note"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def point_count(self) -> int:
        """Points that define a drawing of this kind."""
        return 2 if self in (DrawingKind.TREND_LINE, DrawingKind.RECTANGLE) else 1


@dataclass(frozen=True)
class Drawing:
    """One drawing: kind, points as (time ns UTC, price), text (notes) and colour."""

    id: str
    kind: DrawingKind
    points: tuple[tuple[int, float], ...]
    text: str = ""
    color: str = DEFAULT_COLOR

    @staticmethod
    def new(kind: DrawingKind, points, text: str = "", color: str = DEFAULT_COLOR) -> Drawing:
        """A drawing with a fresh id (validated)."""
        drawing = Drawing(uuid.uuid4().hex[:12], kind, tuple((int(t), float(p)) for t, p in points), text, color)
        drawing.check()
        return drawing

    def check(self) -> None:
        """Raise ValueError naming what is wrong."""
        if len(self.points) != self.kind.point_count:
            raise ValueError(f"a {self.kind.label.lower()} has {self.kind.point_count} point(s), got {len(self.points)}")
        for t, p in self.points:
            if not math.isfinite(p):
                raise ValueError(f"drawing {self.id}: price {p!r} is not a number")
            if not isinstance(t, int):
                raise ValueError(f"drawing {self.id}: time {t!r} is not an integer of ns")

    def moved(self, d_ns: int, d_price: float) -> Drawing:
        """The drawing shifted by a time and a price difference."""
        return replace(self, points=tuple((t + d_ns, p + d_price) for t, p in self.points))

    def with_point(self, k: int, ts: int, price: float) -> Drawing:
        """The drawing with point ``k`` moved to (ts, price)."""
        pts = list(self.points)
        pts[k] = (int(ts), float(price))
        return replace(self, points=tuple(pts))

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "points": [[_iso(t), p] for t, p in self.points],
            "text": self.text,
            "color": self.color,
        }

    @staticmethod
    def from_json(data: dict) -> Drawing:
        """Parse one drawing of the sidecar file; ValueError naming the problem."""
        try:
            kind = DrawingKind(data["kind"])
            points = tuple((int(pd.Timestamp(t).tz_convert("UTC").value), float(p)) for t, p in data["points"])
            drawing = Drawing(str(data["id"]), kind, points, str(data.get("text", "")), str(data.get("color", DEFAULT_COLOR)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"drawing {data!r:.80} cannot be read: {type(exc).__name__}: {exc}") from None
        drawing.check()
        return drawing


def _iso(ts_ns: int) -> str:
    return pd.Timestamp(ts_ns, tz="UTC").isoformat()


def sidecar_path(config_path: str | os.PathLike) -> Path:
    """Where the drawings of a config live: next to it, NAME.drawings.json."""
    p = Path(config_path)
    return p.with_name(p.stem + ".drawings.json")


class DrawingBook(QtCore.QObject):
    """The drawings of one config, per symbol; saves after every change (None path: in memory only)."""

    changed = QtCore.Signal(str)  # the symbol whose drawings changed
    problem = QtCore.Signal(str)  # a message for the user (file unreadable or not writable)

    def __init__(self, path: str | os.PathLike | None = None, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.path = Path(path) if path is not None else None
        self._by_symbol: dict[str, list[Drawing]] = {}
        self.load_problem: str | None = None
        if self.path is not None and self.path.exists():
            self._load()

    def symbols(self) -> list[str]:
        return sorted(s for s, d in self._by_symbol.items() if d)

    def drawings(self, symbol: str) -> list[Drawing]:
        """The drawings of a symbol, oldest first."""
        return list(self._by_symbol.get(symbol, ()))

    def get(self, symbol: str, drawing_id: str) -> Drawing | None:
        return next((d for d in self._by_symbol.get(symbol, ()) if d.id == drawing_id), None)

    def add(self, symbol: str, drawing: Drawing) -> None:
        drawing.check()
        self._by_symbol.setdefault(symbol, []).append(drawing)
        self._changed(symbol)

    def update(self, symbol: str, drawing: Drawing) -> None:
        """Replace the drawing with the same id."""
        drawing.check()
        items = self._by_symbol.get(symbol, [])
        for k, d in enumerate(items):
            if d.id == drawing.id:
                if d != drawing:
                    items[k] = drawing
                    self._changed(symbol)
                return
        raise KeyError(f"no drawing {drawing.id} on {symbol}")

    def remove(self, symbol: str, drawing_id: str) -> None:
        items = self._by_symbol.get(symbol, [])
        kept = [d for d in items if d.id != drawing_id]
        if len(kept) != len(items):
            self._by_symbol[symbol] = kept
            self._changed(symbol)

    def clear(self, symbol: str) -> None:
        """Remove every drawing of a symbol."""
        if self._by_symbol.get(symbol):
            self._by_symbol[symbol] = []
            self._changed(symbol)

    def _changed(self, symbol: str) -> None:
        self.save()
        self.changed.emit(symbol)

    # file ---------------------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "symbols": {s: [d.to_json() for d in items] for s, items in sorted(self._by_symbol.items()) if items},
        }

    def save(self) -> bool:
        """Write the file atomically (nothing to do in memory-only mode). False when it failed."""
        if self.path is None:
            return True
        text = json.dumps(self.to_json(), indent=2) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.path, text)      # with the user's umask (not mkstemp's 0600)
        except OSError as exc:
            message = f"cannot save the drawings to {self.path}: {exc.strerror or exc}"
            log.warning(message)
            self.problem.emit(message)
            return False
        return True

    def _load(self) -> None:
        assert self.path is not None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError(f"not a drawings file (no \"format\": \"{FORMAT}\")")
            if int(data.get("version", 0)) > VERSION:
                raise ValueError(f"version {data.get('version')} is newer than this program reads ({VERSION})")
            symbols = data.get("symbols", {})
            if not isinstance(symbols, dict):
                raise ValueError('"symbols" must be an object of symbol -> list of drawings')
            self._by_symbol = {str(s): [Drawing.from_json(d) for d in items] for s, items in symbols.items()}
        except (OSError, ValueError, TypeError) as exc:
            self._by_symbol = {}
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            aside = self.path.with_name(f"{self.path.name}.unreadable-{stamp}")
            try:
                os.replace(self.path, aside)
                kept = f"it was kept as {aside.name}"
            except OSError:
                kept = "it was left as it is"
                self.path = None  # never overwrite a file we could not read nor move
            self.load_problem = f"the drawings file cannot be read ({exc}); {kept} and the charts start without drawings"
            log.warning(self.load_problem)
