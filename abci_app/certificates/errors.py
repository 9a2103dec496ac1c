"""Certificates error codes: declared in the domain's contract (gridwire/contract/certificates.py), where new
codes are added at the end of the range. Consensus: never renumber or reuse."""

from __future__ import annotations

from gridwire.contract.certificates import ERROR_RANGE, CertificatesCode

__all__ = ["ERROR_RANGE", "CertificatesCode"]
