"""Stored records of the devices domain: their protobuf encodings are the provable query answers.

The records are the protobuf messages of `gridledger.devices.v1` (Site, Device,
ReadingState, IntervalEnergy, BatteryState, BatteryRules); this module names them and
decodes them.
"""

from __future__ import annotations

from gridledger.devices.v1 import devices_pb2

__all__ = ["BatteryRules", "BatteryState", "Device", "IntervalEnergy", "ReadingState", "Site"]

Site = devices_pb2.Site
Device = devices_pb2.Device
ReadingState = devices_pb2.ReadingState
IntervalEnergy = devices_pb2.IntervalEnergy
BatteryState = devices_pb2.BatteryState
BatteryRules = devices_pb2.BatteryRules
