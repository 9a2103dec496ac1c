"""gridctl's commands, one module per domain; each module's `register(add)` adds its commands."""

from __future__ import annotations

from collections.abc import Callable

from clients.cli_support import AddCommand
from clients.commands import (
    accounts,
    certificates,
    chain,
    devices,
    energytag,
    forecasts,
    genesis,
    governance,
    grid,
    identity,
    keys,
    market,
    node,
)

__all__ = ["COMMAND_GROUPS"]

# Registering a domain's commands is one entry here.
COMMAND_GROUPS: tuple[Callable[[AddCommand], None], ...] = (
    chain.register,
    identity.register,
    governance.register,
    accounts.register,
    devices.register,
    grid.register,
    forecasts.register,
    market.register,
    certificates.register,
    energytag.register,
    keys.register,
    genesis.register,
    node.register,
)
