"""The load generator's wait for outstanding txs after a run (clients/ops/loadgen.py).

A saturated chain is still committing the backlog when submission ends; with a stall limit the
wait lasts while txs keep finishing and ends soon after they stop, whatever the cap.
"""

from __future__ import annotations

import asyncio
import time

from clients.ops.loadgen import Sent, Submitter, _Phase


def _phase(outstanding: int) -> _Phase:
    phase = _Phase()
    for i in range(outstanding):
        phase.pending[bytes([i])] = Sent(submitted=0.0, ack=0)
    return phase


def test_without_a_stall_limit_the_wait_runs_to_its_cap() -> None:
    phase = _phase(1)
    t = time.monotonic()
    asyncio.run(Submitter([1])._drain(phase, since=t, timeout=0.6))
    assert time.monotonic() - t >= 0.6


def test_a_stalled_backlog_ends_the_wait_long_before_the_cap() -> None:
    phase = _phase(1)
    t = time.monotonic()
    asyncio.run(Submitter([1])._drain(phase, since=t, timeout=30.0, stall=0.3))
    assert 0.3 <= time.monotonic() - t < 5.0


def test_a_committing_backlog_is_waited_for_past_the_stall_limit() -> None:
    phase = _phase(8)

    async def commit_one_by_one() -> None:
        for key in list(phase.pending):
            await asyncio.sleep(0.15)
            phase.pending[key].ack = None
            phase.pending[key].committed = time.monotonic()
            del phase.pending[key]
            phase.done += 1

    async def main() -> float:
        t = time.monotonic()
        committer = asyncio.create_task(commit_one_by_one())
        await Submitter([1])._drain(phase, since=t, timeout=30.0, stall=0.5)
        await committer
        return time.monotonic() - t

    took = asyncio.run(main())
    assert not phase.pending, "the wait ended before the backlog committed"
    assert phase.done == 8
    assert 8 * 0.15 <= took < 5.0
