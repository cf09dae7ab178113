"""Start-up: commands that do not need the heavy libraries do not load them, a run on a warm
calendar cache does not load pandas-market-calendars, Ray or the HTML report, and every run
records how long after its process started the first bar came (metrics report, metrics.json,
`run --json`), measured from the OS's record of the process start."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workstation import process_start
from workstation.json_output import jsonable
from workstation.metrics import FIRST_BAR, FIRST_BAR_CPU, PerformanceMetrics, startup_line
from workstation.run_commands import startup_figures

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "pyarrow", "ray", "PySide6", "shiboken6", "pyqtgraph", "pandas_market_calendars")

REPORT_MODULES = """
import sys
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(%r))
print("LOADED " + ",".join(heavy))
"""


def _loaded_after(code: str, cwd: Path, env: dict | None = None) -> tuple[set[str], subprocess.CompletedProcess]:
    """The heavy top-level packages a fresh process has loaded after running `code`."""
    done = subprocess.run([sys.executable, "-c", code + REPORT_MODULES % (HEAVY,)], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    assert done.returncode == 0, done.stderr[-3000:]
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("LOADED ")][-1]
    return {m for m in line[len("LOADED "):].split(",") if m}, done


CLI = """
import sys
from workstation.cli import main
try:
    code = main(%r)
except SystemExit as stop:
    code = stop.code
assert code == 0, code
"""


def test_import_workstation_loads_no_heavy_library(tmp_path):
    loaded, _ = _loaded_after("import workstation\nworkstation.__version__", tmp_path)
    assert loaded == set()


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["run", "--help"], ["sweep", "--help"],
                                  ["store", "info", "--help"]])
def test_the_cli_parser_loads_no_heavy_library(tmp_path, argv):
    loaded, done = _loaded_after(CLI % (argv,), tmp_path)
    assert loaded == set()
    assert "workstation" in done.stdout


def _subparsers(parser):
    return next(a for a in parser._actions if a.dest == "command").choices


def test_a_command_alone_parses_and_helps_as_in_the_whole_parser():
    from workstation.cli import COMMAND_MODULES, build_parser, command_of

    whole = _subparsers(build_parser())
    listed = {"validate", "schema", *(name for _module, names in COMMAND_MODULES for name in names)}
    assert set(whole) == listed                     # the table names exactly what the modules register
    module_of = {name: set(names) for _module, names in COMMAND_MODULES for name in names}
    for name, full in whole.items():
        alone = build_parser(command_of([name]))
        assert set(_subparsers(alone)) == module_of.get(name, {name})    # its own module's commands only
        assert _subparsers(alone)[name].format_help() == full.format_help(), name
    run = ["-v", "run", "cfg.json", "--store", "s", "--speed", "5", "--single-thread"]
    assert command_of(run) == "run"
    assert vars(build_parser("run").parse_args(run)) == vars(build_parser().parse_args(run))
    # the program's own help, or a word that is no command: every command, for the list and the error
    for argv in (["-h", "run"], ["--help"], ["bogus", "run"], [], ["-v"]):
        assert command_of(argv) is None, argv


@pytest.mark.parametrize("argv", [["-h", "run"], ["bogus"]])
def test_the_programs_help_and_errors_still_list_every_command(argv, capsys):
    from workstation.cli import main

    with pytest.raises(SystemExit):
        main(argv)
    out = capsys.readouterr()
    assert "sweep-schema" in out.out + out.err and "demo-data" in out.out + out.err


@pytest.mark.parametrize("argv, command, unknown", [
    (["run", "cfg.json", "--runs", "x"], "run", "--runs x"),
    (["store", "info", "--foo"], "store info", "--foo"),
    (["report", "--bar", "runs/x"], "report", "--bar"),
])
def test_an_argument_a_command_does_not_take_is_reported_with_that_commands_usage(argv, command, unknown, capsys):
    """argparse reports such arguments with the program's usage ("workstation [-h] [-v] [--version]
    COMMAND"), which names no option of the command mistyped; the command's own usage does."""
    from workstation.cli import main

    with pytest.raises(SystemExit) as raised:
        main(argv)
    err = capsys.readouterr().err
    assert raised.value.code == 2
    assert err.startswith(f"usage: workstation {command} [-h]"), err
    assert err.splitlines()[-1] == f"workstation {command}: error: unrecognized arguments: {unknown}", err


@pytest.mark.parametrize("argv, last_line", [
    (["store", "remove", "SRNE", "--store", "s"],
     "workstation store remove: error: the following arguments are required: --symbol (give 'SRNE' as `--symbol SRNE`)"),
    (["store", "remove", "--store", "s"],                     # nothing given bare: argparse's words alone
     "workstation store remove: error: the following arguments are required: --symbol"),
    (["store", "remove", "--store", "SRNE"],                  # the word is --store's value: no hint
     "workstation store remove: error: the following arguments are required: --symbol"),
])
def test_a_word_given_bare_for_a_required_option_gets_a_hint(argv, last_line, capsys):
    from workstation.cli import main

    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == last_line


def test_the_programs_option_after_the_command_says_where_it_goes(capsys):
    from workstation.cli import main

    with pytest.raises(SystemExit):
        main(["run", "cfg.json", "-v"])
    err = capsys.readouterr().err
    assert "unrecognized arguments: -v (-v/--verbose is the program's option: put it before the command, " \
           "`workstation -v run …`)" in err, err
    with pytest.raises(SystemExit):                 # before the command it is the program's, as ever
        main(["-x", "run", "cfg.json"])
    assert capsys.readouterr().err.splitlines()[-1] == "workstation: error: unrecognized arguments: -x"


def test_validate_schema_only_loads_no_heavy_library_and_a_full_validate_does(tmp_path):
    config = ROOT / "session_configs" / "example_session.json"
    loaded, done = _loaded_after(CLI % (["validate", "--schema-only", str(config)],), tmp_path)
    assert loaded == set() and "OK:" in done.stdout
    # the same check sees the libraries when the command needs them (the store and the calendar)
    from workstation.store import generate_demo

    generate_demo(tmp_path / "store", symbols=5, days=8, seed=7)
    loaded, done = _loaded_after(CLI % (["validate", str(config), "--store", str(tmp_path / "store")],), tmp_path,
                                 env={"WORKSTATION_CACHE_DIR": str(tmp_path / "cache")})
    assert {"pandas", "pyarrow"} <= loaded and "runnable" in done.stdout


RUN = """
import json, sys
from workstation.cli import main
assert main(["run", %r, "--store", "store", "--out", %r, "--no-bars", "--json"]) == 0
"""


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A demo store, a two-session config, a cold run (fills the calendar cache), then a warm run
    whose loaded modules, --json output and wall time (spawn to exit) are kept."""
    from workstation.config import save_config, validate_config_dict
    from workstation.store import generate_demo

    folder = tmp_path_factory.mktemp("startup")
    generate_demo(folder / "store", symbols=3, days=6, seed=3)
    cfg = validate_config_dict({
        "name": "startup", "symbols": ["ACME", "BOLT", "CYRX"],
        "streams": {"interval": "1m", "derived": ["5m"], "indicators": ["sma(20)"]},
        "backtest": {"start_date": "2024-12-04", "end_date": "2024-12-05"},
        "historical": {"trailing_days": 1, "warmup_bars": 20},
        "strategies": [{"name": "sma", "class_path": "sma_crossover"}], "risk": {"min_quality_pct": 0}})
    save_config(cfg, folder / "c.json")
    env = {"WORKSTATION_CACHE_DIR": str(folder / "cache")}
    cold, _ = _loaded_after(RUN % ("c.json", "cold"), folder, env)
    t0 = time.perf_counter()
    warm, done = _loaded_after(RUN % ("c.json", "warm"), folder, env)
    wall = time.perf_counter() - t0
    document = json.loads(done.stdout[:done.stdout.rindex("LOADED ")])
    return {"folder": folder, "cold": cold, "warm": warm, "document": document, "wall": wall}


def test_a_run_on_a_warm_calendar_cache_loads_no_calendar_library_ray_qt_or_pandas(small_run):
    assert "pandas_market_calendars" in small_run["cold"]          # the cold run computed the years
    assert small_run["warm"] == {"pyarrow"}                         # not even with --json


def loaded_of(small_run, watched: tuple[str, ...], out: str) -> list[str]:
    """Which of the `watched` modules a `workstation run --json` process of the small config has loaded
    when it ends (its document checked against the module run's)."""
    report = f"\nprint('MODULES ' + ','.join(m for m in {watched!r} if m in sys.modules))\n"
    done = subprocess.run([sys.executable, "-c", RUN % ("c.json", out) + report], cwd=small_run["folder"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT),
                               "WORKSTATION_CACHE_DIR": str(small_run["folder"] / "cache")})
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(done.stdout[:done.stdout.rindex("MODULES ")])
    assert document["ok"] and document["statistics"] == small_run["document"]["statistics"]
    return [m for m in done.stdout.splitlines()[-1].removeprefix("MODULES ").split(",") if m]


def test_a_run_with_json_output_loads_no_pyarrow_filesystems(small_run):
    """pyarrow.parquet loads pyarrow's filesystems (S3, GCS, Azure, HDFS and ssl), ~10 ms of a process
    that reads and writes local files only: neither the run (the store, the run folder) nor `--json`'s
    read-back of the run folder imports it."""
    assert loaded_of(small_run, ("pyarrow.parquet", "pyarrow.fs"), "filesystems") == []


def test_a_headless_run_of_raw_prices_loads_no_snapshot_or_corporate_action_code(small_run):
    """What only some runs use is imported by them alone (~4 ms each of a run's start-up): the snapshot
    keeper by rewindable runs (the GUI's), the corporate actions by runs of adjusted prices."""
    assert loaded_of(small_run, ("workstation.pipeline.snapshots", "workstation.store.corporate_actions"), "lean") == []


def test_the_first_bar_figures_are_in_run_json_metrics_json_and_the_report(small_run):
    startup = small_run["document"]["startup"]
    first, cpu = startup["first_bar_s"], startup["first_bar_cpu_s"]
    assert 0 < first < small_run["wall"]        # after the process started, before it ended
    assert 0 < cpu
    metrics = json.loads((small_run["folder"] / "warm" / "metrics.json").read_text())["metrics"]["stats"]
    assert metrics[FIRST_BAR]["count"] == 1 and metrics[FIRST_BAR]["last"] == first   # once, at the first bar
    assert metrics[FIRST_BAR_CPU]["count"] == 1
    report = (small_run["folder"] / "warm" / "report.txt").read_text()
    assert f"start-up: first bar {first:.3f} s after the process started (CPU {cpu:.3f} s)" in report
    assert FIRST_BAR in report


def test_a_run_inside_a_longer_lived_process_records_no_start_up(small_run, monkeypatch):
    """The window and notebooks run many times in one process: its age is no start-up figure there."""
    import workstation

    monkeypatch.setenv("WORKSTATION_CACHE_DIR", str(small_run["folder"] / "cache"))
    monkeypatch.chdir(small_run["folder"])
    results = workstation.run("c.json", store="store", out="in-process")
    stats = results.metrics["metrics"]["stats"]
    assert FIRST_BAR not in stats and FIRST_BAR_CPU not in stats
    assert "start-up" not in (small_run["folder"] / "in-process" / "report.txt").read_text()
    assert startup_figures(results.metrics) == {"first_bar_s": None, "first_bar_cpu_s": None}


def test_process_age_is_counted_from_the_process_start_not_the_import(tmp_path):
    code = ("import time; time.sleep(0.3)\n"
            "from workstation.process_start import process_age_s, _age_from_psutil\n"
            "print(process_age_s(), _age_from_psutil())")
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t0
    age, by_psutil = (float(x) for x in done.stdout.split())
    assert 0.3 <= age <= wall                  # includes the sleep before the import; within the process's life
    # the fallback agrees to its coarser grain (psutil adds the boot time, which Linux gives in whole seconds)
    assert abs(age - by_psutil) < 1.5


def test_the_proc_stat_reader_takes_the_start_time_after_an_odd_process_name(tmp_path):
    ticks = os.sysconf("SC_CLK_TCK")
    before = time.clock_gettime(time.CLOCK_BOOTTIME)
    start_ticks = round((before - 12.5) * ticks)           # a process started 12.5 s ago (to a tick)
    fields = ["S", "1", "1", "1", "0", "-1", "4194560"] + ["0"] * 12 + [str(start_ticks), "100"]
    stat = tmp_path / "stat"
    stat.write_text(f"4242 (odd) name (x) {' '.join(fields)}\n")
    age = process_start._age_from_proc(str(stat))
    waited = time.clock_gettime(time.CLOCK_BOOTTIME) - before     # however long this machine took since
    assert 12.5 - 1 / ticks <= age <= 12.5 + waited + 1 / ticks
    stat.write_text("garbage")
    assert process_start._age_from_proc(str(stat)) is None
    assert process_start._age_from_proc(str(tmp_path / "missing")) is None


def test_record_first_bar_records_the_age_and_the_cpu_seconds():
    metrics = PerformanceMetrics()
    process_start.record_first_bar(metrics)
    age, cpu = metrics.stat(FIRST_BAR), metrics.stat(FIRST_BAR_CPU)
    assert age.count == cpu.count == 1
    assert age.last == pytest.approx(process_start.process_age_s(), abs=1.0)
    assert 0 < cpu.last <= time.process_time()
    line = startup_line(metrics.snapshot()["run"]["stats"])
    assert line == f"start-up: first bar {age.last:.3f} s after the process started (CPU {cpu.last:.3f} s)"
    assert startup_line(PerformanceMetrics().snapshot()["run"]["stats"]) is None
    assert "start-up" not in PerformanceMetrics().report_text()
    assert startup_figures(None) == {"first_bar_s": None, "first_bar_cpu_s": None}


def test_json_output_still_converts_numpy_and_pandas_values():
    frame = pd.DataFrame({"a": [1, 2], "t": [pd.Timestamp("2024-12-04 14:30", tz="UTC"), pd.NaT]})
    value = {"frame": frame, "series": pd.Series([1.5, np.nan]), "array": np.array([1, 2]),
             "float": np.float64(math.inf), "int": np.int64(7), "nat": pd.NaT, "na": pd.NA,
             "ts": pd.Timestamp("2024-12-04", tz="UTC")}
    assert jsonable(value) == {
        "frame": [{"a": 1, "t": "2024-12-04T14:30:00+00:00"}, {"a": 2, "t": None}],
        "series": [1.5, None], "array": [1, 2], "float": None, "int": 7, "nat": None, "na": None,
        "ts": "2024-12-04T00:00:00+00:00"}
    json.dumps(jsonable(value), allow_nan=False)


FIRST_BAR_PROBE = """
import gc, json, sys
import workstation.process_start as process_start
from workstation.cli import main

WATCHED = ("pandas", "pyarrow.dataset", "pandas_market_calendars", "pytz", "dateutil", "numpy.ma")
seen = {}
record = process_start.record_first_bar

def probe(metrics):   # the coordinator's on_first_bar hook (workstation run hands it record_first_bar)
    seen["at_first_bar"] = sorted(m for m in WATCHED if m in sys.modules)
    seen["collector_at_first_bar"] = gc.isenabled()
    record(metrics)

process_start.record_first_bar = probe
code = main(["run", %r, "--store", %r, "--out", %r, "--no-bars", "--overwrite"])
seen["at_exit"] = sorted(m for m in WATCHED if m in sys.modules)
import pandas  # noqa: E402,F401 - the control: the probe does see pandas once something imports it
seen["control"] = sorted(m for m in WATCHED if m in sys.modules)
seen["collector_at_exit"] = gc.isenabled()
print("PROBE " + json.dumps(seen))
sys.exit(code)
"""


@pytest.fixture(scope="module")
def example_store(tmp_path_factory):
    """The demo store the example configs run on, and a calendar cache already holding their years."""
    from workstation.store import generate_demo

    folder = tmp_path_factory.mktemp("example")
    generate_demo(folder / "store")
    return folder


@pytest.mark.parametrize("config", ["example_session.json", "example_orb.json"])
def test_a_whole_run_of_the_example_configs_imports_no_pandas(example_store, config):
    """Start-up budget: pandas, pyarrow.dataset and the calendar library cost ~0.4 s of CPU to import;
    nothing in a `workstation run` needs them, before its first bar or after (the history, the run
    folder's parts, the statistics and the reports are built with numpy and pyarrow alone)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WORKSTATION_CACHE_DIR": str(example_store / "cache")}
    seen = None
    for attempt in ("cold", "warm"):       # the cold run fills the calendar cache (the library computes it)
        done = subprocess.run([sys.executable, "-c", FIRST_BAR_PROBE % (str(ROOT / "session_configs" / config),
                                                                        str(example_store / "store"),
                                                                        str(example_store / f"run-{attempt}"))],
                              cwd=example_store, capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        seen = json.loads(done.stdout.split("PROBE ", 1)[1])
    assert seen is not None
    assert seen["at_first_bar"] == []
    # nor anything after it: the history read, the run writer's parts and statistics, the reports
    assert seen["at_exit"] == []
    assert "pandas" in seen["control"]
    # the garbage collector pauses for the start-up only
    assert seen["collector_at_first_bar"] is False and seen["collector_at_exit"] is True


def test_the_start_up_collection_pause_resumes_once_and_only_what_it_paused():
    import gc

    was_enabled = gc.isenabled()               # (the window's tests leave it to the GUI thread: off)
    try:
        gc.enable()
        collection = process_start.StartupCollection()
        collection.pause()
        assert not gc.isenabled()
        collection.resume()
        collection.resume()
        assert gc.isenabled()
        gc.disable()                          # someone else turned it off: not ours to turn on
        other = process_start.StartupCollection()
        other.pause()
        other.resume()
        assert not gc.isenabled()
    finally:
        (gc.enable if was_enabled else gc.disable)()


def test_the_run_collects_its_first_generation_less_often_and_the_threshold_comes_back():
    import gc

    was_enabled, before = gc.isenabled(), gc.get_threshold()
    try:
        gc.enable()
        gc.set_threshold(700, 10, 10)
        collection = process_start.StartupCollection()
        collection.pause()
        collection.resume()                   # the first bar: collected, at the run's threshold
        assert gc.isenabled() and gc.get_threshold() == (process_start.StartupCollection.RUN_GEN0_THRESHOLD, 10, 10)
        collection.end()                      # the command is over: a caller's process goes on as it was
        assert gc.isenabled() and gc.get_threshold() == (700, 10, 10)
        gc.set_threshold(50_000, 5, 5)        # a higher threshold of the caller's is kept
        collection = process_start.StartupCollection()
        collection.pause()
        collection.end()                      # (a command that ended before its first bar)
        assert gc.get_threshold() == (50_000, 5, 5)
    finally:
        gc.set_threshold(*before)
        (gc.enable if was_enabled else gc.disable)()


def test_an_in_process_run_command_leaves_the_collector_as_it_found_it(small_run, monkeypatch):
    import gc

    from workstation.cli import main

    monkeypatch.setenv("WORKSTATION_CACHE_DIR", str(small_run["folder"] / "cache"))
    monkeypatch.chdir(small_run["folder"])
    was_enabled, before = gc.isenabled(), gc.get_threshold()
    try:
        gc.enable()
        assert main(["run", "c.json", "--store", "store", "--out", "again", "--json"]) == 0
        assert gc.isenabled() and gc.get_threshold() == before
    finally:
        (gc.enable if was_enabled else gc.disable)()


def test_every_config_field_is_described_in_the_schema():
    """Descriptions come from Field(description=...), not attribute docstrings (which pydantic would
    read by tokenizing the source at every start): a field without one would show no help. A field
    holding a section (a model, or a list of them) is described by that section's docstring."""
    from workstation.config import config_json_schema

    schema = config_json_schema()
    undescribed = []
    for name, model in [("SessionConfig", schema), *schema["$defs"].items()]:
        for field, prop in model.get("properties", {}).items():
            section = "$ref" in prop or "$ref" in prop.get("items", {})
            if not section and not prop.get("description"):
                undescribed.append(f"{name}.{field}")
            if section:
                target = (prop.get("$ref") or prop["items"]["$ref"]).split("/")[-1]
                assert schema["$defs"][target].get("description"), target
    assert undescribed == []
    assert len(schema["$defs"]) > 10


def _load_run_document(folder: Path) -> dict:
    """run --json's document as load_run (pandas) reads the folder: the expectation."""
    from workstation.runs import load_run

    results = load_run(folder)
    return {"name": results.name, "summary": results.summary, "statistics": results.stats,
            "startup": startup_figures(results.metrics)}


def test_run_json_reads_the_folder_without_pandas_as_load_run_does(small_run, example_store, monkeypatch):
    """`run --json` reads the statistics back from the run folder with pyarrow alone: the same
    document, to the bit, as load_run's (pandas) reading of the same folder; a folder it does not take
    (a trades table in one file, an older layout) goes through load_run."""
    import shutil

    import workstation
    from workstation.run_commands import _folder_document, run_document

    monkeypatch.setenv("WORKSTATION_CACHE_DIR", str(example_store / "cache"))
    examples = example_store / "in-process"
    workstation.run(str(ROOT / "session_configs" / "example_session.json"), store=str(example_store / "store"),
                    out=str(examples))
    for folder in (small_run["folder"] / "warm", examples):
        expected = _load_run_document(folder)
        assert expected["statistics"]["trades"] > 0 or folder != examples
        got = _folder_document(folder)
        assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
        assert run_document(folder)["statistics"] == expected["statistics"]
    single_file = small_run["folder"] / "single-file"
    shutil.copytree(examples, single_file)
    shutil.rmtree(single_file / "trades.parquet")
    import pandas as pd

    (pd.read_parquet(examples / "trades.parquet")).to_parquet(single_file / "trades.parquet")
    assert _folder_document(single_file) is None
    assert run_document(single_file)["statistics"] == _load_run_document(single_file)["statistics"]


def test_the_program_does_not_look_for_pydantic_plugins_unless_the_user_said_otherwise():
    """`workstation` (the program's own process) turns pydantic's plugin search off (it reads every
    installed package's metadata when the first config model is built); a value the user set is kept
    (empty: load the plugins), and a process that calls main(argv) (a notebook, the tests) is left alone."""
    from workstation.cli import no_pydantic_plugins

    env: dict[str, str] = {}
    assert no_pydantic_plugins(env) is True and env == {"PYDANTIC_DISABLE_PLUGINS": "__all__"}
    for mine in ("", "logfire"):
        env = {"PYDANTIC_DISABLE_PLUGINS": mine}
        assert no_pydantic_plugins(env) is False and env == {"PYDANTIC_DISABLE_PLUGINS": mine}

    code = """
import os, sys
from workstation.cli import main
sys.argv = ["workstation", "validate", "--schema-only", %r]
try:
    main() if %r else main(sys.argv[1:])
except SystemExit:
    pass
import pydantic.plugin._loader as loader
print("ENV", os.environ.get("PYDANTIC_DISABLE_PLUGINS"), "SEARCHED", loader._plugins is not None)
"""
    config = str(ROOT / "session_configs" / "example_session.json")

    def run(as_program: bool, extra: dict | None = None) -> tuple[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
        done = subprocess.run([sys.executable, "-c", code % (config, as_program)], capture_output=True, text=True,
                              timeout=120, env={**env, "PYTHONPATH": str(ROOT), **(extra or {})})
        assert done.returncode == 0, done.stderr[-2000:]
        _, value, _, searched = done.stdout[done.stdout.index("ENV "):].split()
        return value, searched

    assert run(True) == ("__all__", "False")                  # the program: no search
    assert run(False) == ("None", "True")                     # main(argv) in someone's process: as it was
    assert run(True, {"PYDANTIC_DISABLE_PLUGINS": "x"}) == ("x", "True")   # the user's choice


def test_the_program_runs_openblas_single_threaded_unless_the_user_said_otherwise():
    """`workstation` (the program's own process) sets OPENBLAS_NUM_THREADS=1 before numpy loads, so
    OpenBLAS starts no thread per core (~0.05 s of CPU per run); a value the user set is kept, and a
    process that calls main(argv) (a notebook, the tests) or has numpy loaded already is left alone."""
    from workstation.cli import single_threaded_blas

    env: dict[str, str] = {}
    assert single_threaded_blas(env, {}) is True and env == {"OPENBLAS_NUM_THREADS": "1"}
    env = {"OPENBLAS_NUM_THREADS": "4"}
    assert single_threaded_blas(env, {}) is False and env == {"OPENBLAS_NUM_THREADS": "4"}
    env = {}
    assert single_threaded_blas(env, {"numpy": object()}) is False and env == {}

    code = """
import os, sys
from workstation.cli import main
sys.argv = ["workstation", "--version"]
try:
    main() if %r else main(["--version"])
except SystemExit:
    pass
import numpy
print("ENV", os.environ.get("OPENBLAS_NUM_THREADS"), "THREADS", len(os.listdir("/proc/self/task")))
"""
    def run(as_program: bool, extra: dict | None = None) -> tuple[str, int]:
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
        done = subprocess.run([sys.executable, "-c", code % as_program], capture_output=True, text=True,
                              timeout=120, env={**env, "PYTHONPATH": str(ROOT), **(extra or {})})
        assert done.returncode == 0, done.stderr[-2000:]
        _, value, _, threads = done.stdout[done.stdout.index("ENV "):].split()
        return value, int(threads)

    program_value, program_threads = run(True)
    assert program_value == "1" and program_threads == 1
    library_value, library_threads = run(False)
    assert library_value == "None"
    blas = str(np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {}).get("name", ""))
    if (os.cpu_count() or 1) > 1 and "openblas" in blas.lower():
        assert library_threads > program_threads          # OpenBLAS's own threads, one per extra core
    assert run(True, {"OPENBLAS_NUM_THREADS": "2"})[0] == "2"


QUICK_EXIT_PROBE = """
import atexit, sys
if %r:
    atexit.register(lambda: print("HANDLER RAN", file=sys.stderr, flush=True))   # e.g. a strategy's exit hook
sys.argv = ["workstation", "run", %r, "--store", %r, "--out", %r, "--no-bars", "--overwrite", "--json"]
from workstation.cli import main
code = main()
print("AFTER MAIN", code, file=sys.stderr, flush=True)
sys.exit(code)
"""


@pytest.mark.parametrize("handler", [False, True])
def test_a_finished_run_exits_without_the_interpreters_teardown_unless_an_exit_hook_waits(example_store, handler):
    """`workstation run` ends its process as soon as the run folder is closed and the output flushed
    (no teardown of its heap); its whole --json document still arrives, with the exit code. An exit
    handler someone registered (a strategy's atexit hook) keeps the normal exit, and runs."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WORKSTATION_CACHE_DIR": str(example_store / "cache")}
    out = example_store / f"quick-exit-{handler}"
    done = subprocess.run([sys.executable, "-c", QUICK_EXIT_PROBE % (
        handler, str(ROOT / "session_configs" / "example_session.json"), str(example_store / "store"), str(out))],
        cwd=example_store, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(done.stdout)
    assert document["ok"] is True and document["summary"]["trades"] > 0
    assert (out / "run_status.json").exists() and (out / "trades.parquet").exists()
    assert ("AFTER MAIN 0" in done.stderr) is handler      # main returned: the normal exit
    assert ("HANDLER RAN" in done.stderr) is handler
