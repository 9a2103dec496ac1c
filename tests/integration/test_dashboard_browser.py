"""The dashboard in a real browser (Debian's chromium, headless, driven by Playwright) against a
real 4-validator localnet: every view renders chain data that matches `gridctl --json`; an alert
raised by a rule that cannot be met appears live on the member's page; bad input gets a clear
message; the page keeps working when its node is killed. A screenshot of every view is saved
under .screenshots/dashboard/ (git-ignored).

The chain runs on accelerated clocks (20 s intervals, 4 s gate closure) so that a standing rule
meets its gate closure within seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clients.ops.localnet import Localnet, _port_free
from clients.servers.dashboard.launch import PORT_OFFSET, start_dashboard
from tests.integration.conftest import NetFactory

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


@pytest.fixture(scope="module")
def dashboard(net: Localnet) -> Iterator[str]:
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
    page.click("#home-form button")  # reload: the rule and the stored alert are listed
    page.wait_for_selector(f"#home-rules td[data-col=rule_id]:text-is('{rule['rule_id']}')")
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
    shot(page, "grid")
    page.goto(dashboard + "/#audit")
    page.fill("#audit-export", '{"height": "5"}')
    page.fill("#audit-anchor", "not-a-hash")
    page.click("#audit-form button")
    page.wait_for_selector("#audit-error:has-text('trust anchor')")
    page.fill("#audit-anchor", "00" * 32)
    page.click("#audit-form button")
    page.wait_for_selector("#audit-verdict:has-text('NOT VERIFIED')")
    shot(page, "audit")


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
