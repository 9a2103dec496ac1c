"""Properties of forecasts: rules never offer more than the forecast surplus (the formula for
any quantities, and the real rules hook for any post, margin and hand order), and the
fallback is a deterministic function of the device's readings that says which source it used
(compared with a simple model for any history)."""

from __future__ import annotations

from gridledger.market.v1 import market_pb2 as mpb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abci_app.devices import keeper as devices
from abci_app.devices.params import SETTLEMENT_INTERVAL
from abci_app.devices.records import Device, DeviceId, IntervalEnergy, ReadingState, SiteId
from abci_app.forecasts import keeper
from abci_app.forecasts.params import FALLBACK_DAYS, FALLBACK_PERIOD
from abci_app.forecasts.records import FALLBACK, NONE, POSTED, Expected, Forecast
from abci_app.market.rules import after_margin, offer_wh
from abci_app.params import set_domain_param
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.types import Address
from clients import forecasts as fc
from clients import market as mc
from clients.ops.consortium import Consortium, demo_consortium
from tests.support.driver import AppDriver
from tests.unit.test_market import GATE, L, Market

CONSORTIUM: Consortium = demo_consortium()
wh = st.integers(0, 10**9)


@given(deliverable=wh, forecast=wh, margin=st.integers(0, 10_000), committed=wh, cap=wh)
def test_offer_never_exceeds_the_forecast_surplus(
    deliverable: int, forecast: int, margin: int, committed: int, cap: int
) -> None:
    """The offer is ≥ 0 and within the forecast after margin, the deliverable energy (less what
    is offered) and the cap; and it is the largest such amount."""
    e = offer_wh(deliverable, forecast, margin, committed, cap)
    assert 0 <= e <= after_margin(forecast, margin) <= forecast
    assert e <= max(0, deliverable - committed)
    assert not cap or e <= cap
    bound = min(deliverable, after_margin(forecast, margin)) - committed
    assert e == max(0, min(bound, cap) if cap else bound)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(forecast=st.integers(0, 1_250), margin=st.integers(0, 10_000), hand=st.integers(0, 1_250))
def test_the_rules_hook_offers_at_most_the_forecast_surplus(forecast: int, margin: int, hand: int) -> None:
    """Through the app: a PV sell rule's order for an interval never exceeds its posted forecast
    after the margin, less what the owner already offered by hand."""
    m = Market(AppDriver(CONSORTIUM), CONSORTIUM)
    m.setup()
    iv = m.upcoming()
    m.ok(m.alice, fc.post_forecast("pv-a", iv + L, [(forecast, 0)]))
    m.ok(m.alice, mc.rule("sell", device_id="pv-a", limit_price=5, margin_bp=margin))
    if hand:
        m.order_id(m.alice, mc.sell("pv-a", iv + L, hand, 5))
    m.until(iv - GATE)
    book = mpb.OrderList.FromString(m.d.query(f"/book/{iv + L}").value).orders
    by_rule = sum(o.energy_wh for o in book if o.rule_id)
    assert by_rule <= max(0, after_margin(forecast, margin) - hand)
    assert by_rule == max(0, min(1_250, after_margin(forecast, margin)) - hand)


DAY, LENGTH = 600, 60  # a demonstration's clock: keeps the numbers small
days = st.lists(st.one_of(st.none(), st.tuples(wh, wh)), min_size=0, max_size=10)


def _store(history: list[tuple[int, int] | None], registered_day: int, covered_days: int, n_days: int) -> Branch:
    store = Branch(MemoryBackend())
    set_domain_param(store, SETTLEMENT_INTERVAL, LENGTH, genesis=True)  # a demonstration's genesis value
    set_domain_param(store, FALLBACK_PERIOD, DAY)
    set_domain_param(store, FALLBACK_DAYS, n_days)
    target = 20 * DAY
    device = Device(
        DeviceId("pv"), SiteId("site"), Address(b"\x01" * 20), 2, b"\x02" * 32, 5_000,
        "", "", 0, "", "", "f", b"", None, False, target - registered_day * DAY,
    )  # fmt: skip
    devices.put_device(store, device)
    if covered_days >= 0:
        end = target - covered_days * DAY + LENGTH
        devices.put_reading(store, "pv", ReadingState(1, end - LENGTH, end, 0, 0, 0, 0, 0, b"\x00" * 32))
    for k, energy in enumerate(history, start=1):
        if energy is not None:
            devices.put_energy(store, "pv", IntervalEnergy(target - k * DAY, energy[1], energy[0]))
    return store


@given(
    history=days,
    registered_day=st.integers(0, 12),
    covered_days=st.integers(-1, 12),
    n_days=st.integers(1, 28),
)
def test_fallback_matches_the_model_and_says_which(
    history: list[tuple[int, int] | None], registered_day: int, covered_days: int, n_days: int
) -> None:
    """The fallback is the lower median over the counted days (registered, covered by readings;
    no energy recorded counts 0), NONE when none counts, and the same on every call."""
    store = _store(history, registered_day, covered_days, n_days)
    target = 20 * DAY
    counted = [
        history[k - 1] if k <= len(history) and history[k - 1] is not None else (0, 0)
        for k in range(1, n_days + 1)
        if k <= registered_day and covered_days >= 0 and k >= covered_days
    ]
    got = keeper.fallback(store, "pv", target)
    assert got == keeper.fallback(store, "pv", target)
    if not counted:
        assert got == Expected("pv", target, NONE)
        return
    exports = sorted(e for e, _i in counted)  # type: ignore[misc]
    imports = sorted(i for _e, i in counted)  # type: ignore[misc]
    mid = (len(counted) - 1) // 2
    assert got == Expected("pv", target, FALLBACK, exports[mid], imports[mid], days_used=len(counted))
    # a post takes precedence, and says so
    keeper.put_forecast(store, Forecast("pv", target, 7, 8, 99, Address(b"\x01" * 20)))
    assert keeper.expected(store, "pv", target) == Expected("pv", target, POSTED, 7, 8, 99)
