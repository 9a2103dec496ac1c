"""The durable outbox keeps every reading until it is settled, across reopen."""

import pytest

from devices.outbox import Outbox, OutboxConflictError
from tests.devices.helpers import signed


def test_put_is_idempotent_and_conflicts_are_refused(tmp_path):
    """The same reading twice is stored once; another reading under the same seq is refused."""
    with Outbox(tmp_path / "o.sqlite") as ob:
        assert ob.put(signed(seq=1)) is True
        assert ob.put(signed(seq=1)) is False
        with pytest.raises(OutboxConflictError):
            ob.put(signed(seq=1, imp=11))
        assert ob.counts().pending == 1


def test_pending_in_order_and_states(tmp_path):
    """Pending is oldest first; committed and rejected readings leave it, with height or reason kept."""
    with Outbox(tmp_path / "o.sqlite") as ob:
        for i in range(1, 6):
            ob.put(signed(seq=i, start=(i - 1) * 900, end=i * 900, imp=10 * i))
        assert [s.reading.seq for s in ob.pending(3)] == [1, 2, 3]
        ob.mark_committed("dev-1", 1, height=7)
        ob.mark_rejected("dev-1", 2, 33, "decreasing register")
        assert [s.reading.seq for s in ob.pending(10)] == [3, 4, 5]
        assert ob.state("dev-1", 1) == "committed"
        assert ob.rejection("dev-1", 2) == (33, "decreasing register")
        counts = ob.counts()
        assert (counts.pending, counts.committed, counts.rejected) == (3, 1, 1)


def test_reopen_loses_nothing_and_prune_keeps_resume_point(tmp_path):
    """A reopened outbox has every reading and signature; prune keeps each device's last reading."""
    path = tmp_path / "o.sqlite"
    with Outbox(path) as ob:
        for i in range(1, 4):
            ob.put(signed(seq=i, start=(i - 1) * 900, end=i * 900, imp=i))
    with Outbox(path) as ob:
        assert [s.reading.seq for s in ob.pending(10)] == [1, 2, 3]
        assert ob.get("dev-1", 2) == signed(seq=2, start=900, end=1800, imp=2)
        for i in (1, 2, 3):
            ob.mark_committed("dev-1", i, 5)
        assert ob.prune() == 2
        last = ob.last("dev-1")
        assert last is not None
        assert last.reading.seq == 3
