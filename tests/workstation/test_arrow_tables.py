"""workstation.arrow_tables builds Arrow arrays from their buffers, without pandas: each array must
equal what pyarrow's own constructors make of the same values (`pa.array(values, type,
from_pandas=True)`: None null, NaN null in float columns; a dictionary cast for repeated names),
and building a table must load neither pandas nor pyarrow.compute."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from workstation import arrow_tables

ROOT = Path(__file__).resolve().parents[2]


def _same(got: pa.Array, expected: pa.Array) -> None:
    assert got.type == expected.type
    assert got.null_count == expected.null_count
    assert repr(got.to_pylist()) == repr(expected.to_pylist())     # (NaN kept as a value compares by repr)
    got.validate(full=True)


@pytest.mark.parametrize("values", [[], [1.5, None, float("nan"), -0.0, 1e300], [float("inf")] * 3,
                                    list(np.random.default_rng(1).standard_normal(1000))])
def test_float_array_is_pa_array_from_pandas(values):
    _same(arrow_tables.float_array(values), pa.array(values, type=pa.float64(), from_pandas=True))
    _same(arrow_tables.float_array(np.asarray(values, dtype=float)),
          pa.array(np.asarray(values, dtype=float), type=pa.float64(), from_pandas=True))
    # NaN kept as a value, as pa.array of a numpy array keeps it
    data = np.asarray([1.0, np.nan] + [v if v is not None else 0.0 for v in values], dtype=float)
    _same(arrow_tables.float_array(data, nan_is_null=False), pa.array(data))


@pytest.mark.parametrize("values", [[], [1, 2, -3], [None, 5, None], [2**62, -(2**62)]])
def test_int_time_and_int32_arrays_are_pa_arrays(values):
    _same(arrow_tables.int_array(values), pa.array(values, type=pa.int64()))
    time_type = pa.timestamp("ns", tz="UTC")
    _same(arrow_tables.int_array(values, time_type), pa.array(values, type=time_type))
    small = [None if v is None else v % 1000 for v in values]
    _same(arrow_tables.int_array(small, pa.int32()), pa.array(small, type=pa.int32()))
    if None not in values:
        _same(arrow_tables.int_array(np.array(values, dtype=np.int64)), pa.array(values, type=pa.int64()))


@pytest.mark.parametrize("values", [[], ["a", "", None, "ünïcode ✓", "x" * 300], ["S1"] * 50])
def test_string_arrays_are_pa_arrays(values):
    _same(arrow_tables.string_array(values), pa.array(values, type=pa.large_string()))
    _same(arrow_tables.string_array(values, pa.string()), pa.array(values, type=pa.string()))


def test_bool_and_date_arrays_are_pa_arrays():
    flags = list(np.random.default_rng(2).random(77) < 0.5)
    _same(arrow_tables.bool_array(flags), pa.array(flags, type=pa.bool_()))
    days = [dt.date(2024, 12, 2), None, dt.date(1969, 12, 31), dt.date(2100, 3, 1)]
    _same(arrow_tables.date_array(days), pa.array(days, type=pa.date32()))


def test_repeated_names_equal_a_decoded_dictionary():
    names = ["ACME", "", "ÄÖÜ", "BRK.B"]
    codes = np.random.default_rng(3).integers(0, len(names), 5000).astype(np.int32)
    for arrow_type in (pa.string(), pa.large_string()):
        expected = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(names)).cast(arrow_type)
        _same(arrow_tables.repeated_string_array(names, codes, arrow_type), expected)
    _same(arrow_tables.repeated_string_array(names, codes[:0]), pa.array([], type=pa.string()))
    _same(arrow_tables.repeated_string_array([], np.zeros(0, dtype=np.int32)), pa.array([], type=pa.string()))


def test_building_a_table_loads_neither_pandas_nor_pyarrow_compute():
    code = """
import sys, datetime as dt
import numpy as np
from workstation import arrow_tables as at
spec = (("t", at.TIME), ("x", at.FLOAT), ("n", at.NULLABLE_INT), ("s", at.STRING), ("u", at.TEXT),
        ("b", at.BOOL), ("d", at.DATE), ("i", at.INT))
table = at.table(spec, {"t": [1, 2], "x": [1.0, None], "n": [None, 3], "s": ["a", None], "u": ["b", "c"],
                        "b": [True, False], "d": [dt.date(2024, 1, 2), None], "i": np.arange(2)})
names = at.repeated_string_array(["A", "B"], np.array([1, 0, 1]))
assert table.num_rows == 2 and len(names) == 3
print(sorted(m for m in ("pandas", "pyarrow.compute", "pyarrow.dataset") if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_write_parquet_writes_the_bytes_pyarrow_parquet_writes(tmp_path):
    """The run folder's parts are written without importing pyarrow.parquet; the files are the same,
    byte for byte, as pyarrow.parquet.write_table's with the same options."""
    import pyarrow.parquet as pq

    from workstation.atomic_files import write_parquet_atomic
    from workstation.run_writer import _text_columns

    rng = np.random.default_rng(9)
    n = 5000
    spec = (("time", arrow_tables.TIME), ("symbol", arrow_tables.TEXT), ("price", arrow_tables.FLOAT),
            ("id", arrow_tables.NULLABLE_INT), ("ok", arrow_tables.BOOL), ("day", arrow_tables.DATE),
            ("tag", arrow_tables.STRING))
    columns = {"time": np.sort(rng.integers(0, 2**60, n)), "symbol": [f"S{k % 37}" for k in range(n)],
               "price": np.where(rng.random(n) < 0.1, np.nan, rng.random(n) * 100),
               "id": [None if k % 7 == 0 else k for k in range(n)], "ok": rng.random(n) < 0.5,
               "day": [dt.date(2024, 1, 1) + dt.timedelta(days=k % 300) for k in range(n)],
               "tag": [None if k % 3 else "entry ✓" for k in range(n)]}
    for table in (arrow_tables.table(spec, columns), arrow_tables.table(spec, {k: v[:0] for k, v in columns.items()})):
        for use_dictionary in (True, False, _text_columns(table.schema)):
            ours, theirs = tmp_path / "ours.parquet", tmp_path / "theirs.parquet"
            arrow_tables.write_parquet(table, ours, use_dictionary=use_dictionary)
            pq.write_table(table, theirs, use_dictionary=use_dictionary)
            assert ours.read_bytes() == theirs.read_bytes()
            write_parquet_atomic(table, tmp_path / "atomic.parquet", use_dictionary=use_dictionary)
            assert (tmp_path / "atomic.parquet").read_bytes() == theirs.read_bytes()
            assert pq.read_table(ours).equals(table)


@pytest.mark.parametrize("values", [["S1", None, "S2", "S1"] * 40, ["ünï", ""] * 30 + [None], [None] * 12,
                                    [f"S{k % 7}" for k in range(200)]])
def test_string_arrays_of_few_distinct_texts_are_pa_arrays(values):
    """Few distinct texts take the coded path (each text encoded once, the rows' bytes gathered):
    the same array, nulls included."""
    _same(arrow_tables.string_array(values), pa.array(values, type=pa.large_string()))
    _same(arrow_tables.string_array(values, pa.string()), pa.array(values, type=pa.string()))


@pytest.mark.parametrize("names", [["SYM001", "SYM002", "ÄÖ1"], ["1m"], [""], ["", ""]])
def test_repeated_names_of_one_length_equal_a_decoded_dictionary(names):
    """Names of one byte length (symbols, intervals) are gathered as rows of a byte matrix."""
    codes = np.random.default_rng(4).integers(0, len(names), 300).astype(np.int32)
    for arrow_type in (pa.string(), pa.large_string()):
        expected = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(names)).cast(arrow_type)
        _same(arrow_tables.repeated_string_array(names, codes, arrow_type), expected)
        _same(arrow_tables.repeated_string_array(names, codes[:0], arrow_type), pa.array([], type=arrow_type))


@pytest.mark.parametrize("values", [[None] * 5, [None], [7, 8, 9]])
def test_int_and_float_columns_all_or_never_missing_are_pa_arrays(values):
    """A column with no value missing or every value missing (the prices an order type has not)
    takes a shortcut: the same arrays."""
    _same(arrow_tables.int_array(values), pa.array(values, type=pa.int64()))
    _same(arrow_tables.int_array(tuple(values)), pa.array(values, type=pa.int64()))
    time_type = pa.timestamp("ns", tz="UTC")
    _same(arrow_tables.int_array(values, time_type), pa.array(values, type=time_type))
    floats = [None if v is None else float(v) for v in values]
    _same(arrow_tables.float_array(floats), pa.array(floats, type=pa.float64(), from_pandas=True))
    _same(arrow_tables.float_array(tuple(floats)), pa.array(floats, type=pa.float64(), from_pandas=True))
