"""EnergyTag GC Registry API gridctl commands (`gridctl gc ACTION`): lock, reserve, release,
withdraw, claim, transfer acceptance, recurring transfer / cancellation, and a bundle, a
storage certificate's lineage or an owner's certificates in the Registry API's JSON shape."""

from __future__ import annotations

import argparse

from clients import certificates as build
from clients.cli_support import AddCommand, Context, action_group
from clients.cli_types import count, unix_seconds, watt_hours
from clients.client import QueryFailedError
from clients.energytag import QUERY_NOT_FOUND, Registry

__all__ = ["register"]


def _registry(ctx: Context) -> Registry:
    client = ctx.client(signing=False)

    def read(path: str) -> bytes:
        try:
            return client.query_raw(path)
        except QueryFailedError as exc:
            if exc.code == QUERY_NOT_FOUND:
                return b""
            raise

    return Registry(read)


def cmd_lock(ctx: Context, args: argparse.Namespace) -> None:
    ctx.done(ctx.submit(build.lock(args.bundle_id, args.wh)), bundle_id=args.bundle_id, wh=args.wh)


def cmd_reserve(ctx: Context, args: argparse.Namespace) -> None:
    ctx.done(ctx.submit(build.reserve(args.bundle_id, args.wh)), bundle_id=args.bundle_id, wh=args.wh)


def cmd_release(ctx: Context, args: argparse.Namespace) -> None:
    ctx.done(ctx.submit(build.release(args.bundle_id)), bundle_id=args.bundle_id)


def cmd_withdraw(ctx: Context, args: argparse.Namespace) -> None:
    ctx.done(ctx.submit(build.withdraw(args.bundle_id, args.reason)), bundle_id=args.bundle_id)


def cmd_claim(ctx: Context, args: argparse.Namespace) -> None:
    ctx.done(ctx.submit(build.claim(args.retirement_id)), retirement_id=args.retirement_id)


def cmd_accept(ctx: Context, args: argparse.Namespace) -> None:
    allow = [ctx.address(a) for a in args.allow]
    disallow = [ctx.address(a) for a in args.disallow]
    ctx.done(ctx.submit(build.set_acceptance(args.restricted, allow, disallow)), restricted=args.restricted)


def cmd_recurring(ctx: Context, args: argparse.Namespace) -> None:
    target = ctx.address(args.target)
    msg = build.recurring(
        args.kind, target, args.wh, first_hour=args.first_hour, every_hours=args.every_hours, count=args.count,
        purpose=args.purpose,
    )  # fmt: skip
    ctx.done(ctx.submit(msg), kind=args.kind, target=target.hex(), wh=args.wh)


def cmd_cancel_recurring(ctx: Context, args: argparse.Namespace) -> None:
    ctx.done(ctx.submit(build.cancel_recurring(args.action_id)), action_id=args.action_id)


def cmd_show(ctx: Context, args: argparse.Namespace) -> None:
    registry = _registry(ctx)
    b = registry.bundle_pb(args.bundle_id)
    if b is None:
        ctx.show({"detail": f"bundle {args.bundle_id} does not exist"})
        return
    ctx.show(registry.bundle(b), title=f"bundle {args.bundle_id} (EnergyTag)")


def cmd_lineage(ctx: Context, args: argparse.Namespace) -> None:
    ctx.show(_registry(ctx).lineage(args.bundle_id), title=f"storage lineage of bundle {args.bundle_id}")


def cmd_export(ctx: Context, args: argparse.Namespace) -> None:
    ctx.show(_registry(ctx).query(ctx.address(args.owner).hex(), args.status or None), title="certificates")


def register(add: AddCommand) -> None:
    p: argparse.ArgumentParser
    gc = action_group(add, "gc", "certificates as EnergyTag granular certificates (GC Registry API actions)")
    for name, fn, help_ in (
        ("lock", cmd_lock, "lock Wh of your active bundle (they do not move until released)"),
        ("reserve", cmd_reserve, "reserve Wh of your active bundle (only retirement or release)"),
    ):
        p = gc(name, fn, help_)
        p.add_argument("bundle_id", type=count)
        p.add_argument("wh", type=watt_hours)
    gc("release", cmd_release, "make your locked or reserved bundle active again").add_argument("bundle_id", type=count)
    p = gc("withdraw", cmd_withdraw, "certifier: withdraw a bundle (final)")
    p.add_argument("bundle_id", type=count)
    p.add_argument("--reason", default="")
    gc("claim", cmd_claim, "claim a retirement made for you").add_argument("retirement_id", type=count)
    p = gc("accept", cmd_accept, "accept transfers from your allow-list only (--restricted), or from anyone")
    p.add_argument("--restricted", action="store_true")
    p.add_argument("--allow", action="append", default=[], help="a sender to allow (repeatable)")
    p.add_argument("--disallow", action="append", default=[], help="a sender to remove (repeatable)")
    p = gc("recurring", cmd_recurring, "a standing transfer or cancellation of each production hour's certificates")
    p.add_argument("kind", choices=["transfer", "cancel"])
    p.add_argument("target", help="recipient (transfer) or beneficiary (cancel)")
    p.add_argument("wh", type=watt_hours, help="at most this many Wh per hour")
    p.add_argument("--first-hour", type=unix_seconds, required=True)
    p.add_argument("--every-hours", type=count, default=1)
    p.add_argument("--count", type=count, default=24)
    p.add_argument("--purpose", default="")
    gc("cancel-recurring", cmd_cancel_recurring, "end your standing instruction").add_argument("action_id", type=count)
    gc("show", cmd_show, "a bundle in the Registry API's JSON shape").add_argument("bundle_id", type=count)
    gc("lineage", cmd_lineage, "a storage certificate back to its sources (SDR, SCR)").add_argument(
        "bundle_id", type=count
    )
    p = gc("export", cmd_export, "an owner's certificates as a Registry API query response")
    p.add_argument("owner")
    p.add_argument("--status", default="", help="Active, Cancelled, Claimed, Expired, Withdrawn, Locked or Reserved")
