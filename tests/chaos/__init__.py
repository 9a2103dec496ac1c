"""Fault injection under load (`make chaos`): kills, pauses, partitions, wipes, crash points."""
