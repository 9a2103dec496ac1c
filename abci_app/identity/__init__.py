"""Organisations, their CAs (MSP style), members, roles and revocation."""
