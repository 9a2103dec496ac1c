"""The work meter: a deterministic upper bound, in units, of the store work a tx causes.

A unit is about one store write (or one signature check). The meter is computed from a tx's
decoded contents and a state, without executing anything:

- every tx: TX_WORK (signature, signer, nonce); every message: MESSAGE_WORK, and ITEM_WORK
  per item of each list it carries (a PostForecast's slots: a record and its index entry each);
- every reading of a SubmitReadings: READING_WORK (device, signature, reading state, recent
  hash, battery state), plus INTERVAL_WORK per settlement interval and HOUR_WORK per
  production hour (certificates.period_seconds) its recorded window may touch.

Readings (devices/handlers.py). An accepted reading records energy over its window
[max(span start, end − MAX_SPAN_RECORDED_SECONDS), end), the span starting at the device's
last accepted end (its own start for a first reading); rejected readings and duplicates write
nothing. A device's last end only grows, and its accepted spans are disjoint and
consecutive, so for the k readings of one device (in a tx, or in a whole block) whose latest
end is E, with S the device's last end in the state the meter reads (or, for a device with no
reading there, the least start among the k), the periods of length P they touch are at most

    min(Σ_i periods([max(S, e_i − day), e_i)),  floor(min(E − S, k × day) / P) + 2k)

(each window alone; all windows together cover at most E − S, and at most a day each, and a
period can be split between two consecutive windows). Both bounds only grow when readings are
added and when S is earlier, so the bound on the state before a block (the committed state)
bounds every tx of the block, whatever order and outcome they have. (A vote inside a block
that shortens the periods takes effect for the block meter from the next block; the per-tx
check always reads the state the tx runs on.) Other messages are charged a flat
MESSAGE_WORK (plus their lists): their work is bounded by constants and their own caps
(oversight actions, open orders), not by parameters that multiply it.

Measured (tests/bench, `--only worstblock`): about 10–13 µs of CPU per unit on the 2-core
development machine, so the default budget (100,000) is about 1.2 s of FinalizeBlock +
Commit for the worst legal block, and the largest governance may set (200,000), about 2.6 s.

Where it is checked:
- CheckTx and FinalizeBlock (executor.execute): a tx whose meter on the state it runs on is
  above min(max_tx_work, max_block_work) fails with WORK_LIMIT_EXCEEDED before its nonce is
  used, and changes nothing;
- PrepareProposal adds txs while the block's meter (`BlockMeter` on the committed state) stays
  within max_block_work; ProcessProposal rejects a proposal above it; FinalizeBlock runs the
  same meter on the same state and fails (WORK_LIMIT_EXCEEDED) every tx that would take the
  block above it, so a Byzantine proposer's excess does no work, and an honest proposal
  (built by the same meter from the same state) never has such a failure.
- FinalizeBlock shortcuts, which change no result: the block meter takes ProcessProposal's
  per-tx costs when that accepted exactly these txs on the same committed state (`known`), and
  the per-tx meter is skipped when the block meter's device states prove it within the limit
  (`BlockMeter.covers`); a replaying node (no ProcessProposal) computes everything.

The end-block hooks' work is bounded on their own (issuance: certificates.max_issuance_per_block;
expiry: MAX_EXPIRY_PER_BLOCK; pruning: devices.prune_per_block, certificates.prune_per_block,
market.prune_per_block and grid.dr_prune_per_block; market: open orders per member and interval), not
by this meter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass

from abci_app.certificates.params import period
from abci_app.codec import DecodedTx
from abci_app.devices import keeper as devices
from abci_app.devices.handlers import MAX_SPAN_RECORDED_SECONDS
from abci_app.devices.messages import SignedReading, SubmitReadings
from abci_app.devices.params import SETTLEMENT_INTERVAL
from abci_app.params import Params, domain_param, load_params
from abci_app.store.branch import KVReader

__all__ = [
    "HOUR_WORK",
    "INTERVAL_WORK",
    "ITEM_WORK",
    "MESSAGE_WORK",
    "READING_WORK",
    "TX_WORK",
    "BlockMeter",
    "Cost",
    "periods",
    "tx_limit",
    "tx_work",
]

TX_WORK = 2
MESSAGE_WORK = 2
ITEM_WORK = 2
READING_WORK = 5
INTERVAL_WORK = 3  # the interval energy record, its pruning-index entry, the site's settlement mark
HOUR_WORK = 3  # the device-hour flow, its pruning-index entry, its pending-issuance mark
DAY = MAX_SPAN_RECORDED_SECONDS


def periods(start: int, end: int, length: int) -> int:
    """How many aligned periods of `length` seconds [start, end) overlaps (0 when empty)."""
    if start >= end:
        return 0
    return (end - 1) // length - start // length + 1


def tx_limit(params: Params) -> int:
    """The most work one tx may cause: it must also fit in a block."""
    return min(params.max_tx_work, params.max_block_work)


@dataclass(slots=True)
class _Device:
    """The readings of one device seen so far (see the module doc)."""

    last_end: int | None  # in the state the meter reads; None: no reading there
    least_start: int
    latest_end: int
    count: int = 0
    each_intervals: int = 0
    each_hours: int = 0

    def floor(self) -> int:
        return self.least_start if self.last_end is None else self.last_end

    def work(self, interval: int, hour: int) -> int:
        covered = min(max(0, self.latest_end - self.floor()), self.count * DAY)
        intervals = min(self.each_intervals, covered // interval + 2 * self.count)
        hours = min(self.each_hours, covered // hour + 2 * self.count)
        return READING_WORK * self.count + INTERVAL_WORK * intervals + HOUR_WORK * hours


Cost = tuple[int, dict[str, _Device]]  # what a tx adds to a meter, and its devices' states after it


class BlockMeter:
    """The work of a sequence of txs (a tx, or a block's txs in order), all against `store`:
    `add` returns what a tx adds to the total (never negative: the bound only grows).
    `budget` is max_block_work in `store` (a vote inside the block changes the next block's);
    a caller that has `store`'s params already passes them."""

    def __init__(
        self,
        store: KVReader,
        params: Params | None = None,
        *,
        known: Sequence[Cost] | None = None,
        bounds_tx_work: bool = False,
    ) -> None:
        self._store = store
        self.budget = (params or load_params(store)).max_block_work
        self._periods: tuple[int, int] | None = None  # read at the first reading: most txs have none
        self._devices: dict[str, _Device] = {}
        self.total = 0
        # `known`: the costs a meter on the same `store` gave the same txs in the same order
        # (ProcessProposal's, see `cost`); `_position` is the block position of the tx being
        # metered (`at`), `_counted` how many txs were committed so far.
        self._known = known
        self._position = 0
        self._counted = 0
        # whether `covers` may vouch for the per-tx check (see there)
        self.bounds_tx_work = bounds_tx_work

    def _lengths(self) -> tuple[int, int]:
        """(settlement interval, certificate period) of the state the meter reads."""
        if self._periods is None:
            self._periods = (domain_param(self._store, SETTLEMENT_INTERVAL), period(self._store))
        return self._periods

    def _device(self, r: SignedReading, pending: dict[str, _Device]) -> _Device:
        d = pending.get(r.device_id)
        if d is not None:
            return d
        seen = self._devices.get(r.device_id)
        if seen is None:
            last = devices.get_reading(self._store, r.device_id)
            d = _Device(None if last is None else last.end, r.start, r.end)
        else:
            d = _Device(
                seen.last_end, seen.least_start, seen.latest_end, seen.count, seen.each_intervals, seen.each_hours
            )
        pending[r.device_id] = d
        return d

    def at(self, position: int) -> None:
        """The next `cost` is of the tx at `position` of the sequence `known` was made for."""
        self._position = position

    def cost(self, tx: DecodedTx) -> Cost:
        """What `tx` would add, and the devices' states after it (for `commit`).

        With `known`, the tx at `position` (`at`) takes its known cost when every tx before it
        was committed here: the meter's state is then the known meter's before that tx (the
        same store, the same txs committed in the same order), and `cost` is a function of
        that state and the tx alone. Once a tx of the sequence was not committed, every later
        cost is computed. The known device states are never modified (`_device` copies a
        committed device before changing it), so sharing them is safe."""
        known = self._known
        if known is not None and self._counted == self._position < len(known):
            return known[self._position]
        added = TX_WORK + MESSAGE_WORK * len(tx.messages)
        pending: dict[str, _Device] = {}
        for msg in tx.messages:
            if not isinstance(msg, SubmitReadings):
                added += ITEM_WORK * _items(msg)
                continue
            interval, hour = self._lengths()
            for r in msg.readings:
                d = self._device(r, pending)
                d.least_start = min(d.least_start, r.start)
                d.latest_end = max(d.latest_end, r.end)
                d.count += 1
                window = max(d.floor(), r.end - DAY)
                d.each_intervals += periods(window, r.end, interval)
                d.each_hours += periods(window, r.end, hour)
        if pending:
            interval, hour = self._lengths()
            for device_id, d in pending.items():
                seen = self._devices.get(device_id)
                before = 0 if seen is None else seen.work(interval, hour)
                added += d.work(interval, hour) - before
        return added, pending

    def commit(self, added: int, pending: dict[str, _Device]) -> None:
        """Count a tx whose `cost` was (added, pending)."""
        self.total += added
        self._devices.update(pending)
        self._counted += 1

    def covers(self, store: KVReader, tx: DecodedTx, pending: dict[str, _Device], limit: int) -> bool:
        """True only if `tx_work(store, tx) <= limit` is certain, where `store` is the block's
        branch the tx runs on and `pending` is this tx's `cost` on this meter (the state before
        the block); False means "compute it". Used by FinalizeBlock to skip the per-tx meter.

        Why the bound holds (only with `bounds_tx_work`, which FinalizeBlock sets unless a
        migration ran in the block, and only when `store`'s settlement interval and certificate
        period are this meter's): the flat part (TX_WORK, MESSAGE_WORK, ITEM_WORK) is the
        same in both; for each device D of the tx, `pending[D]` counts every reading of D in
        the block so far, this tx's included, with a floor no later than the one `tx_work`
        uses on `store`: a device's reading state is only written by an accepted reading
        (never deleted, its end only grows; a reading starts at or after the last end), so
        D's last end on `store` is its end in the state before the block, or the end of a
        reading accepted earlier in the block, whose start the meter already counted, or
        absent (then `tx_work` takes the least start of this tx's readings, which the meter
        also counted). Each reading's window is then at least as long here, the counts and
        the latest end at least as large, and `_Device.work` only grows with all of them,
        so Σ pending[D].work bounds the readings' part of `tx_work(store, tx)`."""
        if not self.bounds_tx_work:
            return False
        bound = TX_WORK + MESSAGE_WORK * len(tx.messages)
        for msg in tx.messages:
            if not isinstance(msg, SubmitReadings):
                bound += ITEM_WORK * _items(msg)
        if pending:
            if (domain_param(store, SETTLEMENT_INTERVAL), period(store)) != self._lengths():
                return False
            interval, hour = self._lengths()
            bound += sum(d.work(interval, hour) for d in pending.values())
        return bound <= limit

    def add(self, tx: DecodedTx) -> int:
        """Count `tx`; what it added."""
        added, pending = self.cost(tx)
        self.commit(added, pending)
        return added


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}  # message record type → its field names (fields() is slow)


def _items(msg: object) -> int:
    """How many items the lists (tuples) of a message record carry, in total."""
    names = _FIELD_NAMES.get(type(msg))
    if names is None:
        names = _FIELD_NAMES[type(msg)] = tuple(f.name for f in fields(msg)) if is_dataclass(msg) else ()
    total = 0
    for name in names:
        value = getattr(msg, name)
        if isinstance(value, tuple):
            total += len(value)
    return total


def tx_work(store: KVReader, tx: DecodedTx, params: Params | None = None) -> int:
    """The work meter of one tx against `store` (see the module doc); `params` are `store`'s
    when the caller has them."""
    return BlockMeter(store, params).add(tx)
