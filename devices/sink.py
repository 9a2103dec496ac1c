"""Where the gateway sends signed readings: the `ReadingSink` protocol and its outcomes.

The real sink (the bridge's gateway gRPC service) plugs in here once the ledger's devices
domain exists: implement `ReadingSink.submit` with one signed tx per batch, map each reading's
result event to a `ReadingResult`, and raise `SinkUnavailableError` on transport failures.
`MemorySink` is an in-memory ledger stand-in for unit tests only.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gridledger.forecasts.v1 import forecasts_pb2
from gridwire.reading import Reading

from devices.records import SignedReading

__all__ = ["MemorySink", "Outcome", "ReadingResult", "ReadingSink", "SinkUnavailableError"]


class SinkUnavailableError(Exception):
    """The ledger could not be reached; nothing in the batch is known to be committed."""


class Outcome(enum.StrEnum):
    """What the ledger said about one reading."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"  # identical to an already accepted reading: as good as committed
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class ReadingResult:
    """The ledger's answer for one reading of a batch."""

    device_id: str
    seq: int
    outcome: Outcome
    height: int = 0
    code: int = 0
    reason: str = ""


class ReadingSink(Protocol):
    """Submits batches of signed readings to the ledger."""

    async def submit(self, batch: Sequence[SignedReading]) -> list[ReadingResult]:
        """One result per reading, in batch order, once the batch is committed.

        Raises SinkUnavailableError when the ledger cannot be reached; the caller resends later.
        """
        ...


# Rejection codes of the in-memory stand-in (the ledger's real codes come with its devices domain).
CODE_REPLAY = 1
CODE_OVERLAP = 2
CODE_DECREASING = 3
CODE_BAD_SIGNATURE = 4


class MemorySink:
    """Test stand-in with the ledger's reading rules: seq, interval and register checks, duplicates.

    `available = False` simulates an outage. `lose_replies` makes the next N submits commit their
    batch and then raise SinkUnavailableError, as when a connection drops after the commit.
    """

    def __init__(self, verify: dict[str, bytes] | None = None, chain_id: str = "test-chain") -> None:
        self.available = True
        self.lose_replies = 0
        self.height = 0
        self.accepted: dict[tuple[str, int], SignedReading] = {}
        self._last: dict[str, Reading] = {}
        self._keys = verify
        self._chain_id = chain_id
        self.submits = 0
        self.forecasts: list[list[forecasts_pb2.PostForecast]] = []  # each post's messages, in order

    async def post_forecasts(self, messages: Sequence[forecasts_pb2.PostForecast]) -> int:
        """Record one forecasts tx (devices.forecaster.ForecastSink); the height it "committed" in."""
        if not self.available:
            raise SinkUnavailableError("ledger offline (simulated)")
        self.height += 1
        self.forecasts.append(list(messages))
        return self.height

    async def submit(self, batch: Sequence[SignedReading]) -> list[ReadingResult]:
        """Apply the batch (see ReadingSink.submit)."""
        if not self.available:
            raise SinkUnavailableError("ledger offline (simulated)")
        self.submits += 1
        self.height += 1
        results = [self._apply(signed) for signed in batch]
        if self.lose_replies > 0:
            self.lose_replies -= 1
            raise SinkUnavailableError("connection lost after commit (simulated)")
        return results

    def _apply(self, signed: SignedReading) -> ReadingResult:
        from devices.keys import verify_reading  # noqa: PLC0415 - only the fake needs verification

        r = signed.reading
        key = (r.device_id, r.seq)
        if key in self.accepted:
            if self.accepted[key] == signed:
                return ReadingResult(r.device_id, r.seq, Outcome.DUPLICATE, self.height)
            return ReadingResult(r.device_id, r.seq, Outcome.REJECTED, code=CODE_REPLAY, reason="replayed seq")
        if self._keys is not None and not verify_reading(self._keys[r.device_id], self._chain_id, signed):
            return ReadingResult(r.device_id, r.seq, Outcome.REJECTED, code=CODE_BAD_SIGNATURE, reason="bad signature")
        last = self._last.get(r.device_id)
        if last is not None:
            if r.seq <= last.seq:
                return ReadingResult(
                    r.device_id, r.seq, Outcome.REJECTED, code=CODE_REPLAY, reason="seq not above last"
                )
            if r.start < last.end:
                return ReadingResult(r.device_id, r.seq, Outcome.REJECTED, code=CODE_OVERLAP, reason="overlap")
            if any(
                new < old
                for new, old in (
                    (r.import_wh, last.import_wh),
                    (r.export_wh, last.export_wh),
                    (r.charged_wh, last.charged_wh),
                    (r.discharged_wh, last.discharged_wh),
                )
            ):
                return ReadingResult(r.device_id, r.seq, Outcome.REJECTED, code=CODE_DECREASING, reason="decreasing")
        self.accepted[key] = signed
        self._last[r.device_id] = r
        return ReadingResult(r.device_id, r.seq, Outcome.ACCEPTED, self.height)
