"""Reads and writes of the EnergyTag records (registry_records.py; keys in keys.py)."""

from __future__ import annotations

from collections.abc import Iterator

from abci_app.certificates import keeper, keys
from abci_app.certificates.registry_records import (
    RecurringAction,
    RegistryInfo,
    StorageChargeRecord,
    StorageDischargeRecord,
    TransferAcceptance,
)
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader

__all__ = [
    "MAX_ALLOWED",
    "accepts",
    "delete_recurring",
    "get_acceptance",
    "get_recurring",
    "get_scr",
    "get_sdr",
    "iter_acceptances",
    "iter_due",
    "iter_recurring",
    "iter_scrs",
    "iter_sdrs",
    "put_acceptance",
    "put_recurring",
    "put_scr",
    "put_sdr",
    "registry_info",
    "set_registry_info",
]

MAX_ALLOWED = 256  # senders on one member's allow-list


def _values(store: KVReader, prefix: bytes) -> Iterator[bytes]:
    """The values under `prefix`, not the counter stored at `prefix` itself (the SCR, SDR and
    recurring records share their counter's key as prefix)."""
    for k, v in store.iter_range(prefix, prefix_end(prefix)):
        if len(k) > len(prefix):
            yield v


def get_scr(store: KVReader, scr_id: int) -> StorageChargeRecord | None:
    """The storage charge record `scr_id`, or None."""
    raw = store.get(keys.scr(scr_id))
    return None if raw is None else StorageChargeRecord.decode(raw)


def put_scr(store: Branch, record: StorageChargeRecord) -> None:
    """Store a storage charge record under its id (kept as the storage lineage)."""
    store.set(keys.scr(record.scr_id), record.encode())


def iter_scrs(store: KVReader) -> Iterator[StorageChargeRecord]:
    """Every storage charge record, in id order."""
    return (StorageChargeRecord.decode(v) for v in _values(store, keys.scr_prefix()))


def get_sdr(store: KVReader, sdr_id: int) -> StorageDischargeRecord | None:
    """The storage discharge record `sdr_id`, or None."""
    raw = store.get(keys.sdr(sdr_id))
    return None if raw is None else StorageDischargeRecord.decode(raw)


def put_sdr(store: Branch, record: StorageDischargeRecord) -> None:
    """Store a storage discharge record under its id (kept as the storage lineage)."""
    store.set(keys.sdr(record.sdr_id), record.encode())


def iter_sdrs(store: KVReader) -> Iterator[StorageDischargeRecord]:
    """Every storage discharge record, in id order."""
    return (StorageDischargeRecord.decode(v) for v in _values(store, keys.sdr_prefix()))


def get_acceptance(store: KVReader, member: bytes) -> TransferAcceptance | None:
    """The member's transfer acceptance, or None (it accepts from anyone)."""
    raw = store.get(keys.acceptance(member))
    return None if raw is None else TransferAcceptance.decode(raw)


def put_acceptance(store: Branch, record: TransferAcceptance) -> None:
    """Store the member's acceptance (an unrestricted one with an empty list is removed: the default)."""
    if not record.restricted and not record.allowed:
        store.delete(keys.acceptance(record.member))
    else:
        store.set(keys.acceptance(record.member), record.encode())


def iter_acceptances(store: KVReader) -> Iterator[TransferAcceptance]:
    """Every stored acceptance, in member order."""
    return (TransferAcceptance.decode(v) for v in _values(store, keys.acceptance_prefix()))


def accepts(store: KVReader, recipient: bytes, sender: bytes) -> bool:
    """Whether `recipient` accepts certificates from `sender` (everyone does, unless it restricted
    its acceptance to an allow-list; a member always accepts its own)."""
    record = get_acceptance(store, recipient)
    return record is None or recipient == sender or record.accepts(sender)


def get_recurring(store: KVReader, action_id: int) -> RecurringAction | None:
    """The standing instruction `action_id`, or None."""
    raw = store.get(keys.recurring(action_id))
    return None if raw is None else RecurringAction.decode(raw)


def put_recurring(store: Branch, action: RecurringAction, old: RecurringAction | None = None) -> None:
    """Store the instruction and its due-hour entry (moving it from `old`)."""
    if old is not None:
        store.delete(keys.recurring_due(old.next_hour, old.action_id))
    store.set(keys.recurring(action.action_id), action.encode())
    store.set(keys.recurring_due(action.next_hour, action.action_id), b"")


def delete_recurring(store: Branch, action: RecurringAction) -> None:
    """Delete a standing instruction with its due-index entry (so the index stays in step)."""
    store.delete(keys.recurring(action.action_id))
    store.delete(keys.recurring_due(action.next_hour, action.action_id))


def iter_recurring(store: KVReader) -> Iterator[RecurringAction]:
    """Every standing instruction, in id order."""
    return (RecurringAction.decode(v) for v in _values(store, keys.recurring_prefix()))


def iter_due(store: KVReader, last_hour: int) -> Iterator[RecurringAction]:
    """The standing instructions whose next hour is at or before `last_hour`, by (hour, id)."""
    prefix = keys.recurring_due_prefix()
    for k, _v in store.iter_range(prefix, prefix + (last_hour + 1).to_bytes(8, "big")):
        action = get_recurring(store, int.from_bytes(k[-8:], "big"))
        if action is not None:
            yield action


def registry_info(store: KVReader) -> RegistryInfo:
    """The registry's issuing body, country and connected grid (empty strings: not set)."""
    raw = store.get(keys.registry_info())
    return RegistryInfo() if raw is None else RegistryInfo.decode(raw)


def set_registry_info(store: Branch, info: RegistryInfo) -> None:
    """Store the registry's EnergyTag description (issuing body, country, connected grid)."""
    store.set(keys.registry_info(), info.encode())


def next_id(store: Branch, name: str) -> int:
    """The next id of the SCR, SDR or recurring-action counter."""
    return keeper.next_counter(store, name)
