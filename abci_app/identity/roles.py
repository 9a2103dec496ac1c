"""Member roles. A role comes from the certificate's OU attributes or is granted on chain."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role"]


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    PROSUMER = "prosumer"
    GATEWAY = "gateway"
    ISSUER = "issuer"
    AUDITOR = "auditor"

    @classmethod
    def parse(cls, text: str) -> Role | None:
        try:
            return cls(text)
        except ValueError:
            return None
