"""Arrow arrays and tables built from Python lists and numpy arrays without pandas.

pyarrow's own constructors (`pa.array`, `pa.table` of lists or numpy arrays) import pandas the first
time they run (to check for pandas types): 0.2-0.35 s of CPU that a `workstation run` does not need.
The arrays here are made from their buffers (`pa.Array.from_buffers`): values, a validity bitmap,
string offsets. Semantics are those of `pa.array(values, type, from_pandas=True)`: None is null,
and so is NaN in a float column.

A table of a declared `TableSpec` carries the schema and the pandas metadata that
`pa.Table.from_pandas` gives the frame the run folder has always held for it (pandas reads the
file back with the same dtypes: "string" and "str" columns, nullable Int64, UTC times). The
metadata follows pandas 3 and the installed pyarrow; tests/workstation/test_arrow_tables.py holds
every spec against `from_pandas` of the frame it replaces.

Column kinds (pandas dtype -> Arrow type):
  FLOAT float64 -> double         INT int64 -> int64        NULLABLE_INT Int64 -> int64 (None null)
  BOOL bool -> bool               STRING "string" -> large_string      TEXT "str" -> large_string
  TIME datetime64[ns, UTC] -> timestamp[ns, UTC] (values: int ns UTC)
  DATE datetime.date objects -> date32 (values: datetime.date)

Threads: pure functions; the cached schemas are immutable.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

FLOAT, INT, NULLABLE_INT, BOOL, STRING, TEXT, TIME, DATE = (
    "float64", "int64", "Int64", "bool", "string", "str", "time", "date")

TableSpec = tuple[tuple[str, str], ...]      # (column name, kind) in column order

_ARROW_TYPES: dict[str, pa.DataType] = {
    FLOAT: pa.float64(), INT: pa.int64(), NULLABLE_INT: pa.int64(), BOOL: pa.bool_(), STRING: pa.large_string(),
    TEXT: pa.large_string(), TIME: pa.timestamp("ns", tz="UTC"), DATE: pa.date32(),
}
# (pandas_type, numpy_type, metadata) of pyarrow's pandas metadata for each kind
_PANDAS_TYPES: dict[str, tuple[str, str, dict | None]] = {
    FLOAT: ("float64", "float64", None), INT: ("int64", "int64", None), NULLABLE_INT: ("int64", "Int64", None),
    BOOL: ("bool", "bool", None), STRING: ("object", "string", None), TEXT: ("object", "str", None),
    TIME: ("datetimetz", "datetime64[ns]", {"timezone": "UTC"}), DATE: ("date", "object", None),
}
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _validity(valid: np.ndarray) -> tuple[pa.Buffer | None, int]:
    """The validity bitmap of a bool mask (None when every value is valid) and the null count."""
    nulls = int(len(valid) - np.count_nonzero(valid))
    if not nulls:
        return None, 0
    return pa.py_buffer(np.packbits(valid, bitorder="little")), nulls


def float_array(values: Sequence[float | None] | np.ndarray, nan_is_null: bool = True) -> pa.Array:
    """float64; None is null, and so is NaN (unless `nan_is_null` is False: `pa.array` of a numpy
    array keeps NaN as a value)."""
    if not isinstance(values, np.ndarray) and _none_count(values) == len(values):
        data = np.full(len(values), np.nan)     # every value missing (a price an order type has not)
    else:
        data = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    bitmap, nulls = _validity(~np.isnan(data)) if nan_is_null else (None, 0)
    return pa.Array.from_buffers(pa.float64(), len(data), [bitmap, pa.py_buffer(data)], nulls)


def int_array(values: Sequence[int | None] | np.ndarray, arrow_type: pa.DataType | None = None) -> pa.Array:
    """int64 (or `arrow_type`: int32, or a timestamp type); None is null."""
    arrow_type = pa.int64() if arrow_type is None else arrow_type
    dtype = np.int32 if arrow_type == pa.int32() else np.int64
    if isinstance(values, np.ndarray) and values.dtype != object:
        data, bitmap, nulls = np.ascontiguousarray(values, dtype=dtype), None, 0
    elif not (missing := _none_count(values)):
        data, bitmap, nulls = np.asarray(values, dtype=dtype), None, 0
    elif missing == len(values):
        data = np.zeros(len(values), dtype=dtype)
        bitmap, nulls = _validity(np.zeros(len(values), dtype=bool))
    else:
        valid = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
        bitmap, nulls = _validity(valid)
        data = np.fromiter((0 if v is None else v for v in values), dtype=dtype, count=len(values)) \
            if nulls else np.asarray(values, dtype=dtype)
    return pa.Array.from_buffers(arrow_type, len(data), [bitmap, pa.py_buffer(data)], nulls)


def _none_count(values: Sequence | np.ndarray) -> int:
    """How many values are None (list.count: no Python call per value)."""
    count = getattr(values, "count", None)
    return count(None) if count is not None else sum(v is None for v in values)


def bool_array(values: Sequence[bool] | np.ndarray) -> pa.Array:
    data = np.asarray(values, dtype=bool)
    return pa.Array.from_buffers(pa.bool_(), len(data), [None, pa.py_buffer(np.packbits(data, bitorder="little"))], 0)


def string_array(values: Sequence[str | None], arrow_type: pa.DataType | None = None) -> pa.Array:
    """large_string (or `arrow_type`: string); None is null. A column of few distinct texts (symbols,
    statuses, strategies: the run folder's usual case) encodes each distinct text once and gathers the
    rows' bytes with numpy (`repeated_string_array`); a column of mostly distinct texts is encoded
    row by row. Both give the same array."""
    values = values if isinstance(values, list) else list(values)
    distinct: dict[str | None, int] = dict.fromkeys(values, 0)
    if len(distinct) * 4 > len(values):
        return _encoded_string_array(values, arrow_type)
    for k, name in enumerate(distinct):
        distinct[name] = k
    codes = (np.fromiter(map(distinct.__getitem__, values), dtype=np.int64, count=len(values)) if len(distinct) > 1
             else np.zeros(len(values), dtype=np.int64))
    null_code = distinct.get(None, -1)
    names = ["" if name is None else name for name in distinct]     # a null row's bytes: none
    strings = repeated_string_array(names, codes, pa.large_string() if arrow_type is None else arrow_type)
    if null_code < 0:
        return strings
    bitmap, nulls = _validity(codes != null_code)
    return pa.Array.from_buffers(strings.type, len(strings), [bitmap, *strings.buffers()[1:]], nulls)


def _encoded_string_array(values: list, arrow_type: pa.DataType | None) -> pa.Array:
    """`string_array` row by row: each value encoded, the bytes joined."""
    arrow_type = pa.large_string() if arrow_type is None else arrow_type
    encoded = [b"" if v is None else v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64 if arrow_type == pa.large_string() else np.int32)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    bitmap, nulls = _validity(np.fromiter((v is not None for v in values), dtype=bool, count=len(encoded)))
    return pa.Array.from_buffers(arrow_type, len(encoded),
                                 [bitmap, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))], nulls)


def repeated_string_array(names: Sequence[str], codes: np.ndarray, arrow_type: pa.DataType | None = None) -> pa.Array:
    """string (or `arrow_type`: large_string) of names[codes[k]] for every row k: what casting a
    dictionary array to strings gives (`DictionaryArray.cast` loads pyarrow.compute, ~0.1 s to import),
    built with numpy (the names' bytes gathered row by row)."""
    arrow_type = pa.string() if arrow_type is None else arrow_type
    codes = np.asarray(codes, dtype=np.int64)
    encoded = [name.encode("utf-8") for name in names]
    offset_type = np.int64 if arrow_type == pa.large_string() else np.int32
    if encoded and len(set(map(len, encoded))) == 1:
        # names of one length (symbols, intervals, statuses of a column): rows of a byte matrix
        size = len(encoded[0])
        offsets = np.arange(len(codes) + 1, dtype=offset_type) * size
        data = np.frombuffer(b"".join(encoded), dtype=np.uint8).reshape(len(encoded), size)[codes].reshape(-1) \
            if size else np.empty(0, dtype=np.uint8)
        return pa.Array.from_buffers(arrow_type, len(codes), [None, pa.py_buffer(offsets), pa.py_buffer(data)], 0)
    name_lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    name_starts = np.cumsum(name_lengths) - name_lengths
    row_lengths = name_lengths[codes] if len(encoded) else np.zeros(len(codes), dtype=np.int64)
    offsets = np.zeros(len(codes) + 1, dtype=np.int64 if arrow_type == pa.large_string() else np.int32)
    np.cumsum(row_lengths, out=offsets[1:])
    total = int(offsets[-1])
    within = np.arange(total, dtype=np.int64) - np.repeat(offsets[:-1].astype(np.int64), row_lengths)
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)[np.repeat(name_starts[codes], row_lengths) + within] \
        if total else np.empty(0, dtype=np.uint8)
    return pa.Array.from_buffers(arrow_type, len(codes), [None, pa.py_buffer(offsets), pa.py_buffer(data)], 0)


def date_array(values: Sequence[dt.date | None]) -> pa.Array:
    """date32 of datetime.date values; None is null."""
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    days = np.fromiter((0 if v is None else v.toordinal() - _EPOCH_ORDINAL for v in values), dtype=np.int32,
                       count=len(values))
    bitmap, nulls = _validity(valid)
    return pa.Array.from_buffers(pa.date32(), len(days), [bitmap, pa.py_buffer(days)], nulls)


def array(values: Any, kind: str) -> pa.Array:
    """One column of `kind` (see the module docstring)."""
    if kind == FLOAT:
        return float_array(values)
    if kind in (INT, NULLABLE_INT):
        return int_array(values)
    if kind == TIME:
        return int_array(values, _ARROW_TYPES[TIME])
    if kind == BOOL:
        return bool_array(values)
    if kind in (STRING, TEXT):
        return string_array(list(values))
    if kind == DATE:
        return date_array(list(values))
    raise ValueError(f"unknown column kind {kind!r}")


def write_parquet(table: pa.Table, path: str | Path, use_dictionary: bool | list[str] = True) -> None:
    """Write `table` to the Parquet file `path` exactly as `pyarrow.parquet.write_table(table, path,
    use_dictionary=...)` does (same options, same bytes), through the writer it wraps
    (pyarrow._parquet.ParquetWriter): importing pyarrow.parquet also loads pyarrow's filesystems (S3,
    GCS, Azure, HDFS and ssl), ~10 ms of CPU a run folder on a local disk never uses. Where that
    writer is not available or takes other options (another pyarrow), write_table itself."""
    try:
        from pyarrow._parquet import ParquetWriter

        writer = ParquetWriter(str(path), table.schema, version="2.6", compression="snappy",
                               use_dictionary=use_dictionary, write_statistics=True,
                               use_deprecated_int96_timestamps=False, writer_engine_version="V2",
                               data_page_version="1.0", use_compliant_nested_type=True, store_schema=True)
    except (ImportError, TypeError):
        import pyarrow.parquet as pq

        pq.write_table(table, str(path), use_dictionary=use_dictionary)
        return
    try:
        writer.write_table(table, row_group_size=None)
    finally:
        writer.close()


@lru_cache(maxsize=1)
def _pandas_version() -> str:
    """The installed pandas' version, read without importing it ("" when it is not installed)."""
    from workstation.calendar_cache import distribution_version

    return distribution_version("pandas", "pandas") or ""


@lru_cache(maxsize=64)
def spec_schema(spec: TableSpec) -> pa.Schema:
    """The schema, with pandas metadata, `pa.Table.from_pandas` gives a frame of `spec`'s dtypes."""
    columns = []
    for name, kind in spec:
        pandas_type, numpy_type, metadata = _PANDAS_TYPES[kind]
        columns.append({"name": name, "field_name": name, "pandas_type": pandas_type, "numpy_type": numpy_type,
                        "metadata": metadata})
    pandas_metadata = {"index_columns": [], "column_indexes": [], "columns": columns, "attributes": {},
                       "creator": {"library": "pyarrow", "version": pa.__version__},
                       "pandas_version": _pandas_version()}
    return pa.schema([pa.field(name, _ARROW_TYPES[kind]) for name, kind in spec],
                     metadata={b"pandas": json.dumps(pandas_metadata).encode("utf-8")})


def table(spec: TableSpec, columns: Mapping[str, Any]) -> pa.Table:
    """A table of `spec` from `columns` (column name -> values: a list, tuple or numpy array)."""
    return pa.Table.from_arrays([array(columns[name], kind) for name, kind in spec], schema=spec_schema(spec))
