"""Metrics on a running 4-validator localnet: every node's app and CometBFT serve Prometheus
text with the named series, and the apps agree on what the chain did."""

from __future__ import annotations

import subprocess

import pytest

from tests.integration.conftest import NetFactory
from tests.integration.support import Wallet, max_height

pytestmark = pytest.mark.integration

APP_SERIES = (
    "gridledger_block_phase_seconds_count",
    "gridledger_block_height",
    "gridledger_txs_total",
    "gridledger_checktx_total",
    "gridledger_mempool_pending_txs",
    "gridledger_readings_total",
    "gridledger_hook_seconds_count",
    "gridledger_clearing_seconds_count",
    "gridledger_settlement_lag_seconds",
    "gridledger_certificates_issued_total",
    "gridledger_snapshots_total",
)


def _curl(port: int) -> str:
    out = subprocess.run(
        ["curl", "-sf", "--max-time", "10", f"http://127.0.0.1:{port}/metrics"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, f"curl of port {port} failed: {out.stderr}"
    return out.stdout


def _sample(text: str, line_start: str) -> float:
    return float(next(line for line in text.splitlines() if line.startswith(line_start)).rsplit(" ", 1)[1])


def test_every_node_serves_app_and_cometbft_metrics(localnet_factory: NetFactory) -> None:
    net = localnet_factory("metrics", n=4)
    c = net.consortium()
    wallet = Wallet(net.chain_id)
    alice, bob = c.member("community-a/alice"), c.member("community-a/bob")
    for _ in range(3):
        result = net.rpc(0).broadcast_commit(wallet.transfer(alice, bob.address, 1))
        assert result.code == 0
    net.wait_height(max_height(net, range(4)) + 1, timeout=30)
    for i in range(net.n):
        p = net.ports(i)
        app = _curl(p.metrics)
        for series in APP_SERIES:
            assert series in app, f"node{i} app metrics lack {series}"
        assert _sample(app, "gridledger_block_height ") >= 3
        assert _sample(app, 'gridledger_txs_total{code="0",domain="accounts"}') == 3
        assert _sample(app, 'gridledger_block_phase_seconds_count{phase="finalize"}') >= 3
        comet = _curl(p.comet_metrics)
        assert "cometbft_consensus_height" in comet, f"node{i} CometBFT metrics lack the consensus height"
