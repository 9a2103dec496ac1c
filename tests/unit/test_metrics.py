"""The app's Prometheus endpoint: after driving blocks through an instrumented app, a scrape
shows every named series with values that match what the blocks did."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gridwire.reading import Reading
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from abci_app.metrics import MEMPOOL_TOP, Metrics, hook_ran, parse_listen
from abci_app.pb import abci
from abci_app.statesync.store import SnapshotStore
from clients import devices as dc
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.helpers import signed, transfer

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def served(consortium: Consortium, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppDriver, str]]:
    """An instrumented app (snapshots every 3 blocks) and its metrics URL on a free local port."""
    driver = AppDriver(consortium, params={"governance.snapshot_interval_blocks": 3})
    driver.app.snapshots = SnapshotStore(tmp_path_factory.mktemp("snaps"))
    metrics = Metrics(CollectorRegistry())
    metrics.instrument(driver.app)
    server = metrics.serve("127.0.0.1", 0)
    try:
        yield driver, f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()


def _scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_a_scrape_shows_block_phases_txs_readings_mempool_and_snapshots(
    served: tuple[AppDriver, str], consortium: Consortium
) -> None:
    """Phases counted once per block, txs by domain and code, readings by outcome, the mempool
    share of the signer with pending txs, snapshots and the height all read back."""
    driver, url = served
    snapshots = driver.app.snapshots
    assert snapshots is not None
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    gateway = consortium.member("community-a/gateway")
    key = Ed25519PrivateKey.from_private_bytes(b"\x05" * 32)
    driver.block([])
    driver.block([signed(driver, alice, dc.register_site("site-m", "feeder-1", "nl"))])
    pv = dc.register_device("pv-m", "site-m", "pv", dc.device_public_key(key), 5_000, gateway=gateway.address)
    driver.block([signed(driver, alice, pv)])
    assert snapshots.wait(30)  # height 3's, written on its worker thread
    start = ((driver.time // 900) + 1) * 900
    driver.block([], seconds=start + 1800 - driver.time)
    good = [Reading("pv-m", 1, start, start + 900, 0, 100), Reading("pv-m", 2, start + 900, start + 1800, 0, 200)]
    replayed = Reading("pv-m", 1, start + 900, start + 1800, 0, 300)  # seq 1 again
    readings = [dc.sign_reading(key, driver.chain_id, r) for r in (*good, replayed)]
    broke = signed(driver, bob, transfer(alice, 10**15))  # more than bob has
    garbage = b"\x0a\xff not a tx"
    txs = [
        signed(driver, gateway, dc.submit_readings(readings)),
        signed(driver, alice, transfer(bob, 5)),
        broke,
        garbage,
    ]
    driver.block(txs, check=False)  # a proposer may include a tx that fails (skips PrepareProposal)
    driver.block([])
    pending = [signed(driver, alice, transfer(bob, 1)) for _ in range(3)]
    for raw in pending:
        assert driver.app.check_tx(abci.RequestCheckTx(tx=raw)).code == 0
    hook_ran("market", "end_block", 0.01, ())  # reaches the instrumented app's series
    assert snapshots.wait(30)  # height 6's

    s = _scrape(url)
    blocks = driver.height
    assert blocks == 6
    for phase in ("prepare", "process", "finalize", "commit"):
        assert _value(s, "gridledger_block_phase_seconds_count", phase=phase) == blocks - (phase == "prepare")
        assert 0 < _value(s, "gridledger_block_phase_seconds_sum", phase=phase) < 60
    assert _value(s, "gridledger_block_height") == blocks
    assert _value(s, "gridledger_txs_total", domain="devices", code="0") == 3
    assert _value(s, "gridledger_txs_total", domain="accounts", code="0") == 1
    failed = [lab for (n, lab), v in s.items() if n == "gridledger_txs_total" and ("domain", "accounts") in lab and v]
    assert len(failed) == 2  # code 0 and bob's failure code
    assert sum(v for (n, lab), v in s.items() if n == "gridledger_txs_total" and ("domain", "invalid") in lab) == 1
    assert _value(s, "gridledger_readings_total", outcome="accepted") == 2
    assert _value(s, "gridledger_readings_total", outcome="rejected") == 1
    assert _value(s, "gridledger_checktx_total", code="0") >= 3
    assert _value(s, "gridledger_mempool_pending_txs", signer=alice.address.hex()) == 3
    assert _value(s, "gridledger_mempool_pending_txs", signer="other") == 0
    assert sum(1 for (n, _), _v in s.items() if n == "gridledger_mempool_pending_txs") <= MEMPOOL_TOP + 1
    assert _value(s, "gridledger_snapshots_total") == 2  # heights 3 and 6
    assert _value(s, "gridledger_snapshot_bytes") > 1_000
    assert _value(s, "gridledger_hook_seconds_count", domain="market", hook="end_block") == blocks + 1
    for name in (
        "gridledger_clearing_seconds_count",
        "gridledger_intervals_cleared_total",
        "gridledger_settlement_lag_seconds",
        "gridledger_certificates_issued_total",
        "gridledger_certificates_issued_wh_total",
    ):
        assert _value(s, name) >= 0


def test_the_listen_address_must_be_host_and_port() -> None:
    """HOST:PORT parses; a missing host, port or a port above 65535 is refused."""
    assert parse_listen("127.0.0.1:26660") == ("127.0.0.1", 26660)
    for bad in ("26660", ":26660", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:x"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            parse_listen(bad)


def test_an_app_that_is_not_instrumented_is_not_slowed_by_hooks(consortium: Consortium) -> None:
    """A plain app (no --metrics) runs its blocks with the same app hashes as an instrumented one."""
    plain, observed = AppDriver(consortium), AppDriver(consortium)
    Metrics(CollectorRegistry()).instrument(observed.app)
    for _ in range(3):
        assert plain.block([]).app_hash == observed.block([]).app_hash
    assert plain.app.state.height == observed.app.state.height == 3


def test_the_grafana_dashboard_names_only_series_the_app_exports() -> None:
    """Every gridledger_ series in ops/grafana/gridledger.json is one the app's registry has."""
    registry = CollectorRegistry()
    Metrics(registry)
    exported = {s.name for family in registry.collect() for s in family.samples}
    suffix = {"histogram": "_bucket", "counter": "_total"}  # labelled series have no sample until used
    exported |= {family.name + suffix.get(family.type, "") for family in registry.collect()}
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "ops" / "grafana" / "gridledger.json").read_text())
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"gridledger_[a-z_]+", target["expr"])
    }
    assert len(used) >= 12
    assert used <= exported, used - exported
