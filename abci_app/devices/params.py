"""The devices domain's governable parameters."""

from __future__ import annotations

from abci_app.params import ParamSpec

__all__ = ["FUTURE_ALLOWANCE", "PARAMS", "SETTLEMENT_INTERVAL"]

FUTURE_ALLOWANCE = "devices.future_allowance_seconds"
SETTLEMENT_INTERVAL = "devices.settlement_interval_seconds"
PARAMS = {
    # how far past block time a reading's interval may end (clock skew of devices)
    FUTURE_ALLOWANCE: ParamSpec(300, 0, 3_600),
    # settlement interval length; changing it re-aligns only intervals written afterwards
    # (below 300 s only for demonstrations on an accelerated clock, `make demo`)
    SETTLEMENT_INTERVAL: ParamSpec(900, 10, 86_400),
}
