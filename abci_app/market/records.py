"""Stored records of the market: the protobuf messages of `gridledger.market.v1`, named here.

Their encodings are the provable query answers; the clearing engine works on its own
frozen `BookEntry` tuples (abci_app.market.clearing), never on these.
"""

from __future__ import annotations

from gridledger.market.v1 import market_pb2

__all__ = ["Alert", "ClearingResult", "FeederClearing", "Fill", "Order", "Rule", "Statement"]

Order = market_pb2.Order
Fill = market_pb2.Fill
ClearingResult = market_pb2.ClearingResult
FeederClearing = market_pb2.FeederClearing
Statement = market_pb2.Statement
Rule = market_pb2.Rule
Alert = market_pb2.Alert
