"""Queries: /order/<id>, /rule/<id>, /alert/<id>, /clearing/<interval>,
/statement/<address>/<interval>, /charging_consent/<battery device id>, /upstream/<interval>
(the upstream grid's trade, an UpstreamTrade), /instructions/<interval>/<site> (a
GridInstruction) (provable records); /book/<interval> (open orders, OrderList);
/instructions/<interval> (the interval's grid instructions in site order,
GridInstructionList); /orders|fills|rules|alerts|statements/<address> (a member's); lists
are paginated: ?limit=&after=; /market_archive_commitment/<height> (provable: what the block's pruning
archived). A record pruning archived (prune.py) is answered RECORD_ARCHIVED: prove it from the
block's market_archived event against that commitment (clients/archive.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from google.protobuf.message import Message
from gridledger.market.v1 import market_pb2
from gridwire.contract.market import MarketCode, Paths

from abci_app.domain import QueryHandler, QueryResult
from abci_app.errors import Code, TxError
from abci_app.market import keeper, keys, prune
from abci_app.query_util import address_arg, args_exactly, id_arg, int_arg, page, record
from abci_app.store.branch import KVReader

__all__ = ["QUERIES"]

M = TypeVar("M", bound=Message)


_PROVE = (
    "prove it from the market_archived event of the block that pruned it against that block's "
    "/market_archive_commitment/<height>"
)


def _by_id(store: KVReader, key: bytes, what: str, record_id: int, cursor: str) -> QueryResult:
    """The record at `key`, or RECORD_ARCHIVED when it is absent and pruning's `cursor` passed its id."""
    found = record(store, key)
    last = keeper.peek_counter(store, cursor)
    if found.value is None and 0 < record_id <= last:
        raise TxError(
            MarketCode.RECORD_ARCHIVED,
            f"{what} {record_id} left live state after its retention ({what}s up to {last} are archived): {_PROVE}",
        )
    return found


def _of_interval(store: KVReader, key: bytes, what: str, interval: int) -> QueryResult:
    """The record at `key`, or RECORD_ARCHIVED when it is absent and its interval is before the last
    pruning cutoff (it left live state, or never was: the archive says which)."""
    found = record(store, key)
    before = prune.archived_before(store)
    if found.value is None and interval < before:
        raise TxError(
            MarketCode.RECORD_ARCHIVED,
            f"the {what} of interval {interval} is not in live state: intervals before {before} are archived; {_PROVE}",
        )
    return found


def order(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/order/<id>: the stored Order, provable against the app hash; RECORD_ARCHIVED once pruned."""
    (text,) = args_exactly(args, 1, "/order/<id>")
    order_id = int_arg(text, "order id")
    return _by_id(store, keys.order(order_id), "order", order_id, prune.ARCHIVE_ORDER)


def rule(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/rule/<id>: the stored standing Rule, provable against the app hash."""
    (text,) = args_exactly(args, 1, "/rule/<id>")
    return record(store, keys.rule(int_arg(text, "rule id")))


def alert(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/alert/<id>: the stored Alert, provable against the app hash; RECORD_ARCHIVED once pruned."""
    (text,) = args_exactly(args, 1, "/alert/<id>")
    alert_id = int_arg(text, "alert id")
    return _by_id(store, keys.alert(alert_id), "alert", alert_id, prune.ARCHIVE_ALERT)


def clearing(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/clearing/<interval start>: the interval's ClearingResult, provable; not found before clearing."""
    (text,) = args_exactly(args, 1, "/clearing/<interval start>")
    interval = int_arg(text, "interval start")
    return _of_interval(store, keys.clearing(interval), "clearing result", interval)


def statement(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/statement/<address>/<interval start>: the member's settlement Statement of the interval, provable."""
    owner, text = args_exactly(args, 2, "/statement/<address hex>/<interval start>")
    interval = int_arg(text, "interval start")
    return _of_interval(store, keys.statement(address_arg(owner), interval), "statement", interval)


def charging_consent(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/charging_consent/<battery device id>: the site owner's ChargingConsent for the battery, provable."""
    (device_id,) = args_exactly(args, 1, "/charging_consent/<battery device id>")
    return record(store, keys.consent(id_arg(device_id, "device id")))


def upstream(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/upstream/<interval start>: the upstream grid's UpstreamTrade of the interval, provable."""
    (text,) = args_exactly(args, 1, "/upstream/<interval start>")
    interval = int_arg(text, "interval start")
    return _of_interval(store, keys.upstream(interval), "upstream trade", interval)


def instructions(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/instructions/<interval start>[/<site id>]: the site's GridInstruction (provable), or one page of
    the interval's instructions in site order."""
    if len(args) not in (1, 2):
        raise TxError(Code.QUERY_BAD_REQUEST, "usage: /instructions/<interval start>[/<site id>]")
    interval = int_arg(args[0], "interval start")
    if len(args) == 2:
        return _of_interval(store, keys.instruction(interval, id_arg(args[1], "site id")), "instruction", interval)
    prefix = keys.instruction_prefix(interval)
    items, cursor = page(store, prefix, options, lambda _k, v: market_pb2.GridInstruction.FromString(v))
    return QueryResult(
        market_pb2.GridInstructionList(instructions=items, next=cursor).SerializeToString(deterministic=True)
    )


def archive_commitment(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/market_archive_commitment/<height>: the archive commitment (root, count) of what block `height`'s
    pruning removed, provable; not found for a block that archived nothing."""
    (height,) = args_exactly(args, 1, "/market_archive_commitment/<height>")
    return record(store, keys.archive_commitment(int_arg(height, "height")))


def _stored(store: KVReader, key: bytes, message: type[M]) -> M | None:
    """The record stored at `key` as its protobuf message (the stored bytes, parsed)."""
    raw = store.get(key)
    return None if raw is None else message.FromString(raw)


def book(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/book/<interval start>: one page of the interval's open orders in order id order (OrderList with the
    next page's cursor)."""
    (text,) = args_exactly(args, 1, "/book/<interval start>")
    prefix = keys.book_prefix(int_arg(text, "interval start"))
    items, cursor = page(store, prefix, options, lambda k, _v: _stored(store, keys.ORDER + k[9:17], market_pb2.Order))
    return QueryResult(market_pb2.OrderList(orders=items, next=cursor).SerializeToString(deterministic=True))


def _owner_list(
    collection: bytes,
    usage: str,
    load: Callable[[KVReader, bytes, bytes], Message | None],
    view: Callable[..., Message],
) -> QueryHandler:
    def handler(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
        (text,) = args_exactly(args, 1, usage)
        owner = address_arg(text)
        prefix = keys.owner_prefix(collection, owner)
        items, cursor = page(store, prefix, options, lambda k, v: load(store, k[len(prefix) :], v))
        return QueryResult(view(items, cursor).SerializeToString(deterministic=True))

    return handler


def _order(store: KVReader, rest: bytes, _v: bytes) -> Message | None:
    return _stored(store, keys.order(int.from_bytes(rest, "big")), market_pb2.Order)


def _fill(store: KVReader, rest: bytes, _v: bytes) -> Message | None:
    interval, order_id, leg = int.from_bytes(rest[:8], "big"), int.from_bytes(rest[8:16], "big"), rest[16]
    return _stored(store, keys.fill(interval, order_id, leg), market_pb2.Fill)


def _rule(store: KVReader, rest: bytes, _v: bytes) -> Message | None:
    return _stored(store, keys.rule(int.from_bytes(rest, "big")), market_pb2.Rule)


def _alert(store: KVReader, rest: bytes, _v: bytes) -> Message | None:
    return _stored(store, keys.alert(int.from_bytes(rest, "big")), market_pb2.Alert)


def _statement(store: KVReader, rest: bytes, v: bytes) -> Message | None:
    return market_pb2.Statement.FromString(v)


QUERIES: dict[str, QueryHandler] = {
    Paths.ORDER.root: order,
    Paths.RULE.root: rule,
    Paths.ALERT.root: alert,
    Paths.CLEARING.root: clearing,
    Paths.STATEMENT.root: statement,
    Paths.CHARGING_CONSENT.root: charging_consent,
    Paths.BOOK.root: book,
    Paths.UPSTREAM.root: upstream,
    Paths.INSTRUCTIONS.root: instructions,
    Paths.ARCHIVE_COMMITMENT.root: archive_commitment,
    Paths.ORDERS.root: _owner_list(
        keys.ORDERS_BY_OWNER, "/orders/<address hex>", _order, lambda i, c: market_pb2.OrderList(orders=i, next=c)
    ),
    Paths.FILLS.root: _owner_list(
        keys.FILLS_BY_OWNER, "/fills/<address hex>", _fill, lambda i, c: market_pb2.FillList(fills=i, next=c)
    ),
    Paths.RULES.root: _owner_list(
        keys.RULES_BY_OWNER, "/rules/<address hex>", _rule, lambda i, c: market_pb2.RuleList(rules=i, next=c)
    ),
    Paths.ALERTS.root: _owner_list(
        keys.ALERTS_BY_OWNER, "/alerts/<address hex>", _alert, lambda i, c: market_pb2.AlertList(alerts=i, next=c)
    ),
    Paths.STATEMENTS.root: _owner_list(
        keys.STATEMENT,
        "/statements/<address hex>",
        _statement,
        lambda i, c: market_pb2.StatementList(statements=i, next=c),
    ),
}
