"""The energy market: orders, interval clearing, settlement, standing rules and alerts."""
