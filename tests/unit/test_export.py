"""Exports: the `params` carry the core parameters and every domain parameter that genesis or
governance has set (unset ones keep following their defaults); `abci_app.export` writes the
genesis of a chain that continues the exported state."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from abci_app import keys as chain_keys
from abci_app.accounts import keys as accounts_keys
from abci_app.accounts.genesis import MODULE_ACCOUNTS
from abci_app.accounts.keeper import iter_balances, supply
from abci_app.app import GridLedgerApp
from abci_app.domain import GenesisError
from abci_app.errors import Code
from abci_app.export import exported_genesis
from abci_app.genesis import apply_genesis, export_genesis
from abci_app.grid.domain import DOMAIN as GRID
from abci_app.params import DOMAIN_PARAMS, domain_param, has_domain_param, load_params
from abci_app.pb import abci, crypto_keys
from abci_app.registry import DOMAINS
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo
from clients.ops.consortium import Consortium
from clients.tx import sign_tx
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.helpers import burn, signed, transfer


def test_set_domain_params_are_exported_and_unset_ones_are_not(consortium: Consortium) -> None:
    name = "certificates.period_seconds"
    assert name in DOMAIN_PARAMS
    unset = next(n for n in sorted(DOMAIN_PARAMS) if n != name)
    driver = AppDriver(consortium, params={name: 1800, "max_memo_bytes": 0})
    driver.block([])  # genesis is committed with the first block
    exported, fresh = export_and_import(driver.app.state)
    assert exported["params"][name] == 1800
    assert exported["params"]["max_memo_bytes"] == 0
    assert unset not in exported["params"]
    assert domain_param(fresh, name) == 1800
    assert not has_domain_param(fresh, unset)
    assert load_params(fresh) == load_params(driver.app.state)


def test_exported_genesis_continues_the_chain_and_refuses_another_chains_state(consortium: Consortium) -> None:
    driver = AppDriver(consortium, validators=(b"\x02" * 32, b"\x03" * 32))
    old = {
        "chain_id": driver.chain_id,
        "consensus_params": {"block": {"max_bytes": "22020096"}},
        "validators": [],
    }
    with pytest.raises(ValueError, match="no committed block"):
        exported_genesis(driver.app.state, old)
    driver.block([])
    driver.block([])
    genesis = exported_genesis(driver.app.state, old)
    assert genesis["initial_height"] == "3"
    assert genesis["consensus_params"] == old["consensus_params"]
    assert genesis["app_state"] == export_genesis(driver.app.state)
    assert sorted(base64.b64decode(v["pub_key"]["value"]) for v in genesis["validators"]) == [
        b"\x02" * 32,
        b"\x03" * 32,
    ]
    assert genesis["genesis_time"].endswith("Z")
    with pytest.raises(ValueError, match="is of chain"):
        exported_genesis(driver.app.state, {**old, "chain_id": "another-chain"})


def test_check_tx_before_the_first_block_of_a_continued_chain_judges_its_initial_height(
    consortium: Consortium,
) -> None:
    """A chain restarted from an export starts at height 101: until its first block, CheckTx
    judges timeouts against 101, not 1 (a tx that timed out at 50 is refused)."""
    app = GridLedgerApp(MemoryBackend())
    req = abci.RequestInitChain(
        chain_id="gridledger-continued",
        app_state_bytes=json.dumps(consortium.app_state()).encode(),
        initial_height=101,
        validators=[abci.ValidatorUpdate(pub_key=crypto_keys.PublicKey(ed25519=b"\x01" * 32), power=10)],
    )
    req.time.CopyFrom(Timestamp(seconds=GENESIS_TIME))
    app.init_chain(req)
    alice = consortium.member("community-a/alice")
    carol = consortium.member("community-b/carol")
    late = sign_tx(alice.key, "gridledger-continued", 1, [transfer(carol, 1)], timeout_height=50)
    in_time = sign_tx(alice.key, "gridledger-continued", 1, [transfer(carol, 1)], timeout_height=101)
    assert app.check_tx(abci.RequestCheckTx(tx=late)).code == Code.TX_TIMED_OUT
    assert app.check_tx(abci.RequestCheckTx(tx=in_time)).code == 0


class _Empty:
    def get(self, key: bytes) -> bytes | None:
        return None

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        return iter(())


def test_supply_counters_and_nonces_travel_and_are_checked(consortium: Consortium) -> None:
    """Burned money and every signer's last nonce survive the export; an export whose counters
    do not add up to its balances, or a balance of a stranger, or a bad nonce is refused."""
    driver = AppDriver(consortium)
    alice = consortium.member("community-a/alice")
    treasury = consortium.member("utility/treasury")
    driver.block([signed(driver, alice, transfer(treasury, 5)), signed(driver, treasury, burn(40))])
    driver.block([signed(driver, alice, transfer(treasury, 6))])
    exported, fresh = export_and_import(driver.app.state)
    assert exported["supply"]["burned"] == "40"  # protobuf JSON mapping: 64-bit integers as strings
    assert {"address": alice.address.hex(), "nonce": 2} in exported["nonces"]
    accounts_domain = next(d for d in DOMAINS if d.name == "accounts")
    assert differences(accounts_domain, driver.app.state, fresh) == []
    for address in (alice.address, treasury.address):
        assert fresh.get(chain_keys.nonce(address)) == driver.app.state.get(chain_keys.nonce(address))

    def refused(mutate: Callable[[dict[str, Any]], None], match: str) -> None:
        doc = copy.deepcopy(exported)
        mutate(doc)
        with pytest.raises(GenesisError, match=match):
            apply_genesis(Branch(_Empty()), BlockInfo("c", 1, 0), json.dumps(doc).encode(), [])

    refused(lambda d: d["supply"].update(burned=39), r"supply: minted .* is not the balances' total")
    refused(
        lambda d: d["supply"].update(minted=-1),
        r"^supply: .*Failed to parse minted field: Value out of range",
    )
    refused(lambda d: d["balances"].append({"address": "ab" * 20, "amount": 1}), r"neither a genesis member nor")
    refused(lambda d: d["balances"].append(dict(d["balances"][0])), r"has a balance already")
    refused(lambda d: d["nonces"].append(dict(d["nonces"][0])), r"nonces\[\d+\]: .* has a nonce already")
    refused(lambda d: d["nonces"][0].update(nonce=0), r"nonces\[0\]\.nonce")
    refused(lambda d: d["nonces"][0].update(address="abcd"), r"nonces\[0\]\.address: expected a 20-byte address")
    # escrow accounts are module accounts: a balance there is taken (the market's own checks follow)
    (escrow,) = GRID.module_accounts
    assert escrow in MODULE_ACCOUNTS


def test_a_hand_written_genesis_without_supply_mints_its_balances(consortium: Consortium) -> None:
    driver = AppDriver(consortium)
    driver.block([])
    state = driver.app.state
    total = sum(amount for _address, amount in iter_balances(state))
    assert total > 0
    assert supply(state, "minted") == total
    assert state.get(accounts_keys.supply("burned")) is None
