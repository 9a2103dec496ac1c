"""Organisations, their CAs (MSP style), members, roles and revocation; the device CAs
governance admitted (devices/devcert.py checks device certificates against them)."""
