"""CLI subcommands `import`, `demo-data`, `store info`: output, JSON keys, exit codes."""

from __future__ import annotations

import argparse
import json

import pytest

from workstation.errors import DataError, StoreError
from workstation.store import commands

SUMMARY_KEYS = {
    "exchange",
    "rows_read",
    "rows_stored",
    "rows_quarantined",
    "quarantined_by_reason",
    "quarantine_examples",
    "quarantine_example_rows",
    "per_symbol",
    "files",
    "duplicates_skipped",
    "reordered",
    "quarantine_file",
}


@pytest.fixture
def cli_main():
    from workstation import cli

    return cli.main


def small_csv(tmp_path):
    path = tmp_path / "SML_Minute.csv"
    path.write_text(
        "time,open,high,low,close,volume\n2024-10-01 09:30:00-04:00,1,2,0.5,1.5,100\n"
        "2024-10-05 09:30:00-04:00,1,2,0.5,1.5,100\n2024-10-01 09:31:00-04:00,1,2,0.5,1.5,100\n"
    )
    return path


def test_import_names_the_line_of_each_quarantined_example(cli_main, tmp_path, capsys):
    """The summary says where each refused detail's first row is in the file, and how many more rows
    share it: the lines counted here from the text written (the header is line 1)."""
    lines = ["time,open,high,low,close,volume",
             "2024-10-01 09:30:00-04:00,1,2,0.5,1.5,100",
             "2024-10-05 09:30:00-04:00,1,2,0.5,1.5,100",            # a Saturday ...
             "2024-10-01 09:31:00-04:00,abc,2,0.5,1.5,100",          # not a number
             "2024-10-05 09:31:00-04:00,1,2,0.5,1.5,100"]            # ... and its second row
    path = tmp_path / "SML_Minute.csv"
    path.write_text("\n".join(lines) + "\n")
    saturday = next(i for i, line in enumerate(lines, 1) if line.startswith("2024-10-05"))
    not_number = next(i for i, line in enumerate(lines, 1) if ",abc," in line)
    assert cli_main(["import", str(path), "--store", str(tmp_path / "store"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["quarantine_example_rows"] == {"closed exchange date": [f"line {saturday} and 1 more row"],
                                              "missing value": [f"line {not_number}"]}
    assert cli_main(["import", str(path), "--store", str(tmp_path / "store2")]) == 0
    text = capsys.readouterr().out
    assert f"(open 'abc' is not a number: line {not_number})" in text
    assert f"(no session on 2024-10-05 (Saturday): line {saturday} and 1 more row)" in text


def test_import_json_keys_and_exit_code(cli_main, tmp_path, capsys):
    store = tmp_path / "store"
    code = cli_main(["import", str(small_csv(tmp_path)), "--store", str(store), "--json"])
    assert code == 0  # the import ran, even though one row was quarantined
    out = json.loads(capsys.readouterr().out)
    assert set(out) == SUMMARY_KEYS
    assert out["rows_stored"] == 2 and out["quarantined_by_reason"] == {"closed exchange date": 1}
    assert out["quarantine_examples"] == {"closed exchange date": ["no session on 2024-10-05 (Saturday)"]}
    assert out["per_symbol"]["SML"]["rth_bars"] == 2
    assert out["quarantine_file"].startswith(str(store / "quarantine" / "SML_Minute-"))


def test_import_text_summary(cli_main, tmp_path, capsys, real_dir):
    code = cli_main(["import", str(real_dir / "lumibot/TSLA_Minute.csv.gz"), "--store", str(tmp_path / "s")])
    assert code == 0
    out = capsys.readouterr().out
    assert "rows read 1,167 | stored 1,167 | quarantined 0" in out
    assert "symbol TSLA (from the file name)" in out


def test_import_bad_file_exits_2_and_names_it(cli_main, tmp_path, capsys, real_dir):
    bad = tmp_path / "BAD_Minute.csv.gz"
    data = (real_dir / "lumibot/TLT_Minute.csv.gz").read_bytes()
    bad.write_bytes(data[: len(data) // 3])
    code = cli_main(["import", str(bad), "--store", str(tmp_path / "s")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and str(bad) in err and "nothing was imported" in err
    assert not (tmp_path / "s").exists()


def test_import_naive_without_tz_exits_2(cli_main, tmp_path, capsys):
    path = tmp_path / "NV.csv"
    path.write_text("time,open,high,low,close,volume\n2024-10-01 09:30:00,1,2,0.5,1.5,100\n")
    assert cli_main(["import", str(path), "--store", str(tmp_path / "s")]) == 2
    assert "--tz" in capsys.readouterr().err
    assert cli_main(["import", str(path), "--store", str(tmp_path / "s"), "--tz", "America/New_York"]) == 0


def test_demo_data_and_store_info(cli_main, tmp_path, capsys):
    store = tmp_path / "demo"
    code = cli_main(["demo-data", "--store", str(store), "--symbols", "2", "--days", "2", "--seed", "3"])
    assert code == 0
    out = capsys.readouterr().out
    assert "2 symbols (ACME, BOLT)" in out and "2024-12-05 .. 2024-12-06" in out
    assert cli_main(["store", "info", "--store", str(store), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {"root", "exchange", "tz", "symbols", "intervals", "file_count", "size_bytes"} <= set(info)
    assert info["symbols"] == ["ACME", "BOLT"] and info["intervals"]["1m"]["dates"] == 2
    assert info["intervals"]["1m"]["first_date"] == "2024-12-05"
    assert info["file_count"] == 2 + 2 and info["size_bytes"] > 0
    assert cli_main(["store", "info", "--store", str(store)]) == 0
    text = capsys.readouterr().out
    assert "1m: 2 dates 2024-12-05 .. 2024-12-06" in text and "ACME" in text


def test_store_info_missing_store_exits_2(cli_main, tmp_path, capsys):
    assert cli_main(["store", "info", "--store", str(tmp_path / "none")]) == 2
    assert "workstation demo-data" in capsys.readouterr().err


def test_demo_data_rejects_bad_counts(cli_main, tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli_main(["demo-data", "--store", str(tmp_path / "d"), "--symbols", "0"])
    assert "must be greater than 0" in capsys.readouterr().err


def test_handlers_directly(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["import", str(small_csv(tmp_path)), "--store", str(tmp_path / "s"), "--json"])
    assert args.func(args) == 0
    assert set(json.loads(capsys.readouterr().out)) == SUMMARY_KEYS
    args = parser.parse_args(["store", "info", "--store", str(tmp_path / "s")])
    assert args.func(args) == 0
    assert "SML" in capsys.readouterr().out
    args = parser.parse_args(["store", "info", "--store", str(small_csv(tmp_path))])
    with pytest.raises(StoreError, match="is a file"):
        args.func(args)
    args = parser.parse_args(["import", str(tmp_path / "missing.csv"), "--store", str(tmp_path / "s")])
    with pytest.raises(DataError, match="does not exist"):
        args.func(args)
