"""The exact nameplate bound (abci_app/devices/handlers.py): whatever readings a device's key
signs, the energy accepted since its baseline is below nameplate × time plus 1 Wh per
window of at least an hour (the register's quantisation, once per window, never once per
reading); and an honest integer register of a device that never runs above nameplate is
never refused."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gridledger.devices.v1 import devices_pb2
from gridwire.reading import Reading
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from abci_app.devices.handlers import NAMEPLATE_WINDOW_SECONDS
from clients import devices as dc
from clients.ops.consortium import Consortium, demo_consortium
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.unit.helpers import signed

CONSORTIUM: Consortium = demo_consortium()
KEY = Ed25519PrivateKey.from_private_bytes(bytes([77]) * 32)
START = GENESIS_TIME + 3_600  # after the device's registration
MIN_SPAN = 60  # devices.min_reading_seconds by default
MAX_SPAN = 2_000
MAX_READINGS = 60
NOW = START + MAX_READINGS * (MAX_SPAN + 1) + MAX_SPAN  # the clock when the readings are sent


def _device(nameplate_w: int) -> devices_pb2.RegisterDevice:
    """The PV under test (this file's one device builder)."""
    return dc.register_device("pv-x", "site-x", "pv", dc.device_public_key(KEY), nameplate_w, energy_source="solar")


def _run(nameplate_w: int, readings: list[Reading]) -> list[Reading]:
    """Register the PV, send `readings` as its key signs them; the accepted ones, in order."""
    driver = AppDriver(CONSORTIUM)
    driver.block([])
    alice = CONSORTIUM.member("community-a/alice")
    setup = signed(driver, alice, dc.register_site("site-x", "feeder-1"), _device(nameplate_w))
    assert driver.block([setup]).codes == (0,)
    driver.block([], seconds=NOW - driver.time)
    batch = dc.submit_readings([dc.sign_reading(KEY, driver.chain_id, r) for r in readings])
    result = driver.block([signed(driver, alice, batch)])
    assert result.codes == (0,)
    accepted = {
        int(a.value) for e in result.tx_results[0].events if e.type == "reading_accepted" for a in e.attributes
        if a.key == "seq"
    }  # fmt: skip
    return [r for r in readings if r.seq in accepted]


# (span seconds, Wh claimed above the round-up of nameplate × span): an attacker's readings
claims_st = st.lists(st.tuples(st.integers(1, MAX_SPAN), st.integers(-2, 2)), min_size=1, max_size=MAX_READINGS)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nameplate_w=st.integers(1, 20_000), claims=claims_st)
@example(nameplate_w=1, claims=[(60, 1)] * MAX_READINGS)
@example(nameplate_w=1, claims=[(1, 1)] * MAX_READINGS)
@example(nameplate_w=3_599, claims=[(61, 1)] * MAX_READINGS)
def test_no_sequence_of_readings_claims_more_than_nameplate_plus_one_wh_per_window(
    nameplate_w: int, claims: list[tuple[int, int]]
) -> None:
    """Each reading claims about nameplate × span (rounded up, give or take 2 Wh; spans from
    1 s, below the minimum, upward); over the accepted ones, from the baseline's end over
    T seconds, 3600 × claimed < nameplate × T + 3600 × (1 + T // 3600)."""
    readings = [Reading("pv-x", 1, START - MIN_SPAN, START, 0, 0)]
    end, register = START, 0
    for seq, (span, extra) in enumerate(claims, start=2):
        register += max(0, -(-nameplate_w * span // 3600) + extra)
        readings.append(Reading("pv-x", seq, end, end + span, 0, register))
        end += span
    accepted = _run(nameplate_w, readings)
    assert accepted[0].seq == 1
    last = accepted[-1]
    seconds, claimed = last.end - START, last.export_wh
    assert 3600 * claimed < nameplate_w * seconds + 3600 * (1 + seconds // NAMEPLATE_WINDOW_SECONDS)
    assert all(r.end - r.start >= MIN_SPAN for r in accepted)


# (span seconds, share of nameplate in per mille): an honest device's readings
honest_st = st.lists(
    st.tuples(st.integers(MIN_SPAN, MAX_SPAN), st.integers(0, 1000)), min_size=1, max_size=MAX_READINGS
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nameplate_w=st.integers(1, 20_000), steps=honest_st, offset=st.integers(0, 3_599))
@example(nameplate_w=1, steps=[(3_600, 1000)] * 3, offset=3_599)
def test_an_honest_register_is_never_refused(nameplate_w: int, steps: list[tuple[int, int]], offset: int) -> None:
    """A device running at up to its nameplate (exact energy in W·s, the register its floor in
    Wh from any starting fraction `offset` W·h/3600) is accepted reading after reading."""
    readings = [Reading("pv-x", 1, START - MIN_SPAN, START, 0, 0)]
    end, joules = START, offset  # W·s since a whole Wh; the register is joules // 3600
    for seq, (span, per_mille) in enumerate(steps, start=2):
        joules += nameplate_w * span * per_mille // 1000
        readings.append(Reading("pv-x", seq, end, end + span, 0, joules // 3600))
        end += span
    assert _run(nameplate_w, readings) == readings
