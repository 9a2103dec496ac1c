"""Exports: the `params` carry the core parameters and every domain parameter that genesis or
governance has set (unset ones keep following their defaults); `abci_app.export` writes the
genesis of a chain that continues the exported state."""

from __future__ import annotations

import base64

import pytest

from abci_app.export import exported_genesis
from abci_app.genesis import export_genesis
from abci_app.params import DOMAIN_PARAMS, domain_param, has_domain_param, load_params
from clients.consortium import Consortium
from tests.support.driver import AppDriver
from tests.support.genesis_roundtrip import export_and_import


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
