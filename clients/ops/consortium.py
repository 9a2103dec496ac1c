"""A consortium's founding material: org CAs, member identities and the genesis app_state.

`demo_consortium()` is the localnet's cast: a utility, the grid operator, a certificate
issuer and two prosumer communities, each with an admin and a few members, and a test
device CA (TEST_DEVICE_CA, a manufacturer's) that genesis admits, so the simulators, the
gateway, gridctl and the demo register their devices with device certificates.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clients.pki import TEST_DEVICE_CA, DeviceCA, Identity, OrgCA, load_identity, new_device_ca, new_org_ca

__all__ = ["DEMO_ORGS", "TEST_DEVICE_CA", "Consortium", "demo_consortium"]

# org id → (display name, [(member name, roles)])
DEMO_ORGS: dict[str, tuple[str, list[tuple[str, list[str]]]]] = {
    "utility": ("City Utility", [("admin", ["admin"]), ("treasury", ["issuer"]), ("ops", ["auditor"])]),
    "gridop": ("Grid Operator", [("admin", ["admin"]), ("control", ["operator", "auditor"])]),
    "certissuer": ("Certificate Issuer", [("admin", ["admin"]), ("registry", ["certifier", "auditor"])]),
    "community-a": (
        "Solar Community A",
        [("admin", ["admin"]), ("alice", ["prosumer"]), ("bob", ["prosumer"]), ("gateway", ["gateway"])],
    ),
    "community-b": (
        "Wind Community B",
        [("admin", ["admin"]), ("carol", ["prosumer"]), ("dave", ["prosumer"]), ("gateway", ["gateway"])],
    ),
}
DEMO_BALANCE = 1_000_000  # minor units for every prosumer at genesis
# org id → capabilities: the roles its members may hold besides admin (least privilege:
# money issuance only for the utility, grid operation only for the grid operator,
# certificate oversight only for the issuing body)
DEMO_CAPABILITIES: dict[str, list[str]] = {
    "utility": ["auditor", "issuer", "prosumer"],
    "gridop": ["auditor", "operator"],
    "certissuer": ["auditor", "certifier"],
    "community-a": ["gateway", "prosumer"],
    "community-b": ["gateway", "prosumer"],
}


@dataclass
class Consortium:
    cas: dict[str, OrgCA] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    capabilities: dict[str, list[str]] = field(default_factory=dict)  # org id → roles besides admin
    members: dict[str, Identity] = field(default_factory=dict)  # "org/name" → identity
    balances: dict[str, int] = field(default_factory=dict)  # "org/name" → genesis balance
    device_cas: dict[str, DeviceCA] = field(default_factory=dict)  # ca id → device CA admitted at genesis

    def member(self, ref: str) -> Identity:
        return self.members[ref]

    def device_ca(self, ca_id: str = TEST_DEVICE_CA) -> DeviceCA:
        return self.device_cas[ca_id]

    def app_state(self, params: dict[str, int] | None = None) -> dict[str, Any]:
        state: dict[str, Any] = {
            "orgs": [
                {
                    "org_id": org_id,
                    "name": self.names[org_id],
                    "root_ca_pem": ca.cert_pem,
                    "capabilities": self.capabilities.get(org_id, ["gateway", "prosumer"]),
                }
                for org_id, ca in sorted(self.cas.items())
            ],
            "members": [{"certificate_pem": m.cert_pem} for _ref, m in sorted(self.members.items())],
            "balances": [
                {"address": self.members[ref].address.hex(), "amount": amount}
                for ref, amount in sorted(self.balances.items())
            ],
        }
        if self.device_cas:
            state["device_cas"] = [
                {"ca_id": ca_id, "name": f"{ca_id} device CA", "org_id": ca.org_id, "ca_pem": ca.cert_pem}
                for ca_id, ca in sorted(self.device_cas.items())
            ]
        if params:
            state["params"] = params
        return state

    def save(self, folder: Path) -> None:
        for org_id, ca in self.cas.items():
            ca.save(folder / org_id)
        for ref, ident in self.members.items():
            org_id, name = ref.split("/")
            ident.save(folder / org_id / "members", name)
        for ca_id, dca in self.device_cas.items():
            dca.save(folder / "device-cas" / ca_id)
        index = {
            "device_cas": {ca_id: dca.org_id for ca_id, dca in self.device_cas.items()},
            "names": self.names,
            "capabilities": self.capabilities,
            "members": sorted(self.members),
            "balances": self.balances,
        }
        (folder / "consortium.json").write_text(json.dumps(index, indent=2, sort_keys=True))

    @staticmethod
    def load(folder: Path) -> Consortium:
        index = json.loads((folder / "consortium.json").read_text())
        c = Consortium(names=index["names"], balances=index["balances"], capabilities=index.get("capabilities", {}))
        for org_id in index["names"]:
            c.cas[org_id] = OrgCA.load(folder / org_id, org_id)
        for ref in index["members"]:
            org_id, name = ref.split("/")
            c.members[ref] = load_identity(folder / org_id / "members", name)
        for ca_id, org_id in index.get("device_cas", {}).items():
            c.device_cas[ca_id] = DeviceCA.load(folder / "device-cas" / ca_id, ca_id, org_id)
        return c


def demo_consortium(*, not_before: dt.datetime | None = None) -> Consortium:
    """The demo cast; `not_before` dates every certificate (CAs and members) from then instead
    of 2020, for chains whose block times are earlier (a scenario replaying 2016 grid data)."""
    c = Consortium()
    for org_id, (name, members) in DEMO_ORGS.items():
        ca = new_org_ca(org_id, name=f"{name} root CA", not_before=not_before)
        c.cas[org_id] = ca
        c.names[org_id] = name
        c.capabilities[org_id] = DEMO_CAPABILITIES[org_id]
        for member_name, roles in members:
            ref = f"{org_id}/{member_name}"
            c.members[ref] = ca.issue(f"{member_name}.{org_id}", roles, not_before=not_before)
            if "prosumer" in roles or "issuer" in roles or "operator" in roles:
                c.balances[ref] = DEMO_BALANCE
    c.device_cas[TEST_DEVICE_CA] = new_device_ca(
        TEST_DEVICE_CA, name="Test Devices manufacturer CA", not_before=not_before
    )
    return c
