"""The grid domain as the registry sees it."""

from __future__ import annotations

from gridledger.grid.v1 import grid_pb2

from abci_app.domain import Domain, MessageSpec
from abci_app.grid import events, genesis, handlers, hooks, invariants, keys, messages, params, queries
from abci_app.grid.errors import ERROR_RANGE, GridCode

__all__ = ["DOMAIN"]

DOMAIN = Domain(
    name="grid",
    key_prefixes=keys.KEY_PREFIXES,
    error_range=ERROR_RANGE,
    errors=GridCode,
    module_accounts=frozenset({keys.DR_ESCROW}),
    messages=(
        MessageSpec(grid_pb2.SetTariffs, messages.SetTariffs, messages.set_tariffs_from_proto, handlers.set_tariffs),
        MessageSpec(
            grid_pb2.SetGridFees, messages.SetGridFees, messages.set_grid_fees_from_proto, handlers.set_grid_fees
        ),
        MessageSpec(
            grid_pb2.SetFeederLimit,
            messages.SetFeederLimit,
            messages.set_feeder_limit_from_proto,
            handlers.set_feeder_limit,
        ),
        MessageSpec(
            grid_pb2.RemoveFeederLimit,
            messages.RemoveFeederLimit,
            messages.remove_feeder_limit_from_proto,
            handlers.remove_feeder_limit,
        ),
        MessageSpec(
            grid_pb2.PublishDrEvent,
            messages.PublishDrEvent,
            messages.publish_dr_event_from_proto,
            handlers.publish_dr_event,
        ),
        MessageSpec(grid_pb2.EnrolDr, messages.EnrolDr, messages.enrol_dr_from_proto, handlers.enrol_dr),
        MessageSpec(
            grid_pb2.JoinDrProgramme,
            messages.JoinDrProgramme,
            messages.join_dr_programme_from_proto,
            handlers.join_dr_programme,
        ),
        MessageSpec(
            grid_pb2.LeaveDrProgramme,
            messages.LeaveDrProgramme,
            messages.leave_dr_programme_from_proto,
            handlers.leave_dr_programme,
        ),
    ),
    queries=queries.QUERIES,
    events=events.EVENTS,
    genesis_sections=genesis.SECTIONS,
    genesis_import=genesis.import_genesis,
    genesis_export=genesis.export_genesis,
    params=params.PARAMS,
    end_block=hooks.end_block,
    invariants=(
        invariants.dr_escrow_matches_open_budgets,
        invariants.settled_dr_events_indexed,
        invariants.archived_dr_events_hold_no_enrolments,
    ),
)
