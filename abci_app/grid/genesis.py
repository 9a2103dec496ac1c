"""Grid's genesis section `grid`: tariffs, fees, feeder limits and demand response.

    "grid": {"tariffs": {"supplier": hex, "operator": hex, "retail_per_kwh": 250, ...,
                         "updated_at": 1767225600},
             "fees": {"intra_feeder_per_kwh": 10, "inter_feeder_per_kwh": 30, "updated_at": ...},
             "feeder_limits": [{"feeder": "f1", "import_wh": 50000, "export_wh": 50000}],
             "dr_events": [DrEvent as JSON], "dr_enrolments": [DrEnrolment as JSON],
             "dr_members": [DrMember as JSON], "dr_snapshots": [DrSnapshot as JSON],
             "archive_commitments": [{"height": 812, "root": base64, "count": 40}]}  (prune.py)

The section is `gridledger.grid.v1.GenesisState` in protobuf's JSON mapping (bytes in base64,
64-bit integers as strings or numbers, an export writes strings; addresses in tariffs in hex).
Every part is optional: absent tariffs stay unpublished and absent fees read as zero (neither
is written); `updated_at` defaults to the genesis block time. The settlement index follows from the events (an
unsettled event is due at its end), as does the pruning index (a settled event not yet archived), and
the members-by-feeder index from the members. An archived event has no enrolments (they left live
state: prune.py). An export carries every stored record and archive commitment, so importing it
rebuilds the grid key range byte for byte.

What unsettled events have left of their budgets (budget − paid: settlement may be carried
over blocks) is held by the escrow account (`keys.DR_ESCROW`), which the accounts section
carries; the import checks that the escrow holds exactly that, and that every event's paid
amount is its enrolments' rewards (an archived event's rewards left with its enrolments).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf.message import DecodeError
from gridledger.grid.v1 import genesis_pb2 as gpb
from gridledger.grid.v1 import grid_pb2
from gridledger.state.v1 import state_pb2

from abci_app.accounts.keeper import balance
from abci_app.archive import commitments_from_genesis, iter_commitments
from abci_app.devices.keeper import get_device
from abci_app.domain import GenesisError
from abci_app.genesis_fields import hex_address, parse_section, sections_json
from abci_app.grid import keeper, keys
from abci_app.grid.messages import MAX_PRICE, MAX_WH, UNLIMITED_WH
from abci_app.grid.params import MAX_DR_BUDGET, MAX_DR_CLAIM, MAX_DR_SECONDS, PARAMS
from abci_app.grid.records import PAYING, DrEnrolment, DrEvent, DrMember, DrSnapshot, FeederLimit, GridFees, Tariffs
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo

__all__ = ["SECTIONS", "export_genesis", "import_genesis"]

SECTIONS = ("grid",)
_PRICES = (
    "retail_per_kwh",
    "feed_in_per_kwh",
    "imbalance_short_per_kwh",
    "imbalance_long_per_kwh",
    "export_penalty_per_kwh",
)
_MAX_TIME = 1 << 63
MAX_ENROLMENTS_EVER = PARAMS["grid.max_enrolments_per_event"].high


def _at_most(value: int, high: int, where: str) -> int:
    if value > high:
        raise GenesisError(f"{where}: expected an integer in [0, {high}]")
    return value


def _updated_at(m: gpb.GenesisTariffs | gpb.GenesisFees, where: str, block: BlockInfo) -> int:
    return _at_most(m.updated_at, _MAX_TIME - 1, f"{where}.updated_at") if m.HasField("updated_at") else block.time


def _tariffs(store: Branch, block: BlockInfo, t: gpb.GenesisTariffs) -> None:
    where = "grid.tariffs"
    prices = {p: _at_most(getattr(t, p), MAX_PRICE, f"{where}.{p}") for p in _PRICES}
    supplier, operator = hex_address(t.supplier, f"{where}.supplier"), hex_address(t.operator, f"{where}.operator")
    keeper.put_tariffs(store, Tariffs(supplier, operator, **prices, updated_at=_updated_at(t, where, block)))


def _fees(store: Branch, block: BlockInfo, f: gpb.GenesisFees) -> None:
    where = "grid.fees"
    intra = _at_most(f.intra_feeder_per_kwh, MAX_PRICE, f"{where}.intra_feeder_per_kwh")
    inter = _at_most(f.inter_feeder_per_kwh, MAX_PRICE, f"{where}.inter_feeder_per_kwh")
    if intra > inter:
        raise GenesisError(f"{where}: the intra-feeder fee must not exceed the inter-feeder fee")
    keeper.put_fees(store, GridFees(intra, inter, _updated_at(f, where, block)))


def _feeder_limits(store: Branch, limits: Sequence[gpb.GenesisFeederLimit]) -> None:
    for i, lim in enumerate(limits):
        where = f"grid.feeder_limits[{i}]"
        if not 1 <= len(lim.feeder.encode()) <= 64:
            raise GenesisError(f"{where}.feeder: expected a feeder name of 1 to 64 bytes")
        if keeper.get_feeder_limit(store, lim.feeder) is not None:
            raise GenesisError(f"{where}.feeder: duplicate feeder {lim.feeder!r}")
        sides = _side(lim.import_wh, f"{where}.import_wh"), _side(lim.export_wh, f"{where}.export_wh")
        keeper.put_feeder_limit(store, FeederLimit(lim.feeder, *sides))


def _side(value: int, where: str) -> int:
    """A limit side: at most MAX_WH, or UNLIMITED_WH (SetFeederLimit's unlimited side)."""
    return UNLIMITED_WH if value == UNLIMITED_WH else _at_most(value, MAX_WH, where)


_Pb = grid_pb2.DrEvent | grid_pb2.DrEnrolment | grid_pb2.DrMember | grid_pb2.DrSnapshot


def _dr_event(store: Branch, item: grid_pb2.DrEvent, where: str) -> DrEvent:
    e = DrEvent.decode(item.SerializeToString())
    if not 1 <= len(e.event_id.encode()) <= 64:
        raise GenesisError(f"{where}.eventId: expected an id of 1 to 64 bytes")
    if keeper.get_dr_event(store, e.event_id) is not None:
        raise GenesisError(f"{where}.eventId: duplicate event {e.event_id!r}")
    if not 1 <= len(e.feeder.encode()) <= 64:
        raise GenesisError(f"{where}.feeder: expected a feeder name of 1 to 64 bytes")
    if not e.start < e.end <= e.start + MAX_DR_SECONDS:
        raise GenesisError(f"{where}: the window must satisfy start < end <= start + {MAX_DR_SECONDS}")
    if len(e.operator) != 20:
        raise GenesisError(f"{where}.operator: expected a 20-byte address")
    if e.budget != -(-e.requested_reduction_wh * e.reward_per_kwh // 1000):
        raise GenesisError(f"{where}.budget: not the escrow of requestedReductionWh × rewardPerKwh ÷ 1000")
    if e.budget > MAX_DR_BUDGET:
        raise GenesisError(f"{where}.budget: above {MAX_DR_BUDGET}")
    if e.stage > PAYING:
        raise GenesisError(f"{where}.stage: expected 0 (open), 1 (measuring) or 2 (paying)")
    if e.archived and not e.settled:
        raise GenesisError(f"{where}.archived: only a settled event's enrolments are archived")
    if e.paid > e.budget or (e.paid and not e.settled and e.stage != PAYING):
        raise GenesisError(f"{where}.paid: more than the budget, or paid before settlement")
    if e.total_claim > MAX_ENROLMENTS_EVER * MAX_DR_CLAIM:
        raise GenesisError(f"{where}.totalClaim: above {MAX_ENROLMENTS_EVER} × {MAX_DR_CLAIM}")
    if len(e.cursor.encode()) > 255:
        raise GenesisError(f"{where}.cursor: longer than 255 bytes")
    return e


def _dr_enrolment(store: Branch, item: grid_pb2.DrEnrolment, where: str) -> tuple[DrEnrolment, DrEvent]:
    en = DrEnrolment.decode(item.SerializeToString())
    event = keeper.get_dr_event(store, en.event_id) if 1 <= len(en.event_id.encode()) <= 64 else None
    if event is None:
        raise GenesisError(f"{where}: unknown event {en.event_id[:64]!r}")
    if not 1 <= len(en.device_id.encode()) <= 255 or get_device(store, en.device_id) is None:
        raise GenesisError(f"{where}: unknown device {en.device_id[:64]!r}")
    if event.archived:
        raise GenesisError(f"{where}: event {en.event_id!r} is archived (its enrolments left live state)")
    if keeper.get_dr_enrolment(store, en.event_id, en.device_id) is not None:
        raise GenesisError(f"{where}: device {en.device_id!r} is enrolled twice in {en.event_id!r}")
    if len(en.owner) != 20:
        raise GenesisError(f"{where}.owner: expected a 20-byte address")
    if (event.settled and not en.settled) or (en.settled and not (event.settled or event.stage == PAYING)):
        raise GenesisError(f"{where}.settled: an enrolment settles with its event")
    if not en.settled and en.reward:
        raise GenesisError(f"{where}: an unsettled enrolment has no reward yet")
    if not en.measured and (en.actual_wh or en.reduction_wh or en.claim):
        raise GenesisError(f"{where}: an unmeasured enrolment has no measurements yet")
    if en.claim > MAX_DR_CLAIM or en.reward > en.claim:
        raise GenesisError(f"{where}: a claim is at most {MAX_DR_CLAIM}, a reward at most the claim")
    return en, event


def _members(store: Branch, items: Sequence[grid_pb2.DrMember]) -> None:
    for i, item in enumerate(items):
        where = f"grid.dr_members[{i}]"
        m = DrMember.decode(item.SerializeToString())
        if not 1 <= len(m.device_id.encode()) <= 255 or get_device(store, m.device_id) is None:
            raise GenesisError(f"{where}: unknown device {m.device_id[:64]!r}")
        if keeper.get_dr_member(store, m.device_id) is not None:
            raise GenesisError(f"{where}: device {m.device_id!r} is a member twice")
        if not 1 <= len(m.feeder.encode()) <= 64 or len(m.owner) != 20:
            raise GenesisError(f"{where}: expected a feeder name of 1 to 64 bytes and a 20-byte owner")
        keeper.put_dr_member(store, m)


def _snapshots(store: Branch, items: Sequence[grid_pb2.DrSnapshot]) -> None:
    for i, item in enumerate(items):
        where = f"grid.dr_snapshots[{i}]"
        snap = DrSnapshot.decode(item.SerializeToString())
        event = keeper.get_dr_event(store, snap.event_id) if 1 <= len(snap.event_id.encode()) <= 64 else None
        if event is None or event.settled:
            raise GenesisError(f"{where}: no unsettled event {snap.event_id[:64]!r}")
        if not 1 <= len(snap.device_id.encode()) <= 255:
            raise GenesisError(f"{where}.deviceId: expected an id of 1 to 255 bytes")
        if keeper.get_dr_snapshot(store, snap.event_id, snap.device_id) is not None:
            raise GenesisError(f"{where}: device {snap.device_id!r} has two snapshots for {snap.event_id!r}")
        if keeper.get_dr_enrolment(store, snap.event_id, snap.device_id) is not None:
            raise GenesisError(f"{where}: device {snap.device_id!r} is enrolled (its snapshot moved there)")
        keeper.put_dr_snapshot(store, snap)


def _demand_response(store: Branch, grid: gpb.GenesisState) -> None:
    open_budgets = 0
    for i, e in enumerate(grid.dr_events):
        event = _dr_event(store, e, f"grid.dr_events[{i}]")
        keeper.put_dr_event(store, event)
        open_budgets += 0 if event.settled else event.budget - event.paid
    rewards: dict[str, int] = {}
    for i, en in enumerate(grid.dr_enrolments):
        enrolment, event = _dr_enrolment(store, en, f"grid.dr_enrolments[{i}]")
        keeper.put_dr_enrolment(store, enrolment)
        rewards[event.event_id] = rewards.get(event.event_id, 0) + enrolment.reward
    prefix = keys.dr_event_prefix()
    for _k, raw in store.iter_range(prefix, prefix_end(prefix)):
        event = DrEvent.decode(raw)
        if not event.archived and rewards.get(event.event_id, 0) != event.paid:
            raise GenesisError(f"grid.dr_events: {event.event_id!r} paid {event.paid}, not its enrolments' rewards")
    held = balance(store, keys.DR_ESCROW)
    if held != open_budgets:
        raise GenesisError(
            f"grid.dr_events: the unsettled events' budgets total {open_budgets}, "
            f"but the escrow account {keys.DR_ESCROW.hex()} holds {held} (balances)"
        )


def import_genesis(store: Branch, block: BlockInfo, sections: Mapping[str, Any]) -> None:
    """Import the `grid` section (every part optional), rebuilding records and indexes exactly as
    export wrote them; a GenesisError names the first bad field."""
    grid = parse_section(sections, "grid", gpb.GenesisState())
    if grid.HasField("tariffs"):
        _tariffs(store, block, grid.tariffs)
    if grid.HasField("fees"):
        _fees(store, block, grid.fees)
    _feeder_limits(store, grid.feeder_limits)
    _demand_response(store, grid)
    _members(store, grid.dr_members)
    _snapshots(store, grid.dr_snapshots)
    for height, commitment in commitments_from_genesis(grid.archive_commitments, "grid.archive_commitments"):
        store.set(keys.archive_commitment(height), commitment)


def _records(store: KVReader, prefix: bytes, pb: type[_Pb]) -> list[Any]:
    out = []
    for _k, raw in store.iter_range(prefix, prefix_end(prefix)):
        try:
            out.append(pb.FromString(raw))
        except DecodeError as exc:  # pragma: no cover - stored records decode
            raise GenesisError(f"grid: a stored {pb.DESCRIPTOR.name} does not decode: {exc}") from exc
    return out


def export_genesis(store: KVReader) -> dict[str, Any]:
    """Every stored grid record; fees only once set (absent fees read as zero)."""
    prefix = keys.feeder_limit_prefix()
    limits = [FeederLimit.decode(v) for _k, v in store.iter_range(prefix, prefix_end(prefix))]
    section = gpb.GenesisState(
        feeder_limits=[
            gpb.GenesisFeederLimit(feeder=x.feeder, import_wh=x.import_wh, export_wh=x.export_wh) for x in limits
        ],
        dr_events=_records(store, keys.dr_event_prefix(), grid_pb2.DrEvent),
        dr_enrolments=_records(store, keys.DR_ENROLMENT, grid_pb2.DrEnrolment),
        dr_members=_records(store, keys.DR_MEMBER, grid_pb2.DrMember),
        dr_snapshots=_records(store, keys.DR_SNAPSHOT, grid_pb2.DrSnapshot),
        archive_commitments=[
            state_pb2.ArchiveCommitment(height=height, root=root, count=count)
            for height, root, count in iter_commitments(store, keys.ARCHIVE)
        ],
    )
    t = keeper.get_tariffs(store)
    if t is not None:
        prices = {p: getattr(t, p) for p in _PRICES}
        section.tariffs.CopyFrom(
            gpb.GenesisTariffs(supplier=t.supplier.hex(), operator=t.operator.hex(), **prices, updated_at=t.updated_at)
        )
    if store.get(keys.fees()) is not None:
        fees = keeper.get_fees(store)
        section.fees.CopyFrom(
            gpb.GenesisFees(
                intra_feeder_per_kwh=fees.intra_feeder_per_kwh,
                inter_feeder_per_kwh=fees.inter_feeder_per_kwh,
                updated_at=fees.updated_at,
            )
        )
    return {"grid": sections_json(section)}
