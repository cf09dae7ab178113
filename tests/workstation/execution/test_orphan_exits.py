"""execution.cancel_orphan_exits: when another order closes or reverses the position a bracket's exits
protect, the exits are cancelled (NinjaTrader's ATM strategies, TradingView); off (the default,
backtrader's rule) they keep working and a later fill opens a position the other way. Expectations worked
by hand from the README's rules, on the broker alone and through a whole run."""

from __future__ import annotations

import pytest

from tests.workstation.execution.test_manual_orders import OPEN_1, bars_of, config, run
from tests.workstation.execution.test_orders import T0, bars, make, submit
from workstation.execution import make_request
from workstation.execution.manual import SubmitOrder
from workstation.store import BarStore, generate_demo

RULE = "(execution.cancel_orphan_exits)"


def _long_bracket(b, k: int = 0, qty: float = 100, stop_loss: float = 9.0, take_profit: float = 11.0):
    """A buy bracket sent after bar time k, filled at bar k+1's open 10: its exits work from bar k+2."""
    entry = submit(b, k, "AAA", qty, "market", stop_loss=stop_loss, take_profit=take_profit)
    bars(b, k + 1, {"AAA": (10, 10.2, 9.8, 10)})
    assert b.order(entry.id).status.value == "filled" and b.order(entry.id + 1).status.value == "working"
    return entry


def _by_hand(b, k: int, qty: float):
    return b.submit_order(make_request("AAA", qty, "market"), "manual", T0 + (k + 1) * 60_000_000_000)


@pytest.mark.parametrize("cancel", [False, True])
def test_a_hand_sale_that_closes_the_position_leaves_the_exits_working_or_cancels_them(cancel):
    b = make(allow_short=True, cancel_orphan_exits=cancel)
    bars(b, 0, {"AAA": (10, 10, 10, 10)})
    entry = _long_bracket(b)
    stop_loss, take_profit = entry.id + 1, entry.id + 2
    sale = _by_hand(b, 1, -100)
    bars(b, 2, {"AAA": (10.1, 10.3, 9.9, 10.2)})                  # the sale fills at the open: flat
    assert b.order(sale.id).status.value == "filled" and b.position("AAA") == 0
    fills = bars(b, 3, {"AAA": (10.5, 11.4, 10.4, 11.2)})          # reaches the take profit
    if cancel:
        for oid in (stop_loss, take_profit):
            order = b.order(oid)
            assert order.status.value == "cancelled" and order.status_time == T0 + 2 * 60_000_000_000
            assert order.reason == f"orphan exit: order {sale.id} closed the position {RULE}"
        assert fills == [] and b.position("AAA") == 0 and b.open_orders() == []
    else:                                                         # backtrader: the exit sells short
        assert [(f.order_id, f.price) for f in fills] == [(take_profit, 11.0)]
        assert b.position("AAA") == -100 and b.order(stop_loss).status.value == "cancelled"


def test_a_reversal_cancels_the_old_sides_exits_and_cuts_the_new_brackets_own_to_what_it_opened():
    """Long 100 with a bracket, a short bracket of 300 fills: short 200. The long's exits (sell 100) would
    enlarge the short: cancelled. The short's own (buy 300) would take it to long 100: cut to the 200 it
    opened, so that its take profit closes the position. Off, backtrader's rule, they buy the whole 300."""
    for cancel in (False, True):
        b = make(allow_short=True, cancel_orphan_exits=cancel)
        bars(b, 0, {"AAA": (10, 10, 10, 10)})
        long_entry = _long_bracket(b)
        short_entry = submit(b, 1, "AAA", -300, "market", stop_loss=12.0, take_profit=8.0)
        bars(b, 2, {"AAA": (10.1, 10.3, 9.9, 10.2)})
        assert b.position("AAA") == -200
        old = [b.order(long_entry.id + k) for k in (1, 2)]
        short_stop, short_profit = b.order(short_entry.id + 1), b.order(short_entry.id + 2)
        if cancel:
            assert [o.status.value for o in old] == ["cancelled", "cancelled"]
            assert old[0].reason == f"orphan exit: order {short_entry.id} reversed the position {RULE}"
            assert (short_stop.status.value, short_stop.quantity, short_profit.quantity) == ("working", 200, 200)
            assert short_stop.reason == (f"orphan exit: cut to 200 by order {short_entry.id}, which reversed the "
                                         f"position {RULE}")
        else:
            assert [o.status.value for o in old] == ["working", "working"]
            assert (short_stop.quantity, short_profit.quantity) == (300, 300)
        fills = bars(b, 3, {"AAA": (10, 10.1, 7.5, 8)})               # the short's take profit 8 (and the
        by_order = {f.order_id: f.quantity for f in fills}          # long's stop loss 9 when kept)
        assert by_order == ({short_profit.id: 200} if cancel else {short_profit.id: 300, long_entry.id + 1: -100})
        assert b.position("AAA") == 0


def test_a_brackets_entry_that_only_reduces_the_position_leaves_its_exits_nothing_to_protect():
    """The account nets a symbol's brackets: long 200 from one; a short bracket of 100 only reduces it (long
    100). Its exits (buy 100) would enlarge the long: cancelled; the long bracket's (sell 200) would close
    more than is left: cut to 100. Off, both stay whole, and the short's stop loss buys the 100 back."""
    for cancel in (False, True):
        b = make(allow_short=True, cancel_orphan_exits=cancel)
        bars(b, 0, {"AAA": (10, 10, 10, 10)})
        long_ = _long_bracket(b, 0, 200, stop_loss=9.0, take_profit=12.0)
        short = submit(b, 1, "AAA", -100, "market", stop_loss=11.5, take_profit=8.0)
        bars(b, 2, {"AAA": (10, 10.1, 9.9, 10)})
        assert b.position("AAA") == 100
        long_exits = [b.order(long_.id + k) for k in (1, 2)]
        short_exits = [b.order(short.id + k) for k in (1, 2)]
        if cancel:
            assert [o.status.value for o in short_exits] == ["cancelled", "cancelled"]
            assert short_exits[0].reason == f"orphan exit: order {short.id} reduced the position {RULE}"
            assert [o.quantity for o in long_exits] == [-100, -100]
            assert long_exits[1].reason == (f"orphan exit: cut to 100 by order {short.id}, which reduced the "
                                            f"position {RULE}")
        else:
            assert [o.status.value for o in short_exits] == ["working", "working"]
            assert [o.quantity for o in long_exits] == [-200, -200]
        fills = bars(b, 3, {"AAA": (11, 11.6, 10.9, 11.5)})           # the short's stop loss 11.5
        assert [f.order_id for f in fills] == ([] if cancel else [short.id + 1])
        assert b.position("AAA") == (100 if cancel else 200)
        (fill,) = bars(b, 4, {"AAA": (11.8, 12.3, 11.7, 12.1)})        # the long's take profit 12
        assert (fill.order_id, fill.quantity) == (long_.id + 2, -100 if cancel else -200)
        assert b.position("AAA") == 0 and b.open_orders() == []


@pytest.mark.parametrize("cancel", [False, True])
def test_a_position_only_reduced_keeps_the_exits_cut_to_what_is_left(cancel):
    """Long 100 with a bracket, 40 sold by hand: the exits would sell 100 of the 60 left. Backtrader's rule
    keeps them whole (the take profit then sells short 40); with the option they are cut to 60 and the
    take profit closes the position."""
    b = make(allow_short=True, cancel_orphan_exits=cancel)
    bars(b, 0, {"AAA": (10, 10, 10, 10)})
    entry = _long_bracket(b)
    sale = _by_hand(b, 1, -40)
    bars(b, 2, {"AAA": (10, 10.1, 9.9, 10)})
    assert b.position("AAA") == 60
    for oid in (entry.id + 1, entry.id + 2):
        order = b.order(oid)
        assert order.status.value == "working" and order.quantity == (-60 if cancel else -100)
        assert order.reason == (f"orphan exit: cut to 60 by order {sale.id}, which reduced the position {RULE}"
                                if cancel else "")
    (fill,) = bars(b, 3, {"AAA": (10.5, 11.4, 10.4, 11.2)})         # reaches the take profit
    assert (fill.order_id, fill.quantity, b.position("AAA")) == (entry.id + 2, -60 if cancel else -100,
                                                                  0 if cancel else -40)


def test_a_position_only_reduced_keeps_the_exits_and_a_later_close_cancels_them():
    b = make(cancel_orphan_exits=True)
    bars(b, 0, {"AAA": (10, 10, 10, 10)})
    entry = _long_bracket(b)
    _by_hand(b, 1, -40)
    bars(b, 2, {"AAA": (10, 10.1, 9.9, 10)})
    assert b.position("AAA") == 60 and b.order(entry.id + 1).status.value == "working"
    assert [b.order(entry.id + k).quantity for k in (1, 2)] == [-60, -60]
    last = _by_hand(b, 2, -60)
    bars(b, 3, {"AAA": (10, 10.1, 9.9, 10)})
    assert b.position("AAA") == 0 and b.open_orders() == []
    assert b.order(entry.id + 2).reason.startswith(f"orphan exit: order {last.id} closed")


def test_one_brackets_exit_closing_the_position_cancels_the_other_brackets_exits():
    b = make(cancel_orphan_exits=True)
    bars(b, 0, {"AAA": (10, 10, 10, 10)})
    first = _long_bracket(b, 0, 100, stop_loss=9.0, take_profit=12.0)
    second = _long_bracket(b, 2, 100, stop_loss=9.5, take_profit=13.0)
    assert b.position("AAA") == 200
    _by_hand(b, 3, -100)                                            # down to 100: both brackets keep theirs
    bars(b, 4, {"AAA": (10, 10.1, 9.9, 10)})
    assert len(b.open_orders()) == 4
    (fill,) = bars(b, 5, {"AAA": (9.8, 9.9, 9.4, 9.6)})            # the second's stop loss 9.5: flat
    assert (fill.order_id, b.position("AAA")) == (second.id + 1, 0)
    assert b.order(second.id + 2).reason.startswith(f"bracket: order {second.id + 1} filled")
    for oid in (first.id + 1, first.id + 2):
        assert b.order(oid).reason.startswith(f"orphan exit: order {second.id + 1} closed")
    assert b.open_orders() == []


def test_exits_cut_to_what_is_left_then_one_closing_the_position_cancels_the_others():
    """Long brackets of 100 and 40, 90 sold by hand (50 left): the first's exits (100) are cut to 50, the
    second's (40) stay as they are; the second's stop loss then sells 40 (10 left: the first's exits cut to
    10) and the first's stop loss closes the position. Kept whole (the option off) the exits sell 40 and
    then 100: short 90."""
    for cancel in (False, True):
        b = make(allow_short=True, cancel_orphan_exits=cancel)
        bars(b, 0, {"AAA": (10, 10, 10, 10)})
        first = _long_bracket(b, 0, 100, stop_loss=9.0, take_profit=12.0)
        second = _long_bracket(b, 2, 40, stop_loss=9.5, take_profit=13.0)
        _by_hand(b, 3, -90)
        bars(b, 4, {"AAA": (10, 10.1, 9.9, 10)})
        exits = (first.id + 1, first.id + 2, second.id + 1, second.id + 2)
        assert [b.order(oid).quantity for oid in exits] == ([-50, -50, -40, -40] if cancel else [-100, -100, -40, -40])
        (fill,) = bars(b, 5, {"AAA": (9.8, 9.9, 9.4, 9.6)})            # the second's stop loss 9.5
        assert fill.order_id == second.id + 1 and b.position("AAA") == 10
        assert [b.order(oid).quantity for oid in exits[:2]] == ([-10, -10] if cancel else [-100, -100])
        (fill,) = bars(b, 6, {"AAA": (9.3, 9.3, 8.8, 9.0)})            # the first's stop loss 9.0
        assert (fill.order_id, fill.quantity) == (first.id + 1, -10 if cancel else -100)
        assert b.position("AAA") == (0 if cancel else -90)
        assert b.order(first.id + 2).status.value == "cancelled" and b.open_orders() == []


def test_the_exits_of_an_entry_not_filled_yet_or_only_in_part_are_kept():
    b = make(cancel_orphan_exits=True, participation_limit_pct=10)
    bars(b, 0, {"AAA": (10, 10, 10, 10, 1e6)})
    _by_hand(b, 0, 100)
    bars(b, 1, {"AAA": (10, 10, 10, 10, 1e6)})
    pending = submit(b, 1, "AAA", 100, "limit", limit_price=9.0, stop_loss=8.0)      # its exit held
    partial = submit(b, 1, "AAA", 300, "limit", limit_price=10.0, stop_loss=8.5)
    bars(b, 2, {"AAA": (10, 10.1, 9.95, 10, 1000)})                 # 100 of the 300 fill (10 % of 1,000)
    assert b.order(partial.id).status.value == "partially_filled" and b.position("AAA") == 200
    assert b.order(partial.id + 1).status.value == "working"        # protects the 100 filled
    sale = _by_hand(b, 2, -200)
    bars(b, 3, {"AAA": (10.5, 10.6, 10.2, 10.4, 1e6)})              # the sale at the open: flat
    assert b.order(sale.id).status.value == "filled" and b.position("AAA") == 0
    assert b.order(pending.id + 1).status.value == "held"           # its entry has not filled
    assert b.order(partial.id + 1).status.value == "working"        # its entry is not complete
    assert b.order(partial.id).status.value == "partially_filled"


def test_the_exits_of_an_entry_filled_only_in_part_are_not_cut():
    b = make(cancel_orphan_exits=True, participation_limit_pct=10)
    bars(b, 0, {"AAA": (10, 10, 10, 10, 1e6)})
    _by_hand(b, 0, 100)
    bars(b, 1, {"AAA": (10, 10, 10, 10, 1e6)})
    partial = submit(b, 1, "AAA", 300, "limit", limit_price=10.0, stop_loss=8.5)
    bars(b, 2, {"AAA": (10, 10.1, 9.95, 10, 1000)})                 # 100 of the 300 fill
    assert b.position("AAA") == 200 and b.order(partial.id + 1).quantity == -100
    _by_hand(b, 2, -150)
    bars(b, 3, {"AAA": (10.5, 10.6, 10.2, 10.4, 1e6)})              # 50 left
    assert b.position("AAA") == 50 and b.order(partial.id).status.value == "partially_filled"
    assert b.order(partial.id + 1).quantity == -100 and b.order(partial.id + 1).reason == ""
    bars(b, 4, {"AAA": (10, 10.1, 9.9, 10, 1e6)})                   # the entry's other 200: 250 held
    assert b.position("AAA") == 250 and b.order(partial.id).status.value == "filled"
    stop_loss = b.order(partial.id + 1)         # the bracket's rule would make it 300, a short of 50 if it filled
    assert (stop_loss.quantity, stop_loss.status.value) == (-250, "working")
    assert stop_loss.reason == f"orphan exit: cut to 250 when order {partial.id} filled: the position is 250 {RULE}"
    (fill,) = bars(b, 5, {"AAA": (8.6, 8.6, 8.2, 8.4, 1e6)})
    assert (fill.order_id, fill.quantity, b.position("AAA")) == (partial.id + 1, -250, 0)


def test_through_a_run_a_hand_sale_cancels_a_strategys_exits_and_the_strategy_is_told(tmp_path_factory):
    """The whole engine (demo data, hand orders applied between bar times): a hand buy bracket, then a
    hand Sell MKT of the same quantity. With the option the exits are cancelled when the sale fills
    and the order event says why; without it they stay and one fills later, selling short if allowed
    (here refused: no shorting), as before."""
    root = tmp_path_factory.mktemp("orphan_store") / "store"
    generate_demo(root, symbols=2, days=3, seed=4)
    store = BarStore(root)
    acme = bars_of(store, "ACME")
    minute = 60_000_000_000
    t1, t2 = OPEN_1 + 5 * minute, OPEN_1 + 10 * minute
    close = float(acme.loc[t1 - minute, "close"])
    # a take profit above every high until the sale has filled, reached later in the session
    high_before = float(acme.loc[t1:t2, "high"].max())
    high_after = float(acme.loc[t2 + minute:OPEN_1 + 389 * minute, "high"].max())
    assert high_after > high_before + 0.02
    take_profit = round((high_before + high_after) / 2, 2)
    hand = [(t1, SubmitOrder("ACME", 100, "market", stop_loss=round(close * 0.9, 2), take_profit=take_profit)),
            (t2, SubmitOrder("ACME", -100, "market"))]
    events: list = []
    outcomes = {}
    for cancel in (False, True):
        system = run(config(execution={"cancel_orphan_exits": cancel}), store, hand,
                     subscribe={"orders": lambda _k, changes: events.extend(changes)} if cancel else None)
        outcomes[cancel] = {o.id: o for o in system.broker.orders()}
    kept, cancelled = outcomes[False], outcomes[True]
    assert [o.role.value for o in cancelled.values()] == ["entry", "stop_loss", "take_profit", "single"]
    assert cancelled[4].status.value == "filled"
    sale_time = cancelled[4].status_time
    for oid in (2, 3):
        assert cancelled[oid].status.value == "cancelled" and cancelled[oid].status_time == sale_time
        assert cancelled[oid].reason == f"orphan exit: order 4 closed the position {RULE}"
    assert {(c.kind, c.order_id) for c in events if c.order_id in (2, 3)} >= {("cancelled", 2), ("cancelled", 3)}
    # without the option the take profit is still working after the sale, and is reached later in the
    # session: refused at its fill for want of shorting (the config allows none)
    assert kept[4].status.value == "filled"
    assert kept[3].status_time > sale_time and kept[3].status.value == "rejected"
    assert "short" in kept[3].reason


def test_a_bracket_whose_entry_only_closes_the_position_loses_its_exits_at_flat():
    """Sell MKT with the trade bar's stop loss and take profit set is a bracket: filled against a long
    of the same size it leaves the account flat, and its buy exits (about to work) would open a long
    when reached; with the option they go with the old bracket's. A bracket that reverses keeps its own
    (`test_a_reversal_...`)."""
    for cancel in (False, True):
        b = make(cancel_orphan_exits=cancel)
        bars(b, 0, {"AAA": (10, 10, 10, 10)})
        long_ = _long_bracket(b)
        sale = b.submit_order(make_request("AAA", -100, "market", stop_loss=11.0, take_profit=9.2), "manual",
                              T0 + 2 * 60_000_000_000)
        bars(b, 2, {"AAA": (10.1, 10.3, 9.9, 10.2)})
        assert b.order(sale.id).status.value == "filled" and b.position("AAA") == 0
        statuses = [b.order(oid).status.value for oid in (long_.id + 1, long_.id + 2, sale.id + 1, sale.id + 2)]
        if cancel:
            assert statuses == ["cancelled"] * 4
            assert b.order(sale.id + 1).reason == f"orphan exit: order {sale.id} closed the position {RULE}"
            assert bars(b, 3, {"AAA": (10, 11.5, 9.0, 10)}) == [] and b.position("AAA") == 0
        else:
            assert statuses == ["working"] * 4
            fills = bars(b, 3, {"AAA": (10, 10.2, 9.1, 10)})        # the sale's take profit 9.2 buys
            assert {f.order_id for f in fills} == {sale.id + 2} and b.position("AAA") == 100


def test_a_part_fill_of_a_cut_exit_leaves_its_sibling_at_what_is_left():
    """Long 100 with a bracket, 40 sold by hand: both exits cut to 60. Under a 10 % participation limit the
    take profit then fills 20 of a 200-share bar (40 left): the bracket's rule would size the stop loss to the
    entry's 100 less the 20 its exits sold (80, a short of 40 if it filled); the cut keeps it at the 40 left,
    and its fill closes the position."""
    b = make(allow_short=True, cancel_orphan_exits=True, participation_limit_pct=10)
    bars(b, 0, {"AAA": (10, 10, 10, 10, 1e6)})
    entry = _long_bracket(b)
    stop_loss, take_profit = entry.id + 1, entry.id + 2
    _by_hand(b, 1, -40)
    bars(b, 2, {"AAA": (10, 10.1, 9.9, 10, 1e6)})
    assert [b.order(oid).quantity for oid in (stop_loss, take_profit)] == [-60, -60]
    (fill,) = bars(b, 3, {"AAA": (10.5, 11.4, 10.4, 11.2, 200)})   # the take profit, 20 of the 60
    assert (fill.order_id, fill.quantity, b.position("AAA")) == (take_profit, -20, 40)
    sl = b.order(stop_loss)
    assert (sl.quantity, sl.status.value) == (-40, "working")
    assert sl.reason == f"orphan exit: cut to 40 by order {take_profit}, which reduced the position {RULE}"
    tp = b.order(take_profit)
    assert (tp.quantity, tp.filled_quantity, tp.status.value) == (-60, -20, "partially_filled")
    (fill,) = bars(b, 4, {"AAA": (9.5, 9.5, 8.5, 8.8, 1e6)})       # the stop loss: flat, not short
    assert (fill.order_id, fill.quantity, b.position("AAA")) == (stop_loss, -40, 0)
    assert b.order(take_profit).status.value == "cancelled" and b.open_orders() == []
