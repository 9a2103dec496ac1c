"""Market gridctl commands: orders, the book, clearing results, the upstream grid's trade,
grid instructions, standing rules, alerts, accepting new terms, statements."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from google.protobuf.message import Message
from gridledger.market.v1 import market_pb2
from gridwire.contract import market as market_contract
from gridwire.contract.market import Paths as MarketPaths

from clients import market as build
from clients.alert_watch import alerts_from_bridge, alerts_from_node
from clients.archive import MARKET
from clients.cli_support import (
    AddCommand,
    Context,
    action_group,
    add_paging,
    localnet_identity,
    page_query,
    print_json,
    to_json,
)
from clients.cli_types import UsageError, basis_points, count, money, positive_count, price, unix_seconds, watt_hours
from clients.commands.archived import add_archived_arguments, one_key, show_archived
from clients.commands.devices import tx_event_rows

if TYPE_CHECKING:
    import grpc

__all__ = ["register"]

ORDER_COLUMNS = [
    "order_id",
    "side",
    "interval_start",
    "energy_wh",
    "limit_price",
    "status",
    "filled_wh",
    "escrow",
    "feeder",
    "site_id",
    "device_id",
    "owner",
]
RULE_COLUMNS = ["rule_id", "kind", "site_id", "device_id", "limit_price", "max_wh_per_interval", "daily_budget"]
ALERT_COLUMNS = ["alert_id", "reason", "rule_id", "interval_start", "best_price", "accepted", "accepted_price"]
INSTRUCTION_COLUMNS = ["site_id", "feeder", "reason", "export_cap_w", "import_cap_w", "curtailed_wh", "owner"]
STATEMENT_COLUMNS = ["interval_start", "bought_wh", "sold_wh", "paid", "received", "fees", "refunds"]


def _member(ctx: Context, text: str) -> bytes:
    """The named member, or the signer when none is named."""
    if text:
        return ctx.address(text)
    return ctx.signer_address()


def _chain_time(ctx: Context) -> int:
    stamp = str(ctx.rpc.status()["sync_info"]["latest_block_time"])
    return int(dt.datetime.fromisoformat(stamp[:19] + "+00:00").timestamp())


def interval_arg(ctx: Context, text: str, length: int, gate: int) -> int:
    """An interval start: unix seconds, or `next` (the earliest interval whose gate is open
    at the last block's time, plus one interval of margin for the commit)."""
    if text != "next":
        try:
            return unix_seconds(text)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"argument interval: {exc}; or `next`") from None
    now = _chain_time(ctx)
    return ((now + gate) // length + 2) * length


def cmd_order_place(ctx: Context, args: argparse.Namespace) -> None:
    interval = interval_arg(ctx, args.interval, args.interval_length, args.gate)
    if args.side == "buy":
        if not args.site:
            raise UsageError("a buy order needs --site")
        msg = build.buy(args.site, interval, args.energy_wh, args.limit)
    else:
        if not args.device:
            raise UsageError("a sell order needs --device")
        msg = build.sell(args.device, interval, args.energy_wh, args.limit)
    result = ctx.submit(msg)
    placed = tx_event_rows(ctx.tx_events(result), {market_contract.ORDER_PLACED})
    order_id = int(placed[0]["order_id"]) if placed else 0
    ctx.done(result, order_id=order_id, side=args.side, interval_start=interval, energy_wh=args.energy_wh)


def cmd_order_cancel(ctx: Context, args: argparse.Namespace) -> None:
    ctx.done(ctx.submit(build.cancel(args.order_id)), order_id=args.order_id)


def cmd_order_show(ctx: Context, args: argparse.Namespace) -> None:
    order = ctx.query(MarketPaths.ORDER(args.order_id), market_pb2.Order, what=f"order {args.order_id}")
    ctx.show(to_json(order), title=f"order {args.order_id}")


def cmd_order_list(ctx: Context, args: argparse.Namespace) -> None:
    member = _member(ctx, args.member)
    view = ctx.query_list(MarketPaths.ORDERS(member.hex()) + page_query(args), market_pb2.OrderList)
    ctx.show_page([to_json(o) for o in view.orders], view.next, title="orders", columns=ORDER_COLUMNS)


def cmd_fills(ctx: Context, args: argparse.Namespace) -> None:
    member = _member(ctx, args.member)
    view = ctx.query_list(MarketPaths.FILLS(member.hex()) + page_query(args), market_pb2.FillList)
    ctx.show_page([to_json(f) for f in view.fills], view.next, title="fills", columns=[])


def cmd_book(ctx: Context, args: argparse.Namespace) -> None:
    view = ctx.query_list(MarketPaths.BOOK(args.interval) + page_query(args), market_pb2.OrderList)
    rows = [to_json(o) for o in view.orders]
    ctx.show_page(rows, view.next, title=f"open orders of interval {args.interval}", columns=ORDER_COLUMNS)


def cmd_clearing(ctx: Context, args: argparse.Namespace) -> None:
    result = ctx.query(
        MarketPaths.CLEARING(args.interval), market_pb2.ClearingResult, what=f"a clearing of interval {args.interval}"
    )
    data = to_json(result)
    if ctx.json:
        ctx.show(data)
        return
    feeders = data.pop("feeders", [])
    ctx.show(data, title=f"clearing of interval {args.interval}")
    if feeders:
        ctx.show(feeders, title="feeders")


def cmd_upstream(ctx: Context, args: argparse.Namespace) -> None:
    trade = ctx.query(
        MarketPaths.UPSTREAM(args.interval),
        market_pb2.UpstreamTrade,
        what=f"an upstream trade in interval {args.interval}",
    )
    ctx.show(to_json(trade), title=f"upstream grid in interval {args.interval} (bought = substation export)")


def _instruction_row(ins: market_pb2.GridInstruction) -> dict[str, object]:
    row = to_json(ins)
    row["export_cap_w"] = ins.export_cap_w if ins.export_capped else "unlimited"
    row["import_cap_w"] = ins.import_cap_w if ins.import_capped else "unlimited"
    return row


def cmd_instructions(ctx: Context, args: argparse.Namespace) -> None:
    if args.site:
        ins = ctx.query(
            MarketPaths.INSTRUCTIONS(args.interval, args.site),
            market_pb2.GridInstruction,
            what=f"an instruction for {args.site} in interval {args.interval}",
        )
        ctx.show(_instruction_row(ins), title=f"grid instruction: {args.site}, interval {args.interval}")
        return
    view = ctx.query_list(MarketPaths.INSTRUCTIONS(args.interval) + page_query(args), market_pb2.GridInstructionList)
    rows = [_instruction_row(i) for i in view.instructions]
    ctx.show_page(rows, view.next, title=f"grid instructions of interval {args.interval}", columns=INSTRUCTION_COLUMNS)


def cmd_rule_set(ctx: Context, args: argparse.Namespace) -> None:
    fields: dict[str, int | str] = {
        name: value
        for name, value in (
            ("site_id", args.site),
            ("device_id", args.device),
            ("max_wh_per_interval", args.max_wh_per_interval),
            ("max_wh_per_day", args.max_wh_per_day),
            ("daily_budget", args.daily_budget),
            ("energy_wh", args.energy_wh),
            ("deadline", args.deadline),
            ("band_low_price", args.band_low_price),
            ("min_wh_per_interval", args.min_wh_per_interval),
            ("margin_bp", args.margin_bp),
        )
        if value
    }
    result = ctx.submit(build.rule(args.kind, rule_id=args.rule_id, limit_price=args.limit, **fields))
    set_ = tx_event_rows(ctx.tx_events(result), {market_contract.RULE_SET})
    ctx.done(result, rule_id=int(set_[0]["rule_id"]) if set_ else args.rule_id, kind=args.kind)


def cmd_rule_remove(ctx: Context, args: argparse.Namespace) -> None:
    ctx.done(ctx.submit(build.remove_rule(args.rule_id)), rule_id=args.rule_id)


def cmd_rule_list(ctx: Context, args: argparse.Namespace) -> None:
    member = _member(ctx, args.member)
    view = ctx.query_list(MarketPaths.RULES(member.hex()) + page_query(args), market_pb2.RuleList)
    ctx.show_page([to_json(r) for r in view.rules], view.next, title="rules", columns=RULE_COLUMNS)


def bridge_channel_credentials(ctx: Context, args: argparse.Namespace) -> grpc.ChannelCredentials | None:
    """gridctl's way to the bridge: plaintext, TLS checked against --bridge-ca, and member
    authentication on every call with the signer's certificate (--member-cert for --key, the
    localnet member's own for --as)."""
    from clients.bridge_client import bridge_credentials, load_certificate_der  # noqa: PLC0415 - grpc: the watch only

    bridge_ca: Path | None = getattr(args, "bridge_ca", None)
    member_cert: Path | None = getattr(args, "member_cert", None)
    if bridge_ca is None:
        if member_cert is not None:
            raise UsageError("--member-cert needs --bridge-ca (member authentication runs over TLS)")
        return None
    key = cert_der = None
    if member_cert is not None:
        key, cert_der = ctx.key(), load_certificate_der(member_cert)
    elif getattr(args, "as_member", None):
        identity = localnet_identity(ctx.home, args.as_member)
        key, cert_der = identity.key, identity.cert_der
    assert ctx.bridge is not None
    return bridge_credentials(ctx.bridge, ca_pem=bridge_ca.read_bytes(), member_key=key, member_cert_der=cert_der)


def cmd_alerts(ctx: Context, args: argparse.Namespace) -> None:
    member = _member(ctx, args.member)
    if not args.watch:
        view = ctx.query_list(MarketPaths.ALERTS(member.hex()) + page_query(args), market_pb2.AlertList)
        ctx.show_page([to_json(a) for a in view.alerts], view.next, title="alerts", columns=ALERT_COLUMNS)
        return
    stream = (
        alerts_from_bridge(
            ctx.bridge, member.hex(), from_height=args.from_height, credentials=bridge_channel_credentials(ctx, args)
        )
        if ctx.bridge
        else alerts_from_node(ctx.rpc.url, member.hex(), timeout=args.timeout or None)
    )
    from grpc import RpcError  # noqa: PLC0415 - only the watch needs grpc

    if args.count:
        stream = islice(stream, args.count)
    console = None if ctx.json else ctx.console()
    if console is not None:
        console.print(f"watching alerts of {member.hex()} (Ctrl-C stops)")
    try:
        for alert in stream:
            if console is None:
                print_json(alert)
            else:
                console.print(ctx.record_table(alert, title=f"alert at height {alert['height']}"))
    except KeyboardInterrupt:
        return
    except RpcError as exc:
        raise UsageError(f"error: the bridge answered {exc.code().name}: {exc.details()}") from exc


def cmd_accept(ctx: Context, args: argparse.Namespace) -> None:
    result = ctx.submit(build.accept_terms(args.alert_id, args.limit))
    ctx.done(result, alert_id=args.alert_id, new_limit_price=args.limit)


def cmd_archived(ctx: Context, args: argparse.Namespace) -> None:
    if bool(args.statement) != bool(args.interval):
        raise UsageError("a statement is named by --statement MEMBER and --interval START together")
    statement = market_contract.statement_key(ctx.address(args.statement), args.interval) if args.statement else b""
    given = [
        (market_contract.order_key(args.order), args.order),
        (market_contract.alert_key(args.alert), args.alert),
        (market_contract.clearing_key(args.clearing), args.clearing),
        (statement, args.statement),
        (args.key, args.key),
    ]
    key = one_key(given, "--order ID, --alert ID, --clearing START, --statement MEMBER --interval START or --key HEX")
    decoders: dict[bytes, Callable[[bytes], Message]] = {
        market_contract.ORDER_PREFIX: market_pb2.Order.FromString,
        market_contract.ALERT_PREFIX: market_pb2.Alert.FromString,
        market_contract.CLEARING_PREFIX: market_pb2.ClearingResult.FromString,
        market_contract.STATEMENT_PREFIX: market_pb2.Statement.FromString,
    }
    show_archived(ctx, args, key, MARKET, decoders)


def cmd_statement(ctx: Context, args: argparse.Namespace) -> None:
    member = _member(ctx, args.member)
    if args.interval:
        what = f"a statement of {member.hex()} for interval {args.interval}"
        statement = ctx.query(MarketPaths.STATEMENT(member.hex(), args.interval), market_pb2.Statement, what=what)
        ctx.show(to_json(statement), title=f"statement, interval {args.interval}")
        return
    view = ctx.query_list(MarketPaths.STATEMENTS(member.hex()) + page_query(args), market_pb2.StatementList)
    rows = [to_json(s) for s in view.statements]
    ctx.show_page(rows, view.next, title=f"statements of {member.hex()}", columns=STATEMENT_COLUMNS)


def register(add: AddCommand) -> None:
    p: argparse.ArgumentParser
    order = action_group(add, "order", "buy and sell orders for delivery intervals")
    p = order("place", cmd_order_place, "place an order (buyers' maximum cost is escrowed)")
    p.add_argument("side", choices=["buy", "sell"])
    p.add_argument("interval", help="interval start (unix seconds) or `next`")
    p.add_argument("energy_wh", type=watt_hours)
    p.add_argument("limit", type=price, help="limit price, minor units/kWh (buyers: all-in, fees included)")
    p.add_argument("--site", default="", help="buy: the site the energy is delivered to")
    p.add_argument("--device", default="", help="sell: the device that delivers")
    p.add_argument("--interval-length", type=positive_count, default=900, help="for `next`: the delivery interval (s)")
    p.add_argument("--gate", type=count, default=300, help="for `next`: the gate closure (s)")
    order("cancel", cmd_order_cancel, "cancel an open order (releases its escrow)").add_argument("order_id", type=count)
    order("show", cmd_order_show, "one order").add_argument("order_id", type=count)
    p = order("list", cmd_order_list, "a member's orders (default: the signer's)")
    p.add_argument("member", nargs="?", default="")
    add_paging(p)
    p = add("fills", cmd_fills, "a member's fills (default: the signer's)")
    p.add_argument("member", nargs="?", default="")
    add_paging(p)
    p = add("book", cmd_book, "the open orders of an interval")
    p.add_argument("interval", type=unix_seconds)
    add_paging(p)
    add("clearing", cmd_clearing, "an interval's clearing: prices, volumes, feeders").add_argument(
        "interval", type=unix_seconds
    )
    add("upstream", cmd_upstream, "the upstream grid's trade in an interval (substation export/import)").add_argument(
        "interval", type=unix_seconds
    )
    p = add("instructions", cmd_instructions, "the grid instructions of an interval (caps for curtailed sites)")
    p.add_argument("interval", type=unix_seconds)
    p.add_argument("--site", default="", help="one site's instruction")
    add_paging(p)

    rule = action_group(add, "rule", "standing rules the ledger turns into orders")
    p = rule("set", cmd_rule_set, "create (or with --rule-id replace) a rule")
    p.add_argument("kind", choices=sorted(build.RULE_KINDS))
    p.add_argument("--limit", type=price, required=True, help="limit price, minor units/kWh")
    p.add_argument("--rule-id", type=count, default=0)
    p.add_argument("--site", default="")
    p.add_argument("--device", default="")
    p.add_argument("--max-wh-per-interval", type=watt_hours, default=0)
    p.add_argument("--max-wh-per-day", type=watt_hours, default=0)
    p.add_argument("--daily-budget", type=money, default=0, help="minor units")
    p.add_argument("--energy-wh", type=watt_hours, default=0, help="deferrable: energy needed")
    p.add_argument("--deadline", type=unix_seconds, default=0, help="deferrable: unix seconds")
    p.add_argument("--band-low-price", type=price, default=0, help="thermostat")
    p.add_argument("--min-wh-per-interval", type=watt_hours, default=0, help="thermostat")
    p.add_argument(
        "--margin-bp", type=basis_points, default=0, help="sell/buy: trade the forecast less this share (basis points)"
    )
    rule("remove", cmd_rule_remove, "remove one of your rules").add_argument("rule_id", type=count)
    p = rule("list", cmd_rule_list, "a member's rules (default: the signer's)")
    p.add_argument("member", nargs="?", default="")
    add_paging(p)

    p = add("alerts", cmd_alerts, "a member's alerts (default: the signer's); --watch follows new ones")
    p.add_argument("member", nargs="?", default="")
    p.add_argument("--watch", action="store_true", help="follow alerts as blocks commit")
    p.add_argument("--count", type=count, default=0, help="--watch: stop after N alerts")
    p.add_argument("--timeout", type=float, default=0, help="--watch without a bridge: stop after N s of silence")
    p.add_argument("--from-height", type=count, default=0, help="--watch with --bridge: replay from this height")
    add_paging(p)
    p = add("accept", cmd_accept, "accept new terms for an alert's rule")
    p.add_argument("alert_id", type=count)
    p.add_argument("--limit", type=price, required=True, help="the rule's new limit price, minor units/kWh")
    p = add("market-archived", cmd_archived, "prove a market record pruning archived: from block HEIGHT's archive")
    add_archived_arguments(
        p,
        event="market_archived",
        due="its interval's end + settlement grace + correction window + market.retention_seconds",
    )
    p.add_argument("--order", type=positive_count, default=0, help="an order id")
    p.add_argument("--alert", type=positive_count, default=0, help="an alert id")
    p.add_argument("--clearing", type=unix_seconds, default=0, help="an interval's clearing result")
    p.add_argument("--statement", default="", help="a member's statement (with --interval)")
    p.add_argument("--interval", type=unix_seconds, default=0, help="the statement's interval start")
    p = add("statement", cmd_statement, "a member's statements (default: the signer's)")
    p.add_argument("member", nargs="?", default="")
    p.add_argument("--interval", type=unix_seconds, default=0, help="one interval's statement")
    add_paging(p)
