"""The devices domain as the registry sees it."""

from __future__ import annotations

from gridledger.devices.v1 import devices_pb2

from abci_app.devices import commissioning, events, genesis, handlers, invariants, keys, messages, prune, queries
from abci_app.devices.errors import ERROR_RANGE, DevicesCode
from abci_app.devices.params import PARAMS
from abci_app.domain import Domain, MessageSpec

__all__ = ["DOMAIN"]

DOMAIN = Domain(
    name="devices",
    key_prefixes=keys.KEY_PREFIXES,
    error_range=ERROR_RANGE,
    errors=DevicesCode,
    messages=(
        MessageSpec(
            devices_pb2.RegisterSite, messages.RegisterSite, messages.register_site_from_proto, handlers.register_site
        ),
        MessageSpec(devices_pb2.MoveSite, messages.MoveSite, messages.move_site_from_proto, handlers.move_site),
        MessageSpec(
            devices_pb2.RegisterDevice,
            messages.RegisterDevice,
            messages.register_device_from_proto,
            handlers.register_device,
        ),
        MessageSpec(
            devices_pb2.SuspendDevice, messages.SuspendDevice, messages.suspend_from_proto, handlers.suspend_device
        ),
        MessageSpec(
            devices_pb2.ReinstateDevice,
            messages.ReinstateDevice,
            messages.reinstate_from_proto,
            handlers.reinstate_device,
        ),
        MessageSpec(
            devices_pb2.TransferDevice, messages.TransferDevice, messages.transfer_from_proto, handlers.transfer_device
        ),
        MessageSpec(
            devices_pb2.RotateDeviceKey,
            messages.RotateDeviceKey,
            messages.rotate_from_proto,
            handlers.rotate_device_key,
        ),
        MessageSpec(
            devices_pb2.SubmitReadings,
            messages.SubmitReadings,
            messages.submit_readings_from_proto,
            handlers.submit_readings,
        ),
        MessageSpec(
            devices_pb2.SetBatteryRules,
            messages.SetBatteryRules,
            messages.set_rules_from_proto,
            handlers.set_battery_rules,
        ),
        MessageSpec(
            devices_pb2.CommissionDevice,
            messages.CommissionDevice,
            messages.commission_from_proto,
            commissioning.commission_device,
        ),
        MessageSpec(
            devices_pb2.WithdrawCommissioning,
            messages.WithdrawCommissioning,
            messages.withdraw_commissioning_from_proto,
            commissioning.withdraw_commissioning,
        ),
    ),
    queries=queries.QUERIES,
    events=events.EVENTS,
    genesis_sections=genesis.SECTIONS,
    genesis_import=genesis.import_genesis,
    genesis_export=genesis.export_genesis,
    params=PARAMS,
    end_block=prune.end_block,
    invariants=(invariants.soc_within_capacity, invariants.trust_chain_consistent),
)
