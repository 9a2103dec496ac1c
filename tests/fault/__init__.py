"""Fault tests: storage faults, floods, and a short chaos run."""
