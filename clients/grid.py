"""Client side of the grid domain: message builders (no abci_app imports)."""

from __future__ import annotations

from gridledger.grid.v1 import grid_pb2

__all__ = [
    "enrol_dr",
    "join_dr_programme",
    "leave_dr_programme",
    "publish_dr_event",
    "remove_feeder_limit",
    "set_feeder_limit",
    "set_grid_fees",
    "set_tariffs",
]


def set_tariffs(
    supplier: bytes,
    *,
    retail: int,
    feed_in: int,
    imbalance_short: int,
    imbalance_long: int,
    export_penalty: int,
) -> grid_pb2.SetTariffs:
    """The supplier's tariffs, each per kWh in minor units."""
    return grid_pb2.SetTariffs(
        supplier=supplier,
        retail_per_kwh=retail,
        feed_in_per_kwh=feed_in,
        imbalance_short_per_kwh=imbalance_short,
        imbalance_long_per_kwh=imbalance_long,
        export_penalty_per_kwh=export_penalty,
    )


def set_grid_fees(intra_feeder: int, inter_feeder: int) -> grid_pb2.SetGridFees:
    """Network fees per kWh within a feeder and across feeders."""
    return grid_pb2.SetGridFees(intra_feeder_per_kwh=intra_feeder, inter_feeder_per_kwh=inter_feeder)


def set_feeder_limit(feeder: str, import_wh: int | None, export_wh: int | None) -> grid_pb2.SetFeederLimit:
    """A feeder's limit per interval; None leaves that side unlimited (0: nothing may cross)."""
    msg = grid_pb2.SetFeederLimit(feeder=feeder)
    if import_wh is None:
        msg.import_unlimited = True
    else:
        msg.import_wh = import_wh
    if export_wh is None:
        msg.export_unlimited = True
    else:
        msg.export_wh = export_wh
    return msg


def remove_feeder_limit(feeder: str) -> grid_pb2.RemoveFeederLimit:
    """Lift a feeder's limit."""
    return grid_pb2.RemoveFeederLimit(feeder=feeder)


def publish_dr_event(
    event_id: str, feeder: str, *, start: int, end: int, requested_reduction_wh: int, reward_per_kwh: int
) -> grid_pb2.PublishDrEvent:
    """A demand-response event on `feeder` over [start, end)."""
    return grid_pb2.PublishDrEvent(
        event_id=event_id,
        feeder=feeder,
        start=start,
        end=end,
        requested_reduction_wh=requested_reduction_wh,
        reward_per_kwh=reward_per_kwh,
    )


def enrol_dr(event_id: str, device_id: str) -> grid_pb2.EnrolDr:
    """Enrol a device in a demand-response event."""
    return grid_pb2.EnrolDr(event_id=event_id, device_id=device_id)


def join_dr_programme(device_id: str) -> grid_pb2.JoinDrProgramme:
    """Put a device in its feeder's demand-response programme."""
    return grid_pb2.JoinDrProgramme(device_id=device_id)


def leave_dr_programme(device_id: str) -> grid_pb2.LeaveDrProgramme:
    """Take a device out of its feeder's demand-response programme."""
    return grid_pb2.LeaveDrProgramme(device_id=device_id)
