"""Member roles and org capabilities.

A role comes from the certificate's OU attributes or is granted on chain by an org admin.
An org's capabilities are the roles its members may hold besides `admin` (every org has
admins); genesis sets them and only a governance proposal changes them. A role outside
its org's capabilities is refused at enrolment and at grant, and confers nothing if the
capability is later withdrawn.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DEFAULT_CAPABILITIES", "Role", "parse_capabilities"]


class Role(StrEnum):
    """The roles a member may hold (their names are consensus: they are stored in member records)."""

    ADMIN = "admin"
    OPERATOR = "operator"  # grid operation: tariffs, fees, feeder limits, demand response
    PROSUMER = "prosumer"
    GATEWAY = "gateway"  # relays device-signed readings
    ISSUER = "issuer"  # money issuance (settlement orgs)
    CERTIFIER = "certifier"  # certificate oversight (the issuing body)
    AUDITOR = "auditor"

    @classmethod
    def parse(cls, text: str) -> Role | None:
        """The role named `text`, or None for a name that is no role."""
        try:
            return cls(text)
        except ValueError:
            return None


DEFAULT_CAPABILITIES: tuple[str, ...] = (Role.GATEWAY.value, Role.PROSUMER.value)


def parse_capabilities(names: list[str] | tuple[str, ...]) -> tuple[str, ...] | str:
    """Sorted unique capability names, or a description of what is wrong with them."""
    out = set()
    for name in names:
        role = Role.parse(name)
        if role is None:
            return f"unknown capability {name!r}; roles: {[r.value for r in Role if r is not Role.ADMIN]}"
        if role is Role.ADMIN:
            return "admin is not a capability (every org has admins)"
        out.add(role.value)
    return tuple(sorted(out))
