"""Proposals by org admins (admit/remove orgs, validators, parameters), one vote per org."""
