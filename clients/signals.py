"""Signals for gateways: which ledger events are price signals, alerts or demand-response events,
and how to read them out of a block, whether it comes from the node's websocket (`NewBlock`)
or from `block_results` when replaying, so that both give the same answer for the same block.

An event reaches a subscriber when its type is a signal type and it is addressed to it: an
event with a `feeder` attribute only to subscribers of that feeder (or with no feeder filter),
one with an `owner`/`member`/`recipient` attribute only to that member (or with no owner
filter); an event with neither goes to everyone. A grid instruction (`grid_instruction`, the
market's per-site export/import caps for an interval) carries both a `feeder` and an `owner` and
reaches a subscriber whose owner is the site's owner OR whose feeder is the site's feeder: the
owner's gateway gets its sites' instructions wherever they are, and a feeder's subscriber (the
grid operator, a gateway of a site the owner shares) every instruction of that feeder.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gridledger.api.v1 import gateway_pb2, tx_pb2
from gridwire.contract import chain, grid, market

__all__ = [
    "SIGNAL_TYPES",
    "SignalFilter",
    "signals_of_block_results",
    "signals_of_new_block",
]

K = gateway_pb2
# Ledger event type → kind (declared in gridwire.contract; tests/unit/test_api_signals.py checks each is registered).
SIGNAL_TYPES: dict[str, int] = {
    market.INTERVAL_CLEARED: K.SIGNAL_KIND_PRICE,  # the interval's clearing price
    grid.TARIFFS_SET: K.SIGNAL_KIND_PRICE,  # supplier tariffs
    grid.GRID_FEES_SET: K.SIGNAL_KIND_PRICE,  # network fees
    market.ALERT: K.SIGNAL_KIND_ALERT,  # a standing rule that cannot be met (owner)
    grid.DR_EVENT_PUBLISHED: K.SIGNAL_KIND_DEMAND_RESPONSE,  # a demand-response event (feeder)
    grid.DR_EVENT_SETTLED: K.SIGNAL_KIND_DEMAND_RESPONSE,
    market.GRID_INSTRUCTION: K.SIGNAL_KIND_INSTRUCTION,  # a site's caps for a curtailed interval (feeder, owner)
}
OWNER_KEYS = chain.ADDRESSEE_KEYS
FEEDER = chain.FEEDER_KEY
# Types addressed to the owner OR the feeder (the others: to the owner AND the feeder when both are given).
EITHER_TYPES = frozenset({market.GRID_INSTRUCTION})


@dataclass(frozen=True, slots=True)
class SignalFilter:
    """Who the stream is for: an owner's hex address and/or a feeder ('' = any)."""

    owner: str = ""
    feeder: str = ""

    def wants(self, attributes: Mapping[str, str]) -> bool:
        """True when an event with these attributes is addressed to this subscriber."""
        if self.feeder and FEEDER in attributes and attributes[FEEDER] != self.feeder:
            return False
        owners = [attributes[k].lower() for k in OWNER_KEYS if k in attributes]
        return not (self.owner and owners and self.owner.lower() not in owners)

    def wants_either(self, attributes: Mapping[str, str]) -> bool:
        """True when an event with these attributes is addressed to this subscriber's owner or to
        its feeder (or the subscriber filters on neither)."""
        if not self.owner and not self.feeder:
            return True
        owners = [attributes[k].lower() for k in OWNER_KEYS if k in attributes]
        return bool(self.owner and self.owner.lower() in owners) or bool(
            self.feeder and attributes.get(FEEDER) == self.feeder
        )


def _signals(events: Iterable[Mapping[str, Any]], tx_hash: bytes, who: SignalFilter) -> list[gateway_pb2.Signal]:
    out = []
    for event in events:
        type_ = str(event.get("type", ""))
        kind = SIGNAL_TYPES.get(type_)
        if kind is None:
            continue
        pairs = [(str(a.get("key", "")), str(a.get("value", ""))) for a in event.get("attributes") or []]
        if not (who.wants_either(dict(pairs)) if type_ in EITHER_TYPES else who.wants(dict(pairs))):
            continue
        out.append(
            gateway_pb2.Signal(
                kind=kind,  # type: ignore[arg-type]
                type=str(event["type"]),
                attributes=[tx_pb2.Attribute(key=k, value=v) for k, v in pairs],
                tx_hash=tx_hash,
            )
        )
    return out


def _collect(
    tx_results: Sequence[Mapping[str, Any]],
    block_events: Sequence[Mapping[str, Any]],
    txs_b64: Sequence[str],
    who: SignalFilter,
) -> list[gateway_pb2.Signal]:
    """Signals of committed txs (in block order), then the block's own events (begin/end block)."""
    out: list[gateway_pb2.Signal] = []
    for i, result in enumerate(tx_results):
        if int(result.get("code", 0)) != 0:
            continue
        digest = hashlib.sha256(base64.b64decode(txs_b64[i])).digest() if i < len(txs_b64) else b""
        out += _signals(result.get("events") or [], digest, who)
    out += _signals(block_events, b"", who)
    return out


def signals_of_new_block(value: Mapping[str, Any], who: SignalFilter) -> tuple[int, list[gateway_pb2.Signal]]:
    """(height, signals) of a websocket `NewBlock` event's `data.value`."""
    block = value.get("block") or {}
    height = int(block["header"]["height"])
    result = value.get("result_finalize_block") or {}
    txs = (block.get("data") or {}).get("txs") or []
    return height, _collect(result.get("tx_results") or [], result.get("events") or [], txs, who)


def signals_of_block_results(
    results: Mapping[str, Any], txs_b64: Sequence[str], who: SignalFilter
) -> list[gateway_pb2.Signal]:
    """Signals of a `block_results` answer (`txs_b64`: the block's txs, for their hashes)."""
    return _collect(results.get("txs_results") or [], results.get("finalize_block_events") or [], txs_b64, who)


def needs_tx_hashes(results: Mapping[str, Any], who: SignalFilter) -> bool:
    """True when a committed tx of these block results holds a signal (so the block's txs are needed)."""
    return any(
        int(r.get("code", 0)) == 0 and _signals(r.get("events") or [], b"", who)
        for r in results.get("txs_results") or []
    )
