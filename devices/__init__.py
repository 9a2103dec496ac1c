"""Device gateway and simulated devices (later issues)."""
