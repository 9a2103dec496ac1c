"""A mixed energy load for the localnet: gateway batches of device-signed readings, market
orders, standing-rule updates and transfers, signed by enrolled, funded bench members.

Setup (`setup_txs`, committed before the load): the grid operator publishes tariffs and
grid fees (orders are refused before), and every member registers a site with one PV
device (a seller must own a device able to deliver: certified by the consortium's device CA,
`device_ca`) and meters, and one standing buy rule; then (`commission_txs`, committed after
the setup) the certifier commissions every PV, so its sell orders are accepted.
The load's orders are for one interval whose gate closes well after the phase ends.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from gridledger.accounts.v1 import accounts_pb2
from gridledger.devices.v1 import devices_pb2
from gridledger.grid.v1 import grid_pb2
from gridwire.reading import Reading

from clients import devices as dc
from clients import market as mc
from clients.ops.loadgen import LoadTx, Signer
from clients.pki import DeviceCA

__all__ = ["EnergyLoad", "EnergyMix"]

READING_SECONDS = 60
PV_NAMEPLATE_W = 50_000_000  # 12.5 MWh per 15-minute interval: sell orders never run out of capacity
KINDS = ("readings", "order", "rule", "transfer")


@dataclass(frozen=True)
class EnergyMix:
    """Shares of each kind of tx (normalised)."""

    readings: float = 0.4
    order: float = 0.3
    rule: float = 0.1
    transfer: float = 0.2

    def cumulative(self) -> list[tuple[float, str]]:
        shares = [self.readings, self.order, self.rule, self.transfer]
        total = sum(shares)
        out, acc = [], 0.0
        for kind, share in zip(KINDS, shares, strict=True):
            acc += share / total
            out.append((acc, kind))
        return out


@dataclass
class _Device:
    device_id: str
    key: Ed25519PrivateKey
    pv: bool
    seq: int = 0
    register: int = 0


class EnergyLoad:
    """`members` (enrolled and funded) each with a site `e<i>`, a PV device and
    `devices - 1` meters; `operator` is the grid operator's signer (gridop/control) and
    `supplier` the supplier of last resort it names (an issuer of a settlement org, e.g.
    utility/treasury)."""

    def __init__(  # noqa: PLR0917 - the load's settings
        self,
        chain_id: str,
        members: Sequence[Signer],
        operator: Signer,
        devices: int,
        readings_start: int,
        seed: int = 5,
        *,
        supplier: bytes,
        device_ca: DeviceCA | None = None,
        certifier: Signer | None = None,
        reading_seconds: int = READING_SECONDS,
    ) -> None:
        self.chain_id = chain_id
        self.supplier = supplier
        self.device_ca = device_ca
        self.certifier = certifier
        self.members = list(members)
        self.operator = operator
        self.readings_start = readings_start  # at or after the devices' registration
        self.reading_seconds = reading_seconds
        self.rng = random.Random(seed)  # the load's shape, never keys
        self.devices = [
            [_Device(f"e{m}-{'pv' if d == 0 else f'm{d}'}", _key(f"energy-{m}-{d}"), d == 0) for d in range(devices)]
            for m in range(len(self.members))
        ]
        self.rule_ids: list[int] = [0] * len(self.members)
        self._rr = 0

    def site(self, m: int) -> str:
        return f"e{m}"

    def setup_txs(self) -> list[LoadTx]:
        """Tariffs and fees (operator), then per member its site, devices and one buy rule."""
        out = [
            self.operator.sign(
                self.chain_id,
                [
                    grid_pb2.SetTariffs(
                        supplier=self.supplier,
                        retail_per_kwh=30,
                        feed_in_per_kwh=5,
                        imbalance_short_per_kwh=40,
                        imbalance_long_per_kwh=2,
                    ),
                    grid_pb2.SetGridFees(intra_feeder_per_kwh=1, inter_feeder_per_kwh=3),
                ],
                "tariffs",
            )
        ]
        for m, signer in enumerate(self.members):
            msgs: list[Message] = [dc.register_site(self.site(m), f"feeder-{m % 4}", "bench")]
            for d in self.devices[m]:
                kind, watts = ("pv", PV_NAMEPLATE_W) if d.pv else ("meter", 20_000)
                public_key = dc.device_public_key(d.key)
                cert = b""
                if d.pv and self.device_ca is not None:
                    cert = self.device_ca.issue_device_cert(d.device_id, kind, public_key, watts)
                msgs.append(dc.register_device(d.device_id, self.site(m), kind, public_key, watts, device_cert=cert))
            msgs.append(mc.rule("buy", limit_price=25, site_id=self.site(m), max_wh_per_interval=500))
            out.append(signer.sign(self.chain_id, msgs, "register"))
        return out

    def commission_txs(self) -> list[LoadTx]:
        """The certifier's attestation of every PV (after `setup_txs` committed)."""
        if self.certifier is None:
            return []
        msgs: list[Message] = [dc.commission_device(ds[0].device_id, 0, 1 << 62) for ds in self.devices]
        return [self.certifier.sign(self.chain_id, msgs, "commission")]

    def workload(self, n: int, interval: int, mix: EnergyMix | None = None) -> list[LoadTx]:
        """`n` txs, senders round robin; orders are for `interval`; rule updates need
        `rule_ids` (read back from the chain after setup)."""
        steps = (mix or EnergyMix()).cumulative()
        out = []
        for _ in range(n):
            m = self._rr % len(self.members)
            self._rr += 1
            r = self.rng.random()
            kind = next(k for bound, k in steps if r <= bound)
            if kind == "rule" and not self.rule_ids[m]:
                kind = "transfer"
            out.append(self.members[m].sign(self.chain_id, self._messages(kind, m, interval), kind))
        return out

    def messages(self, kind: str, m: int, interval: int) -> list[Message]:
        """The messages of one `workload` tx of `kind` ("readings": the next reading of each of
        member `m`'s devices) for member `m`; orders are for `interval`."""
        return self._messages(kind, m, interval)

    def next_reading_end(self, m: int) -> int:
        """When member `m`'s next readings (one per device, taken together) end."""
        return self.readings_start + (self.devices[m][0].seq + 1) * self.reading_seconds

    def _messages(self, kind: str, m: int, interval: int) -> list[Message]:
        rng = self.rng
        if kind == "readings":
            return [dc.submit_readings([self._reading(d) for d in self.devices[m]])]
        if kind == "order":
            if rng.random() < 0.5:
                return [mc.buy(self.site(m), interval, rng.randint(100, 2_000), rng.randint(15, 40))]
            return [mc.sell(self.devices[m][0].device_id, interval, rng.randint(100, 2_000), rng.randint(5, 30))]
        if kind == "rule":
            return [
                mc.rule(
                    "buy",
                    rule_id=self.rule_ids[m],
                    limit_price=rng.randint(15, 40),
                    site_id=self.site(m),
                    max_wh_per_interval=rng.randint(100, 1_000),
                )
            ]
        j = rng.randrange(len(self.members) - 1)
        to = self.members[j if j != m else len(self.members) - 1]
        return [accounts_pb2.Transfer(to=to.address, amount=rng.randint(1, 9))]

    def _reading(self, d: _Device) -> devices_pb2.SignedReading:
        start = self.readings_start + d.seq * self.reading_seconds
        d.seq += 1
        d.register += 3
        imp, exp = (0, d.register) if d.pv else (d.register, 0)
        return dc.sign_reading(
            d.key, self.chain_id, Reading(d.device_id, d.seq, start, start + self.reading_seconds, imp, exp)
        )


def _key(label: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())
