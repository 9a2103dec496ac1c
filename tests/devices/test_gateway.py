"""The gateway signs, stores and submits readings exactly once through outages and restarts."""

import asyncio
from pathlib import Path

from devices.gateway import FlushReport, Gateway
from devices.keys import DeviceKey, verify_reading
from devices.outbox import Outbox
from devices.records import Registers
from devices.sink import MemorySink


class Counter:
    """A fake device whose import register grows by 100 Wh per read."""

    def __init__(self) -> None:
        self.wh = 0

    async def read_registers(self) -> Registers:
        self.wh += 100
        return Registers(import_wh=self.wh, export_wh=0)


def make(tmp_path: Path, sink: MemorySink, dev: Counter, key: DeviceKey) -> tuple[Gateway, Outbox]:
    ob = Outbox(tmp_path / "outbox.sqlite")
    readers, keys = {"home.meter": dev}, {"home.meter": key}
    gw = Gateway("test-chain", ob, sink, readers, keys, interval_seconds=900, retries=2, backoff_max_s=0.01)
    return gw, ob


def test_readings_are_signed_chained_and_committed(tmp_path):
    """Consecutive readings have seq +1, contiguous intervals, valid signatures and end committed."""
    key = DeviceKey.generate()
    sink = MemorySink({"home.meter": key.public_bytes}, chain_id="test-chain")
    gw, ob = make(tmp_path, sink, Counter(), key)

    async def go() -> FlushReport:
        for k in range(1, 4):
            await gw.collect(900 * k)
        return await gw.flush()

    report = asyncio.run(go())
    ob.close()
    assert (report.committed, report.pending, report.unavailable) == (3, 0, False)
    got = [sink.accepted[("home.meter", s)] for s in (1, 2, 3)]
    assert [(r.reading.start, r.reading.end) for r in got] == [(0, 900), (900, 1800), (1800, 2700)]
    assert [r.reading.import_wh for r in got] == [100, 200, 300]
    assert all(verify_reading(key.public_bytes, "test-chain", r) for r in got)


def test_outage_lost_reply_and_restart_commit_each_reading_once(tmp_path):
    """Readings made during an outage, a reply lost after commit and a gateway restart all end committed once."""
    key = DeviceKey.generate()
    sink = MemorySink({"home.meter": key.public_bytes}, chain_id="test-chain")
    dev = Counter()
    gw, ob = make(tmp_path, sink, dev, key)

    async def first() -> tuple[FlushReport, FlushReport]:
        sink.available = False
        for k in range(1, 4):
            await gw.collect(900 * k)
        down = await gw.flush()
        sink.available = True
        sink.lose_replies = 2  # both tries commit but their answers are lost
        lost = await gw.flush()
        return down, lost

    down, lost = asyncio.run(first())
    assert down.unavailable
    assert down.pending == 3
    assert lost.unavailable
    assert lost.pending == 3
    assert len(sink.accepted) == 3
    ob.close()  # the gateway "crashes" here

    gw2, ob2 = make(tmp_path, sink, dev, key)

    async def second() -> FlushReport:
        await gw2.collect(900 * 4)
        return await gw2.flush()

    report = asyncio.run(second())
    assert report.committed == 4  # three duplicates and the new reading
    assert report.pending == 0
    assert sorted(sink.accepted) == [("home.meter", s) for s in (1, 2, 3, 4)]
    assert sink.accepted[("home.meter", 4)].reading.start == 2700
    assert ob2.counts().committed == 4
    ob2.close()


def test_rejected_readings_are_kept_with_their_reason(tmp_path):
    """A reading the ledger rejects is not resent and keeps the code and reason."""
    good, bad = DeviceKey.generate(), DeviceKey.generate()
    sink = MemorySink({"home.meter": good.public_bytes}, chain_id="test-chain")
    gw, ob = make(tmp_path, sink, Counter(), bad)

    async def go() -> FlushReport:
        await gw.collect(900)
        return await gw.flush()

    report = asyncio.run(go())
    assert (report.rejected, report.pending) == (1, 0)
    rejection = ob.rejection("home.meter", 1)
    assert rejection is not None
    assert "signature" in rejection[1]
    ob.close()
