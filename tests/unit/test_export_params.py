"""The exported `params` carry the core parameters and every domain parameter that genesis or
governance has set; unset domain parameters keep following their declared defaults."""

from __future__ import annotations

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
