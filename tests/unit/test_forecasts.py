"""Forecasts in the app: PostForecast and every refusal (signed txs, straight into FinalizeBlock
and through CheckTx), the fallback and its source, rules that trade forecasts, error tracking,
pruning and the genesis round trip."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from gridledger.devices.v1 import devices_pb2
from gridledger.forecasts.v1 import forecasts_pb2 as fpb
from gridledger.market.v1 import market_pb2 as mpb

from abci_app.domain import GenesisError
from abci_app.errors import Code
from abci_app.forecasts import keeper
from abci_app.forecasts.domain import DOMAIN as FORECASTS
from abci_app.forecasts.errors import ForecastsCode
from abci_app.forecasts.params import PRUNE_PER_BLOCK, SCORE_PER_BLOCK
from abci_app.forecasts.scoring import CURSOR, DEVICE_CURSOR
from abci_app.genesis import apply_genesis, export_genesis
from abci_app.governance.keeper import iter_validators
from abci_app.params import DOMAIN_PARAMS, domain_param
from abci_app.registry import check_invariants
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, ValidatorUpdate
from clients import devices as dc
from clients import forecasts as fc
from clients import market as mc
from clients.ops.consortium import Consortium
from clients.pki import Identity
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.helpers import signed
from tests.unit.test_market import GATE, GRACE, L, Market, key

DAY = 86_400
PV_MAX = 1_250  # ⌈5000 W × 900 s ÷ 3600⌉: pv-a's most per interval


def view(m: Market, device: str, interval: int) -> fpb.ForecastView:
    resp = m.d.query(f"/forecast/{device}/{interval}")
    assert resp.code == 0, resp.log
    return fpb.ForecastView.FromString(resp.value)


def placed(m: Market, who: Identity, interval: int) -> list[int]:
    """Energy of every rule-placed order of `who` in the interval's book."""
    book = mpb.OrderList.FromString(m.d.query(f"/book/{interval}").value).orders
    return [o.energy_wh for o in book if o.owner == who.address and o.rule_id]


def with_gateway(m: Market) -> None:
    """pv-g: alice's 5 kW PV on site-a, relayed by community-a's gateway member."""
    gw = m.c.member("community-a/gateway")
    m.ok(m.alice, dc.register_device("pv-g", "site-a", "pv", dc.device_public_key(key(9)), 5_000, gateway=gw.address))


def test_owner_and_gateway_post_and_a_later_post_replaces(driver: AppDriver, consortium: Consortium) -> None:
    """The owner posts, the device's gateway replaces one interval; reads say POSTED with the latest values."""
    m = Market(driver, consortium)
    m.setup()
    with_gateway(m)
    gw = consortium.member("community-a/gateway")
    iv = m.upcoming() + L
    evs = m.ok(m.alice, fc.post_forecast("pv-g", iv, [(400, 0), (PV_MAX, 10)]))
    (posted,) = [a for t, a in evs if t == "forecast_posted"]
    assert posted == {
        "device": "pv-g", "owner": m.alice.address.hex(), "poster": m.alice.address.hex(), "first_interval": str(iv),
        "intervals": "2", "export_wh": str(400 + PV_MAX), "import_wh": "10", "replaced": "0",
    }  # fmt: skip
    evs = m.ok(gw, fc.post_forecast("pv-g", iv, [(300, 0)]))
    assert [a["replaced"] for t, a in evs if t == "forecast_posted"] == ["1"]
    first, second = view(m, "pv-g", iv), view(m, "pv-g", iv + L)
    assert (first.source, first.export_wh, first.posted_at) == (fpb.FORECAST_SOURCE_POSTED, 300, m.d.time)
    assert (second.source, second.export_wh, second.import_wh) == (fpb.FORECAST_SOURCE_POSTED, PV_MAX, 10)
    stored = m.d.query(f"/forecast_posted/pv-g/{iv}", prove=True)
    assert fpb.Forecast.FromString(stored.value).poster == gw.address
    listed = fpb.ForecastViewList.FromString(m.d.query(f"/forecasts/pv-g/{iv}/3").value).forecasts
    assert [f.source for f in listed] == [fpb.FORECAST_SOURCE_POSTED] * 2 + [fpb.FORECAST_SOURCE_NONE]


def test_hostile_posts_fail_with_their_codes_and_write_nothing(driver: AppDriver, consortium: Consortium) -> None:
    """Wrong owner, another's device, past, locked, misaligned, too many, too far and above-nameplate posts fail."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming() + L
    gw = consortium.member("community-a/gateway")
    cases = [
        (m.bob, fc.post_forecast("pv-a", iv, [(1, 0)]), ForecastsCode.NOT_DEVICE_OWNER),  # another's device
        (m.alice, fc.post_forecast("meter-b", iv, [(0, 1)]), ForecastsCode.NOT_DEVICE_OWNER),
        (gw, fc.post_forecast("pv-a", iv, [(1, 0)]), ForecastsCode.NOT_DEVICE_OWNER),  # not pv-a's gateway
        (m.alice, fc.post_forecast("pv-zz", iv, [(1, 0)]), ForecastsCode.UNKNOWN_DEVICE),
        (m.alice, fc.post_forecast("pv-a", GENESIS_TIME, [(1, 0)]), ForecastsCode.INTERVAL_CLOSED),  # the past
        (m.alice, fc.post_forecast("pv-a", iv + 1, [(1, 0)]), ForecastsCode.MISALIGNED),
        (m.alice, fc.post_forecast("pv-a", iv, [(1, 0)] * 97), ForecastsCode.TOO_MANY_INTERVALS),
        (m.alice, fc.post_forecast("pv-a", iv + 3 * DAY, [(1, 0)]), ForecastsCode.TOO_FAR_AHEAD),
        (m.alice, fc.post_forecast("pv-a", iv + 2 * DAY - L, [(1, 0)] * 2), ForecastsCode.TOO_FAR_AHEAD),
        (m.alice, fc.post_forecast("pv-a", iv, [(1, 0), (PV_MAX + 1, 0)]), ForecastsCode.ABOVE_NAMEPLATE),
        (m.alice, fc.post_forecast("pv-a", iv, [(0, PV_MAX + 1)]), ForecastsCode.ABOVE_NAMEPLATE),
        (m.alice, fc.post_forecast("pv-a", iv, []), Code.INVALID_ARGUMENT),
        (m.alice, fc.post_forecast("pv-a", iv, [(10**13, 0)]), Code.INVALID_ARGUMENT),
        (m.alice, fc.post_forecast("PV-A", iv, [(1, 0)]), Code.INVALID_ARGUMENT),
    ]
    for who, msg, code in cases:
        got, _evs, log = m.run(who, msg)  # straight into FinalizeBlock, as a hostile proposer would
        assert got == code, (code, log)
        assert log.startswith(code.name)
    # the interval whose gate is closing: block time + lock (300 s) reaches its start
    locked = (m.d.time + 1 + 300) // L * L
    assert m.code(m.alice, fc.post_forecast("pv-a", locked, [(1, 0)])) == ForecastsCode.INTERVAL_CLOSED
    # CheckTx refuses the same way (a mempool never proposes them)
    result = m.d.block([signed(m.d, m.bob, fc.post_forecast("pv-a", iv, [(1, 0)]))])
    assert result.check_codes == (ForecastsCode.NOT_DEVICE_OWNER,)
    assert view(m, "pv-a", iv).source == fpb.FORECAST_SOURCE_NONE
    assert not m.d.query(f"/forecast_posted/pv-a/{iv}").value
    m.ok(m.alice, devices_pb2.SuspendDevice(device_id="pv-a", reason="test"))
    assert m.code(m.alice, fc.post_forecast("pv-a", iv + L, [(1, 0)])) == ForecastsCode.DEVICE_SUSPENDED
    m.ok(m.alice, devices_pb2.ReinstateDevice(device_id="pv-a"))
    last = (m.d.time + 1 + 2 * DAY) // L * L  # the last interval allowed at the next block
    m.ok(m.alice, fc.post_forecast("pv-a", last, [(0, 0)]))


def _history(m: Market, noon: int, exports: list[int]) -> None:
    """pv-a exports exports[k] in the interval starting at noon + k days (and nothing else)."""
    total = 0
    for k, e in enumerate(exports):
        s = noon + k * DAY
        m.until(s + L)
        m.reading(m.alice, "pv-a", 1, s - L, s, 0, total)  # registers unchanged since the last reading
        total += e
        m.reading(m.alice, "pv-a", 1, s, s + L, 0, total)


def test_fallback_is_the_lower_median_of_previous_days_and_says_so(driver: AppDriver, consortium: Consortium) -> None:
    """Without a post, reads give the lower median of the same interval on counted days (absent energy: 0)."""
    m = Market(driver, consortium)
    m.setup()
    noon = GENESIS_TIME + 12 * 3600  # pv-a was registered at genesis: days before it never count
    _history(m, noon, [300, 900, 600])
    target = noon + 3 * DAY
    v = view(m, "pv-a", target)
    assert (v.source, v.export_wh, v.import_wh, v.days_used) == (fpb.FORECAST_SOURCE_FALLBACK, 600, 0, 3)
    assert m.d.query(f"/forecast/pv-a/{target}").value == v.SerializeToString()  # same answer every time
    # 03:00: covered by readings, nothing recorded: a PV's night (0 Wh) — on days 2 and 3 only:
    # on day 1 it precedes pv-a's first reading (ending at noon), which is no history at all
    night = view(m, "pv-a", target - 9 * 3600)
    assert (night.source, night.export_wh, night.days_used) == (fpb.FORECAST_SOURCE_FALLBACK, 0, 2)
    assert view(m, "meter-c", target).source == fpb.FORECAST_SOURCE_NONE  # no readings at all
    later = view(m, "pv-a", target + L)  # the next interval: after the last reading on day 3, so 2 days count
    assert (later.source, later.days_used) == (fpb.FORECAST_SOURCE_FALLBACK, 2)
    # the sell rule uses the fallback: it offers the median less its 10 % margin
    m.ok(m.alice, mc.rule("sell", device_id="pv-a", limit_price=5, margin_bp=1_000))
    m.until(target - L - GATE)
    assert placed(m, m.alice, target) == [540]


def test_sell_rule_offers_the_forecast_less_margin_and_what_is_offered(
    driver: AppDriver, consortium: Consortium
) -> None:
    """A sell rule offers min(nameplate, forecast − margin) − already offered, capped by max_wh_per_interval."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming()
    m.ok(m.alice, fc.post_forecast("pv-a", iv + L, [(800, 0), (800, 0), (800, 0)]))
    m.ok(m.alice, mc.rule("sell", device_id="pv-a", limit_price=5, margin_bp=1_000))
    m.order_id(m.alice, mc.sell("pv-a", iv + L, 100, 5))  # by hand, already offered
    m.until(iv - GATE)
    assert placed(m, m.alice, iv + L) == [620]  # 800 × 0.9 − 100
    m.ok(m.alice, mc.rule("sell", rule_id=1, device_id="pv-a", limit_price=5, max_wh_per_interval=500))
    m.until(iv + L - GATE)
    assert placed(m, m.alice, iv + 2 * L) == [500]
    m.ok(m.alice, mc.rule("sell", rule_id=1, device_id="pv-a", limit_price=5, margin_bp=10_000))
    m.until(iv + 2 * L - GATE)
    assert placed(m, m.alice, iv + 3 * L) == []  # a 100 % margin keeps everything back
    assert m.code(m.alice, mc.rule("sell", device_id="pv-a", limit_price=5, margin_bp=10_001)) == Code.INVALID_ARGUMENT


def test_sell_rule_without_forecast_or_history_places_nothing_and_alerts(
    driver: AppDriver, consortium: Consortium
) -> None:
    """A PV sell rule with no post and no readings offers nothing (not its nameplate) and raises no_forecast."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming()
    m.ok(m.alice, mc.rule("sell", device_id="pv-a", limit_price=5))
    evs = m.until(iv - GATE)
    assert placed(m, m.alice, iv + L) == []
    alerts = [a for t, a in evs if t == "alert"]
    assert [(a["reason"], a["interval"]) for a in alerts] == [("no_forecast", str(iv + L))]
    assert [a.reason for a in m.alerts(m.alice)] == [mpb.ALERT_REASON_NO_FORECAST]


def test_buy_rule_buys_at_most_the_forecast_need(driver: AppDriver, consortium: Consortium) -> None:
    """A buy rule takes the site meters' forecast import less its margin; a site with no forecast keeps its amount."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming()
    m.ok(m.bob, fc.post_forecast("meter-b", iv + L, [(0, 150)]))
    m.ok(m.bob, mc.rule("buy", site_id="site-b", limit_price=30, max_wh_per_interval=400, margin_bp=2_000))
    m.ok(m.carol, mc.rule("buy", site_id="site-c", limit_price=30, max_wh_per_interval=400))
    m.until(iv - GATE)
    assert placed(m, m.bob, iv + L) == [120]  # 150 × 0.8
    assert placed(m, m.carol, iv + L) == [400]


def test_forecast_error_is_scored_per_day_and_readable(driver: AppDriver, consortium: Consortium) -> None:
    """After an interval settles, the device's day error adds |forecast − metered| and the metered energy."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming() + L
    m.ok(m.alice, fc.post_forecast("pv-a", iv, [(500, 0), (200, 0)]))
    m.until(iv + L)
    m.reading(m.alice, "pv-a", 1, iv - L, iv, 0, 0)
    m.reading(m.alice, "pv-a", 1, iv, iv + L, 0, 420)
    evs = m.until(iv + L + GRACE)  # iv is scored once its grace has passed
    m.reading(m.alice, "pv-a", 1, iv + L, iv + 2 * L, 0, 420 + 260)
    evs += m.until(iv + 2 * L + GRACE)
    scored = [(a["interval"], a["devices"], a["error_wh"]) for t, a in evs if t == "forecast_scored"]
    assert scored == [(str(iv), "1", "80"), (str(iv + L), "1", "60")]
    day = iv // DAY
    resp = m.d.query(f"/forecast_error/pv-a/{day}", prove=True)
    err = fpb.ForecastError.FromString(resp.value)
    assert (err.error_wh, err.forecast_export_wh, err.metered_export_wh, err.intervals_posted) == (140, 700, 680, 2)
    listed = fpb.ForecastErrorList.FromString(m.d.query("/forecast_errors/pv-a").value).errors
    assert list(listed) == [err]
    assert m.d.query("/forecast_error/pv-a/x").code == Code.QUERY_BAD_REQUEST
    assert m.d.query(f"/forecast/pv-a/{iv + 1}").code == Code.QUERY_BAD_REQUEST
    assert m.d.query(f"/forecast/nope/{iv}").code == Code.QUERY_NOT_FOUND
    assert m.d.query(f"/forecasts/pv-a/{iv}/97").code == Code.QUERY_BAD_REQUEST


def test_a_fallback_met_by_no_energy_is_scored(driver: AppDriver, consortium: Consortium) -> None:
    """A PV that exported 300 Wh at noon yesterday and nothing today (readings cover the day, no
    energy recorded) is scored against its fallback: 300 Wh of error, the interval counted."""
    m = Market(driver, consortium)
    m.setup()
    noon = GENESIS_TIME + 12 * 3600
    _history(m, noon, [300])
    today = noon + DAY
    m.until(today + L)
    m.reading(m.alice, "pv-a", 1, noon + L, today + L, 0, 300)  # registers unchanged: nothing today
    assert view(m, "pv-a", today).source == fpb.FORECAST_SOURCE_FALLBACK
    evs = m.until(today + L + GRACE + L)
    assert (str(today), "1", "300") in [
        (a["interval"], a["devices"], a["error_wh"]) for t, a in evs if t == "forecast_scored"
    ]
    err = fpb.ForecastError.FromString(m.d.query(f"/forecast_error/pv-a/{today // DAY}").value)
    assert (err.intervals_fallback, err.forecast_export_wh, err.metered_export_wh, err.error_wh) == (1, 300, 0, 300)


def _three_scored(consortium: Consortium, **params: int) -> tuple[Market, int, list[list[tuple[str, str, str, str]]]]:
    """pv-a, meter-b and meter-c each post a forecast for one interval and meter it (errors 80,
    150 and 50 Wh); then, from the block its grace ends, four blocks 10 s apart. Returns the
    market, the interval and each block's forecast_scored events (interval, devices, error,
    complete)."""
    m = Market(AppDriver(consortium, params=params), consortium)
    m.setup()
    iv = m.upcoming() + L
    m.ok(m.alice, fc.post_forecast("pv-a", iv, [(500, 0)]))
    m.ok(m.bob, fc.post_forecast("meter-b", iv, [(0, 150)]))
    m.ok(m.carol, fc.post_forecast("meter-c", iv, [(0, 150)]))
    m.until(iv + L)
    for who, device, n, imp, exp in (
        (m.alice, "pv-a", 1, 0, 420),
        (m.bob, "meter-b", 2, 300, 0),
        (m.carol, "meter-c", 3, 200, 0),
    ):
        m.reading(who, device, n, iv - L, iv, 0, 0)
        m.reading(who, device, n, iv, iv + L, imp, exp)
    blocks = []
    for i in range(4):
        evs = m.until(iv + L + GRACE + 10 * i)
        blocks.append(
            [(a["interval"], a["devices"], a["error_wh"], a["complete"]) for t, a in evs if t == "forecast_scored"]
        )
    return m, iv, blocks


def _errors(m: Market, iv: int) -> list[bytes]:
    return [m.d.query(f"/forecast_error/{d}/{iv // DAY}").value for d in ("pv-a", "meter-b", "meter-c")]


def test_the_default_budgets_keep_up_with_a_million_devices(driver: AppDriver) -> None:
    """A million devices make about 1,111 device-intervals a second to score and (posting every
    interval) as many forecasts to prune: the defaults exceed that per block at a block a second,
    and governance keeps them bounded."""
    state = driver.app.state
    per_s = -(-1_000_000 * 96 // DAY)
    assert domain_param(state, SCORE_PER_BLOCK) == 3_000 >= 2 * per_s
    assert domain_param(state, PRUNE_PER_BLOCK) == 5_000 >= 2 * per_s
    assert (DOMAIN_PARAMS[SCORE_PER_BLOCK].low, DOMAIN_PARAMS[SCORE_PER_BLOCK].high) == (100, 20_000)
    assert (DOMAIN_PARAMS[PRUNE_PER_BLOCK].low, DOMAIN_PARAMS[PRUNE_PER_BLOCK].high) == (100, 20_000)


def test_an_interval_with_more_devices_than_the_block_budget_is_scored_over_several_blocks(
    consortium: Consortium,
) -> None:
    """With forecasts.score_per_block at 1 the three devices are scored one a block, in key
    order of lp(device id) (pv-a's id is the shortest); the interval's cursor moves on only with
    the last one, the day errors end as when one block scores all three, and an export taken
    mid-interval carries the device cursor."""
    whole, iv, whole_blocks = _three_scored(consortium)
    assert whole_blocks == [[(str(iv), "3", "280", "true")], [], [], []]
    capped, iv2, blocks = _three_scored(consortium, **{"forecasts.score_per_block": 1})
    assert iv2 == iv
    assert blocks == [
        [(str(iv), "1", "80", "false")],
        [(str(iv), "1", "150", "false")],
        [(str(iv), "1", "50", "true")],
        [],
    ]
    assert _errors(capped, iv) == _errors(whole, iv)
    assert all(_errors(whole, iv))
    state = capped.d.app.state
    assert keeper.get_text(state, DEVICE_CURSOR) is None  # done: no device cursor left
    assert keeper.get_misc(state, CURSOR) == iv + L
    assert check_invariants(state) == []


def test_a_state_scored_half_way_through_an_interval_round_trips(
    consortium: Consortium,
) -> None:
    """Exported after the first of three scoring blocks, the state carries scored_device, and
    the imported state holds the same keys."""
    m = Market(AppDriver(consortium, params={"forecasts.score_per_block": 1}), consortium)
    m.setup()
    iv = m.upcoming() + L
    m.ok(m.alice, fc.post_forecast("pv-a", iv, [(500, 0)]))
    m.ok(m.bob, fc.post_forecast("meter-b", iv, [(0, 150)]))
    m.until(iv + L)
    for who, device, n, imp, exp in ((m.alice, "pv-a", 1, 0, 420), (m.bob, "meter-b", 2, 300, 0)):
        m.reading(who, device, n, iv - L, iv, 0, 0)
        m.reading(who, device, n, iv, iv + L, imp, exp)
    m.until(iv + L + GRACE)
    state = m.d.app.state
    assert keeper.get_text(state, DEVICE_CURSOR) == "pv-a"
    assert keeper.get_misc(state, CURSOR) == iv  # the interval is not done
    exported, fresh = export_and_import(state)
    assert exported["forecasts"]["scored_device"] == "pv-a"
    assert exported["forecasts"]["scored_before"] == str(iv)
    assert differences(FORECASTS, state, fresh) == []


def test_old_forecasts_and_errors_are_pruned(consortium: Consortium) -> None:
    """Scored forecasts and day errors older than forecasts.retention_seconds are deleted, oldest first."""
    driver = AppDriver(consortium, params={"forecasts.retention_seconds": DAY})
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming() + L
    m.ok(m.alice, fc.post_forecast("pv-a", iv, [(500, 0)]))
    m.until(iv + L + GRACE)
    day = iv // DAY
    assert fpb.ForecastError.FromString(m.d.query(f"/forecast_error/pv-a/{day}").value).intervals_posted == 1
    evs = m.until((day + 2) * DAY + 10)
    assert [(a["forecasts"], a["errors"]) for t, a in evs if t == "forecasts_pruned"] == [("1", "1")]
    assert not m.d.query(f"/forecast_posted/pv-a/{iv}").value
    assert not m.d.query(f"/forecast_error/pv-a/{day}").value


def test_genesis_round_trips_forecasts_byte_for_byte(driver: AppDriver, consortium: Consortium) -> None:
    """Export then import rebuilds every forecasts key (posts, indexes, day errors, cursor) exactly."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming() + L
    m.ok(m.alice, fc.post_forecast("pv-a", iv, [(500, 3), (200, 0), (0, 0)]))
    m.until(iv + 2 * L + GRACE)  # scores the first two intervals (no readings: metered 0); all three stay stored
    m.ok(m.bob, fc.post_forecast("meter-b", m.upcoming() + L, [(0, 7)]))
    exported, fresh = export_and_import(m.d.app.state)
    section = exported["forecasts"]
    assert (len(section["forecasts"]), len(section["errors"])) == (4, 1)
    assert int(section["scored_before"]) > 0
    assert differences(FORECASTS, m.d.app.state, fresh) == []
    assert check_invariants(fresh) == []


def _refused(
    app_state: dict[str, Any], validators: list[ValidatorUpdate], edit: Callable[[dict[str, Any]], None]
) -> str:
    state = copy.deepcopy(app_state)
    edit(state["forecasts"])
    with pytest.raises(GenesisError) as err:
        apply_genesis(Branch(MemoryBackend()), BlockInfo("c", 1, 0), json.dumps(state).encode(), validators)
    return str(err.value)


def test_bad_forecasts_sections_are_refused_naming_the_field(driver: AppDriver, consortium: Consortium) -> None:
    """Unknown parts, unknown devices, duplicates, bad posters and impossible errors fail genesis with a named field."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming() + L
    m.ok(m.alice, fc.post_forecast("pv-a", iv, [(500, 0)]))
    m.until(iv + L + GRACE)
    app_state = json.loads(json.dumps(export_genesis(m.d.app.state)))
    validators = [ValidatorUpdate(k, p) for k, p in iter_validators(m.d.app.state)]

    def first(part: str, **fields: object) -> Callable[[dict[str, Any]], None]:
        return lambda s: s[part][0].update(fields)

    cases: list[tuple[Callable[[dict[str, Any]], None], str]] = [
        (lambda s: s.update(widgets=[]), r'^forecasts: .*no field named "widgets"'),
        (first("forecasts", deviceId="nope"), r"^forecasts\.forecasts\[0\]: unknown device 'nope'"),
        (lambda s: s["forecasts"].append(s["forecasts"][0]), r"^forecasts\.forecasts\[1\]: duplicate interval"),
        (first("forecasts", poster="AAAA"), r"^forecasts\.forecasts\[0\]: expected a 20-byte poster"),
        (first("forecasts", exportWh="1000000000001"), r"^forecasts\.forecasts\[0\]: .*energies"),
        (first("errors", errorWh="999999"), r"^forecasts\.errors\[0\]: error_wh 999999 exceeds"),
        (first("errors", intervalsPosted=0), r"^forecasts\.errors\[0\]: a daily error counts at least one"),
        (lambda s: s.update(scored_before=-1), r"^forecasts: Failed to parse scored_before field: Value out of range"),
        (
            lambda s: s.update(forecasts={}),
            r"^forecasts: Failed to parse forecasts field: repeated field",
        ),
    ]
    for edit, message in cases:
        assert re.search(message, _refused(app_state, validators, edit)), message
