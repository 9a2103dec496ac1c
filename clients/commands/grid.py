"""Grid-operation gridctl commands: tariffs, grid fees, feeder limits, demand response."""

from __future__ import annotations

import argparse

from gridledger.grid.v1 import grid_pb2
from gridwire.contract import grid as grid_contract
from gridwire.contract.grid import Paths as GridPaths

from clients import grid as build
from clients.archive import GRID
from clients.cli_support import AddCommand, Context, action_group, add_paging, page_query, to_json
from clients.cli_types import DEVICE_ID, UsageError, price, unix_seconds, watt_hours
from clients.commands.archived import add_archived_arguments, one_key, show_archived

__all__ = ["register"]

DR_COLUMNS = [
    "event_id", "feeder", "start", "end", "requested_reduction_wh", "reward_per_kwh", "budget", "settled", "archived",
]  # fmt: skip


def cmd_tariff_set(ctx: Context, args: argparse.Namespace) -> None:
    msg = build.set_tariffs(
        ctx.address(args.supplier),
        retail=args.retail,
        feed_in=args.feed_in,
        imbalance_short=args.imbalance_short,
        imbalance_long=args.imbalance_long,
        export_penalty=args.export_penalty,
    )
    ctx.done(ctx.submit(msg), retail_per_kwh=args.retail, feed_in_per_kwh=args.feed_in)


def cmd_tariff_show(ctx: Context, args: argparse.Namespace) -> None:
    ctx.show(to_json(ctx.query(GridPaths.TARIFFS(), grid_pb2.Tariffs, what="tariffs")), title="tariffs")


def cmd_fees_set(ctx: Context, args: argparse.Namespace) -> None:
    msg = build.set_grid_fees(args.intra, args.inter)
    ctx.done(ctx.submit(msg), intra_feeder_per_kwh=args.intra, inter_feeder_per_kwh=args.inter)


def cmd_fees_show(ctx: Context, args: argparse.Namespace) -> None:
    ctx.show(to_json(ctx.query(GridPaths.FEES(), grid_pb2.GridFees, what="grid fees")), title="grid fees")


def _wh_or_unlimited(text: str) -> int | None:
    """argparse type: energy in Wh (as cli_types.watt_hours), or `unlimited` (None)."""
    return None if text.strip() == "unlimited" else watt_hours(text)


def cmd_feeder_limit(ctx: Context, args: argparse.Namespace) -> None:
    """A side given as `unlimited` is left unlimited; 0 means nothing may cross."""
    msg = build.set_feeder_limit(args.feeder, args.import_wh, args.export_wh)
    sides = {"import_wh": args.import_wh, "export_wh": args.export_wh}
    ctx.done(ctx.submit(msg), feeder=args.feeder, **{k: "unlimited" if v is None else v for k, v in sides.items()})


def cmd_feeder_remove(ctx: Context, args: argparse.Namespace) -> None:
    ctx.done(ctx.submit(build.remove_feeder_limit(args.feeder)), feeder=args.feeder)


def cmd_feeder_show(ctx: Context, args: argparse.Namespace) -> None:
    limit = ctx.query(GridPaths.FEEDER(args.feeder), grid_pb2.FeederLimit, what=f"a limit of feeder {args.feeder!r}")
    ctx.show(to_json(limit), title=f"feeder {args.feeder}")


def cmd_feeder_list(ctx: Context, args: argparse.Namespace) -> None:
    view = ctx.query_list(GridPaths.FEEDERS() + page_query(args), grid_pb2.FeederLimitList)
    rows = [to_json(limit) for limit in view.limits]
    ctx.show_page(rows, view.page.next, title="feeder limits", columns=["feeder", "import_wh", "export_wh"])


def cmd_dr_publish(ctx: Context, args: argparse.Namespace) -> None:
    msg = build.publish_dr_event(
        args.event_id,
        args.feeder,
        start=args.start,
        end=args.end,
        requested_reduction_wh=args.reduction_wh,
        reward_per_kwh=args.reward,
    )
    ctx.done(ctx.submit(msg), event=args.event_id, feeder=args.feeder)


def cmd_dr_enrol(ctx: Context, args: argparse.Namespace) -> None:
    msg = build.enrol_dr(args.event_id, args.device_id)
    ctx.done(ctx.submit(msg), event=args.event_id, device=args.device_id)


def cmd_dr_join(ctx: Context, args: argparse.Namespace) -> None:
    msg = build.join_dr_programme(args.device_id)
    ctx.done(ctx.submit(msg), device=args.device_id)


def cmd_dr_leave(ctx: Context, args: argparse.Namespace) -> None:
    msg = build.leave_dr_programme(args.device_id)
    ctx.done(ctx.submit(msg), device=args.device_id)


def cmd_dr_show(ctx: Context, args: argparse.Namespace) -> None:
    event = ctx.query(GridPaths.DR(args.event_id), grid_pb2.DrEvent, what=f"demand-response event {args.event_id!r}")
    if event.archived:  # its enrolments left live state: `gridctl dr archived` proves each
        ctx.show(to_json(event), title=f"demand-response event {args.event_id} (enrolments archived)")
        return
    enrolments = ctx.query_list(GridPaths.DR_ENROLMENTS(args.event_id), grid_pb2.DrEnrolmentList)
    rows = [to_json(e) for e in enrolments.enrolments]
    if ctx.json:
        ctx.show({**to_json(event), "enrolments": rows})
        return
    ctx.show(to_json(event), title=f"demand-response event {args.event_id}")
    ctx.show(
        rows, title="enrolments", columns=["device_id", "owner", "baseline_wh", "actual_wh", "reduction_wh", "reward"]
    )


def cmd_dr_list(ctx: Context, args: argparse.Namespace) -> None:
    view = ctx.query_list(GridPaths.DR_EVENTS() + page_query(args), grid_pb2.DrEventList)
    ctx.show_page([to_json(e) for e in view.events], view.page.next, title="demand-response events", columns=DR_COLUMNS)


def cmd_dr_archived(ctx: Context, args: argparse.Namespace) -> None:
    if bool(args.event_id) != bool(args.device_id):
        raise UsageError("an enrolment is named by --event ID and --device ID together")
    enrolment = grid_contract.enrolment_key(args.event_id, args.device_id) if args.event_id else b""
    key = one_key([(enrolment, args.event_id), (args.key, args.key)], "--event ID --device ID or --key HEX")
    decoders = {grid_contract.ENROLMENT_PREFIX: grid_pb2.DrEnrolment.FromString}
    show_archived(ctx, args, key, GRID, decoders)


def register(add: AddCommand) -> None:
    p: argparse.ArgumentParser
    tariff = action_group(add, "tariff", "the supplier of last resort's tariffs and imbalance prices")
    p = tariff("set", cmd_tariff_set, "operator: set the tariffs (minor units/kWh)")
    p.add_argument("--supplier", required=True, help="the utility member (address or ORG/NAME)")
    p.add_argument("--retail", type=price, required=True, help="import outside the market")
    p.add_argument("--feed-in", type=price, required=True, help="export outside the market")
    p.add_argument("--imbalance-short", type=price, required=True, help="shortfall bought from the supplier")
    p.add_argument("--imbalance-long", type=price, required=True, help="surplus sold to the supplier")
    p.add_argument("--export-penalty", type=price, default=0, help="export above a grid instruction's cap")
    tariff("show", cmd_tariff_show, "the tariffs in force")

    fees = action_group(add, "fees", "grid fees per kWh traded")
    p = fees("set", cmd_fees_set, "operator: set the grid fees (minor units/kWh)")
    p.add_argument("--intra", type=price, required=True, help="inside one feeder")
    p.add_argument("--inter", type=price, required=True, help="across feeders")
    fees("show", cmd_fees_show, "the grid fees in force")

    feeder = action_group(add, "feeder", "feeder import/export limits per delivery interval")
    p = feeder("limit", cmd_feeder_limit, "operator: set a feeder's limits (Wh per interval)")
    p.add_argument("feeder")
    p.add_argument("--import-wh", type=_wh_or_unlimited, required=True, help="Wh per interval, or 'unlimited'")
    p.add_argument("--export-wh", type=_wh_or_unlimited, required=True, help="Wh per interval, or 'unlimited'")
    feeder("remove", cmd_feeder_remove, "operator: remove a feeder's limits").add_argument("feeder")
    feeder("show", cmd_feeder_show, "a feeder's limits").add_argument("feeder")
    add_paging(feeder("list", cmd_feeder_list, "every feeder limit"))

    dr = action_group(add, "dr", "demand-response events")
    p = dr("publish", cmd_dr_publish, "operator: publish an event (its reward budget is escrowed)")
    p.add_argument("event_id")
    p.add_argument("--feeder", required=True)
    p.add_argument("--start", type=unix_seconds, required=True, help="unix seconds")
    p.add_argument("--end", type=unix_seconds, required=True, help="unix seconds")
    p.add_argument("--reduction-wh", type=watt_hours, required=True, help="requested reduction")
    p.add_argument("--reward", type=price, required=True, help="minor units per kWh reduced")
    p = dr("join", cmd_dr_join, "device owner: put a device in its feeder's programme (before events)")
    p.add_argument("device_id", type=DEVICE_ID)
    p = dr("leave", cmd_dr_leave, "device owner: take a device out of the programme")
    p.add_argument("device_id", type=DEVICE_ID)
    p = dr("enrol", cmd_dr_enrol, "device owner: enrol a programme device before the event starts")
    p.add_argument("event_id")
    p.add_argument("device_id", type=DEVICE_ID)
    dr("show", cmd_dr_show, "an event and its enrolments").add_argument("event_id")
    add_paging(dr("list", cmd_dr_list, "every demand-response event"))
    p = dr("archived", cmd_dr_archived, "prove an enrolment pruning archived: from block HEIGHT's archive")
    p.add_argument("--event", dest="event_id", help="the event's id (with --device)")
    p.add_argument("--device", dest="device_id", type=DEVICE_ID, help="the enrolled device")
    add_archived_arguments(
        p, event="grid_archived", due="the event's end + grid.dr_settlement_grace_seconds + grid.dr_retention_seconds"
    )
