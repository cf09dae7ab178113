"""Hand trading: the orders a trader places by hand during a replay (the GUI's buttons, hotkeys and
chart, or a recorded session replayed headless), applied by the engine between two bar times.

Threads. `ManualOrderInbox` (workstation.execution.inbox) may be called from any thread: it queues a
command and wakes the coordinator (`RunControl.wake`), also while the replay is paused or waits for
the next paced bar time. The coordinator takes the due commands between two bar times and hands them to the analysis
engine's thread, which owns the broker and applies them with `HandDesk` through the strategies'
OrderDesk: the same validation, risk checks (quality, position limit), account checks (buying power,
shorting) and fill rules as a strategy's orders. The broker stays single-threaded.

Timing. A command applied after bar time t (the clock reads t's END, or a session's open before its
first bar) is exactly an order a strategy sends while it handles bar t: first eligible on the
symbol's next bar. Each command is answered by a `ManualOrderResult` ("manual" event) carrying
`applied_at_ns`, the clock time (int ns UTC) it was applied at. The run folder keeps them in
`manual_orders.json`; the same commands scheduled at those times (`at_ns`: applied between two bar
times once the clock has reached it) give the same run again, headless or in the GUI
(`workstation run CONFIG --manual-orders FILE`).

Hand orders belong to the strategy name "manual" (orders, fills, trades, signal log). A flatten
cancels every open order of its symbol (a strategy's too: it gets on_order_cancelled) and closes the
position at market. Cancelling or modifying a strategy's order by hand is allowed (the trader owns
the account); the order keeps its owner.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Sequence
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workstation.errors import DataError, WorkstationError
from workstation.execution.orders import OrderStatus
from workstation.model.batches import DecisionBatch

if TYPE_CHECKING:
    import pandas as pd
else:
    from workstation.lazy_modules import LazyModule

    pd = LazyModule("pandas")  # imported at first use: not on the path to a run's first bar

if TYPE_CHECKING:
    from workstation.execution.desk import OrderDesk

MANUAL = "manual"
"""The strategy name of hand orders (orders.parquet, fills, trades, signals)."""

MANUAL_ORDERS_FILE = "manual_orders.json"
NOT_APPLIED = "the run ended before it was applied"
_FORMAT = 1


class ManualOrderError(WorkstationError):
    """A hand-trading command cannot be queued (the run has ended, a malformed command)."""


class ManualOrdersFileError(DataError):
    """A manual_orders.json file cannot be read; the message names the file and the entry."""


# ---------------------------------------------------------------------------------- commands

@dataclass(frozen=True, slots=True)
class SubmitOrder:
    """Send an order as `ctx.submit_order` takes it (quantity signed: + buy, - sell)."""

    symbol: str
    quantity: float
    order_type: str = "market"
    limit_price: float | None = None
    stop_price: float | None = None
    trail_amount: float | None = None
    trail_percent: float | None = None
    tif: str = "day"
    stop_loss: float | None = None
    take_profit: float | None = None
    tag: str | None = None

    action = "submit"


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Cancel an open order (any owner's; the rest of its bracket or OCO group goes with it)."""

    order_id: int

    action = "cancel"


@dataclass(frozen=True, slots=True)
class ModifyOrder:
    """Change an open order's quantity or prices (it keeps its id and its owner)."""

    order_id: int
    quantity: float | None = None
    limit_price: float | None = None
    stop_price: float | None = None
    trail_amount: float | None = None
    trail_percent: float | None = None

    action = "modify"


@dataclass(frozen=True, slots=True)
class FlattenPosition:
    """Cancel every open order of `symbol`, then close its position at market."""

    symbol: str

    action = "flatten"


ManualCommand = SubmitOrder | CancelOrder | ModifyOrder | FlattenPosition
_RECORD_KEYS = frozenset({"action", "at", "at_ns", "accepted", "order_ids", "reason"})   # besides the fields
_COMMANDS: dict[str, type] = {c.action: c for c in (SubmitOrder, CancelOrder, ModifyOrder, FlattenPosition)}


@dataclass(frozen=True, slots=True)
class ManualOrderResult:
    """The answer to one command (the payload of the "manual" event).

    `sequence`: the inbox's number of the command (1, 2, ...). `applied_at_ns`: the clock when it was
    applied (int ns UTC; the END of the last bar time delivered). `accepted`: the order was accepted
    (working, or filled at once), the cancel or modify done, the flatten sent; else `reason` says why.
    `order_ids`: the order submitted (also a rejected one), cancelled or modified; for a flatten the
    orders it cancelled, then the closing order.
    """

    sequence: int
    command: ManualCommand
    applied_at_ns: int
    accepted: bool
    order_ids: tuple[int, ...] = ()
    reason: str = ""


def is_command(obj: object) -> bool:
    """True for a hand-trading command (SubmitOrder, CancelOrder, ModifyOrder, FlattenPosition)."""
    return isinstance(obj, tuple(_COMMANDS.values()))


def describe(command: ManualCommand) -> str:
    """A short text of a command for messages ("buy 100 ACME limit 101.5", "buy 100 ACME market, stop loss
    99.5, take profit 102", "cancel order 7")."""
    if isinstance(command, SubmitOrder):
        side = "buy" if command.quantity > 0 else "sell"
        price = {"limit": command.limit_price, "stop": command.stop_price}.get(command.order_type)
        text = f"{side} {abs(command.quantity):g} {command.symbol} {command.order_type.replace('_', ' ')}"
        if command.order_type == "stop_limit":
            text += f" {command.stop_price:g}/{command.limit_price:g}"
        elif price is not None:
            text += f" {price:g}"
        if command.stop_loss is not None:      # the bracket's prices: the trader sees what was sent
            text += f", stop loss {command.stop_loss:g}"
        if command.take_profit is not None:
            text += f", take profit {command.take_profit:g}"
        return text
    if isinstance(command, CancelOrder):
        return f"cancel order {command.order_id}"
    if isinstance(command, ModifyOrder):
        changes = [f"{name.replace('_', ' ')} {value:g}" for name in ("quantity", "limit_price", "stop_price",
                                                                      "trail_amount", "trail_percent")
                   if isinstance(value := getattr(command, name), int | float)]
        return f"modify order {command.order_id}" + (f": {', '.join(changes)}" if changes else "")
    return f"flatten {command.symbol}"


def not_applied(left: Sequence[tuple[int, ManualCommand]], now_ns: int) -> list[ManualOrderResult]:
    """Answers for commands the run ended before applying (nothing changed)."""
    return [ManualOrderResult(sequence, command, int(now_ns), False, (), NOT_APPLIED) for sequence, command in left]


# ---------------------------------------------------------------------------------- applying (engine thread)

@dataclass(frozen=True, slots=True)
class HandTrader:
    """Stands where a strategy would in the OrderDesk: hand orders are owned by `name`, and the
    quality risk check reads `interval` (the streamed one). The trader is not bound by the
    session-close rule (risk.flatten_before_close_minutes): hand orders still go after the flatten time."""

    name: str
    interval: str
    bound_by_session_close = False


class HandDesk:
    """Applies hand commands in the thread that owns the broker (the analysis engine's), through the
    OrderDesk; publishes a "cancel" or "modify" Decision for each one done (the signal log's row)."""

    def __init__(self, desk: OrderDesk, interval: str):
        self.desk = desk
        self.trader = HandTrader(MANUAL, interval)
        self.applied = 0

    def apply(self, sequence: int, command: ManualCommand) -> ManualOrderResult:
        desk = self.desk
        now = desk.clock.now_ns()
        previous, desk.current = desk.current, self.trader
        desk.last_problem = ""
        try:
            if isinstance(command, SubmitOrder):
                accepted, ids, reason = self._submit(command)
            elif isinstance(command, CancelOrder):
                accepted, ids, reason = self._cancel(command.order_id, "cancelled by hand")
            elif isinstance(command, ModifyOrder):
                accepted, ids, reason = self._modify(command)
            else:
                accepted, ids, reason = self._flatten(command.symbol)
        finally:
            desk.current = previous
        self.applied += 1
        return ManualOrderResult(sequence, command, now, accepted, ids, reason)

    def _submit(self, c: SubmitOrder) -> tuple[bool, tuple[int, ...], str]:
        desk = self.desk
        oid = desk.submit_order(c.symbol, c.quantity, c.order_type, c.limit_price, c.stop_price, c.trail_amount,
                                c.trail_percent, c.tif, c.stop_loss, c.take_profit, c.tag)
        order = desk.broker.order(oid)
        if order is None or order.status is OrderStatus.REJECTED:
            return False, (oid,), (order.reason if order is not None else desk.last_problem)
        return True, (oid,), ""

    def _cancel(self, order_id: int, reason: str) -> tuple[bool, tuple[int, ...], str]:
        desk = self.desk
        if not desk.cancel_order(order_id, reason):
            return False, (), _plain(desk.last_problem)
        self._changed(order_id, "cancel")
        return True, (order_id,), ""

    def _modify(self, c: ModifyOrder) -> tuple[bool, tuple[int, ...], str]:
        desk = self.desk
        if not desk.modify_order(c.order_id, c.quantity, c.limit_price, c.stop_price, c.trail_amount,
                                 c.trail_percent):
            return False, (), _plain(desk.last_problem)
        self._changed(c.order_id, "modify")
        return True, (c.order_id,), ""

    def _flatten(self, symbol: str) -> tuple[bool, tuple[int, ...], str]:
        desk = self.desk
        broker = desk.broker
        i = desk.symbol_index.get(symbol) if isinstance(symbol, str) else None
        if i is None:
            desk._invalid(self.trader, f"invalid flatten: symbol {symbol!r} is not in this run's symbols")
            return False, (), desk.last_problem
        ids: list[int] = []
        for order in broker.open_orders(symbol):
            current = broker.order(order.id)
            if current is not None and current.is_open:
                accepted, cancelled, _ = self._cancel(order.id, "cancelled by hand: flatten")
                ids.extend(cancelled)
        position = broker.position_at(i)
        if position == 0:
            if ids:
                return True, tuple(ids), ""
            return False, (), f"nothing to flatten: {symbol} is flat with no open orders"
        accepted, closing, reason = self._submit(SubmitOrder(symbol, -position, "market", tag="flatten"))
        return accepted, (*ids, *closing), reason

    def _changed(self, order_id: int, kind: str) -> None:
        """The signal log's row of a hand cancel or modify (an approved Decision of that kind)."""
        from workstation.execution.desk import order_decision, publish_decisions, wants_decisions

        desk = self.desk
        order = desk.broker.order(order_id)
        if order is None:
            return
        desk.signal_count += 1
        if wants_decisions(desk.events):
            decision = order_decision(order, desk._reference(order), True, None, None, desk.clock.now_ns(), kind)
            decision.signal.strategy = MANUAL
            publish_decisions(desk.events, DecisionBatch.of(decision))


def _plain(problem: str) -> str:
    """The desk's message without its strategy-error prefix ("invalid cancel: cancel: unknown order id 9"
    -> "unknown order id 9"): the trader's answer already names the command."""
    for prefix in ("invalid cancel: cancel: ", "invalid modify: modify: ", "invalid cancel: ", "invalid modify: "):
        if problem.startswith(prefix):
            return problem[len(prefix):]
    return problem


# ---------------------------------------------------------------------------------- manual_orders.json

def command_json(command: ManualCommand) -> dict[str, Any]:
    """{"action": ..., fields}: the command as JSON (fields left at None are left out)."""
    out: dict[str, Any] = {"action": command.action}
    out.update({k: v for k, v in asdict(command).items() if v is not None})
    return out


def command_from_json(entry: object, where: str) -> ManualCommand:
    """The command of a JSON object; ManualOrdersFileError names `where` and what is wrong."""
    if not isinstance(entry, dict):
        raise ManualOrdersFileError(f"{where}: expected an object, got {type(entry).__name__}")
    action = entry.get("action")
    cls = _COMMANDS.get(action) if isinstance(action, str) else None
    if cls is None:
        raise ManualOrdersFileError(f"{where}: action must be one of {', '.join(_COMMANDS)}, got {action!r}")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(entry) - names - _RECORD_KEYS)
    if unknown:
        raise ManualOrdersFileError(f"{where}: a {action} has no field {', '.join(map(repr, unknown))} "
                                    f"(it takes {', '.join(sorted(names))})")
    args = {k: v for k, v in entry.items() if k in names}
    missing = [f.name for f in fields(cls) if f.default is MISSING and f.name not in args]
    if missing:
        raise ManualOrdersFileError(f"{where}: a {action} needs {', '.join(missing)}")
    if "order_id" in args and (isinstance(args["order_id"], bool) or not isinstance(args["order_id"], int)):
        raise ManualOrdersFileError(f"{where}: order_id must be an integer order id, got {args['order_id']!r}")
    return cls(**args)


def utc_iso_text(ns: int) -> str:
    """`pd.Timestamp(ns, tz="UTC").isoformat()` without pandas (manual_orders.json is written by the engine
    thread at each hand order, also in a run that never loads pandas): seconds, then a fraction of 6
    digits, or 9 when it has nanoseconds."""
    seconds, fraction = divmod(int(ns), 1_000_000_000)
    stamp = dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None).isoformat()
    if fraction:
        stamp += f".{fraction // 1000:06d}" if fraction % 1000 == 0 else f".{fraction:09d}"
    return stamp + "+00:00"


def results_json(results: Sequence[ManualOrderResult]) -> dict[str, Any]:
    """manual_orders.json: every applied command with its time and answer, in the order applied (commands
    the run ended before applying are left out: they changed nothing)."""
    entries = []
    for r in results:
        if r.reason == NOT_APPLIED:
            continue
        entry = {"at": utc_iso_text(r.applied_at_ns), "at_ns": int(r.applied_at_ns),
                 **command_json(r.command), "accepted": r.accepted, "order_ids": list(r.order_ids)}
        if r.reason:
            entry["reason"] = r.reason
        entries.append(entry)
    return {"format": _FORMAT, "strategy": MANUAL,
            "note": "hand orders of a run: `workstation run CONFIG --manual-orders THIS_FILE` applies them again "
                    "at the same times (at_ns: the clock, ns UTC, the end of the bar time they followed)",
            "commands": entries}


def load_manual_orders(path: str | os.PathLike[str]) -> list[tuple[int, ManualCommand]]:
    """(at_ns, command) of a manual_orders.json (a run folder's, or written by hand: `at` may be an ISO
    time with its offset instead of `at_ns`). ManualOrdersFileError names the file and the entry."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManualOrdersFileError(f"cannot read the hand orders file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ManualOrdersFileError(f"{path} is not valid JSON: {exc}") from None
    commands = data.get("commands") if isinstance(data, dict) else data
    if not isinstance(commands, list):
        raise ManualOrdersFileError(f"{path}: expected a list of commands (or an object with \"commands\")")
    out: list[tuple[int, ManualCommand]] = []
    for k, entry in enumerate(commands):
        where = f"{path}: commands[{k}]"
        command = command_from_json(entry, where)
        at = entry.get("at_ns") if isinstance(entry, dict) else None
        if at is None and isinstance(entry, dict) and "at" in entry:
            try:
                stamp = pd.Timestamp(entry["at"])
            except (TypeError, ValueError) as exc:
                raise ManualOrdersFileError(f"{where}: at {entry['at']!r} is not a time: {exc}") from None
            if stamp.tzinfo is None:
                raise ManualOrdersFileError(f"{where}: at {entry['at']!r} has no zone offset (e.g. +00:00)")
            at = int(stamp.value)
        if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
            raise ManualOrdersFileError(f"{where}: needs at_ns (int ns UTC) or at (an ISO time with its offset)")
        out.append((int(at), command))
    return out
