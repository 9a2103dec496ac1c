"""Market error codes (200-249). Consensus: never renumber or reuse."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ERROR_RANGE", "MarketCode"]

ERROR_RANGE = (200, 249)


class MarketCode(IntEnum):
    UNKNOWN_ORDER = 200
    NOT_ORDER_OWNER = 201
    GATE_CLOSED = 202  # the interval's gate closure has passed
    BAD_INTERVAL = 203  # not aligned to the delivery interval, or too far ahead
    NOT_SITE_OWNER = 204
    UNKNOWN_SITE = 205
    UNKNOWN_DEVICE = 206
    NOT_DEVICE_OWNER = 207
    DEVICE_CANNOT_DELIVER = 208  # not a generator/battery, suspended, or above what it can deliver
    ORDER_NOT_OPEN = 209
    MARKET_CLOSED = 210  # the grid operator has published no tariffs yet
    UNKNOWN_RULE = 211
    NOT_RULE_OWNER = 212
    BAD_RULE = 213
    UNKNOWN_ALERT = 214
    NOT_ALERT_OWNER = 215
    TOO_MANY_RULES = 216
    TOO_MANY_ORDERS = 217  # the member's open orders for the interval reach market.max_open_orders_per_interval
    NOT_ENERGY_OWNER = (
        218  # a sell order or sell rule names a device the signer does not own (its site's owner neither)
    )
    PRICE_ABOVE_LIMIT = 219  # a price above market.max_price_per_kwh
    NOT_A_BATTERY = 220  # a charging consent names a device that is not a battery
