"""How a gateway reaches its bridge besides the sink: the channel's credentials, the bridge's
Signals stream as a signal source, and the pump that hands a source's signals to the home's
controller. Shared by the gateway (`devices.gateway`) and the simulated home (`devices.home`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from gridwire.address import address_of

from devices.config import GatewayConfig
from devices.controllers import HomeController
from devices.keys import DeviceKey
from devices.outbox import Outbox
from devices.signals import SeenSignals, SignalSource

if TYPE_CHECKING:
    import grpc
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from devices.bridge_signals import BridgeSignals

__all__ = ["bridge_channel_credentials", "bridge_signal_source", "pump_signals"]


async def pump_signals(
    source: SignalSource,
    controller: HomeController,
    *,
    seen: SeenSignals | None = None,
    now: Callable[[], float] | None = None,
) -> None:
    """Hand every signal from `source` to `controller` until the source ends: with `seen`
    (shared by the home's sources) only the first of equal signals from several sources, and
    with `now` applied at once (in force now, not at the next interval)."""
    async for sig in source.signals():
        if seen is not None and not seen.first(sig):
            continue
        controller.receive(sig)
        if now is not None:
            controller.apply(now())


def bridge_channel_credentials(
    cfg: GatewayConfig, key: Ed25519PrivateKey | None = None
) -> grpc.ChannelCredentials | None:
    """How the gateway reaches its bridge (the sink and the signals stream): plaintext (no
    `bridge_ca`), TLS checked against `bridge_ca`, and with `gateway_cert` also member
    authentication on every call (the gateway member's certificate and a signature by `key`, or
    by `gateway_key` when None, bound to the bridge's certificate; clients/bridge_client.py)."""
    if cfg.bridge_ca is None:
        return None
    if key is None and cfg.gateway_key is not None and cfg.gateway_cert is not None:
        key = DeviceKey.load(cfg.gateway_key).private
    from clients.bridge_client import bridge_credentials, load_certificate_der  # noqa: PLC0415 - a TLS bridge only

    member_cert = None if cfg.gateway_cert is None else load_certificate_der(cfg.gateway_cert)
    return bridge_credentials(
        cfg.bridge,
        ca_pem=cfg.bridge_ca.read_bytes(),
        member_key=key if member_cert is not None else None,
        member_cert_der=member_cert,
    )


def bridge_signal_source(
    cfg: GatewayConfig, outbox: Outbox, *, clock: Callable[[], float] = time.time
) -> BridgeSignals:
    """For `signals = "bridge"` or `"both"`: the bridge's Signals stream for the home's `owner`
    (by default the address of `owner_key`) and `feeder` (the grid's instructions: those of its
    `site`), through the sink's credentials, its
    height and the signals in force kept in `outbox` (devices/bridge_signals.py)."""
    from devices.bridge_signals import BridgeSignals  # noqa: PLC0415 - only bridge signals need grpc

    owner = cfg.owner
    if not owner and cfg.owner_key is not None:
        owner = address_of(DeviceKey.load(cfg.owner_key).public_bytes).hex()
    return BridgeSignals(
        cfg.bridge,
        outbox,
        owner=owner,
        feeder=cfg.feeder,
        site=cfg.site,
        interval_seconds=cfg.interval_seconds,
        credentials=bridge_channel_credentials(cfg),
        clock=clock,
    )
