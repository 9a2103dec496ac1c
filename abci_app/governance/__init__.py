"""Proposals by org admins (admit/remove orgs, validators, parameters, capabilities, admit/revoke
device CAs), one vote per org."""
