"""Queries: /balance/<address> (provable, 8-byte big-endian), /account/<address>, /supply."""

from __future__ import annotations

from collections.abc import Mapping

from gridledger.accounts.v1 import accounts_pb2
from gridwire.contract.accounts import Paths

from abci_app import keys as chain_keys
from abci_app.accounts import keeper, keys
from abci_app.domain import QueryHandler, QueryResult
from abci_app.query_util import address_arg, args_exactly, record
from abci_app.store.branch import KVReader

__all__ = ["QUERIES"]


def balance(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/balance/<address hex>: the stored balance (8 bytes big-endian), provable against the app hash; not
    found for an address never credited."""
    (address,) = args_exactly(args, 1, "/balance/<address hex>")
    return record(store, keys.balance(address_arg(address)))


def account(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/account/<address hex>: an AccountView with the balance and the last used nonce (0 for none)."""
    (text,) = args_exactly(args, 1, "/account/<address hex>")
    address = address_arg(text)
    raw_nonce = store.get(chain_keys.nonce(address))
    view = accounts_pb2.AccountView(
        address=address,
        balance=keeper.balance(store, address),
        nonce=0 if raw_nonce is None else int.from_bytes(raw_nonce, "big"),
    )
    return QueryResult(view.SerializeToString())


def supply(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/supply: a SupplyView of the minted and burned totals."""
    args_exactly(args, 0, "/supply")
    view = accounts_pb2.SupplyView(minted=keeper.supply(store, "minted"), burned=keeper.supply(store, "burned"))
    return QueryResult(view.SerializeToString())


QUERIES: dict[str, QueryHandler] = {
    Paths.BALANCE.root: balance,
    Paths.ACCOUNT.root: account,
    Paths.SUPPLY.root: supply,
}
