"""Read-only result types of SessionData: bar views, latest bars, session metrics, quotes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

BAR_FIELDS = ("timestamp", "open", "high", "low", "close", "volume")


class BarsView(NamedTuple):
    """Columns of consecutive bars of one (symbol, interval); `timestamp` = bar START, int64 ns UTC.

    Session views are zero-copy, read-only numpy views into SessionData's storage: the slots they
    show never change until `clear_session` (which allocates new storage, so old views stay valid).
    `len(view)` is 6 (a tuple of columns): use `view.size` for the number of bars.
    """

    timestamp: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @property
    def size(self) -> int:
        """Number of bars in the view."""
        return int(self.timestamp.shape[0])

    def to_frame(self, tz: str | None = None) -> pd.DataFrame:
        """A pandas DataFrame indexed by bar start (UTC, or `tz` for display); copies the data."""
        import pandas as pd

        index = pd.DatetimeIndex(pd.to_datetime(np.asarray(self.timestamp), unit="ns", utc=True), name="time")
        if tz is not None:
            index = index.tz_convert(tz)
        return pd.DataFrame(
            {name: np.array(getattr(self, name)) for name in BAR_FIELDS[1:]},
            index=index,
        )


class LatestBars(NamedTuple):
    """The latest bar of many symbols: timestamp -1 and NaN prices where a symbol has no bar yet."""

    symbol_index: np.ndarray
    timestamp: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


class SessionMetrics(NamedTuple):
    """Running session figures of one symbol (from the streamed interval); NaN before its first bar."""

    volume: float
    high: float
    low: float
    last: float
    vwap: float


class SessionMetricsArrays(NamedTuple):
    """Session metrics of all symbols, one read-only array per figure, indexed like `symbols`."""

    volume: np.ndarray
    high: np.ndarray
    low: np.ndarray
    last: np.ndarray
    vwap: np.ndarray


class Quote(NamedTuple):
    """A top-of-book quote at `timestamp` (int ns UTC)."""

    timestamp: int
    bid: float
    ask: float
    bid_size: float
    ask_size: float


def empty_bars_view() -> BarsView:
    """A read-only BarsView with no bars."""
    ts = np.empty(0, dtype=np.int64)
    ts.flags.writeable = False
    f = np.empty(0, dtype=np.float64)
    f.flags.writeable = False
    return BarsView(ts, f, f, f, f, f)


def as_bars_view(frame: Any, what: str) -> BarsView:
    """Copy BarsView-like input (BarsView, mapping, DataFrame or object with the six columns) to a
    read-only BarsView with strictly increasing int64 timestamps; `what` names it in errors."""
    columns = []
    for name in BAR_FIELDS:
        values = _column(frame, name, what)
        if hasattr(values, "to_pandas") and hasattr(values, "type"):  # a pyarrow (chunked) array
            values = values.to_pandas()
        dtype = np.int64 if name == "timestamp" else np.float64
        if name == "timestamp" and getattr(values, "dtype", None) is not None and values.dtype.kind == "M":
            import pandas as pd  # datetimes only (not on the path to a run's first bar)

            values = _index_to_ns(pd.DatetimeIndex(values), what)
        arr = np.array(values, dtype=dtype, copy=True).reshape(-1)
        arr.flags.writeable = False
        columns.append(arr)
    n = columns[0].shape[0]
    for name, arr in zip(BAR_FIELDS, columns, strict=True):
        if arr.shape[0] != n:
            raise ValueError(f"{what}: column {name!r} has {arr.shape[0]} values, timestamp has {n}")
    ts = columns[0]
    if n > 1 and not bool(np.all(ts[1:] > ts[:-1])):
        k = int(np.flatnonzero(ts[1:] <= ts[:-1])[0])
        raise ValueError(
            f"{what}: timestamps must strictly increase; bar {k + 1} ({int(ts[k + 1])}) "
            f"is not after bar {k} ({int(ts[k])})"
        )
    return BarsView(*columns)


def _column(frame: Any, name: str, what: str) -> Any:
    """One column of `frame` by key (mapping, DataFrame, Arrow table) or attribute (NamedTuple)."""
    if name == "timestamp" and _is_data_frame(frame) and name not in frame.columns:
        return _index_to_ns(frame.index, what)
    if not isinstance(frame, tuple):
        try:
            return frame[name]
        except (KeyError, TypeError, IndexError, ValueError):
            pass
    try:
        return getattr(frame, name)
    except AttributeError:
        raise ValueError(f"{what}: missing column {name!r}") from None


def _is_data_frame(frame: Any) -> bool:
    """True for a pandas DataFrame, without importing pandas for other input (the path to a run's first
    bar does not load it) and without reading a pandas another thread is still importing: a DataFrame's
    class comes from pandas, and `import pandas` then waits for that import to finish."""
    if not any(cls.__module__.startswith("pandas.") for cls in type(frame).__mro__):
        return False
    import pandas as pd

    return isinstance(frame, pd.DataFrame)


def _index_to_ns(index: Any, what: str) -> np.ndarray:
    """A tz-aware DatetimeIndex -> int64 ns UTC; naive times are rejected."""
    import pandas as pd

    idx = pd.DatetimeIndex(index)
    if idx.tz is None:
        raise ValueError(f"{what}: naive bar times; give a time zone (engine times are UTC)")
    return np.asarray(idx.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)
