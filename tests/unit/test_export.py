"""Exports: the `params` carry the core parameters and every domain parameter that genesis or
governance has set (unset ones keep following their defaults); `abci_app.export` writes the
genesis of a chain that continues the exported state."""

from __future__ import annotations

import base64
import json

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from abci_app.app import GridLedgerApp
from abci_app.errors import Code
from abci_app.export import exported_genesis
from abci_app.genesis import export_genesis
from abci_app.params import DOMAIN_PARAMS, domain_param, has_domain_param, load_params
from abci_app.pb import abci, crypto_keys
from abci_app.store.backend import MemoryBackend
from clients.consortium import Consortium
from clients.tx import sign_tx
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.support.genesis_roundtrip import export_and_import
from tests.unit.helpers import transfer


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
