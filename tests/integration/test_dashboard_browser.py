"""The dashboard in a real browser (Debian's chromium, headless, driven by Playwright) against a
real 4-validator localnet: every view renders chain data that matches `gridctl --json`; an alert
raised by a rule that cannot be met appears live on the member's page; accepting new terms from
the page (the gridctl command it shows, run with the member's key) commits a tx; the audit view
verifies a real retirement export in the browser and rejects tampered ones; bad input gets a clear
message; the page keeps working when its node is killed. A screenshot of every view is saved
under .screenshots/dashboard/ (git-ignored).

The chain runs on accelerated clocks (20 s intervals, 4 s gate closure) so that a standing rule
meets its gate closure within seconds.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from gridledger.api.v1 import certificates_api_pb2_grpc, reads_pb2
from gridledger.certificates.v1 import certificates_pb2
from gridwire.contract.certificates import Paths as CertificatesPaths
from gridwire.reading import Reading

from clients import devices as dc
from clients.client import GridClient
from clients.ops.localnet import Localnet, _port_free
from clients.rpc import CometRPC
from clients.servers.dashboard.launch import PORT_OFFSET, start_dashboard
from devices.keys import DeviceKey
from tests.integration.conftest import NetFactory
from tests.support.devices import CERTIFIER, commission_msgs

pytestmark = pytest.mark.integration

playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / ".screenshots" / "dashboard"
REPO = Path(__file__).resolve().parents[2]
INTERVAL = 20
PARAMS = {
    "devices.settlement_interval_seconds": INTERVAL,
    "market.gate_closure_seconds": 4,
    "market.settlement_grace_seconds": 8,
    "certificates.period_seconds": INTERVAL,
    "devices.min_reading_seconds": 5,
}
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def net(module_localnet_factory: NetFactory) -> Localnet:
    return module_localnet_factory("dashboard", n=4, params=PARAMS)


PV, METER, BATTERY = "pv-dash", "meter-dash", "bat-dash"
PV_W = 1_000_000
SOCS = (5_000, 5_090, 5_135)  # Wh, as the battery reports its state of charge


def _tx(net: Localnet, ref: str, *msgs: Any) -> None:
    client = GridClient(CometRPC(f"http://127.0.0.1:{net.ports(1).rpc}", timeout=30), net.chain_id,
                        net.consortium().member(ref).key)  # fmt: skip
    result = client.submit(list(msgs))
    assert result.code == 0, result.log


@pytest.fixture(scope="module")
def pv_hour(net: Localnet) -> int:
    """Alice's commissioned PV, her meter and her battery with an hour (a 20 s certificate period here) of
    signed readings, posted before the other tests run so that the PV's certificates are issued by the time
    the audit test retires some: the production hour's start."""
    c = net.consortium()
    key, meter, battery = DeviceKey.generate(), DeviceKey.generate(), DeviceKey.generate()
    cert = c.device_ca().issue_device_cert(PV, "pv", key.public_bytes, PV_W)
    _tx(net, "community-a/alice", dc.register_site("dash-a", "fdash", "nl"), dc.register_device(
        PV, "dash-a", "pv", key.public_bytes, PV_W, grid_region="nl", country="NL", energy_source="solar",
        device_cert=cert), dc.register_device(METER, "dash-a", "meter", meter.public_bytes, PV_W),
        dc.register_device(BATTERY, "dash-a", "battery", battery.public_bytes, PV_W, capacity_wh=10_000,
                           max_charge_w=100_000, max_discharge_w=100_000, efficiency_bp=9_000))  # fmt: skip
    _tx(net, CERTIFIER, *commission_msgs(PV))
    hour = (int(time.time()) // INTERVAL + 2) * INTERVAL
    half = INTERVAL // 2
    spans = [(hour - half, hour), (hour, hour + half), (hour + half, hour + INTERVAL)]
    readings = [
        dc.sign_reading(key.private, net.chain_id, Reading(PV, i + 1, a, b, 0, e))
        for i, ((a, b), e) in enumerate(zip(spans, (1_000, 1_100, 1_200), strict=True))
    ]  # the first: baseline
    readings += [
        dc.sign_reading(meter.private, net.chain_id, Reading(METER, i + 1, a, b, w, 0))
        for i, ((a, b), w) in enumerate(zip(spans, (500, 540, 580), strict=True))
    ]  # 80 Wh used in the hour
    readings += [dc.sign_reading(battery.private, net.chain_id, Reading(BATTERY, i + 1, a, b, w, 0, w, 0, soc))
                 for i, ((a, b), w, soc) in enumerate(zip(spans, (0, 100, 150), SOCS, strict=True))]  # fmt: skip
    _tx(net, "community-a/alice", dc.submit_readings(readings))
    return hour


@pytest.fixture(scope="module")
def dashboard(net: Localnet, pv_hour: int) -> Iterator[str]:
    """The dashboard beside the net (node0 first), stopped also when a test fails."""
    port = net.base_port + PORT_OFFSET
    assert _port_free(port)
    rpcs = [f"http://127.0.0.1:{net.ports(i).rpc}" for i in range(net.n)]
    proc = start_dashboard(rpcs, port, net.home / "logs" / "dashboard.log")
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/api/network", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def page(dashboard: str) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make setup installs it)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            pg = browser.new_page(viewport={"width": 1100, "height": 900})
            pg.set_default_timeout(WAIT_MS)
            yield pg
        finally:
            browser.close()


def gridctl(net: Localnet, *args: str) -> Any:
    """The --json answer of a gridctl command that must succeed (run as a subprocess)."""
    cmd = [sys.executable, "-m", "clients.gridctl", "--json", "--node", f"http://127.0.0.1:{net.ports(1).rpc}"]
    r = subprocess.run(
        [*cmd, "--home", str(net.home), *args], check=False, capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def wait_height_above(page: Any, height: int, *, timeout: float = 60.0) -> int:
    """The live height in the page's status line once it is above `height` (the page's CSP forbids
    Playwright's evaluated predicates, so this polls from here)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.locator("#status").get_attribute("data-height")
        if value is not None and int(value) > height:
            return int(value)
        assert time.monotonic() < deadline, f"no live block above {height} within {timeout}s"
        time.sleep(0.3)


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_network_view_shows_the_validators_and_heights(page: Any, dashboard: str, net: Localnet) -> None:
    """The network view lists the 4 validators with their power, every node up, and the chain id gridctl reports."""
    status = gridctl(net, "status")
    page.goto(dashboard + "/#network")
    page.wait_for_selector("#network-validators tbody tr")
    assert page.locator("#network-validators tbody tr").count() == net.n
    assert page.locator("#network-nodes td[data-col=up]").all_inner_texts() == ["up"] * net.n
    summary = page.locator("#network-summary").inner_text()
    assert f"chain {status['chain_id']}" in summary
    assert f"reading from http://127.0.0.1:{net.ports(0).rpc}" in summary
    assert "agree" in summary
    assert int(page.locator("#network-summary").get_attribute("data-height")) >= status["height"] - 1
    wait_height_above(page, 0)  # a live block arrived
    shot(page, "network")


def test_home_shows_the_member_and_an_alert_arrives_live(page: Any, dashboard: str, net: Localnet) -> None:
    """Bob's page shows the balance gridctl reads; a buy rule with no seller raises an alert that appears live
    with the exact gridctl command that accepts new terms."""
    bob = ["--as", "community-a/bob"]
    gridctl(net, *bob, "site", "register", "dash-b", "--feeder", "fdash")
    gridctl(
        net, "--as", "gridop/control", "tariff", "set", "--supplier", "utility/treasury", "--retail", "3200",
        "--feed-in", "800", "--imbalance-short", "4000", "--imbalance-long", "500",
    )  # fmt: skip  # the supplier of last resort sells above the rule's limit: the rule cannot be met
    page.goto(dashboard + "/#home")
    page.fill("#home-member", "community-a/bob")
    page.click("#home-form button")
    page.wait_for_selector("#home-summary[data-balance]")
    account = gridctl(net, "account", "community-a/bob")
    assert page.locator("#home-summary").get_attribute("data-balance") == str(account["balance"])
    rule = gridctl(
        net, *bob, "rule", "set", "buy", "--site", "dash-b", "--limit", "500", "--max-wh-per-interval", "100",
        "--max-wh-per-day", "100000", "--daily-budget", "100000",
    )  # fmt: skip
    try:
        page.wait_for_selector("#home-live-alerts li", timeout=150_000)
    except playwright_sync.TimeoutError as exc:
        stored = gridctl(net, *bob, "alerts")["items"]
        raise AssertionError(
            f"no live alert on the page; alerts on chain: {stored}; status: {page.locator('#status').inner_text()}"
        ) from exc
    text = page.locator("#home-live-alerts li").first.inner_text()
    alerts = gridctl(net, *bob, "alerts")["items"]
    assert any(f"alert {a['alert_id']} (rule {rule['rule_id']}" in text for a in alerts)
    assert "gridctl --as community-a/bob accept" in text
    page.click("#home-form button")  # reload without Bob's key: his rules and alerts are private on the nodes
    page.wait_for_selector('#home-private:has-text("private: load the member\'s key to read this")')
    assert "rules" in (page.locator("#home-private").get_attribute("data-private") or "")
    key_file = net.home / "consortium" / "community-a" / "members" / "bob.key.pem"
    page.wait_for_selector("#action-sign[data-ready]")
    page.set_input_files("#key-file", str(key_file))  # the page signs a read grant and reloads
    page.wait_for_selector(f"#home-rules td[data-col=rule_id]:text-is('{rule['rule_id']}')")
    assert page.locator("#home-private").inner_text() == ""
    page.wait_for_selector("#home-alerts td[data-col=accept_command]")
    shot(page, "home")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "home-phone")
    page.set_viewport_size({"width": 1100, "height": 900})


def test_market_view_shows_the_book_gridctl_lists(page: Any, dashboard: str, net: Localnet) -> None:
    """An order placed for a future interval is in that interval's book on the page as in `gridctl book`."""
    carol = ["--as", "community-b/carol"]
    gridctl(net, *carol, "site", "register", "dash-c", "--feeder", "fdash")
    status = gridctl(net, "status")
    import datetime as dt

    chain_now = int(dt.datetime.fromisoformat(status["time"][:19] + "+00:00").timestamp())
    interval = chain_now // INTERVAL * INTERVAL + 30 * INTERVAL
    placed = gridctl(net, *carol, "order", "place", "buy", str(interval), "300", "700", "--site", "dash-c")
    book = gridctl(net, "book", str(interval))["items"]
    page.goto(dashboard + "/#market")
    page.fill("#market-interval", str(interval))
    page.click("#market-form button")
    page.wait_for_selector(f"#market-summary[data-interval='{interval}']")
    ids = page.locator("#market-book td[data-col=order_id]").all_inner_texts()
    assert ids == [str(o["order_id"]) for o in book]
    assert str(placed["order_id"]) in ids
    shot(page, "market")
    page.fill("#market-interval", "-20")
    page.click("#market-form button")
    page.wait_for_selector("#market-error:has-text('must not be negative')")
    assert page.locator("#market-book td[data-col=order_id]").all_inner_texts() == ids  # nothing changed


def test_certificates_grid_and_audit_views(page: Any, dashboard: str, net: Localnet) -> None:
    """The certificates registry and the grid's feeder limits match gridctl; a bad audit input is refused plainly."""
    gridctl(net, "--as", "gridop/control", "feeder", "limit", "fdash", "--import-wh", "5000", "--export-wh", "4000")
    page.goto(dashboard + "/#certificates")
    page.wait_for_selector("#cert-table table, #cert-table .empty")
    active = gridctl(net, "cert", "list", "--status", "active")["items"]
    assert page.locator("#cert-table td[data-col=bundle_id]").count() == len(active)
    page.fill("#cert-value", "<img src=x onerror=alert(1)>")
    page.select_option("#cert-kind", "device")
    page.click("#cert-form button")
    page.wait_for_selector("#cert-error:has-text('device id must be')")
    shot(page, "certificates")
    page.goto(dashboard + "/#grid")
    page.wait_for_selector("#grid-feeders td")
    limits = gridctl(net, "feeder", "list")["items"]
    assert page.locator("#grid-feeders td[data-col=feeder]").all_inner_texts() == [f["feeder"] for f in limits]
    assert "fdash" in [f["feeder"] for f in limits]
    feeder = page.locator("#grid-oneline .feeder[data-feeder='fdash']")
    assert "limits now import 5000 / export 4000 Wh" in (feeder.get_attribute("aria-label") or "")
    shot(page, "grid")
    page.goto(dashboard + "/#audit")
    page.wait_for_selector("#audit-form[data-ready]")
    page.fill("#audit-export", '{"height": "5"}')
    page.fill("#audit-anchor", "not-a-hash")
    page.click("#audit-form button")
    page.wait_for_selector("#audit-verdict:has-text('NOT VERIFIED: the trust anchor must be')")


def test_accepting_new_terms_from_the_page_commits_a_tx(page: Any, dashboard: str, net: Localnet) -> None:
    """Bob picks his open alert on the page; a negative price gets a clear message and no command; with a
    new limit the page shows the gridctl command, which (run with Bob's key) commits the acceptance."""
    bob = ["--as", "community-a/bob"]
    open_alerts = [a for a in gridctl(net, *bob, "alerts")["items"] if not a["accepted"]]
    assert open_alerts, "the home test's rule raised no alert"
    alert_id = str(max(a["alert_id"] for a in open_alerts))
    page.goto(dashboard + "/#home")
    page.fill("#home-member", "community-a/bob")
    page.click("#home-form button")
    page.wait_for_selector("#home-summary[data-ref='community-a/bob']")
    page.wait_for_selector("#action-sign[data-ready]")
    page.set_input_files("#key-file", str(net.home / "consortium" / "community-a" / "members" / "bob.key.pem"))
    row = page.locator("#home-alerts tbody tr", has=page.locator(f"td[data-col=alert_id]:text-is('{alert_id}')"))
    row.click()
    assert page.input_value("#action-alert") == alert_id
    page.fill("#action-limit", "-5")
    page.click("#action-form button")
    page.wait_for_selector("#action-error:has-text('new limit price must not be negative')")
    assert page.locator("#action-command").inner_text() == ""
    page.fill("#action-limit", "3300")
    page.click("#action-form button")
    page.wait_for_selector("#action-command[data-argv]")
    argv = json.loads(page.locator("#action-command").get_attribute("data-argv") or "[]")
    assert argv == ["gridctl", *bob, "accept", alert_id, "--limit", "3300"]
    assert page.locator("#action-command").inner_text() == " ".join(argv)
    shot(page, "home-action")
    done = gridctl(net, *argv[1:])  # the shown command, with this net's --node and --home
    assert done["alert_id"] == int(alert_id)
    accepted = {str(a["alert_id"]): a["accepted"] for a in gridctl(net, *bob, "alerts")["items"]}
    assert accepted[alert_id] is True
    page.click("#home-form button")
    page.wait_for_selector(
        f"#home-alerts tr:has(td[data-col=alert_id]:text-is('{alert_id}')) td[data-col=accepted]:text-is('true')"
    )


def test_cancelling_an_order_signed_in_the_page_commits_a_tx(page: Any, dashboard: str, net: Localnet) -> None:
    """Carol loads her key file in the page (a malformed file and Bob's key are refused plainly, a negative
    order id gets a message), signs the cancellation of her open order there and it commits."""
    carol = ["--as", "community-b/carol"]
    open_orders = [o for o in gridctl(net, *carol, "order", "list")["items"] if o["status"] == "ORDER_STATUS_OPEN"]
    assert open_orders, "the market test's order is not open"
    order_id = str(open_orders[0]["order_id"])
    members = net.home / "consortium"
    page.goto(dashboard + "/#home")
    page.fill("#home-member", "community-b/carol")
    page.click("#home-form button")
    page.wait_for_selector("#home-summary[data-ref='community-b/carol']")
    page.wait_for_selector("#action-sign[data-ready]")
    page.set_input_files("#key-file", str(net.node_home(0) / "config" / "genesis.json"))
    page.wait_for_selector("#key-status.error:has-text('PKCS#8 PEM')")
    page.set_input_files("#key-file", str(members / "community-a" / "members" / "bob.key.pem"))
    page.wait_for_selector("#key-status.ok")
    page.select_option("#action-kind", "order-cancel")
    page.fill("#action-order", order_id)
    page.click("#action-sign")
    page.wait_for_selector('#action-error:has-text("this key is not community-b/carol\'s")')
    page.set_input_files("#key-file", str(members / "community-b" / "members" / "carol.key.pem"))
    address = page.locator("#home-summary").get_attribute("data-address")
    page.wait_for_selector(f"#key-status[data-address='{address}']")
    page.fill("#action-order", "-3")
    page.click("#action-sign")
    page.wait_for_selector("#action-error:has-text('order id must not be negative')")
    page.fill("#action-order", order_id)
    page.click("#action-sign")
    page.wait_for_selector("#action-result.ok:has-text('committed at height')")
    shot(page, "home-signed")
    assert gridctl(net, "order", "show", order_id)["status"] == "ORDER_STATUS_CANCELLED"


def _export_a_retirement(net: Localnet, hour: int) -> str:
    """Alice retires 50 Wh of her PV's issued certificates (gridctl) and an auditor exports the
    retirement through node 2's bridge: the export's protobuf JSON."""
    rpc = CometRPC(f"http://127.0.0.1:{net.ports(1).rpc}", timeout=10)

    def bundles() -> list[Any]:
        answer = rpc.abci_query(CertificatesPaths.BUNDLES("device", PV))
        raw = base64.b64decode(answer.get("value") or "") if int(answer.get("code", 0)) == 0 else b""
        return list(certificates_pb2.BundleList.FromString(raw).bundles)

    deadline = time.monotonic() + 120
    while not (issued := [b for b in bundles() if b.status == certificates_pb2.BUNDLE_STATUS_ACTIVE]):
        assert time.monotonic() < deadline, "the PV's certificates were not issued"
        time.sleep(1)
    gridctl(
        net, "--as", "community-a/alice", "cert", "retire", str(issued[0].bundle_id), "50", "--purpose", "audit",
        "--consumption-start", str(hour), "--consumption-end", str(hour + INTERVAL),
    )  # fmt: skip
    rid = next(b.retirement_id for b in bundles() if b.retirement_id)
    net.start_bridge(2)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{net.ports(2).bridge}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            stub = certificates_api_pb2_grpc.CertificatesApiStub(channel)  # type: ignore[no-untyped-call]
            export = stub.ExportRetirement(reads_pb2.ByNumber(id=rid), timeout=60)
    finally:
        net.stop_bridge(2)
    assert export.retirement.wh == 50
    return json_format.MessageToJson(export)


def test_audit_verifies_a_real_export_in_the_browser(page: Any, dashboard: str, net: Localnet, pv_hour: int) -> None:
    """A real retirement export verifies in the page from the genesis file the auditor loads; the same export
    with its amount changed, with a forged signature, or checked against another anchor is NOT VERIFIED."""
    text = _export_a_retirement(net, pv_hour)
    genesis = net.node_home(0) / "config" / "genesis.json"
    page.goto(dashboard + "/#audit")
    page.wait_for_selector("#audit-form[data-ready]")
    page.fill("#audit-export", text)
    page.set_input_files("#audit-anchor-file", str(genesis))
    deadline = time.monotonic() + 10
    while not page.input_value("#audit-anchor").startswith("{"):
        assert time.monotonic() < deadline, "the genesis file was not loaded"
        time.sleep(0.1)
    page.click("#audit-form button")
    page.wait_for_selector("#audit-verdict.ok")
    verdict = page.locator("#audit-verdict")
    assert verdict.inner_text().startswith("VERIFIED in this browser")
    assert verdict.get_attribute("data-wh") == "50"
    assert verdict.get_attribute("data-retirement-id") == str(json.loads(text)["retirement"]["retirementId"])
    shot(page, "audit")

    amount = json.loads(text)
    amount["retirement"]["wh"] = "5000"
    forged = json.loads(text)
    signed = json.loads(forged["signedHeaderJson"])
    sig = next(s for s in signed["commit"]["signatures"] if s["signature"])
    raw = bytearray(base64.b64decode(sig["signature"]))
    raw[7] ^= 1
    sig["signature"] = base64.b64encode(bytes(raw)).decode()
    forged["signedHeaderJson"] = json.dumps(signed)
    for export, anchor, reason in (
        (json.dumps(amount), None, "wh = 5000"),
        (json.dumps(forged), None, "bad precommit signature"),
        (text, "ab" * 32, "not the trusted one"),
    ):
        page.fill("#audit-export", export)
        if anchor is not None:
            page.fill("#audit-anchor", anchor)
        page.click("#audit-form button")
        page.wait_for_selector(f"#audit-verdict.error:has-text('NOT VERIFIED'):has-text('{reason}')")
    shot(page, "audit-rejected")


def test_alices_forecasts_matching_heatmap_and_residual_mix(
    page: Any, dashboard: str, net: Localnet, pv_hour: int
) -> None:
    """After the audit test's retirement: Alice's page charts her battery's state of charge as it signed it
    and her PV's forecasts against its readings; her matching heat-map's 24/7 score is the one gridctl
    computes over the same hours (her 50 Wh claimed of the 80 Wh her meter read); her region's residual mix
    is charted, and gridctl shows the 50 Wh claimed in the PV's hour."""
    page.goto(dashboard + "/#home")
    page.fill("#home-member", "community-a/alice")
    page.click("#home-form button")
    page.wait_for_selector("#home-summary[data-ref='community-a/alice']")
    page.wait_for_selector("#action-sign[data-ready]")
    # her battery, forecasts and matching are private on the nodes: the page reads them under her read grant
    page.set_input_files("#key-file", str(net.home / "consortium" / "community-a" / "members" / "alice.key.pem"))
    page.wait_for_selector(f"#home-forecasts canvas[aria-label*='{PV}']")
    soc = page.locator("#chart-soc-day")
    assert soc.get_attribute("data-points") == ",".join(str(100 * w // 10_000) for w in SOCS)
    shot(page, "home-forecasts")
    page.goto(dashboard + "/#certificates")
    page.fill("#match-member", "community-a/alice")
    page.click("#match-form button")
    page.wait_for_selector("#match-score[data-score-bp]")
    score = page.locator("#match-score")
    expected = gridctl(
        net, "--as", "community-a/alice", "score", "community-a/alice", score.get_attribute("data-from") or "",
        score.get_attribute("data-to") or "",
    )  # fmt: skip
    assert score.get_attribute("data-score-bp") == str(expected["score_bp"])
    assert (expected["matched_wh"], expected["consumption_wh"]) == (50, 80)
    page.wait_for_selector("#match-residual h4:text-is('nl')")
    assert gridctl(net, "residual", "nl", str(pv_hour))["claimed_wh"] == 50
    page.locator("#match-body").scroll_into_view_if_needed()
    shot(page, "certificates-matching")


def test_the_page_keeps_working_with_its_node_killed(page: Any, dashboard: str, net: Localnet) -> None:
    """With node0 (the dashboard's first node) killed, the network view reads from another node, marks node0
    down, and live blocks keep arriving from another node's websocket."""
    net.stop_pair(0, kill=True)
    try:
        page.goto(dashboard + "/#network")
        page.wait_for_selector("#network-nodes td[data-col=up]:text-is('DOWN')")
        summary = page.locator("#network-summary").inner_text()
        assert f"reading from http://127.0.0.1:{net.ports(0).rpc}" not in summary
        height = int(page.locator("#network-summary").get_attribute("data-height"))
        wait_height_above(page, height)
        assert f"127.0.0.1:{net.ports(0).rpc}" not in page.locator("#status").inner_text()
        shot(page, "network-failover")
        page.goto(dashboard + "/#home")
        page.fill("#home-member", "community-a/bob")
        page.click("#home-form button")
        page.wait_for_selector("#home-summary[data-balance]")
    finally:
        net.start_pair(0)
