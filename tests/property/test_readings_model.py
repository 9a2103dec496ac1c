"""Readings and resends in any interleaving, with gaps (intervals no reading was sent for):
the devices domain's stored state equals a simple model's (last accepted reading, energy
per interval: a reading's register delta spread over its span from the last reading's end,
gap included), resends inside the window are duplicates that change nothing, older ones
are replays."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gridledger.devices.v1 import devices_pb2
from gridwire.reading import Reading
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from abci_app.devices.errors import DevicesCode
from clients import devices as dc
from clients.ops.consortium import Consortium, demo_consortium
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.unit.helpers import signed

CONSORTIUM: Consortium = demo_consortium()
KEYS = {f"m-{i}": Ed25519PrivateKey.from_private_bytes(bytes([40 + i]) * 32) for i in range(2)}
STEP = 900
WINDOW = 96  # the devices domain remembers the hashes of this many recent readings
START = GENESIS_TIME + 3_600  # readings start after the devices' registration (no reading may start before it)
NOW = START + 400 * STEP  # the clock once the devices are registered: no reading ends after it


@dataclass
class Model:
    sent: dict[str, list[Reading]] = field(default_factory=lambda: {d: [] for d in KEYS})
    energy: dict[tuple[str, int], int] = field(default_factory=dict)

    def new(self, device: str, delta: int, gap: int) -> Reading:
        """The device's next reading, `gap` intervals after the last one's end."""
        past = self.sent[device]
        seq = len(past) + 1
        start = (past[-1].end if past else START) + gap * STEP
        register = (past[-1].import_wh if past else 0) + delta
        r = Reading(device, seq, start, start + STEP, register, 0)
        if past:  # the first reading only sets the baseline; then the delta spreads evenly
            # over the intervals of [last end, end), rounded down, the rest to the last one
            intervals = list(range(past[-1].end, r.end, STEP))
            for k in intervals:
                self.energy[(device, k)] = delta // len(intervals)
            self.energy[(device, intervals[-1])] = delta - delta // len(intervals) * (len(intervals) - 1)
        past.append(r)
        return r

    def expected_resend(self, device: str, seq: int) -> str:
        last = len(self.sent[device])
        return "duplicate" if seq > last - WINDOW else str(int(DevicesCode.SEQ_REPLAYED))


ops_st = st.lists(
    st.tuples(
        st.sampled_from(sorted(KEYS)), st.booleans(), st.integers(0, 2_000), st.integers(1, 200), st.integers(0, 2)
    ),
    min_size=1,
    max_size=120,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(ops=ops_st)
@example(
    ops=[("m-0", False, 10, 1, 0)] * 100 + [("m-0", True, 0, 100, 0), ("m-0", True, 0, 96, 0), ("m-1", True, 0, 1, 0)]
)
@example(ops=[("m-0", False, 0, 1, 0), ("m-0", False, 1_000, 1, 2), ("m-0", False, 7, 1, 1)])
def test_interleaved_readings_and_resends_match_the_model(ops: list[tuple[str, bool, int, int, int]]) -> None:
    driver = AppDriver(CONSORTIUM)
    driver.block([])
    alice = CONSORTIUM.member("community-a/alice")
    setup = [dc.register_site("s-1", "f-1")] + [
        dc.register_device(d, "s-1", "meter", dc.device_public_key(k), 20_000) for d, k in sorted(KEYS.items())
    ]
    assert driver.block([signed(driver, alice, *setup)], check=False).codes == (0,)
    driver.block([], seconds=NOW - driver.time)
    model = Model()
    for device, resend, delta, back, gap in ops:
        past = model.sent[device]
        if resend and past:
            r = past[max(0, len(past) - back)]
            expected = model.expected_resend(device, r.seq)
        else:
            r = model.new(device, delta, gap)
            expected = "accepted"
        batch = dc.submit_readings([dc.sign_reading(KEYS[device], driver.chain_id, r)])
        result = driver.block([signed(driver, alice, batch)], check=False)
        assert result.codes == (0,)
        (event,) = [e for e in result.tx_results[0].events if e.type.startswith("reading_")]
        attrs = {a.key: a.value for a in event.attributes}
        outcome = event.type.removeprefix("reading_")
        assert (outcome if outcome != "rejected" else attrs["code"]) == expected, (r, attrs)

    for device, past in model.sent.items():
        raw = driver.query(f"/reading/{device}").value
        if not past:
            assert raw == b""
            continue
        state = devices_pb2.ReadingState.FromString(raw)
        assert (state.seq, state.end, state.import_wh) == (past[-1].seq, past[-1].end, past[-1].import_wh)
    for (device, interval), wh in sorted(model.energy.items()):
        stored = devices_pb2.IntervalEnergy.FromString(driver.query(f"/energy/{device}/{interval}").value)
        assert stored.import_wh == wh, (device, interval)
