"""Every way a transaction can fail gets its exact, stable error code, in CheckTx and in FinalizeBlock.

Nonce rule checked by every row: a tx rejected by the envelope checks (size, decoding,
chain id, limits, signature, signer membership, nonce) changes nothing at all; a tx whose
envelope was accepted but whose message failed consumes the signer's nonce (so those
signed bytes can never be replayed) while every write of its messages is discarded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import any_pb2
from google.protobuf.message import Message
from gridledger.governance.v1 import governance_pb2
from gridledger.identity.v1 import identity_pb2

from abci_app import keys
from abci_app.accounts.errors import AccountsCode
from abci_app.accounts.invariants import money_conserved
from abci_app.errors import Code
from abci_app.governance.errors import GovernanceCode
from abci_app.identity.errors import IdentityCode
from abci_app.pb import abci, tx_pb2
from clients.ops.consortium import Consortium
from clients.pki import Identity
from clients.tx import pack, sign_tx
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.unit.helpers import account_nonce, balance, mint, signed, submit, transfer

ALICE, BOB, CAROL = "community-a/alice", "community-a/bob", "community-b/carol"


@dataclass
class Ctx:
    driver: AppDriver
    consortium: Consortium

    def m(self, ref: str) -> Identity:
        return self.consortium.member(ref)

    def tx(self, ref: str, *msgs: Message, **kw: object) -> bytes:
        return signed(self.driver, self.m(ref), *msgs, **kw)  # type: ignore[arg-type]

    def commit(self, *txs: bytes, seconds: int = 1) -> None:
        """Commit a setup block whose txs must all succeed."""
        result = self.driver.block(list(txs), seconds=seconds)
        assert result.codes == (0,) * len(txs), [r.log for r in result.tx_results]


# A case builds the failing tx (running any setup blocks) and says whose nonce is at stake.
Build = Callable[[Ctx], tuple[bytes, bytes | None]]


@dataclass(frozen=True)
class Case:
    name: str
    code: IntEnum
    build: Build
    consumes_nonce: bool = False  # True: failed in a message, after the envelope was accepted
    proposable: bool = True  # False: PrepareProposal drops it and ProcessProposal rejects it


def _addr(ctx: Ctx, ref: str) -> bytes:
    return ctx.m(ref).address


def _reenvelope(raw: bytes, signature: bytes) -> bytes:
    env = tx_pb2.Tx.FromString(raw)
    return tx_pb2.Tx(body=env.body, signature=signature).SerializeToString()


def bad_signature(ctx: Ctx) -> tuple[bytes, bytes | None]:
    raw = ctx.tx(ALICE, transfer(ctx.m(BOB), 5))
    sig = bytearray(tx_pb2.Tx.FromString(raw).signature)
    sig[10] ^= 0x40
    return _reenvelope(raw, bytes(sig)), _addr(ctx, ALICE)


def short_signature(ctx: Ctx) -> tuple[bytes, bytes | None]:
    raw = ctx.tx(ALICE, transfer(ctx.m(BOB), 5))
    return _reenvelope(raw, tx_pb2.Tx.FromString(raw).signature[:63]), _addr(ctx, ALICE)


def signed_by_another_key(ctx: Ctx) -> tuple[bytes, bytes | None]:
    """The body names alice as signer but the signature is bob's."""
    raw = ctx.tx(ALICE, transfer(ctx.m(BOB), 5))
    body = tx_pb2.Tx.FromString(raw).body
    return _reenvelope(raw, ctx.m(BOB).key.sign(body)), _addr(ctx, ALICE)


def wrong_chain(ctx: Ctx) -> tuple[bytes, bytes | None]:
    return ctx.tx(ALICE, transfer(ctx.m(BOB), 5), chain_id="another-chain"), _addr(ctx, ALICE)


def replayed(ctx: Ctx) -> tuple[bytes, bytes | None]:
    raw = ctx.tx(ALICE, transfer(ctx.m(BOB), 5))
    ctx.commit(raw)
    return raw, _addr(ctx, ALICE)  # the very same bytes, in a later block


def lower_nonce(ctx: Ctx) -> tuple[bytes, bytes | None]:
    ctx.commit(ctx.tx(ALICE, transfer(ctx.m(BOB), 5), nonce=10))
    return ctx.tx(ALICE, transfer(ctx.m(BOB), 6), nonce=3), _addr(ctx, ALICE)


def equal_nonce(ctx: Ctx) -> tuple[bytes, bytes | None]:
    ctx.commit(ctx.tx(ALICE, transfer(ctx.m(BOB), 5), nonce=4))
    return ctx.tx(ALICE, transfer(ctx.m(BOB), 6), nonce=4), _addr(ctx, ALICE)


def unknown_signer(ctx: Ctx) -> tuple[bytes, bytes | None]:
    stranger = Ed25519PrivateKey.generate()
    raw = sign_tx(stranger, ctx.driver.chain_id, 1, [transfer(ctx.m(BOB), 1)])
    return raw, None


def revoked_member(ctx: Ctx) -> tuple[bytes, bytes | None]:
    revoke = identity_pb2.RevokeMember(member=ctx.m(BOB).address, reason="lost device")
    ctx.commit(ctx.tx("community-a/admin", revoke))
    return ctx.tx(BOB, transfer(ctx.m(ALICE), 1)), _addr(ctx, BOB)


def prosumer_mints(ctx: Ctx) -> tuple[bytes, bytes | None]:
    return ctx.tx(ALICE, mint(ctx.m(ALICE), 1_000)), _addr(ctx, ALICE)


def non_admin_proposes(ctx: Ctx) -> tuple[bytes, bytes | None]:
    action = governance_pb2.ChangeParam(name="max_memo_bytes", value=10)
    return ctx.tx(ALICE, submit(change_param=action)), _addr(ctx, ALICE)


def admin_of_another_org_revokes(ctx: Ctx) -> tuple[bytes, bytes | None]:
    revoke = identity_pb2.RevokeMember(member=ctx.m(BOB).address, reason="not yours")
    return ctx.tx("community-b/admin", revoke), _addr(ctx, "community-b/admin")


def _enrol(ctx: Ctx, ident: Identity) -> bytes:
    enrol = identity_pb2.EnrollMember(certificate_der=ident.cert_der)
    return sign_tx(ident.key, ctx.driver.chain_id, 1, [enrol])


def enrol_expired_cert(ctx: Ctx) -> tuple[bytes, bytes | None]:
    ident = ctx.consortium.cas["community-a"].issue(
        "late.community-a",
        ["prosumer"],
        not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        not_after=dt.datetime(2025, 6, 1, tzinfo=dt.UTC),  # before the chain's block times
    )
    return _enrol(ctx, ident), ident.address


def cert_expires_while_member(ctx: Ctx) -> tuple[bytes, bytes | None]:
    expiry = dt.datetime.fromtimestamp(GENESIS_TIME + 30, tz=dt.UTC)
    ident = ctx.consortium.cas["community-a"].issue("shortlived.community-a", ["prosumer"], not_after=expiry)
    ctx.commit(_enrol(ctx, ident))
    ctx.commit(ctx.tx(ALICE, transfer(ident, 100)))
    ctx.driver.nonces[ident.public_key] = 1
    ok = signed(ctx.driver, ident, transfer(ctx.m(ALICE), 1))
    ctx.commit(ok)  # still valid now
    ctx.driver.block([], seconds=60)  # block time passes the certificate's not_after
    return signed(ctx.driver, ident, transfer(ctx.m(ALICE), 1)), ident.address


def enrol_foreign_ca(ctx: Ctx) -> tuple[bytes, bytes | None]:
    # Issued by the utility's CA, but claims to belong to community-a.
    ident = ctx.consortium.cas["utility"].issue("spy.community-a", ["admin"], org_override="community-a")
    return _enrol(ctx, ident), ident.address


def insufficient_funds(ctx: Ctx) -> tuple[bytes, bytes | None]:
    have = balance(ctx.driver, ctx.m(ALICE))
    return ctx.tx(ALICE, transfer(ctx.m(BOB), have + 1)), _addr(ctx, ALICE)


def second_message_fails(ctx: Ctx) -> tuple[bytes, bytes | None]:
    """The first transfer would succeed alone; the second fails, so neither is applied."""
    have = balance(ctx.driver, ctx.m(ALICE))
    return ctx.tx(ALICE, transfer(ctx.m(BOB), 10), transfer(ctx.m(CAROL), have)), _addr(ctx, ALICE)


def malformed(ctx: Ctx) -> tuple[bytes, bytes | None]:
    return b"\xff\xfe this is not a protobuf transaction", None


def malformed_body(ctx: Ctx) -> tuple[bytes, bytes | None]:
    return tx_pb2.Tx(body=b"\xff\xff\xff", signature=b"\x00" * 64).SerializeToString(), None


def bad_signer_length(ctx: Ctx) -> tuple[bytes, bytes | None]:
    body = tx_pb2.TxBody(
        chain_id=ctx.driver.chain_id, signer=b"\x01" * 31, nonce=1, messages=[pack(transfer(b"\x02" * 20, 1))]
    )
    return tx_pb2.Tx(body=body.SerializeToString(), signature=b"\x00" * 64).SerializeToString(), None


def oversized(ctx: Ctx) -> tuple[bytes, bytes | None]:
    return ctx.tx(ALICE, transfer(ctx.m(BOB), 1), memo="x" * 70_000), _addr(ctx, ALICE)


def no_messages(ctx: Ctx) -> tuple[bytes, bytes | None]:
    return ctx.tx(ALICE), _addr(ctx, ALICE)


def too_many_messages(ctx: Ctx) -> tuple[bytes, bytes | None]:
    return ctx.tx(ALICE, *[transfer(ctx.m(BOB), 1)] * 65), _addr(ctx, ALICE)


def memo_too_long(ctx: Ctx) -> tuple[bytes, bytes | None]:
    return ctx.tx(ALICE, transfer(ctx.m(BOB), 1), memo="é" * 129), _addr(ctx, ALICE)  # 258 bytes


def timed_out(ctx: Ctx) -> tuple[bytes, bytes | None]:
    ctx.driver.block([])
    ctx.driver.block([])  # the next block is height 4
    return ctx.tx(ALICE, transfer(ctx.m(BOB), 1), timeout_height=3), _addr(ctx, ALICE)


def unknown_message(ctx: Ctx) -> tuple[bytes, bytes | None]:
    return ctx.tx(ALICE, transfer(ctx.m(BOB), 1), any_pb2.Any()), _addr(ctx, ALICE)


def zero_amount(ctx: Ctx) -> tuple[bytes, bytes | None]:
    return ctx.tx(ALICE, transfer(ctx.m(BOB), 0)), _addr(ctx, ALICE)


def to_non_member(ctx: Ctx) -> tuple[bytes, bytes | None]:
    return ctx.tx(ALICE, transfer(b"\x99" * 20, 5)), _addr(ctx, ALICE)


def to_short_address(ctx: Ctx) -> tuple[bytes, bytes | None]:
    return ctx.tx(ALICE, transfer(b"\x99" * 19, 5)), _addr(ctx, ALICE)


CASES = [
    Case("bad signature", Code.BAD_SIGNATURE, bad_signature),
    Case("wrong-length signature", Code.BAD_SIGNATURE, short_signature),
    Case("signature by another key", Code.BAD_SIGNATURE, signed_by_another_key),
    Case("wrong chain id", Code.WRONG_CHAIN_ID, wrong_chain),
    Case("replayed tx", Code.NONCE_TOO_LOW, replayed),
    Case("lower nonce", Code.NONCE_TOO_LOW, lower_nonce),
    Case("equal nonce", Code.NONCE_TOO_LOW, equal_nonce),
    Case("unknown signer", Code.UNKNOWN_SIGNER, unknown_signer),
    Case("revoked member", Code.MEMBER_REVOKED, revoked_member),
    Case("prosumer mints", Code.UNAUTHORIZED, prosumer_mints, consumes_nonce=True),
    Case("non-admin proposes", Code.UNAUTHORIZED, non_admin_proposes, consumes_nonce=True),
    Case(
        "admin of another org revokes", IdentityCode.NOT_ADMIN_OF_ORG, admin_of_another_org_revokes, consumes_nonce=True
    ),
    Case("enrol with an expired cert", Code.CERT_EXPIRED, enrol_expired_cert, consumes_nonce=True),
    Case("member's cert expired", Code.CERT_EXPIRED, cert_expires_while_member),
    Case("cert from a foreign CA", IdentityCode.CERT_FOREIGN_CA, enrol_foreign_ca, consumes_nonce=True),
    Case("insufficient balance", AccountsCode.INSUFFICIENT_FUNDS, insufficient_funds, consumes_nonce=True),
    Case("second message fails", AccountsCode.INSUFFICIENT_FUNDS, second_message_fails, consumes_nonce=True),
    Case("malformed protobuf", Code.TX_MALFORMED, malformed),
    Case("malformed body", Code.TX_MALFORMED, malformed_body),
    Case("signer not 32 bytes", Code.TX_MALFORMED, bad_signer_length),
    Case("oversized tx", Code.TX_TOO_LARGE, oversized, proposable=False),
    Case("no messages", Code.NO_MESSAGES, no_messages),
    Case("too many messages", Code.TOO_MANY_MESSAGES, too_many_messages),
    Case("memo too long", Code.MEMO_TOO_LONG, memo_too_long),
    Case("timed out", Code.TX_TIMED_OUT, timed_out),
    Case("unknown (empty) message", Code.UNKNOWN_MESSAGE, unknown_message),
    Case("zero amount", AccountsCode.INVALID_AMOUNT, zero_amount),
    Case("transfer to a non-member", AccountsCode.UNKNOWN_ACCOUNT, to_non_member, consumes_nonce=True),
    Case("address not 20 bytes", Code.INVALID_ARGUMENT, to_short_address),
]


def _state(driver: AppDriver) -> dict[bytes, bytes]:
    return dict(driver.app.state.iter_range(b"", None))


def _force_block(driver: AppDriver, raw: bytes) -> tuple[abci.ExecTxResult, ...]:
    """A block a correct proposer would never build: check that, then finalize it anyway."""
    app = driver.app
    prep = app.prepare_proposal(abci.RequestPrepareProposal(txs=[raw], max_tx_bytes=22_020_096))
    assert list(prep.txs) == []
    process = app.process_proposal(abci.RequestProcessProposal(txs=[raw]))
    assert process.status == abci.ResponseProcessProposal.REJECT
    driver.height += 1
    driver.time += 1
    req = abci.RequestFinalizeBlock(txs=[raw], height=driver.height)
    req.time.seconds = driver.time
    resp = app.finalize_block(req)
    app.commit(abci.RequestCommit())
    return tuple(resp.tx_results)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_failure_code(case: Case, driver: AppDriver, consortium: Consortium) -> None:
    """The tx fails with exactly this code in CheckTx and in FinalizeBlock, and writes nothing but maybe its nonce."""
    ctx = Ctx(driver, consortium)
    driver.block([])  # commit genesis
    raw, signer = case.build(ctx)

    check = driver.app.check_tx(abci.RequestCheckTx(tx=raw, type=abci.NEW))
    assert (check.code, check.codespace) == (case.code, "gridledger"), check.log
    assert check.log

    before = _state(driver)
    if case.proposable:
        result = driver.block([raw], check=False)
        tx_results = result.tx_results
    else:
        tx_results = _force_block(driver, raw)
    assert tuple(r.code for r in tx_results) == (case.code,), tx_results[0].log
    assert tx_results[0].codespace == "gridledger"
    after = _state(driver)

    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    changed.discard(keys.meta("block_time_ns"))
    if case.consumes_nonce:
        assert signer is not None
        assert changed == {keys.nonce(signer)}
        assert after[keys.nonce(signer)] == tx_pb2.TxBody.FromString(tx_pb2.Tx.FromString(raw).body).nonce.to_bytes(
            8, "big"
        )
    else:
        assert changed == set()
    assert money_conserved(driver.app.state) is None


def test_failing_tx_between_good_ones(driver: AppDriver, consortium: Consortium) -> None:
    """A failing tx in the middle of a block does not disturb the txs around it."""
    ctx = Ctx(driver, consortium)
    driver.block([])
    alice, bob = ctx.m(ALICE), ctx.m(BOB)
    a0, b0 = balance(driver, alice), balance(driver, bob)
    txs = [ctx.tx(ALICE, transfer(bob, 10)), ctx.tx(ALICE, transfer(bob, a0 * 2)), ctx.tx(ALICE, transfer(bob, 20))]
    result = driver.block(txs, check=False)
    assert result.codes == (0, AccountsCode.INSUFFICIENT_FUNDS, 0)
    assert balance(driver, alice) == a0 - 30
    assert balance(driver, bob) == b0 + 30
    assert account_nonce(driver, alice) == 3  # the failed one consumed its nonce too


def test_error_codes_pinned() -> None:
    """Every error code keeps its number: renumbering, removing or adding a code fails this test."""
    pinned = {
        "OK": 0,
        "TX_MALFORMED": 1,
        "TX_TOO_LARGE": 2,
        "WRONG_CHAIN_ID": 3,
        "BAD_SIGNATURE": 4,
        "NONCE_TOO_LOW": 5,
        "TX_TIMED_OUT": 6,
        "TOO_MANY_MESSAGES": 7,
        "NO_MESSAGES": 8,
        "MEMO_TOO_LONG": 9,
        "UNKNOWN_SIGNER": 10,
        "MEMBER_REVOKED": 11,
        "CERT_EXPIRED": 12,
        "ORG_INACTIVE": 13,
        "UNAUTHORIZED": 14,
        "UNKNOWN_MESSAGE": 15,
        "INVALID_ARGUMENT": 16,
        "INTERNAL": 17,
        "MEMPOOL_SHARE_EXCEEDED": 18,
        "WORK_LIMIT_EXCEEDED": 19,
        "CERT_INVALID": 20,
        "CERT_FOREIGN_CA": 21,
        "CERT_REVOKED": 22,
        "ALREADY_ENROLLED": 23,
        "UNKNOWN_ORG": 24,
        "ORG_EXISTS": 25,
        "UNKNOWN_MEMBER": 26,
        "CERT_NOT_YET_VALID": 27,
        "CERT_ROLE_NOT_ALLOWED": 28,
        "ROLE_NOT_ALLOWED": 29,
        "NOT_ADMIN_OF_ORG": 30,
        "ROLE_NOT_HELD": 31,
        "DEVICE_CA_EXISTS": 32,
        "UNKNOWN_DEVICE_CA": 33,
        "UNKNOWN_PROPOSAL": 40,
        "PROPOSAL_CLOSED": 41,
        "ALREADY_VOTED": 42,
        "INVALID_PROPOSAL": 43,
        "UPGRADE_HEIGHT_INVALID": 44,
        "UPGRADE_PLAN_PENDING": 45,
        "UNKNOWN_UPGRADE_PLAN": 46,
        "UPGRADE_ALREADY_APPLIED": 47,
        "INSUFFICIENT_FUNDS": 60,
        "AMOUNT_OVERFLOW": 61,
        "INVALID_AMOUNT": 62,
        "UNKNOWN_ACCOUNT": 63,
        "QUERY_UNKNOWN_PATH": 90,
        "QUERY_NOT_FOUND": 91,
        "QUERY_BAD_REQUEST": 92,
        "QUERY_HEIGHT_UNAVAILABLE": 93,
        "QUERY_PRIVATE": 94,
        "READ_EXPIRED": 95,
        "READ_BAD_SIGNATURE": 96,
        "READ_WRONG_PATH": 97,
        "READ_DENIED": 98,
        "READ_BAD_GRANT": 99,
    }
    codes = {c.name: int(c) for enum in (Code, IdentityCode, GovernanceCode, AccountsCode) for c in enum}
    assert codes == pinned
