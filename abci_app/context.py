"""What a message handler sees: the tx's state branch, the block, the signer, and its outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from abci_app.params import Params
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo, Event, ValidatorUpdate

if TYPE_CHECKING:
    from abci_app.identity.records import Member

__all__ = ["TxContext"]


@dataclass(slots=True)
class TxContext:
    store: Branch
    block: BlockInfo
    params: Params
    signer_key: bytes
    signer_address: Address
    signer: Member | None  # None only while a key enrols itself
    events: list[Event] = field(default_factory=list)
    validator_updates: list[ValidatorUpdate] = field(default_factory=list)
    # False where nobody reads the events (CheckTx answers no events): `emit` then records nothing
    record_events: bool = True
    # True in CheckTx (admission to the mempool): a handler whose items are judged one by one
    # and never fail the tx may leave the items' state changes to FinalizeBlock (see there)
    admission: bool = False

    def emit(self, type_: str, **attrs: object) -> None:
        if self.record_events:
            self.events.append(Event.of(type_, **attrs))
