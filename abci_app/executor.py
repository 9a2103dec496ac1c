"""Runs one transaction against a state branch: envelope checks, authorisation, messages.

Order (authorisation first): size → decode → chain id / timeout / limits → signature →
signer membership (revocation, certificate validity, org) → nonce → work (work.py: the tx's
work meter within min(max_tx_work, max_block_work), and, in a block, within what is left of
the block's budget: WORK_LIMIT_EXCEEDED) → messages. A tx that fails before the messages
changes nothing. Once the envelope is accepted the signer's nonce is consumed even if a
message then fails (so the signed bytes can never be replayed later), while every write of
the messages is discarded together.

No input can make `execute` raise: an unexpected exception anywhere (a handler bug, a
value no converter bounded) becomes a deterministic INTERNAL failure whose log names the
exception type, with the same writes discarded as for any failure. A Byzantine proposer
can therefore put any bytes in a block without stopping the chain.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from gridwire.contract import chain as chain_contract

from abci_app import chain, crypto, keys
from abci_app.codec import DecodedTx, decode_tx
from abci_app.context import TxContext
from abci_app.errors import Code, TxError
from abci_app.identity.errors import IdentityCode
from abci_app.identity.keeper import get_member, get_org
from abci_app.identity.messages import EnrollMember
from abci_app.identity.records import Member
from abci_app.params import Params, load_params
from abci_app.registry import ACTIONS, HANDLERS
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event, ValidatorUpdate
from abci_app.work import BlockMeter, tx_limit, tx_work

__all__ = ["TxOutcome", "check_envelope", "check_limits", "execute", "recheck"]

log = structlog.get_logger("gridledger.executor")


@dataclass(frozen=True, slots=True)
class TxOutcome:
    code: int
    log: str
    events: tuple[Event, ...] = ()
    validator_updates: tuple[ValidatorUpdate, ...] = ()
    tx: DecodedTx | None = None

    @property
    def ok(self) -> bool:
        return self.code == 0


def _fail(exc: TxError, tx: DecodedTx | None = None) -> TxOutcome:
    return TxOutcome(int(exc.code), f"{exc.code.name}: {exc.log}", tx=tx)


def _internal(exc: Exception, where: str, tx: DecodedTx | None) -> TxOutcome:
    """An unexpected exception as a failed result. The log names the exception type; the
    message is cut short (logs are not part of the results hash, codes are)."""
    log.warning("tx_internal_error", where=where, error=type(exc).__name__, detail=str(exc)[:200])
    return TxOutcome(int(Code.INTERNAL), f"INTERNAL: {where}: {type(exc).__name__}: {str(exc)[:200]}", tx=tx)


def check_limits(tx: DecodedTx, size: int, params: Params, chain_id: str, height: int) -> None:
    """Stateless checks against the chain id and the current parameters."""
    if size > params.max_tx_bytes:
        raise TxError(Code.TX_TOO_LARGE, f"tx is {size} bytes, the limit is {params.max_tx_bytes}")
    if tx.chain_id != chain_id:
        raise TxError(Code.WRONG_CHAIN_ID, f"tx is for chain {tx.chain_id!r}, this is {chain_id!r}")
    if not tx.messages:
        raise TxError(Code.NO_MESSAGES, "tx has no messages")
    if len(tx.messages) > params.max_msgs_per_tx:
        raise TxError(
            Code.TOO_MANY_MESSAGES, f"tx has {len(tx.messages)} messages, the limit is {params.max_msgs_per_tx}"
        )
    if len(tx.memo.encode()) > params.max_memo_bytes:
        raise TxError(Code.MEMO_TOO_LONG, f"memo is longer than {params.max_memo_bytes} bytes")
    if tx.timeout_height and height > tx.timeout_height:
        raise TxError(Code.TX_TIMED_OUT, f"tx timed out at height {tx.timeout_height}, this is {height}")


def check_envelope(raw: bytes, params: Params, chain_id: str, height: int, digest: bytes | None) -> DecodedTx:
    """Size first (before any decoding), then decode and the stateless checks; no signature."""
    if len(raw) > params.max_tx_bytes:
        raise TxError(Code.TX_TOO_LARGE, f"tx is {len(raw)} bytes, the limit is {params.max_tx_bytes}")
    tx = decode_tx(raw, digest)
    check_limits(tx, len(raw), params, chain_id, height)
    return tx


def _signer(store: Branch, tx: DecodedTx, now: int) -> Member | None:
    member = get_member(store, tx.signer_address)
    if member is None:
        # Only a key enrolling itself may sign before it is a member.
        if len(tx.messages) == 1 and isinstance(tx.messages[0], EnrollMember):
            return None
        raise TxError(Code.UNKNOWN_SIGNER, f"signer {tx.signer_address.hex()} is not an enrolled member")
    if member.revoked:
        raise TxError(Code.MEMBER_REVOKED, f"signer {member.address.hex()} has been revoked")
    if now > member.not_after:
        raise TxError(Code.CERT_EXPIRED, f"signer's certificate expired at {member.not_after}")
    if now < member.not_before:
        raise TxError(IdentityCode.CERT_NOT_YET_VALID, f"signer's certificate is valid from {member.not_before}")
    org = get_org(store, member.org_id)
    if org is None or not org.active:
        raise TxError(Code.ORG_INACTIVE, f"signer's org {member.org_id} is not an active org")
    return member


def recheck(store: Branch, block: BlockInfo, size: int, tx: DecodedTx) -> TxOutcome:
    """RECHECK of a tx this node already admitted (decoded, signature verified): whether a
    committed block has made its envelope unacceptable, at the cost of a few state reads.

    Checked again: the chain's limits and the tx's timeout, the signer's membership (revoked,
    expired, org deactivated) and the nonce, which is consumed on `store` so the signer's later
    pending txs are judged in order. Not run again: the tx's work meter and its messages. A tx
    whose messages a block made fail (funds spent, a gate closed, a reading superseded) stays
    pending until a block carries it; there it fails with its code like any other, its nonce is
    consumed and the next RECHECK drops it. That is the mempool's contract anyway (another
    node's mempool, or a Byzantine proposer, can put such a tx in a block), and FinalizeBlock
    judges every tx in full. Re-executing every pending tx after each block made the backlog's
    cost grow with its size (tests/bench/utility.py)."""
    try:
        check_limits(tx, size, load_params(store), chain.chain_id(store), block.height)
        _signer(store, tx, block.time)
        nonce_key = _unused_nonce(store, tx)
    except TxError as exc:
        return _fail(exc, tx)
    except Exception as exc:  # no input may crash a validator
        return _internal(exc, "envelope", tx)
    store.set(nonce_key, tx.nonce.to_bytes(8, "big"))
    return TxOutcome(0, "", tx=tx)


def _unused_nonce(store: Branch, tx: DecodedTx) -> bytes:
    """The signer's nonce key, once `tx`'s nonce is above the last one used (NONCE_TOO_LOW otherwise)."""
    nonce_key = keys.nonce(tx.signer_address)
    last = store.get(nonce_key)
    if last is not None and tx.nonce <= int.from_bytes(last, "big"):
        raise TxError(Code.NONCE_TOO_LOW, f"nonce {tx.nonce} is not above the last used {int.from_bytes(last, 'big')}")
    return nonce_key


def _check_tx_work(work: int, limit: int) -> None:
    if work > limit:
        raise TxError(Code.WORK_LIMIT_EXCEEDED, f"the tx's work is {work} units, the limit per tx is {limit}")


def execute(
    store: Branch,
    block: BlockInfo,
    raw: bytes,
    *,
    verified: DecodedTx | None = None,
    digest: bytes | None = None,
    block_meter: BlockMeter | None = None,
    events: bool = True,
    admission: bool = False,
) -> TxOutcome:
    """Apply `raw` to `store` (only if it succeeds, plus the nonce once accepted).

    `verified` is this tx already decoded with its signature checked (the CheckTx cache);
    otherwise the tx is decoded and its signature verified here. `block_meter` is the block's
    work meter (FinalizeBlock): a tx that would take it above its budget fails with
    WORK_LIMIT_EXCEEDED and is not counted; an accepted envelope is counted in it.
    Without `events` (CheckTx, whose answer carries none) the outcome has no events. With
    `admission` (CheckTx) handlers may skip state changes no tx's code depends on
    (TxContext.admission); the code, log and every other write are the same.
    """
    params = load_params(store)
    chain_id = chain.chain_id(store)
    tx = verified
    try:
        if tx is None:
            tx = check_envelope(raw, params, chain_id, block.height, digest)
            if not crypto.verify(tx.signer, tx.signature, tx.body):
                raise TxError(Code.BAD_SIGNATURE, "signature does not verify against the signer's key")
        else:
            check_limits(tx, len(raw), params, chain_id, block.height)
        signer = _signer(store, tx, block.time)
        nonce_key = _unused_nonce(store, tx)
        limit = tx_limit(params)
        if block_meter is None:
            _check_tx_work(tx_work(store, tx, params), limit)
        else:
            # The block meter's cost first (no side effects): when it proves the per-tx meter
            # within the limit (BlockMeter.covers), that check cannot fail and is skipped;
            # otherwise it runs as before, and fails first, as before.
            added, seen = block_meter.cost(tx)
            if not block_meter.covers(store, tx, seen, limit):
                _check_tx_work(tx_work(store, tx, params), limit)
            if block_meter.total + added > block_meter.budget:
                raise TxError(
                    Code.WORK_LIMIT_EXCEEDED,
                    f"the block's work would be {block_meter.total + added} units, its budget is "
                    f"{block_meter.budget}: the proposer exceeded it",
                )
            block_meter.commit(added, seen)
    except TxError as exc:
        return _fail(exc, tx)
    except Exception as exc:  # no input may crash a validator
        return _internal(exc, "envelope", tx)

    store.set(nonce_key, tx.nonce.to_bytes(8, "big"))
    ctx = TxContext(
        store.branch(), block, params, tx.signer, tx.signer_address, signer, record_events=events, admission=admission
    )
    try:
        for msg in tx.messages:
            HANDLERS[type(msg)](ctx, msg)
    except TxError as exc:
        return _fail(exc, tx)
    except Exception as exc:  # a handler bug fails this tx, never the block
        return _internal(exc, "handler", tx)
    ctx.store.merge_into(store)
    if not events:
        return TxOutcome(0, "", (), tuple(ctx.validator_updates), tx)
    # One `message` event per tx, so a member's txs are found by `message.sender='<address>'`.
    messages = tx.messages
    if len(messages) == 1:
        actions = ACTIONS[type(messages[0])]
    else:
        actions = ",".join(sorted({ACTIONS[type(m)] for m in messages}))
    tx_events = (Event.of(chain_contract.MESSAGE, sender=tx.signer_address.hex(), action=actions), *ctx.events)
    return TxOutcome(0, "", tx_events, tuple(ctx.validator_updates), tx)
