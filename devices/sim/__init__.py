"""Simulated devices with realistic days: seeded, integer Wh registers, time can be accelerated."""
