"""The market domain as the registry sees it."""

from __future__ import annotations

from gridledger.market.v1 import market_pb2

from abci_app.domain import Domain, MessageSpec
from abci_app.market import events, genesis, handlers, hooks, invariants, keeper, keys, messages, queries
from abci_app.market.errors import ERROR_RANGE, MarketCode
from abci_app.market.params import PARAMS

__all__ = ["DOMAIN"]

DOMAIN = Domain(
    name="market",
    key_prefixes=keys.KEY_PREFIXES,
    error_range=ERROR_RANGE,
    errors=MarketCode,
    module_accounts=frozenset({keeper.ESCROW_ADDRESS}),
    messages=(
        MessageSpec(market_pb2.PlaceOrder, messages.PlaceOrder, messages.place_order_from_proto, handlers.place_order),
        MessageSpec(
            market_pb2.CancelOrder, messages.CancelOrder, messages.cancel_order_from_proto, handlers.cancel_order
        ),
        MessageSpec(market_pb2.SetRule, messages.SetRule, messages.set_rule_from_proto, handlers.set_rule),
        MessageSpec(market_pb2.RemoveRule, messages.RemoveRule, messages.remove_rule_from_proto, handlers.remove_rule),
        MessageSpec(
            market_pb2.AcceptTerms, messages.AcceptTerms, messages.accept_terms_from_proto, handlers.accept_terms
        ),
        MessageSpec(
            market_pb2.SetSiteChargingConsent,
            messages.SetSiteChargingConsent,
            messages.set_site_charging_consent_from_proto,
            handlers.set_site_charging_consent,
        ),
    ),
    queries=queries.QUERIES,
    events=events.EVENTS,
    genesis_sections=genesis.SECTIONS,
    genesis_import=genesis.import_genesis,
    genesis_export=genesis.export_genesis,
    params=PARAMS,
    end_block=hooks.end_block,
    invariants=(
        invariants.escrow_matches_orders,
        invariants.fills_within_limits,
        invariants.feeder_limits_respected,
        invariants.open_counts_match_book,
        invariants.upstream_trades_balance,
        invariants.copies_match_orders,
        invariants.sites_in_settlement_follow_settlement,
        invariants.rules_pass_follows_mark,
        invariants.withheld_feed_in_follows_settlement,
        invariants.statements_indexed_by_interval,
        invariants.archived_behind_cursors,
    ),
)
