"""Forecasts: expected export and import per device and settlement interval, and their error."""
