"""Moved to clients/node/upgrade_switch.py (`gridctl node start` uses it too, and clients/ops is
imported by nothing but ops tooling); this name keeps older imports working."""

from __future__ import annotations

from clients.node.upgrade_switch import Decision, active_upgrades, after_exit, app_command, prepare

__all__ = ["Decision", "active_upgrades", "after_exit", "app_command", "prepare"]
