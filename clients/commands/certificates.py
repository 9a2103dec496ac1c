"""Certificates gridctl commands: bundles (list, show, history, transfer, retire), the issuing
body's suspension, revocation and reinstatement and a device's standing oversight, hourly
matching, the 24/7 score and the residual; the proof of a record pruning archived."""

from __future__ import annotations

import argparse
from typing import Any

from gridledger.certificates.v1 import certificates_pb2 as pb
from gridwire.contract import chain
from gridwire.contract.certificates import (
    BUNDLE_PREFIX,
    HISTORY_PREFIX,
    RETIREMENT_PREFIX,
    bundle_key,
    history_key,
    retirement_key,
)
from gridwire.contract.certificates import Paths as CertificatesPaths

from clients import certificates as build
from clients.archive import CERTIFICATES
from clients.cli_support import AddCommand, Context, action_group, add_paging, page_query, to_json
from clients.cli_types import DEVICE_ID, UsageError, count, positive_count, unix_seconds, watt_hours
from clients.commands.archived import add_archived_arguments, one_key, show_archived
from clients.commands.devices import tx_event_rows

__all__ = ["register"]

STATUSES = [
    "active", "retired", "suspended", "revoked", "consumed_by_storage", "expired", "locked", "reserved", "withdrawn"
]  # fmt: skip
BUNDLE_COLUMNS = [
    "bundle_id",
    "device_id",
    "hour_start",
    "wh",
    "start_wh",
    "end_wh",
    "status",
    "owner",
    "energy_source",
]


def bundle_row(bundle: pb.Bundle) -> dict[str, Any]:
    """A bundle as JSON-ready data with its volume (`wh` = end_wh − start_wh)."""
    return {"bundle_id": bundle.bundle_id, "wh": bundle.end_wh - bundle.start_wh, **to_json(bundle)}


def cmd_list(ctx: Context, args: argparse.Namespace) -> None:
    given = [(k, v) for k, v in (("owner", args.owner), ("device", args.device), ("hour", args.hour)) if v]
    given += [("status", args.status)] if args.status else []
    if len(given) != 1:
        raise UsageError("give exactly one of --owner, --device, --hour, --status")
    kind, value = given[0]
    if kind == "owner":
        value = ctx.address(str(value)).hex()
    view = ctx.query_list(CertificatesPaths.BUNDLES(kind, value) + page_query(args), pb.BundleList)
    ctx.show_page([bundle_row(b) for b in view.bundles], view.next, title="bundles", columns=BUNDLE_COLUMNS)


RETIREMENT_COLUMNS = ["retirement_id", "bundle_id", "device_id", "hour_start", "wh", "beneficiary", "purpose"]


def cmd_retirements(ctx: Context, args: argparse.Namespace) -> None:
    owner = ctx.address(args.owner).hex()
    path = CertificatesPaths.RETIREMENTS("owner", owner, *([args.hour] if args.hour else []))
    view = ctx.query_list(path + page_query(args), pb.RetirementList)
    rows = [{"retirement_id": r.retirement_id, **to_json(r)} for r in view.retirements]
    ctx.show_page(rows, view.next, title="retirements", columns=RETIREMENT_COLUMNS)


def cmd_show(ctx: Context, args: argparse.Namespace) -> None:
    bundle = ctx.query(CertificatesPaths.BUNDLE(args.bundle_id), pb.Bundle, what=f"bundle {args.bundle_id}")
    ctx.show(bundle_row(bundle), title=f"bundle {args.bundle_id}")


def cmd_history(ctx: Context, args: argparse.Namespace) -> None:
    view = ctx.query(
        CertificatesPaths.BUNDLE_HISTORY(args.bundle_id), pb.BundleHistoryView, what=f"bundle {args.bundle_id}"
    )
    rows = [{"bundle_id": h.bundle_id, **to_json(e)} for h in view.chain for e in h.entries]
    ctx.show(rows, title=f"history of bundle {args.bundle_id} (then its ancestors')")


def _bundle_events(ctx: Context, result: Any) -> list[dict[str, Any]]:
    events = ctx.tx_events(result)
    return [row for row in tx_event_rows(events, {e["type"] for e in events}) if row["event"] != chain.MESSAGE]


def cmd_transfer(ctx: Context, args: argparse.Namespace) -> None:
    to = ctx.address(args.to)
    result = ctx.submit(build.transfer(args.bundle_id, args.wh, to))
    ctx.done(result, bundle_id=args.bundle_id, wh=args.wh, to=to.hex(), events=_bundle_events(ctx, result))


def cmd_retire(ctx: Context, args: argparse.Namespace) -> None:
    beneficiary = ctx.address(args.beneficiary) if args.beneficiary else ctx.signer_address()
    msg = build.retire(
        args.bundle_id, args.wh, beneficiary, (args.consumption_start, args.consumption_end), args.purpose
    )
    result = ctx.submit(msg)
    ctx.done(result, bundle_id=args.bundle_id, wh=args.wh, events=_bundle_events(ctx, result))


def cmd_suspend(ctx: Context, args: argparse.Namespace) -> None:
    result = ctx.submit(build.suspend(args.device_id, args.from_hour))
    ctx.done(result, device=args.device_id, from_hour=args.from_hour)


def cmd_revoke(ctx: Context, args: argparse.Namespace) -> None:
    result = ctx.submit(build.revoke(args.device_id, args.from_hour))
    ctx.done(result, device=args.device_id, from_hour=args.from_hour)


def cmd_reinstate(ctx: Context, args: argparse.Namespace) -> None:
    result = ctx.submit(build.reinstate(args.device_id, args.from_hour))
    ctx.done(result, device=args.device_id, from_hour=args.from_hour, events=_bundle_events(ctx, result))


def cmd_release_held(ctx: Context, args: argparse.Namespace) -> None:
    result = ctx.submit(build.release_held(args.device_id, args.hour))
    ctx.done(result, device=args.device_id, hour=args.hour, events=_bundle_events(ctx, result))


def cmd_reject_held(ctx: Context, args: argparse.Namespace) -> None:
    result = ctx.submit(build.reject_held(args.device_id, args.hour, args.reason))
    ctx.done(result, device=args.device_id, hour=args.hour)


def cmd_oversight(ctx: Context, args: argparse.Namespace) -> None:
    view = ctx.find(CertificatesPaths.OVERSIGHT(args.device_id), pb.StandingOversight)
    data = to_json(view) if view is not None else {"device_id": args.device_id, "status": "none"}
    ctx.show(data, title=f"standing oversight of {args.device_id}")


def cmd_matching(ctx: Context, args: argparse.Namespace) -> None:
    member = ctx.address(args.member).hex()
    view = ctx.query_list(CertificatesPaths.MATCHING(member, args.hour), pb.Matching)
    data = {
        "member": member,
        "hour_start": args.hour,
        "consumption_wh": view.consumption_wh,
        "claimed_wh": view.claimed_wh,
        "covered_bp": view.covered_bp,
    }
    ctx.show(data, title="hourly matching")


def cmd_score(ctx: Context, args: argparse.Namespace) -> None:
    member = ctx.address(args.member).hex()
    view = ctx.query_list(CertificatesPaths.SCORE(member, args.from_hour, args.to_hour), pb.Score)
    data = {
        "member": member,
        "from_hour": args.from_hour,
        "to_hour": args.to_hour,
        "consumption_wh": view.consumption_wh,
        "matched_wh": view.matched_wh,
        "score_bp": view.score_bp,
    }
    ctx.show(data, title="24/7 carbon-free score")


def cmd_residual(ctx: Context, args: argparse.Namespace) -> None:
    view = ctx.query_list(CertificatesPaths.RESIDUAL(args.region, args.hour), pb.Residual)
    data = {
        "grid_region": args.region,
        "hour_start": args.hour,
        "issued_wh": view.issued_wh,
        "claimed_wh": view.claimed_wh,
        "consumed_by_storage_wh": view.consumed_by_storage_wh,
        "revoked_wh": view.revoked_wh,
        "residual_wh": view.residual_wh,
    }
    ctx.show(data, title="residual generation")


def cmd_archived(ctx: Context, args: argparse.Namespace) -> None:
    given = [
        (retirement_key(args.retirement), args.retirement),
        (bundle_key(args.bundle), args.bundle),
        (history_key(args.history), args.history),
        (args.key, args.key),
    ]
    key = one_key(given, "--retirement ID, --bundle ID, --history ID or --key HEX")
    decoders = {
        RETIREMENT_PREFIX: pb.Retirement.FromString,
        BUNDLE_PREFIX: pb.Bundle.FromString,
        HISTORY_PREFIX: pb.BundleHistory.FromString,
    }
    show_archived(ctx, args, key, CERTIFICATES, decoders)


def register(add: AddCommand) -> None:
    p: argparse.ArgumentParser
    cert = action_group(add, "cert", "renewable energy certificate bundles (Wh ranges of one device-hour)")
    p = cert("list", cmd_list, "bundles by owner, device, production hour or status")
    p.add_argument("--owner", default="")
    p.add_argument("--device", default="")
    p.add_argument(
        "--hour", type=unix_seconds, default=0, help="production hour start (unix seconds, multiple of 3600)"
    )
    p.add_argument("--status", choices=STATUSES)
    add_paging(p)
    cert("show", cmd_show, "one bundle").add_argument("bundle_id", type=count)
    p = cert(
        "retirements", cmd_retirements, "an owner's retirements (for the retention; a retired bundle leaves sooner)"
    )
    p.add_argument("--owner", required=True, help="hex address or ORG/NAME")
    p.add_argument(
        "--hour", type=unix_seconds, default=0, help="production hour start (unix seconds, multiple of 3600)"
    )
    add_paging(p)
    p = cert("archived", cmd_archived, "prove a record pruning archived: from block HEIGHT's archive and commitment")
    add_archived_arguments(
        p,
        event="certificates_archived",
        due="a retired bundle a day after its retirement, a retirement its retention after it",
    )
    p.add_argument("--retirement", type=positive_count, default=0, help="a retirement id")
    p.add_argument(
        "--bundle", type=positive_count, default=0, help="a bundle id (a retired bundle leaves before its retirement)"
    )
    p.add_argument("--history", type=positive_count, default=0, help="a bundle id: its history")
    cert("history", cmd_history, "a bundle's history: issue, splits, transfers, retirement").add_argument(
        "bundle_id", type=count
    )
    p = cert("transfer", cmd_transfer, "move Wh of your active bundle to another member")
    p.add_argument("bundle_id", type=count)
    p.add_argument("wh", type=watt_hours)
    p.add_argument("to")
    p = cert("retire", cmd_retire, "claim Wh of your active bundle (final)")
    p.add_argument("bundle_id", type=count)
    p.add_argument("wh", type=watt_hours)
    p.add_argument("--beneficiary", default="", help="default: the signer")
    p.add_argument("--purpose", default="")
    p.add_argument("--consumption-start", type=unix_seconds, required=True, help="unix seconds")
    p.add_argument("--consumption-end", type=unix_seconds, required=True, help="unix seconds")
    for name, fn, help_ in (
        ("suspend", cmd_suspend, "certifier: suspend a device's active bundles from an hour on"),
        ("revoke", cmd_revoke, "certifier: revoke a device's active and suspended bundles from an hour on"),
    ):
        p = cert(name, fn, help_)
        p.add_argument("device_id", type=DEVICE_ID)
        p.add_argument("from_hour", type=unix_seconds)
    p = cert("reinstate", cmd_reinstate, "certifier: lift a device's suspension (not a revocation) from an hour on")
    p.add_argument("device_id", type=DEVICE_ID)
    p.add_argument(
        "--from-hour", type=unix_seconds, required=True, help="not after the standing suspension's first hour"
    )
    cert("oversight", cmd_oversight, "a device's standing suspension or revocation").add_argument(
        "device_id", type=DEVICE_ID
    )
    p = cert("release-held", cmd_release_held, "certifier: issue a device-hour's PV energy held above the clear sky")
    p.add_argument("device_id", type=DEVICE_ID)
    p.add_argument("hour", type=unix_seconds)
    p = cert(
        "reject-held", cmd_reject_held, "certifier: never issue a device-hour's PV energy held above the clear sky"
    )
    p.add_argument("device_id", type=DEVICE_ID)
    p.add_argument("hour", type=unix_seconds)
    p.add_argument("--reason", default="")

    p = add("matching", cmd_matching, "a member's consumption and claimed certificates in one hour")
    p.add_argument("member")
    p.add_argument("hour", type=unix_seconds)
    p = add("score", cmd_score, "a member's 24/7 carbon-free score over [FROM, TO) hours")
    p.add_argument("member")
    p.add_argument("from_hour", type=unix_seconds)
    p.add_argument("to_hour", type=unix_seconds)
    p = add("residual", cmd_residual, "a region-hour's generation nobody claimed")
    p.add_argument("region")
    p.add_argument("hour", type=unix_seconds)
