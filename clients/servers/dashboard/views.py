"""The data of each view, assembled from chain reads (synchronous; the app runs them in worker
threads). Records are in `gridctl --json` form (clients.cli_support.to_json), so what the page
shows can be checked against gridctl value for value."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from gridledger.accounts.v1 import accounts_pb2
from gridledger.certificates.v1 import certificates_pb2 as cert_pb
from gridledger.devices.v1 import devices_pb2
from gridledger.governance.v1 import governance_pb2
from gridledger.grid.v1 import grid_pb2
from gridledger.identity.v1 import identity_pb2
from gridledger.market.v1 import market_pb2
from gridwire.contract.accounts import Paths as AccountsPaths
from gridwire.contract.certificates import Paths as CertificatesPaths
from gridwire.contract.certificates import retirement_key
from gridwire.contract.devices import Paths as DevicesPaths
from gridwire.contract.governance import Paths as GovernancePaths
from gridwire.contract.grid import Paths as GridPaths
from gridwire.contract.identity import Paths as IdentityPaths
from gridwire.contract.market import Paths as MarketPaths
from gridwire.contract.paths import page_suffix

from clients.cli_support import to_json
from clients.servers.dashboard import history
from clients.servers.dashboard.inputs import BadInputError
from clients.servers.dashboard.nodes import NodePool, PrivateDataError, QueryError

__all__ = [
    "audit_contract",
    "bundle_lineage",
    "certificates",
    "grid",
    "home",
    "market",
    "matching",
    "network",
    "resolve_member",
]

DAY_INTERVALS = 48  # intervals shown on the day charts (the latest ones)
DR_EVENTS_SHOWN = 10  # demand-response events whose enrolments the Grid view lists (the last in id order)
DR_ENROLMENTS_SHOWN = 100  # enrolments listed per event (the first page)
BLOCKS_SHOWN = 20


def _time(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00").timestamp()


def _chain_now(pool: NodePool) -> int:
    status = pool.call("status")
    return int(_time(status["sync_info"]["latest_block_time"]))


def param(pool: NodePool, name: str) -> int:
    """A domain parameter's value (its default when never set)."""
    raw = pool.query_raw(GovernancePaths.PARAM(name))
    return int.from_bytes(raw or b"\0" * 8, "big", signed=True)


def network(pool: NodePool) -> dict[str, Any]:
    """Validators and their power, each node's height and app hash (and whether they agree at
    the lowest common height), block times and sizes of the latest blocks, mempool size,
    proposals, and which node this dashboard reads from."""
    status = pool.call("status")
    height = int(status["sync_info"]["latest_block_height"])
    validators = pool.call("validators", per_page="100")["validators"]
    nodes: list[dict[str, Any]] = []
    for url, st in pool.each_node("status"):
        if st is None:
            nodes.append({"url": url, "up": False})
            continue
        nodes.append(
            {
                "url": url,
                "up": True,
                "moniker": st["node_info"].get("moniker", ""),
                "height": int(st["sync_info"]["latest_block_height"]),
                "app_hash": st["sync_info"]["latest_app_hash"],
                "catching_up": bool(st["sync_info"].get("catching_up")),
            }
        )
    heights = [int(n["height"]) for n in nodes if n["up"]]
    common = min(heights, default=0)
    agreement: dict[str, str] = {}
    if common > 0:
        for url, block in pool.each_node("block", height=str(common)):
            if block is not None:
                agreement[url] = block["block"]["header"]["app_hash"]
    low = max(1, height - BLOCKS_SHOWN + 1)
    metas = pool.call("blockchain", minHeight=str(low), maxHeight=str(height))["block_metas"]
    blocks = sorted(
        ({"height": int(m["header"]["height"]), "time": m["header"]["time"], "txs": int(m["num_txs"])} for m in metas),
        key=lambda b: b["height"],
    )
    for prev, cur in itertools.pairwise(blocks):
        cur["seconds"] = round(_time(cur["time"]) - _time(prev["time"]), 3)
    proposals = pool.query_list(GovernancePaths.PROPOSALS(), governance_pb2.ProposalList)
    return {
        "chain_id": status["node_info"]["network"],
        "height": height,
        "reading_from": pool.current_url,
        "failovers": pool.failovers,
        "validators": [
            {"address": v["address"], "voting_power": int(v["voting_power"]), "pub_key": v["pub_key"]["value"]}
            for v in validators
        ],
        "nodes": nodes,
        "agreement": {
            "height": common,
            "hashes": agreement,
            "agree": len(set(agreement.values())) <= 1,
        },
        "blocks": blocks,
        "mempool": int(pool.call("num_unconfirmed_txs")["n_txs"]),
        "proposals": [to_json(p) for p in proposals.proposals],
    }


def resolve_member(pool: NodePool, ref: tuple[str, str] | bytes) -> bytes:
    """A member's address from an address or from org/name (looked up in the org's members)."""
    if isinstance(ref, bytes):
        return ref
    org, name = ref
    members = pool.query_list(IdentityPaths.MEMBERS(org), identity_pb2.MemberList).members
    for m in members:
        if m.common_name in (name, f"{name}.{org}"):  # certificates name members NAME.ORG
            return bytes(m.address)
    raise BadInputError("no member with that name in that organisation")


def _items(view: Any) -> list[dict[str, Any]]:
    field = next(f for f in view.DESCRIPTOR.fields if f.is_repeated and f.message_type is not None)
    return [to_json(m) for m in getattr(view, field.name)]


def home(pool: NodePool, address: bytes) -> dict[str, Any]:
    """One member's page: balance, membership, sites and devices (with battery state of charge
    now and over the last day), forecasts against metered energy per device, orders, fills,
    rules, alerts (with the gridctl command that accepts new terms), statements."""
    who = address.hex()
    member = pool.query(IdentityPaths.MEMBER(who), identity_pb2.Member)
    if member is None:
        raise BadInputError("no member with that address")
    balance_raw = pool.query_raw(AccountsPaths.BALANCE(who))
    account = pool.query(AccountsPaths.ACCOUNT(who), accounts_pb2.AccountView)
    devices = _items(pool.query_list(DevicesPaths.DEVICES("owner", who), devices_pb2.DeviceList))
    private: list[str] = []  # the sections the node kept private (no read grant from this member's key)

    def guarded(name: str, read: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        try:
            return read()
        except PrivateDataError:
            private.append(name)
            return []

    def read_batteries() -> list[dict[str, Any]]:
        found = []
        for d in devices:
            view = pool.query(DevicesPaths.BATTERY(d["device_id"]), devices_pb2.BatteryView)
            if view is not None:
                found.append({"device_id": d["device_id"], **to_json(view)})
        return found

    batteries = guarded("batteries", read_batteries)
    orders = _items(pool.query_list(MarketPaths.ORDERS(who), market_pb2.OrderList))
    rules = guarded("rules", lambda: _items(pool.query_list(MarketPaths.RULES(who), market_pb2.RuleList)))
    site_ids = sorted({d["site_id"] for d in devices} | {r["site_id"] for r in rules} | {o["site_id"] for o in orders})
    sites = []
    for site_id in site_ids:
        site = pool.query(DevicesPaths.SITE(site_id), devices_pb2.Site) if site_id else None
        if site is not None:
            sites.append(to_json(site))
    now = _chain_now(pool)
    length = max(1, param(pool, "devices.settlement_interval_seconds"))
    for b in batteries:
        b["history"] = history.soc_history(pool, b["device_id"], now)
    forecasts = []
    for d in devices[: history.MAX_DEVICES]:
        try:
            rows = history.forecasts_against_readings(pool, d["device_id"], now - now % length, length)
        except PrivateDataError:
            if "forecasts" not in private:
                private.append("forecasts")
            continue
        except QueryError:  # a device the forecasts domain does not serve
            continue
        forecasts.append({"device_id": d["device_id"], "rows": rows})
    alerts = guarded("alerts", lambda: _items(pool.query_list(MarketPaths.ALERTS(who), market_pb2.AlertList)))
    ref = f"{member.org_id}/{member.common_name.removesuffix('.' + member.org_id)}"
    for a in alerts:
        if not a["accepted"]:
            a["accept_command"] = f"gridctl --as {ref} accept {a['alert_id']} --limit <new price per kWh>"
    return {
        "address": who,
        "ref": ref,
        "member": to_json(member),
        "balance": int.from_bytes(balance_raw or b"", "big"),
        "nonce": account.nonce if account is not None else 0,  # for a tx signed in the page
        "chain_id": pool.call("status")["node_info"]["network"],
        "sites": sites,
        "devices": devices,
        "batteries": batteries,
        "forecasts": forecasts,
        "orders": orders,
        "fills": guarded("fills", lambda: _items(pool.query_list(MarketPaths.FILLS(who), market_pb2.FillList))),
        "rules": rules,
        "alerts": alerts,
        "statements": guarded(
            "statements", lambda: _items(pool.query_list(MarketPaths.STATEMENTS(who), market_pb2.StatementList))
        ),
        "private": private,
    }


def matching(pool: NodePool, address: bytes) -> dict[str, Any]:
    """A consumer's hourly matching heat-map, 24/7 score and the residual mix of the grid regions
    of their sites (clients.servers.dashboard.history.matching)."""
    if pool.query(IdentityPaths.MEMBER(address.hex()), identity_pb2.Member) is None:
        raise BadInputError("no member with that address")
    period = max(1, param(pool, "certificates.period_seconds"))
    now = _chain_now(pool)
    devices = _items(pool.query_list(DevicesPaths.DEVICES("owner", address.hex()), devices_pb2.DeviceList))
    regions: list[str] = []
    for site_id in sorted({d["site_id"] for d in devices if d["site_id"]}):
        site = pool.query(DevicesPaths.SITE(site_id), devices_pb2.Site)
        if site is not None and site.grid_region and site.grid_region not in regions:
            regions.append(site.grid_region)
    try:
        return {**history.matching(pool, address, regions, now - now % period, period), "private": False}
    except PrivateDataError:  # a household's matching: only under the member's read grant
        return {"member": address.hex(), "period_seconds": period, "hours": [], "score": None, "residual": {},
                "private": True}  # fmt: skip


def _curves(orders: list[dict[str, Any]]) -> dict[str, list[dict[str, int]]]:
    """Supply (sells by rising price) and demand (buys by falling price) as cumulative Wh steps."""
    out: dict[str, list[dict[str, int]]] = {"supply": [], "demand": []}
    for side, key, reverse in (("SIDE_SELL", "supply", False), ("SIDE_BUY", "demand", True)):
        mine = sorted((o for o in orders if o["side"] == side), key=lambda o: o["limit_price"], reverse=reverse)
        total = 0
        for o in mine:
            total += o["energy_wh"]
            out[key].append({"wh": total, "price": o["limit_price"]})
    return out


def market(pool: NodePool, interval: int | None) -> dict[str, Any]:
    """An interval's book as supply/demand curves and its clearing (pool and per feeder), and the
    day's clearing prices, volumes and upstream share over the latest intervals."""
    length = max(1, param(pool, "devices.settlement_interval_seconds"))
    now = _chain_now(pool)
    latest = now - now % length
    if interval is None:
        interval = latest
    if interval % length:
        raise BadInputError(f"the interval must start on a multiple of {length} s")
    book = _items(pool.query_list(MarketPaths.BOOK(interval), market_pb2.OrderList))
    clearing = pool.query(MarketPaths.CLEARING(interval), market_pb2.ClearingResult)
    upstream = pool.query(MarketPaths.UPSTREAM(interval), market_pb2.UpstreamTrade)
    day = []
    for k in range(DAY_INTERVALS - 1, -1, -1):
        start = latest - k * length
        c = pool.query(MarketPaths.CLEARING(start), market_pb2.ClearingResult)
        if c is None:
            continue
        u = pool.query(MarketPaths.UPSTREAM(start), market_pb2.UpstreamTrade)
        prices = [f.local_price for f in c.feeders if f.local_cleared] + ([c.pool_price] if c.pool_cleared else [])
        legs = [(f.local_price, f.local_wh) for f in c.feeders if f.local_cleared]
        legs += [(c.pool_price, c.pool_wh)] if c.pool_cleared else []
        traded = sum(wh for _p, wh in legs)
        upstream_wh = (u.bought_wh + u.sold_wh) if u is not None else 0
        day.append(
            {
                "interval": start,
                "pool_price": c.pool_price,
                "min_price": min(prices, default=0),
                "max_price": max(prices, default=0),
                # volume-weighted over the feeders' local auctions and the pool (floor)
                "avg_price": sum(p * wh for p, wh in legs) // traded if traded else 0,
                "total_wh": c.total_wh,
                "upstream_wh": upstream_wh,
            }
        )
    return {
        "interval": interval,
        "interval_seconds": length,
        "latest_interval": latest,
        "book": book,
        "curves": _curves(book),
        "clearing": to_json(clearing) if clearing is not None else None,
        "upstream": to_json(upstream) if upstream is not None else None,
        "day": day,
        "fees": _maybe(pool, GridPaths.FEES(), grid_pb2.GridFees),
    }


def _maybe(pool: NodePool, path: str, cls: Any) -> dict[str, Any] | None:
    record = pool.query(path, cls)
    return None if record is None else to_json(record)


def certificates(pool: NodePool, kind: str, value: str) -> dict[str, Any]:
    """Bundles filtered by owner (hex), device, hour or status, with Wh issued per hour by source."""
    view = pool.query_list(CertificatesPaths.BUNDLES(kind, value), cert_pb.BundleList)
    rows = [{"wh": b.end_wh - b.start_wh, **to_json(b)} for b in view.bundles]
    per_hour: dict[int, dict[str, int]] = {}
    for r in rows:
        if not r["parent_id"]:  # issued bundles only: their pieces would count twice
            by_source = per_hour.setdefault(r["hour_start"], {})
            by_source[r["energy_source"] or "?"] = by_source.get(r["energy_source"] or "?", 0) + r["end_wh"]
    return {
        "filter": {"kind": kind, "value": value},
        "bundles": rows,
        "issued_per_hour": [{"hour": h, "by_source": per_hour[h]} for h in sorted(per_hour)],
    }


def bundle_lineage(pool: NodePool, bundle_id: int) -> dict[str, Any]:
    """A bundle and its history, then each ancestor's (issue → splits → transfers → retirement)."""
    bundle = pool.query(CertificatesPaths.BUNDLE(bundle_id), cert_pb.Bundle)
    if bundle is None:
        raise BadInputError("no bundle with that id")
    history = pool.query(CertificatesPaths.BUNDLE_HISTORY(bundle_id), cert_pb.BundleHistoryView)
    return {
        "bundle": {"wh": bundle.end_wh - bundle.start_wh, **to_json(bundle)},
        "chain": [to_json(h) for h in history.chain] if history is not None else [],
    }


def grid(pool: NodePool) -> dict[str, Any]:
    """Feeder limits, each feeder's cleared flows against them over the latest intervals
    (with curtailed Wh), demand-response events, and the enrolled devices of the latest events
    with their baselines, measured use, delivered reduction and reward."""
    length = max(1, param(pool, "devices.settlement_interval_seconds"))
    now = _chain_now(pool)
    latest = now - now % length
    limits = _items(pool.query_list(GridPaths.FEEDERS(), grid_pb2.FeederLimitList))
    flows = []
    for k in range(DAY_INTERVALS - 1, -1, -1):
        start = latest - k * length
        c = pool.query(MarketPaths.CLEARING(start), market_pb2.ClearingResult)
        if c is None:
            continue
        for f in c.feeders:
            flows.append(
                {
                    "interval": start,
                    "feeder": f.feeder,
                    "import_wh": f.pool_import_wh,
                    "export_wh": f.pool_export_wh,
                    "curtailed_wh": f.curtailed_wh,
                    "has_limit": f.has_limit,
                    "import_limit_wh": f.import_limit_wh,
                    "export_limit_wh": f.export_limit_wh,
                }
            )
    events = _items(pool.query_list(GridPaths.DR_EVENTS(), grid_pb2.DrEventList))
    enrolments: list[dict[str, Any]] = []
    for event in events[-DR_EVENTS_SHOWN:]:
        if event.get("archived"):  # its enrolments left live state (abci_app/grid/prune.py)
            continue
        view = pool.query_list(
            GridPaths.DR_ENROLMENTS(event["event_id"]) + page_suffix(DR_ENROLMENTS_SHOWN), grid_pb2.DrEnrolmentList
        )
        enrolments += _items(view)
    return {
        "interval_seconds": length,
        "limits": limits,
        "flows": flows,
        "dr_events": events,
        "dr_enrolments": enrolments,
    }


def audit_contract() -> dict[str, Any]:
    """What the page's own verifier (static/verify.js) needs of the chain's layout, taken from the
    contract and the generated protobuf descriptors (never written out twice): the state key
    prefix of a retirement and the Retirement record's fields (number, name, JSON name, kind:
    uint64, bytes or string). Reads nothing from any node."""
    kinds = {
        FieldDescriptor.TYPE_UINT64: "uint64",
        FieldDescriptor.TYPE_BYTES: "bytes",
        FieldDescriptor.TYPE_STRING: "string",
    }
    fields = []
    for f in cert_pb.Retirement.DESCRIPTOR.fields:
        if f.type not in kinds or f.is_repeated:
            raise TypeError(f"Retirement.{f.name} has a type the page's verifier does not decode")
        fields.append({"number": f.number, "name": f.name, "json_name": f.json_name, "kind": kinds[f.type]})
    return {"retirement_key_prefix": retirement_key(0)[:-8].hex(), "retirement_fields": fields}
