"""The dashboard's views over time, each read from the chain when asked (no state of its own):

- a battery's state of charge over the last day, as the battery itself reported it in its
  device-signed readings that the chain accepted (found through CometBFT's tx index by the
  `reading_accepted` event, decoded from the committed transactions);
- each device's forecasts against its metered energy per interval (forecasts and devices domains);
- a consumer's hourly matching (24 x days heat-map), their 24/7 score over those hours, and the
  residual mix of their grid regions (certificates domain).
"""

from __future__ import annotations

import base64
from typing import Any

from gridledger.certificates.v1 import certificates_pb2 as cert_pb
from gridledger.devices.v1 import devices_pb2
from gridledger.forecasts.v1 import forecasts_pb2
from gridledger.tx.v1 import tx_pb2
from gridwire.contract.certificates import CertificatesCode
from gridwire.contract.certificates import Paths as CertificatesPaths
from gridwire.contract.devices import READING_ACCEPTED
from gridwire.contract.devices import Paths as DevicesPaths
from gridwire.contract.forecasts import Paths as ForecastsPaths
from gridwire.tx import type_url

from clients.cli_support import to_json
from clients.servers.dashboard import inputs
from clients.servers.dashboard.nodes import NodePool, QueryError

__all__ = ["forecasts_against_readings", "matching", "soc_history"]

DAY = 86_400
SOC_PAGES = 3  # tx_search pages (100 txs each) read per battery: the newest 300 reading txs
FORECAST_INTERVALS = 24
MAX_DEVICES = 6  # devices charted per member (the first ones)
HEATMAP_DAYS = 3
MAX_REGIONS = 3
SUBMIT_READINGS = type_url(devices_pb2.SubmitReadings)


def _accepted_seqs(tx_result: dict[str, Any], device_id: str) -> set[int]:
    seqs: set[int] = set()
    for event in tx_result.get("events") or []:
        if event.get("type") != READING_ACCEPTED:
            continue
        attrs = {a.get("key"): a.get("value") for a in event.get("attributes") or []}
        if attrs.get("device") == device_id and str(attrs.get("seq", "")).isdigit():
            seqs.add(int(attrs["seq"]))
    return seqs


def soc_history(pool: NodePool, device_id: str, now: int) -> list[dict[str, int]]:
    """[{time, soc_wh}] of battery `device_id` over the day before `now` (chain time), ascending:
    each accepted reading's end and the state of charge the battery signed in it. Readings the
    chain rejected (no reading_accepted event for their seq in the tx) are left out."""
    inputs.token(device_id, "device id")  # the chain's ids are tokens: nothing can reach the query's syntax
    points: dict[int, int] = {}
    for page in range(1, SOC_PAGES + 1):
        found = pool.call(
            "tx_search", query=f"{READING_ACCEPTED}.device='{device_id}'", page=str(page), per_page="100",
            order_by="desc",
        )  # fmt: skip
        txs = found.get("txs") or []
        oldest = now
        for item in txs:
            result = item.get("tx_result") or {}
            if int(result.get("code", 0)) != 0:
                continue
            accepted = _accepted_seqs(result, device_id)
            body = tx_pb2.TxBody.FromString(tx_pb2.Tx.FromString(base64.b64decode(item.get("tx") or "")).body)
            for message in body.messages:
                if message.type_url != SUBMIT_READINGS:
                    continue
                for r in devices_pb2.SubmitReadings.FromString(message.value).readings:
                    if r.device_id == device_id and r.seq in accepted and now - DAY <= r.end <= now:
                        points[r.end] = r.soc_wh
                    oldest = min(oldest, r.end)
        if len(txs) < 100 or oldest < now - DAY or page * 100 >= int(found.get("total_count") or 0):
            break
    return [{"time": t, "soc_wh": points[t]} for t in sorted(points)]


def forecasts_against_readings(pool: NodePool, device_id: str, latest: int, length: int) -> list[dict[str, Any]]:
    """Per interval of the last FORECAST_INTERVALS (ending with the one before `latest`): the
    forecast the chain uses for the device (posted, fallback or none) and its metered energy."""
    first = latest - FORECAST_INTERVALS * length
    views = pool.query_list(
        ForecastsPaths.FORECASTS(device_id, first, FORECAST_INTERVALS), forecasts_pb2.ForecastViewList
    ).forecasts
    rows = []
    for view in views:
        metered = pool.query(DevicesPaths.ENERGY(device_id, view.interval_start), devices_pb2.IntervalEnergy)
        rows.append(
            {
                "interval": view.interval_start,
                "source": forecasts_pb2.ForecastSource.Name(view.source),
                "forecast_export_wh": view.export_wh,
                "forecast_import_wh": view.import_wh,
                "metered_export_wh": metered.export_wh if metered is not None else 0,
                "metered_import_wh": metered.import_wh if metered is not None else 0,
            }
        )
    return rows


def matching(pool: NodePool, member: bytes, regions: list[str], latest_hour: int, period: int) -> dict[str, Any]:
    """A consumer's hourly matching over the HEATMAP_DAYS x 24 periods up to the one before
    `latest_hour` (covered basis points per period, for the heat-map; a period whose consumption
    has left the ledger with the devices' retention is marked archived), their 24/7 score over
    the periods still live, and per grid region the residual mix of those of the last 24 periods
    still live."""
    hours = [latest_hour - k * period for k in range(HEATMAP_DAYS * 24, 0, -1)]
    cells = []
    live = []  # the hours whose consumption is still on the ledger (the devices' retention)
    for hour in hours:
        try:
            m = pool.query(CertificatesPaths.MATCHING(member.hex(), hour), cert_pb.Matching)
        except QueryError as exc:
            if exc.code != CertificatesCode.RECORD_ARCHIVED:
                raise
            cells.append({"hour": hour, "consumption_wh": 0, "claimed_wh": 0, "covered_bp": 0, "archived": True})
            continue
        live.append(hour)
        cells.append(
            {
                "hour": hour,
                "consumption_wh": m.consumption_wh if m is not None else 0,
                "claimed_wh": m.claimed_wh if m is not None else 0,
                "covered_bp": m.covered_bp if m is not None else 0,
            }
        )
    score = (
        pool.query(CertificatesPaths.SCORE(member.hex(), live[0], hours[-1] + period), cert_pb.Score) if live else None
    )
    residual = {}
    for region in regions[:MAX_REGIONS]:
        rows = []
        for hour in hours[-24:]:
            try:
                r = pool.query(CertificatesPaths.RESIDUAL(region, hour), cert_pb.Residual)
            except QueryError as exc:  # an hour behind the devices' watermark: its mix left the ledger
                if exc.code != CertificatesCode.RECORD_ARCHIVED:
                    raise
                continue
            if r is not None:
                rows.append(to_json(r))
        residual[region] = rows
    return {
        "member": member.hex(),
        "period_seconds": period,
        "hours": cells,
        "score": to_json(score) if score is not None else None,
        "residual": residual,
    }
