"""The HTML report and the comparison: self-contained (nothing loaded from elsewhere), escaped, every
section present with as many rows and bars as the run has, headline figures equal to ones computed
here from the run's files; `report` / `compare` on the command line, with --json."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from workstation.cli import main as cli_main
from workstation.report.compare import config_differences, render_compare_html, render_compare_text
from workstation.report.formatting import fmt_money, fmt_pct
from workstation.runs import load_run


class Document(HTMLParser):
    """Every start tag with its attributes, the text of <style> and <script>, and the classes seen."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.styles: list[str] = []
        self.scripts: list[str] = []
        self._in: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in = tag if tag in ("style", "script") else None

    def handle_data(self, data):
        if self._in == "style":
            self.styles.append(data)
        elif self._in == "script":
            self.scripts.append(data)

    def count(self, tag: str, css_class: str | None = None) -> int:
        return sum(1 for t, a in self.tags if t == tag and (css_class is None or css_class in a.get("class", "").split()))


def assert_self_contained(html: str) -> None:
    """No attribute, style or script that could make a browser fetch anything."""
    doc = Document(html)
    for tag, attrs in doc.tags:
        assert tag not in ("link", "img", "iframe", "object", "embed", "base", "video", "audio", "source"), tag
        for name in ("src", "href", "srcset", "data", "poster", "action", "xlink:href"):
            assert name not in attrs, f"<{tag} {name}=...> would load something"
        assert "url(" not in attrs.get("style", "")
    css = " ".join(doc.styles)
    assert "url(" not in css and "@import" not in css and "@font-face" not in css
    for script in doc.scripts:
        for word in ("fetch(", "XMLHttpRequest", "import(", "WebSocket", "src", "http"):
            assert word not in script, word
    outside_config_text = re.sub(r'<pre class="config">.*?</pre>', "", html, flags=re.S)
    assert not re.search(r"(https?|wss?|ftp)://", outside_config_text), "an address outside the config text"


@pytest.fixture(scope="module")
def report(engine_run) -> tuple[str, Document]:
    html = load_run(engine_run).report_html()
    return html, Document(html)


def test_the_report_is_self_contained_and_escaped(report):
    html, doc = report
    assert_self_contained(html)
    assert "SMA 5/20 &lt;demo&gt; &amp; co" in html and "<demo>" not in html
    assert doc.count("script") == 1 and doc.count("style") == 1


def test_every_section_is_there_with_the_runs_numbers(report, engine_run):
    html, doc = report
    for title in ("Equity and drawdown", "Daily and monthly returns", "Trade distribution",
                  "Per symbol and per strategy", "Data coverage", "Trades", "The run and its config"):
        assert f"<h2>{title}" in html, title
    for css in ("equity-chart", "drawdown-chart", "daily-chart", "histogram-chart"):
        assert doc.count("svg", css) == 1, css
    equity = pd.read_parquet(engine_run / "equity.parquet")
    trades = pd.read_parquet(engine_run / "trades.parquet")
    config = json.loads((engine_run / "config.json").read_text())
    cash = config["execution"]["starting_cash"]
    final = float(equity["equity"].iloc[-1])
    assert fmt_pct((final / cash - 1) * 100) in html
    assert fmt_money(final, signed=False) in html
    # one bar per session in the daily chart, one row per trade, per traded symbol, per session of coverage
    daily_svg = re.search(r'<svg class="chart daily-chart".*?</svg>', html, re.S).group(0)
    assert daily_svg.count("<rect") == 6
    trades_table = re.search(r'<table class="trades sortable">.*?</table>', html, re.S).group(0)
    assert trades_table.count("<tr>") - 1 == len(trades) > 0
    symbol_table = re.search(r'<table class="by-symbol sortable">.*?</table>', html, re.S).group(0)
    assert symbol_table.count("<tr>") - 1 == trades["symbol"].nunique()
    matrix = re.search(r'<table class="grid quality-matrix">.*?</table>', html, re.S).group(0)
    assert matrix.count("<tr>") - 1 == 6 and "2024-11-29" in matrix
    assert '<pre class="config">' in html and "&quot;sma_crossover&quot;" in html
    # the histogram holds every trade
    hist = re.search(r'<svg class="chart histogram-chart".*?</svg>', html, re.S).group(0)
    counts = [int(m) for m in re.findall(r": (\d+) trades?</title>", hist)]
    assert sum(counts) == len(trades)


def test_round_trips_two_strategies_traded_are_explained_under_the_strategy_table(report, engine_run, tmp_path):
    import shutil

    assert "round trips that more than one strategy traded" not in report[0]     # one strategy: no note
    run = Path(shutil.copytree(engine_run, tmp_path / "netted"))
    trades = pd.read_parquet(run / "trades.parquet")
    name = trades["strategy"].iloc[0]
    joined = f"{name}+rsi<2>"
    trades.loc[trades.index[::2], "strategy"] = joined       # every other round trip shared with another strategy
    if (run / "trades.parquet").is_dir():                   # a folder of parts: one file in its place
        shutil.rmtree(run / "trades.parquet")
    trades.to_parquet(run / "trades.parquet")
    html = load_run(run).report_html()
    table = re.search(r'<table class="by-strategy sortable">.*?</table>', html, re.S).group(0)
    assert table.count("<tr>") - 1 == 2
    note = re.search(r"<table class=\"by-strategy sortable\">.*?</table>\s*<p class='note'>(.*?)</p>", html, re.S)
    assert note is not None and note.group(1).startswith(f"{name}+rsi&lt;2&gt;: round trips that more than one")
    assert "opened by the first named" in note.group(1)


def test_a_run_with_no_trades_and_no_optional_tables_still_reports(tmp_path):
    from workstation.execution.results import equity_frame, trades_frame

    run = tmp_path / "quiet"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"name": "quiet", "symbols": ["ACME"]}))
    trades_frame([]).to_parquet(run / "trades.parquet")
    equity_frame([], [], [], [], []).to_parquet(run / "equity.parquet")
    html = load_run(run).report_html()
    assert_self_contained(html)
    assert "No equity points" in html and "No closed trades" in html and "no quality table" in html
    assert "no metrics.json" in html
    assert "still open at the end" not in html


def test_an_incomplete_run_folder_is_reported_as_such(engine_run, tmp_path):
    import shutil

    run = Path(shutil.copytree(engine_run, tmp_path / "killed"))
    (run / "run_status.json").write_text(json.dumps({"state": "running", "complete": False, "pid": 1}))
    html = load_run(run).report_html()
    assert "not marked complete" in html and "says running" in html
    (run / "run_status.json").write_text(json.dumps({"state": "finished", "complete": True}))
    assert "not marked complete" not in load_run(run).report_html()


def test_report_on_a_run_with_no_session_written_yet_says_so(tmp_path, capsys):
    """A run that has not written its first session (still running, or killed before it) has nothing to
    report: the command says which, not that the folder lacks a table."""
    import os
    import socket

    run = tmp_path / "starting"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"name": "starting", "symbols": ["ACME"]}))
    status = {"state": "running", "complete": False, "pid": os.getpid(), "host": socket.gethostname(),
              "sessions_done": 0, "sessions_total": 6}
    (run / "run_status.json").write_text(json.dumps(status))
    assert cli_main(["report", str(run)]) == 2
    err = capsys.readouterr().err
    assert "still being written by process" in err and "0 of 6 sessions" in err
    assert "nothing to report before its first session is written" in err and "trades.parquet" not in err
    (run / "run_status.json").write_text(json.dumps(dict(status, pid=2**22 + 12345)))   # no such process
    assert cli_main(["report", str(run), "--json"]) == 2
    captured = capsys.readouterr()
    assert "INCOMPLETE" in captured.err and "no session of it was written" in captured.err
    assert json.loads(captured.out)["ok"] is False


def test_report_command_writes_html_and_json(engine_run, tmp_path, capsys):
    assert cli_main(["report", str(engine_run), "--html"]) == 0
    assert (engine_run / "report.html").is_file()
    assert f"to {engine_run / 'report.html'}" in capsys.readouterr().out
    out = tmp_path / "sub" / "r.html"
    assert cli_main(["report", str(engine_run), "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["report"] == str(out) and out.read_text().startswith("<!DOCTYPE html>")
    assert doc["statistics"]["trades"] == len(pd.read_parquet(engine_run / "trades.parquet"))
    assert cli_main(["report", str(engine_run)]) == 0
    assert "Total return" in capsys.readouterr().out


def test_report_command_errors(tmp_path, capsys):
    assert cli_main(["report", str(tmp_path / "nope"), "--json"]) == 2
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["ok"] is False and "nope" in doc["error"] and "does not exist" in captured.err
    assert cli_main(["compare", str(tmp_path)]) == 2
    assert "at least two run folders" in capsys.readouterr().err


def test_compare_marks_the_best_and_lists_config_differences(engine_run, engine_run_slow, tmp_path, capsys):
    runs = [load_run(engine_run), load_run(engine_run_slow)]
    text = render_compare_text(runs)
    returns = [r.stats["total_return_pct"] for r in runs]
    line = next(ln for ln in text.splitlines() if ln.startswith("Total return"))
    best = max(range(2), key=lambda i: returns[i])
    assert fmt_pct(returns[best]) + "*" in line and fmt_pct(returns[1 - best]) + "*" not in line
    diffs = config_differences(runs)
    assert diffs["strategies[sma].params.fast"] == [5, 10] and diffs["strategies[sma].params.slow"] == [20, 40]
    assert "name" not in diffs
    html = render_compare_html(runs)
    assert_self_contained(html)
    equity_svg = re.search(r'<svg class="chart compare-equity".*?</svg>', html, re.S).group(0)
    assert equity_svg.count('<polyline class="series"') == 2
    assert "sma-5-20" in html and "sma-10-40" in html

    out = tmp_path / "cmp.html"
    assert cli_main(["compare", str(engine_run), str(engine_run_slow), "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["label"] for r in doc["runs"]] == ["sma-5-20", "sma-10-40"] and out.is_file()
    assert doc["runs"][1]["statistics"]["total_return_pct"] == pytest.approx(returns[1])


def test_config_differences_name_a_whole_entry_only_some_runs_hold_once():
    """A strategy or historical indicator only one run holds is one line (its settings against
    "absent"), not a line per field with "null" on the other side; an empty list of entries against a
    run's named entries adds no line of its own; entries both runs hold differ field by field."""
    from types import SimpleNamespace

    from workstation.report.compare import ABSENT

    def run(strategies, indicators, label):
        return SimpleNamespace(config={"name": label, "strategies": strategies,
                                       "historical": {"indicators": indicators, "trailing_days": 5}})

    sma = {"name": "sma", "class_path": "sma_crossover", "params": {"fast": 5, "slow": 20}}
    rsi = {"name": "rsi", "class_path": "rsi_reversion", "params": {"period": 14}}
    hi = {"name": "high_52w", "kind": "max", "field": "high", "period": "52w"}
    a = run([sma, rsi], [hi], "a")
    b = run([{**sma, "params": {"fast": 8, "slow": 20}}], [], "b")
    diffs = config_differences([a, b])
    assert diffs == {
        "historical.indicators[high_52w]": [{"kind": "max", "field": "high", "period": "52w"}, ABSENT],
        "strategies[rsi]": [{"class_path": "rsi_reversion", "params": {"period": 14}}, ABSENT],
        "strategies[sma].params.fast": [5, 8],
    }
    text = render_compare_text([SimpleNamespace(**vars(a), stats={}, name="a", run_dir=Path("a")),
                                SimpleNamespace(**vars(b), stats={}, name="b", run_dir=Path("b"))])
    assert "null" not in text.split("Config fields that differ:")[1]
    assert "strategies[rsi]: " in text and "=absent" in text


def test_a_parameter_one_config_leaves_at_its_class_default_differs_only_when_the_values_do():
    """sma_crossover's fast defaults to 5: a run whose config leaves fast out used 5, so against a run
    with fast 5 nothing differs, and against fast 8 the line says "5 (default)"; a class that cannot be
    imported here keeps "absent"."""
    from types import SimpleNamespace

    from workstation.report.compare import ABSENT, ClassDefault

    def run(params, label, class_path="sma_crossover"):
        return SimpleNamespace(config={"name": label, "strategies": [
            {"name": "sma", "class_path": class_path, "params": params}]}, stats={}, name=label, run_dir=Path(label))

    left_out = run({"slow": 20}, "a")
    assert config_differences([left_out, run({"fast": 5, "slow": 20}, "b")]) == {}
    diffs = config_differences([left_out, run({"fast": 8, "slow": 20}, "c")])
    [(path, (default, given))] = diffs.items()
    assert path == "strategies[sma].params.fast" and isinstance(default, ClassDefault)
    assert (default.value, given) == (5, 8)
    assert "strategies[sma].params.fast: a=5 (default) | c=8" in render_compare_text(
        [left_out, run({"fast": 8, "slow": 20}, "c")])
    gone = config_differences([run({}, "d", "no_such_module_q:S"), run({"fast": 8}, "e", "no_such_module_q:S")])
    assert gone == {"strategies[sma].params.fast": [ABSENT, 8]}


def test_run_labels_stay_distinct_for_folders_of_the_same_name(engine_run, tmp_path):
    import shutil

    from workstation.report.compare import run_labels

    a = Path(shutil.copytree(engine_run, tmp_path / "a" / "run"))
    b = Path(shutil.copytree(engine_run, tmp_path / "b" / "run"))
    assert run_labels([load_run(a), load_run(b)]) == ["a/run", "b/run"]


def test_extra_gap_columns_show_a_dash_for_missing_values():
    # pandas turns a None in an object column read from Parquet into NaN (or NaT): the report shows a dash
    from workstation.report.run_report import DASH, _text_or_dash

    assert _text_or_dash(None) == DASH
    assert _text_or_dash(float("nan")) == DASH
    assert _text_or_dash(pd.NaT) == DASH
    assert _text_or_dash("stream") == "stream"
    assert _text_or_dash(0) == "0"


def _buy_and_hold_class():
    from workstation.strategies import BaseStrategy

    class Holder(BaseStrategy):
        """Buys 100 of every symbol on its first bar and never sells: the run ends holding them."""

        def on_bars(self, ctx, sym_idx):
            for i in sym_idx.tolist():
                symbol = ctx.symbols[i]
                if ctx.position(symbol) == 0 and not ctx.open_orders(symbol):
                    ctx.submit_order(symbol, 100)
            return None

    return Holder


def test_positions_open_at_the_end_split_the_net_pnl_in_every_report(tmp_path, report_store, capsys, monkeypatch):
    """A run that ends holding positions: its statistics split the net P&L into the closed trades' (none
    here) and the open positions' (their fills against the last closes, from fills.parquet and
    bars.parquet), with the gross exposure at the end; the terminal report, report.txt and the HTML report
    say so."""
    import sys
    import types

    from tests.workstation.report.conftest import make_config
    from workstation.config import save_config, validate_config_dict

    module = types.ModuleType("holder_strategy_for_reports")
    module.Holder = _buy_and_hold_class()
    monkeypatch.setitem(sys.modules, module.__name__, module)
    cfg = make_config("hold to the end", 5, 20)
    cfg["strategies"] = [{"name": "hold", "class_path": f"{module.__name__}:Holder"}]
    save_config(validate_config_dict(cfg), tmp_path / "config.json")
    out = tmp_path / "hold"
    assert cli_main(["run", str(tmp_path / "config.json"), "--store", str(report_store), "--out", str(out)]) == 0
    capsys.readouterr()
    fills = pd.read_parquet(out / "fills.parquet")
    bars = pd.read_parquet(out / "bars.parquet")
    last = bars[bars["interval"] == "1m"].sort_values("timestamp").groupby("symbol")["close"].last()
    held = fills.groupby("symbol")["quantity"].sum()
    assert (held == 100).all() and len(held) == 3
    open_pnl = float((held * last[held.index]).sum() - (fills["quantity"] * fills["price"]).sum()
                     - fills["commission"].sum())
    stats = load_run(out).stats
    assert stats["trades"] == 0 and stats["closed_pnl"] == 0.0
    assert stats["open_pnl"] == pytest.approx(open_pnl, abs=1e-6) == pytest.approx(stats["net_pnl"], abs=1e-9)
    assert stats["open_exposure"] == pytest.approx(float((held * last[held.index]).sum()))
    assert cli_main(["report", str(out)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"\n  open at the end +" + re.escape(fmt_money(open_pnl)) + "\n", text)
    assert re.search(r"\n  closed trades +\$0\.00\n", text)
    assert re.search(r"\nopen_pnl +" + re.escape(f"{open_pnl:,.4f}") + "\n", (out / "report.txt").read_text())
    html = load_run(out).report_html()
    assert (f"{fmt_money(stats['open_exposure'], signed=False)} gross exposure, marked at the last closes): "
            f"the whole {fmt_money(stats['net_pnl'])} net P&amp;L is theirs; no trade was closed.") in html
    # the commission paid is the entries' (3 fills), not the closed trades' (none): it was "$0.00 paid in total"
    paid = float(fills["commission"].sum())
    assert paid > 0 and stats["total_commission"] == 0.0
    assert re.search(r"Commission</div>\s*<div[^>]*>" + re.escape(fmt_money(paid, signed=False))
                     + r"</div>\s*<div[^>]*>paid in total, 3 fills<", html), html[html.find("Commission") - 200:][:600]
    assert re.search(r"\nCommission, closed trades +\$0\.00\n", text)
