"""Fuzzing every message handler: hostile field values, signed by real members, through the
whole block lifecycle. Nothing crashes, every code is a stable one, CheckTx and FinalizeBlock
agree, a failing tx writes nothing but its nonce, and money is conserved."""

from __future__ import annotations

from google.protobuf.message import Message
from gridledger.accounts.v1 import accounts_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abci_app import keys
from abci_app.accounts.errors import AccountsCode
from abci_app.accounts.invariants import money_conserved
from abci_app.codec_util import MAX_AMOUNT
from abci_app.errors import Code
from abci_app.pb import abci
from abci_app.registry import ERROR_NAMES
from abci_app.store.backend import MemoryBackend
from clients.pki import Identity
from clients.tx import sign_tx
from tests.fuzz.strategies import CONSORTIUM, msg_st, signer_st
from tests.support.driver import AppDriver

KNOWN_CODES = set(ERROR_NAMES) - {int(Code.INTERNAL)}  # any registered code but a caught crash
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

tx_st = st.tuples(signer_st(), st.lists(msg_st(), min_size=1, max_size=2), st.text(max_size=20))


def _new_driver() -> tuple[AppDriver, MemoryBackend]:
    backend = MemoryBackend()
    d = AppDriver(CONSORTIUM, backend=backend)
    d.block([])
    return d, backend


def _sign(d: AppDriver, who: Identity, msgs: list[Message], memo: str) -> bytes:
    return sign_tx(who.key, d.chain_id, d.next_nonce(who.public_key), msgs, memo=memo)


def _kv(backend: MemoryBackend) -> dict[bytes, bytes]:
    return dict(backend.iter_range(b"", None))


@SETTINGS
@given(txs=st.lists(tx_st, min_size=1, max_size=4))
def test_each_tx_alone_in_a_block(txs: list[tuple[Identity, list[Message], str]]) -> None:
    """Every fuzzed tx, alone in its block: CheckTx and FinalizeBlock give the same known code;
    a failure changes no state but the signer's nonce and the block time; money is conserved."""
    d, backend = _new_driver()
    for who, msgs, memo in txs:
        raw = _sign(d, who, msgs, memo)
        before = _kv(backend)
        check = d.app.check_tx(abci.RequestCheckTx(tx=raw, type=abci.NEW))
        assert check.code in KNOWN_CODES
        result = d.block([raw], check=False)
        (code,) = result.codes
        assert code == check.code, f"CheckTx said {check.code}, FinalizeBlock {code}: {result.tx_results[0].log}"
        after = _kv(backend)
        if code != 0:
            changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
            assert changed <= {keys.nonce(who.address), keys.meta("block_time_ns")}, changed
        assert money_conserved(d.app.state) is None


@SETTINGS
@given(txs=st.lists(tx_st, min_size=1, max_size=6))
def test_fuzzed_block_is_deterministic(txs: list[tuple[Identity, list[Message], str]]) -> None:
    """The same fuzzed block on two fresh apps gives the same codes and app hash; money is conserved."""
    first, _ = _new_driver()
    second, _ = _new_driver()
    raws = [_sign(first, who, msgs, memo) for who, msgs, memo in txs]
    a = first.block(raws, check=False)
    b = second.block(raws, check=False)
    assert a.codes == b.codes
    assert set(a.codes) <= KNOWN_CODES
    assert a.app_hash == b.app_hash
    assert money_conserved(first.app.state) is None


@settings(max_examples=100, deadline=None)
@given(
    amounts=st.lists(
        st.one_of(st.sampled_from([1, MAX_AMOUNT - 1, MAX_AMOUNT, MAX_AMOUNT // 2 + 1]), st.integers(1, MAX_AMOUNT)),
        min_size=1,
        max_size=5,
    ),
    burns=st.lists(st.integers(1, MAX_AMOUNT), max_size=3),
)
def test_huge_mints_and_burns_never_overflow(amounts: list[int], burns: list[int]) -> None:
    """Mints and burns near the 63-bit limit fail with AMOUNT_OVERFLOW or INSUFFICIENT_FUNDS
    instead of wrapping; balances and supply stay within range and money is conserved."""
    d, _ = _new_driver()
    treasury = CONSORTIUM.members["utility/treasury"]
    alice = CONSORTIUM.members["community-a/alice"]
    msgs: list[Message] = [accounts_pb2.Mint(to=alice.address, amount=a) for a in amounts]
    msgs += [accounts_pb2.Burn(amount=b) for b in burns]
    raws = [_sign(d, treasury, [m], "") for m in msgs]
    result = d.block(raws, check=False)
    assert set(result.codes) <= {0, AccountsCode.AMOUNT_OVERFLOW, AccountsCode.INSUFFICIENT_FUNDS}
    supply = d.query("/supply")
    assert supply.code == 0
    assert money_conserved(d.app.state) is None
    bal = d.query(f"/balance/{alice.address.hex()}")
    assert int.from_bytes(bal.value, "big") <= MAX_AMOUNT
