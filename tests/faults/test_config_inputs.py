"""Item 12: hostile config files get a clear error, bounded reads and bounded echoes.

Non-UTF-8 and UTF-16 text, NaN, nesting deep enough to overflow the parser, a 50 MB file, /dev/zero
and a FIFO: every one is refused with a message naming the file and what is wrong, in a bounded time
and memory, never echoed whole. /dev/zero and the FIFO run as real `workstation validate` processes
(a hang or an unbounded read would hit the guard timeout, a traceback would show on stderr).
"""

from __future__ import annotations

import json
import os

import pytest

from tests.faults.helpers import ROOT, cli_in_process, run_cli
from workstation.config import MAX_CONFIG_BYTES, load_config
from workstation.errors import ConfigError

EXAMPLE = json.loads((ROOT / "session_configs" / "example_session.json").read_text())


def problems(path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_non_utf8_config(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(json.dumps(dict(EXAMPLE, name="café"), ensure_ascii=False).encode("latin-1"))
    text = problems(path)
    assert str(path) in text and "not UTF-8" in text and "0xe9" in text and "line 1" in text
    assert f"Config {path} has 1 problem:" in text


def test_a_problem_of_an_option_or_of_the_sweep_is_not_called_a_config(tmp_path, capsys):
    from workstation.cli import main

    config = tmp_path / "c.json"
    config.write_text(json.dumps(EXAMPLE))
    assert main(["sweep", str(config), "--out", str(tmp_path / "o"), "--param",
                 "strategies.sma_5_20.params.fast=3", "--workers", "0"]) == 2
    assert "Option --workers has 1 problem:\n  - --workers: must be at least 1, got 0" in capsys.readouterr().err
    assert main(["sweep", "--out", str(tmp_path / "o"), "--param", "strategies.sma_5_20.params.fast=3"]) == 2
    assert "The sweep has 1 problem:\n  - CONFIG: give the session config" in capsys.readouterr().err


@pytest.mark.parametrize("encoding, name", [("utf-16", "UTF-16"), ("utf-32", "UTF-32"), ("utf-16-le", None)])
def test_utf16_and_utf32_configs(tmp_path, encoding, name):
    path = tmp_path / f"{encoding}.json"
    path.write_bytes(json.dumps(EXAMPLE).encode(encoding))
    text = problems(path)
    assert (f"is {name} text" in text) if name else ("NUL bytes" in text)
    assert "UTF-8" in text


def test_utf8_with_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(EXAMPLE).encode())
    assert load_config(path).name == EXAMPLE["name"]


@pytest.mark.parametrize("depth", [100_000, 200])
def test_deeply_nested_json(tmp_path, depth):
    config = json.dumps(dict(EXAMPLE, strategies=[dict(EXAMPLE["strategies"][0], params={"p": "@"})]))
    path = tmp_path / "deep.json"
    path.write_text(config.replace('"@"', "[" * depth + "]" * depth))
    text = problems(path)
    assert "nested" in text and "32 levels" in text and len(text) < 1_000


def test_nan_and_infinity_are_not_json_numbers(tmp_path):
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(EXAMPLE).replace('"starting_cash": 100000.0', '"starting_cash": Infinity'))
    assert "Infinity is not a JSON number" in problems(path)


def test_a_50_mb_config_is_refused_unread_and_never_echoed(tmp_path, capsys):
    path = tmp_path / "huge.json"
    with path.open("w") as fh:
        fh.write('{"name": "')
        fh.write("x" * 50_000_000)
        fh.write('"}')
    code, out, err = cli_in_process(capsys, "validate", str(path))
    assert code == 2 and "47.7 MB" in err and "at most 2.0 MB" in err
    assert len(out) + len(err) < 1_000


def test_long_values_are_echoed_as_excerpts(tmp_path, capsys):
    path = tmp_path / "long.json"
    path.write_text(json.dumps(dict(EXAMPLE, name="n" * 1_000_000, symbols=["X" * 500_000, "../../etc/x"])))
    assert path.stat().st_size < MAX_CONFIG_BYTES
    code, _, err = cli_in_process(capsys, "validate", str(path))
    assert code == 2 and "1,000,002 characters" in err and "500,000 characters" in err
    assert len(err) < 2_000


def test_many_problems_are_listed_up_to_a_cap(tmp_path):
    cfg = dict(EXAMPLE, **{f"unknown_{k}": k for k in range(500)})
    path = tmp_path / "many.json"
    path.write_text(json.dumps(cfg))
    text = problems(path)
    assert "500 problems:" in text and "... and 450 more" in text and len(text) < 10_000


def test_validate_dev_zero_and_a_fifo_end_at_once(tmp_path):
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    for path, what in (("/dev/zero", "is a device"), (str(fifo), "is a FIFO")):
        done = run_cli("validate", path, cwd=tmp_path, timeout=60)
        assert done.returncode == 2 and what in done.stderr and "Traceback" not in done.stderr


def test_the_config_editor_opens_through_the_same_bounded_read(tmp_path, qtbot):
    from ui.dialogs.config_editor import ConfigEditorDialog

    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    dialog = ConfigEditorDialog(configs_dir=tmp_path)
    qtbot.addWidget(dialog)
    with pytest.raises(ConfigError, match="is a FIFO"):
        dialog.load(fifo)


def test_schema_out_that_cannot_be_written(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for target, why in ((afile / "schema.json", "is a file, not a folder"), (tmp_path, "it is a folder")):
        code, _, err = cli_in_process(capsys, "schema", "--out", str(target))
        assert code == 2 and why in err and "Traceback" not in err
