"""Item 11 (reading): a damaged or foreign file in the bar store is reported with the file and the
problem (a wrong schema, a close column of strings, a corrupt page), by the library, by
`workstation store info` and by a run, never as a traceback or as wrong prices.
"""

from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.faults.helpers import cli_in_process, config_file
from workstation.errors import StoreError
from workstation.store import BarStore
from workstation.store.schema import partition_dir

DAY = "2024-11-25"


@pytest.fixture
def broken_store(tmp_path, demo_store):
    """break_(how) -> (store root, the damaged file) for a copy of the demo store."""

    def break_(how: str):
        root = tmp_path / f"store-{how}"
        shutil.copytree(demo_store, root)
        path = root / partition_dir("1m", str(DAY)) / "part-0.parquet"
        table = pq.read_table(path)
        if how == "schema":
            table = table.rename_columns(["ticker" if c == "symbol" else c for c in table.column_names])
            pq.write_table(table, path)
        elif how == "string_close":
            i = table.column_names.index("close")
            table = table.set_column(i, "close", pa.array([f"{v:.2f}" for v in table.column("close").to_pylist()]))
            pq.write_table(table, path)
        elif how == "corrupt_page":
            path.write_bytes(_silently_wrong_close(path, table))
        return root, path

    return break_


_CORRUPTED: dict[bytes, bytes] = {}


def _silently_wrong_close(path, table: pa.Table) -> bytes:
    """The file with one byte of the close column's page data flipped, chosen so that a reader that
    does not verify page checksums reads it without error and gets other closes (the worst case)."""
    original = path.read_bytes()
    if original in _CORRUPTED:
        return _CORRUPTED[original]
    meta = pq.ParquetFile(path).metadata
    close = meta.row_group(0).column(table.column_names.index("close"))
    start, end = close.data_page_offset, close.data_page_offset + close.total_compressed_size
    expected = table.column("close")
    for offset in range(end - 8, start + 64, -1):
        data = bytearray(original)
        data[offset] ^= 0x01
        try:
            closes = pq.ParquetFile(pa.BufferReader(bytes(data)), page_checksum_verification=False).read(
                columns=["close"])
        except (pa.ArrowException, OSError):
            continue
        if not closes.column("close").equals(expected):
            _CORRUPTED[original] = bytes(data)
            return _CORRUPTED[original]
    raise AssertionError("no byte of the close pages decodes to other values")


@pytest.mark.parametrize("how, problem", [
    ("schema", "it lacks column symbol (its columns:"),
    ("string_close", "close is string, expected double"),
    ("corrupt_page", "is damaged"),
])
def test_library_names_the_file_and_the_problem(broken_store, how, problem):
    root, path = broken_store(how)
    store = BarStore(root)
    readers = {
        "session": lambda: store.read_session_arrays(DAY, "1m", ["ACME", "BOLT"]),
        "bars": lambda: store.read_bars(None, "1m", 0, 2**62),
    }
    if how != "corrupt_page":               # describe reads symbol, timestamp and rth, not the close pages
        readers["describe"] = store.describe
    for name, read in readers.items():
        with pytest.raises(StoreError) as info:
            read()
        message = str(info.value)
        assert str(path) in message and problem in message, (name, message)


def test_corrupt_page_is_never_read_as_prices(broken_store):
    """Page checksums: a flipped byte in the page data is an error, not silently different closes."""
    root, path = broken_store("corrupt_page")
    with pytest.raises(StoreError, match="damaged"):
        BarStore(root).read_session_arrays(DAY, "1m", ["ACME", "BOLT", "CYRX", "DYNA", "ECHO"])


@pytest.mark.parametrize("how", ["schema", "string_close", "corrupt_page"])
def test_command_line_reports_it(broken_store, how, tmp_path, capsys, monkeypatch):
    root, path = broken_store(how)
    if how != "corrupt_page":
        code, _, err = cli_in_process(capsys, "store", "info", "--store", str(root))
        assert code == 2 and str(path) in err and "Traceback" not in err
    code, out, err = cli_in_process(capsys, "store", "check", "--store", str(root))
    assert code == 1 and str(path) in out and "1 damaged" in out and "Traceback" not in err
    monkeypatch.chdir(tmp_path)
    cfg = config_file(tmp_path / "cfg.json", root)
    code, _, err = cli_in_process(capsys, "run", str(cfg), "--out", str(tmp_path / f"run-{how}"))
    assert code in (1, 2) and str(path) in err and "Traceback" not in err   # 2: found before the run starts


def test_store_check_of_a_clean_store(demo_store, capsys):
    code, out, _ = cli_in_process(capsys, "store", "check", "--store", str(demo_store))
    files = len(BarStore(demo_store).files())
    assert code == 0 and f"{files} of {files} bar files" in out


def test_import_onto_a_damaged_file_changes_nothing(broken_store, tmp_path, capsys):
    root, path = broken_store("string_close")
    before = path.read_bytes()
    source = tmp_path / "NEWS.csv"
    source.write_text("timestamp,open,high,low,close,volume\n2024-11-25T15:00:00Z,10,11,9,10,100\n")
    code, _, err = cli_in_process(capsys, "import", str(source), "--store", str(root))
    assert code == 2 and str(path) in err and "close is string" in err
    assert path.read_bytes() == before
