"""gridctl's forecast commands and the ForecastsApi reads, run against the real app in-process:
the commands build the right messages and read the right paths, and every ForecastsApi row
turns its request into a path the app answers with the RPC's response type."""

from __future__ import annotations

import argparse

import pytest
from google.protobuf.message import Message
from gridledger.api.v1 import forecasts_api_pb2, reads_pb2
from gridledger.forecasts.v1 import forecasts_pb2 as fpb

from clients.commands.forecasts import parse_slots
from clients.gridctl import build_parser
from clients.ops.consortium import Consortium
from clients.pki import Identity
from clients.servers.api_reads import READS, BadRequestError
from tests.support.driver import AppDriver
from tests.unit.helpers import signed
from tests.unit.test_market import GRACE, L, Market


class DriverContext:
    """What the forecast commands use of a gridctl Context, answered by an in-process app."""

    def __init__(self, driver: AppDriver, signer: Identity) -> None:
        self.d, self.signer = driver, signer
        self.shown: list[object] = []

    def submit(self, msg: object) -> int:
        result = self.d.block([signed(self.d, self.signer, msg)])  # type: ignore[arg-type]
        return result.check_codes[0] or result.codes[0]  # refused by CheckTx, else as executed

    def done(self, result: int, **fields: object) -> None:
        self.shown.append({"code": result, **fields})

    def query(self, path: str, cls: type[Message], *, what: str = "") -> Message:
        resp = self.d.query(path)
        assert resp.code == 0
        assert resp.value, what
        return cls.FromString(resp.value)

    def query_list(self, path: str, cls: type[Message]) -> Message:
        return self.query(path, cls)

    def show(self, data: object, *, title: str = "", columns: object = None) -> None:
        self.shown.append(data)

    def show_page(self, rows: list[object], next_cursor: str, *, title: str, columns: object) -> None:
        self.shown.append(rows)


def run(ctx: DriverContext, *argv: str) -> object:
    args = build_parser().parse_args(list(argv))
    args.fn(ctx, args)
    return ctx.shown[-1]


def test_parse_slots_reads_export_and_optional_import() -> None:
    """The text "400:10,300" is two slots; a non-number is an argparse error."""
    assert parse_slots("400:10, 300") == [(400, 10), (300, 0)]
    with pytest.raises(argparse.ArgumentTypeError):
        parse_slots("4x0")


def test_gridctl_posts_and_reads_forecasts_and_their_error(driver: AppDriver, consortium: Consortium) -> None:
    """`forecast post` submits PostForecast; `forecast show` says posted; `forecast error` lists days."""
    m = Market(driver, consortium)
    m.setup()
    ctx = DriverContext(driver, m.alice)
    iv = m.upcoming() + L
    assert run(ctx, "forecast", "post", "pv-a", "--first", str(iv), "--slots", "400:0,300") == {
        "code": 0, "device": "pv-a", "first_interval": iv, "intervals": 2,
    }  # fmt: skip
    rows = run(ctx, "forecast", "show", "pv-a", str(iv), "--count", "3")
    assert [(r["source"], r["export_wh"]) for r in rows] == [("posted", 400), ("posted", 300), ("none", 0)]  # type: ignore[attr-defined]
    m.until(iv + 2 * L + GRACE)
    days: list[dict[str, int]] = run(ctx, "forecast", "error", "pv-a")  # type: ignore[assignment]
    assert [(d["error_wh"], d["intervals_posted"]) for d in days] == [(700, 2)]
    assert run(ctx, "forecast", "error", "pv-a", str(iv // 86_400))["error_wh"] == 700  # type: ignore[index]
    assert run(ctx, "forecast", "post", "pv-a", "--first", str(iv + 1), "--slots", "1")["code"] == 353  # type: ignore[index]


def test_forecasts_api_rows_map_requests_to_answered_paths(driver: AppDriver, consortium: Consortium) -> None:
    """Each ForecastsApi read turns its request into a path whose answer decodes as its response."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming() + L
    m.ok(m.alice, fpb.PostForecast(device_id="pv-a", first_interval=iv, slots=[fpb.ForecastSlot(export_wh=9)]))
    m.until(iv + L + GRACE)
    rows = {r.method: r for r in READS if r.service == "ForecastsApi"}
    assert sorted(rows) == ["GetForecast", "GetForecastError", "GetPostedForecast", "ListForecastErrors"]
    requests = {
        "GetForecast": forecasts_api_pb2.ForecastRequest(device_id="pv-a", interval_start=iv, count=2),
        "GetPostedForecast": reads_pb2.IntervalEnergyRequest(device_id="pv-a", interval_start=iv),
        "GetForecastError": forecasts_api_pb2.ForecastErrorRequest(device_id="pv-a", day=iv // 86_400),
        "ListForecastErrors": forecasts_api_pb2.ByDevice(device_id="pv-a"),
    }
    answers = {}
    for method, request in requests.items():
        resp = driver.query(rows[method].path(request))
        assert resp.code == 0, resp.log
        answers[method] = rows[method].response.FromString(resp.value)
    assert [v.export_wh for v in answers["GetForecast"].forecasts] == [9, 0]  # type: ignore[attr-defined]
    assert answers["GetPostedForecast"].poster == m.alice.address  # type: ignore[attr-defined]
    assert answers["GetForecastError"].error_wh == 9  # type: ignore[attr-defined]
    assert len(answers["ListForecastErrors"].errors) == 1  # type: ignore[attr-defined]
    with pytest.raises(BadRequestError):
        rows["GetForecast"].path(forecasts_api_pb2.ForecastRequest(device_id="a/b", interval_start=iv))
