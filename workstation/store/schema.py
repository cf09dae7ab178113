"""The bar store's on-disk format: a folder of Parquet files that pyarrow, pandas and DuckDB read as is.

Layout (hive-style partitions with the same two keys at every interval, so a reader gets
`interval` and `period` as columns and one call reads the whole store, e.g. DuckDB's
`read_parquet('<root>/bars/**/*.parquet', hive_partitioning=true)` or polars' `read_parquet`)::

    <root>/store.json                                          format_version, exchange, tz
    <root>/bars/interval=1m/period=2024-10-01/part-0.parquet   one file per exchange-local date,
                                                               all symbols, sorted by (symbol, timestamp)
    <root>/bars/interval=5m/period=.../part-0.parquet          any other intraday interval, same layout
    <root>/bars/interval=1d/period=2024/part-0.parquet         daily bars, one file per calendar year
    <root>/quarantine/<source-name>-<utc stamp>.parquet        rows an import refused, with the reason

`period` is the span one file holds: an exchange-local date (YYYY-MM-DD) for intraday intervals, a
calendar year (YYYY) for daily bars. Format 1 stores (`date=` and `year=` folders, which no single
hive read accepts) are moved to this layout when first opened (workstation/store/migrate.py).

Columns of every bar file (Arrow types):

    symbol       string                   ticker, upper case ("AAPL")
    timestamp    timestamp[ns, tz=UTC]    bar START: a 1m bar stamped 09:30 ET covers [09:30, 09:31);
                                          a daily bar is stamped with its session's open
    open         float64                  first trade price of the bar
    high         float64                  highest price (>= open, close, low)
    low          float64                  lowest price (> 0)
    close        float64                  last trade price of the bar
    volume       float64                  shares traded (>= 0; float so fractional share feeds fit)
    trade_count  int64, nullable          number of trades, when the vendor gives it
    vwap         float64, nullable        volume-weighted average price, when the vendor gives it
    rth          bool                     True when the bar starts inside the regular session
                                          [open, close) of its exchange-local date (09:30-16:00 ET,
                                          13:00 on early closes); False for pre- and post-market bars

A bar is identified by (symbol, interval, timestamp); the store never holds two bars with that key.
The exchange-local date of a bar (the `period=` partition of an intraday file) is the date of its timestamp in the store's
zone (store.json `tz`, America/New_York for XNYS). Appending a new date writes a new file and never
rewrites another; adding rows to an existing date rewrites only that date's file, atomically
(a temporary file named with a leading dot, then os.replace), so a crash leaves the old file intact.
Files whose names start with "." or "_" are ignored by pyarrow / pandas readers.

Quote bars (bid/ask per minute, imported with `workstation import --kind quotes`) live in their own
tree beside the trade bars, with the same two hive keys::

    <root>/quotes/interval=1m/period=2024-10-01/part-0.parquet  one file per exchange-local date

    symbol, timestamp (bar START, as above), rth (as above),
    bid_open, bid_high, bid_low, bid_close    float64  best bid over the minute (first, highest, lowest, last)
    ask_open, ask_high, ask_low, ask_close    float64  best ask over the minute
    bid_size, ask_size                        float64  size at the best bid / ask at the bar's close (>= 0)

Each bid is at most the ask of the same field (bid_open <= ask_open, ..., bid_close <= ask_close);
crossed rows are refused by the import, locked ones (bid == ask) kept. A quote bar is identified by
(symbol, interval, timestamp), like a trade bar.

Quarantine files hold the refused rows' original fields as text, plus `reason` (a short category
such as "closed exchange date"), `detail` (the specifics, e.g. "no session on 2020-07-18 (Saturday)"),
`source_file` and `source_line` (the line in a CSV, header = line 1; the 1-based row in a Parquet file).
"""

from __future__ import annotations

import pyarrow as pa

FORMAT_VERSION = 2
PARTITION_KEY = "period"
LAYOUT = "bars/interval=<interval>/period=<YYYY-MM-DD for intraday | YYYY for 1d>/part-0.parquet"
STORE_FILE = "store.json"
BARS_DIR = "bars"
QUARANTINE_DIR = "quarantine"
PART_FILE = "part-0.parquet"
DAILY_INTERVAL = "1d"

PRICE_COLUMNS = ("open", "high", "low", "close")
VALUE_COLUMNS = ("open", "high", "low", "close", "volume", "trade_count", "vwap")
BAR_COLUMNS = ("symbol", "timestamp", *VALUE_COLUMNS, "rth")

BAR_SCHEMA = pa.schema(
    [
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("timestamp", pa.timestamp("ns", tz="UTC"), nullable=False),
        pa.field("open", pa.float64(), nullable=False),
        pa.field("high", pa.float64(), nullable=False),
        pa.field("low", pa.float64(), nullable=False),
        pa.field("close", pa.float64(), nullable=False),
        pa.field("volume", pa.float64(), nullable=False),
        pa.field("trade_count", pa.int64(), nullable=True),
        pa.field("vwap", pa.float64(), nullable=True),
        pa.field("rth", pa.bool_(), nullable=False),
    ]
)

QUOTES_DIR = "quotes"
QUOTE_SIDES = ("bid", "ask")
QUOTE_PRICE_COLUMNS = tuple(f"{side}_{f}" for side in QUOTE_SIDES for f in PRICE_COLUMNS)
QUOTE_VALUE_COLUMNS = (*QUOTE_PRICE_COLUMNS, "bid_size", "ask_size")
QUOTE_COLUMNS = ("symbol", "timestamp", *QUOTE_VALUE_COLUMNS, "rth")
QUOTE_SCHEMA = pa.schema(
    [
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("timestamp", pa.timestamp("ns", tz="UTC"), nullable=False),
        *(pa.field(c, pa.float64(), nullable=False) for c in QUOTE_VALUE_COLUMNS),
        pa.field("rth", pa.bool_(), nullable=False),
    ]
)

QUARANTINE_META_COLUMNS = ("reason", "detail", "source_file", "source_line")

# Largest values a bar may hold (the importer quarantines larger or infinite ones): far above any
# traded price or one bar's volume, far below where sums of price x quantity lose meaning.
MAX_PRICE = 1e9
MAX_VOLUME = 1e15


def partition_dir(interval: str, key: str) -> str:
    """Relative folder of one partition: 'bars/interval=1m/period=2024-10-01' or '.../period=2024'."""
    return f"{BARS_DIR}/interval={interval}/{PARTITION_KEY}={key}"


def quote_partition_dir(interval: str, key: str) -> str:
    """Relative folder of one quote-bar partition: 'quotes/interval=1m/period=2024-10-01'."""
    return f"{QUOTES_DIR}/interval={interval}/{PARTITION_KEY}={key}"


def legacy_partition_level(interval: str) -> str:
    """The partition key of format 1 stores: 'year' for daily bars, 'date' for intraday ones."""
    return "year" if interval == DAILY_INTERVAL else "date"
