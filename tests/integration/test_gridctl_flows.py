"""gridctl's main flows end to end against a real one-validator chain, in table and --json form:
sites, devices and device-signed readings from a key file; tariffs set by the grid operator;
orders and the book; certificates issued from PV readings, transferred and shown; a new
member's key, CSR, certificate signed by the org CA and enrolment; alerts followed live and
answered with new terms; a failed tx naming its code and exiting 2; a statement past the market's
(90-second) retention answered RECORD_ARCHIVED and proven from the archive by `market-archived`; a
demand-response enrolment past the grid's (60-second) retention proven by `dr archived`.

The chain runs on accelerated clocks (20 s delivery intervals and certificate periods, 4 s
gate closure, 5 s minimum readings) so that a standing rule meets its gate closure within
seconds and a device registered now completes a certificate period within seconds (a device
reads only from its registration on).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import grpc
import pytest

from clients.gridctl import main as gridctl
from clients.ops.localnet import Localnet
from tests.integration.conftest import NetFactory

pytestmark = pytest.mark.integration

INTERVAL, GATE = 20, 4
PARAMS = {
    "devices.settlement_interval_seconds": INTERVAL,
    "market.gate_closure_seconds": GATE,
    "market.settlement_grace_seconds": 8,
    "certificates.period_seconds": INTERVAL,  # genesis may go below 900 s
    "devices.min_reading_seconds": 5,
    # settled intervals leave live state 90 s after their settlement (the last test proves one); an
    # alert leaves about two minutes after it was raised, well after the alerts test has answered it
    "market.retention_seconds": 90,
    "market.correction_window_seconds": 0,
    # a device may enrol in demand response 10 s after its registration; a settled event's
    # enrolments leave live state 20 s after its settlement (the last test proves one)
    "grid.dr_baseline_days": 1,
    "grid.dr_baseline_period_seconds": 10,
    "grid.dr_settlement_grace_seconds": 4,
    "grid.dr_retention_seconds": 20,
}
HOUR = INTERVAL  # the certificate "hour" of this chain
PV2_W = 1_000_000  # 1500 Wh in one 20 s period is within it (3600 × 1499 < PV2_W × 20)


@pytest.fixture(scope="module")
def net(module_localnet_factory: NetFactory) -> Localnet:
    return module_localnet_factory("gridctl-flows", n=1, params=PARAMS)


class Cli:
    """Runs gridctl in-process against the net and captures what it prints."""

    def __init__(self, net: Localnet, capsys: pytest.CaptureFixture[str]) -> None:
        self.base = ["--node", f"http://127.0.0.1:{net.ports(0).rpc}", "--home", str(net.home)]
        self.capsys = capsys

    def table(self, *args: str) -> tuple[int, str, str]:
        """(exit status, stdout, stderr) of a command in table form."""
        code = gridctl([*self.base, *args])
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def json(self, *args: str) -> Any:
        """The parsed --json answer of a command that must succeed."""
        code = gridctl(["--json", *self.base, *args])
        out = self.capsys.readouterr()
        assert code == 0, out.err
        return json.loads(out.out)

    def chain_time(self) -> int:
        stamp = self.json("status")["time"]
        return int(dt.datetime.fromisoformat(stamp[:19] + "+00:00").timestamp())


@pytest.fixture
def cli(net: Localnet, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(net, capsys)


def test_site_device_reading_in_both_forms(cli: Cli, tmp_path: Path) -> None:
    """A site and a PV device registered, a reading signed with the device's key file is
    accepted and shown; tables carry units, --json the same numbers."""
    key = tmp_path / "pv.pem"
    generated = cli.json("keys", "generate", str(key))
    assert len(generated["public_key"]) == 64
    code, out, err = cli.table("--as", "community-a/alice", "site", "register", "flows-a", "--feeder", "fa")
    assert code == 0, err
    assert "committed" in out
    assert "flows-a" in out
    code, out, err = cli.table(
        "--as", "community-a/alice", "device", "register", "flows-pv", "--site", "flows-a", "--kind", "pv",
        "--key-file", str(key), "--nameplate-w", "4000", "--energy-source", "solar",
    )  # fmt: skip
    assert code == 0, err
    device = cli.json("device", "show", "flows-pv")
    assert device["public_key"] == generated["public_key"]
    assert device["nameplate_w"] == 4000
    assert device["suspended"] is False
    code, out, _ = cli.table("device", "show", "flows-pv")
    assert "4000 W" in out
    listed = cli.json("device", "list", "--owner", "community-a/alice")
    assert [d["device_id"] for d in listed["items"]] == ["flows-pv"]
    assert listed["next"] == ""

    now = cli.chain_time()  # at or after the registration: readings start at the next interval
    start = now - now % INTERVAL + INTERVAL
    first = cli.json(
        "--as", "community-a/alice", "reading", "submit", "flows-pv", "--device-key", str(key),
        "--start", str(start), "--end", str(start + INTERVAL), "--export-wh", "100",
    )  # fmt: skip
    assert (first["outcome"], first["seq"]) == ("accepted", 1)
    code, out, err = cli.table(
        "--as", "community-a/alice", "reading", "submit", "flows-pv", "--device-key", str(key),
        "--start", str(start + INTERVAL), "--end", str(start + 2 * INTERVAL), "--export-wh", "110",
    )  # fmt: skip
    assert code == 0, err
    assert "accepted" in out
    alice = ("--as", "community-a/alice")  # readings are private on the node: the owner reads them with her key
    code, _, err = cli.table("reading", "show", "flows-pv")
    assert code != 0
    assert "private" in err
    last = cli.json(*alice, "reading", "show", "flows-pv")
    assert (last["seq"], last["export_wh"], last["end"]) == (2, 110, start + 2 * INTERVAL)
    energy = cli.json(*alice, "energy", "flows-pv", str(start + INTERVAL))
    assert energy["export_wh"] == 10
    code, out, _ = cli.table(*alice, "energy", "flows-pv", str(start + INTERVAL))
    assert "10 Wh" in out

    # a reading signed by another key is kept out, with its reason code in the answer
    other = tmp_path / "other.pem"
    cli.json("keys", "generate", str(other))
    forged = cli.json(
        "--as", "community-a/alice", "reading", "submit", "flows-pv", "--device-key", str(other),
        "--start", str(start + 2 * INTERVAL), "--end", str(start + 3 * INTERVAL), "--export-wh", "120",
    )  # fmt: skip
    assert forged["outcome"] == "rejected"
    assert forged["reject_code"] > 0
    assert cli.json(*alice, "reading", "show", "flows-pv")["seq"] == 2


def test_operator_sets_tariffs_and_fees(cli: Cli) -> None:
    """gridop/control sets tariffs and fees; a prosumer's attempt fails with the code name and exit 2."""
    code, out, err = cli.table(
        "--as", "gridop/control", "tariff", "set", "--supplier", "utility/treasury", "--retail", "3200",
        "--feed-in", "800", "--imbalance-short", "4000", "--imbalance-long", "500",
    )  # fmt: skip
    assert code == 0, err
    assert "3200 minor units/kWh" in out
    tariffs = cli.json("tariff", "show")
    assert (tariffs["retail_per_kwh"], tariffs["feed_in_per_kwh"]) == (3200, 800)
    assert tariffs["supplier"] == cli.json("--as", "utility/treasury", "whoami")["address"]
    assert cli.json("--as", "gridop/control", "fees", "set", "--intra", "100", "--inter", "300")["code"] == 0
    assert cli.json("fees", "show")["inter_feeder_per_kwh"] == 300
    code, _, err = cli.table("--as", "community-a/bob", "fees", "set", "--intra", "1", "--inter", "2")
    assert code == 2
    assert err.startswith("error: code 14 (UNAUTHORIZED): ")
    assert "operator" in err
    assert cli.json("fees", "show")["intra_feeder_per_kwh"] == 100


def test_order_placed_and_listed_in_the_book(cli: Cli) -> None:
    """A buy order escrows its maximum cost and appears in the interval's book and the owner's orders."""
    assert cli.json("--as", "community-b/carol", "site", "register", "flows-c", "--feeder", "fc")["code"] == 0
    interval = cli.chain_time() // INTERVAL * INTERVAL + 20 * INTERVAL
    placed = cli.json(
        "--as", "community-b/carol", "order", "place", "buy", str(interval), "500", "2600", "--site", "flows-c"
    )
    order_id = placed["order_id"]
    assert order_id > 0
    book = cli.json("book", str(interval))
    assert [o["order_id"] for o in book["items"]] == [order_id]
    assert book["items"][0]["status"] == "ORDER_STATUS_OPEN"
    assert book["items"][0]["escrow"] > 0
    code, out, _ = cli.table("book", str(interval))
    assert code == 0
    assert "500 Wh" in out
    assert "2600 minor units/kWh" in out
    mine = cli.json("--as", "community-b/carol", "order", "list")
    assert order_id in [o["order_id"] for o in mine["items"]]
    assert cli.json("--as", "community-b/carol", "order", "cancel", str(order_id))["code"] == 0
    assert cli.json("order", "show", str(order_id))["status"] == "ORDER_STATUS_CANCELLED"
    code, _, err = cli.table("--as", "community-b/carol", "order", "cancel", str(order_id))
    assert code == 2
    assert err.startswith("error: code 2")  # the market's own code range, 200-216
    assert "(" in err.split(":")[1]


def test_certificates_issued_transferred_and_shown(cli: Cli, tmp_path: Path) -> None:
    """PV readings covering a certificate period issue a bundle; transferring part of it splits it, the
    buyer's piece is listed, and the history records issue and split."""
    key = tmp_path / "pv2.pem"
    cli.json("keys", "generate", str(key))
    alice = ["--as", "community-a/alice"]
    cli.json(*alice, "site", "register", "flows-cert", "--feeder", "fa", "--region", "north")
    cli.json(
        *alice, "device", "register", "flows-pv2", "--site", "flows-cert", "--kind", "pv",
        "--key-file", str(key), "--nameplate-w", str(PV2_W), "--energy-source", "solar",
    )  # fmt: skip
    # certified by the localnet's test device CA (the default), then commissioned by the certifier
    assert cli.json("device", "show", "flows-pv2")["cert_ca_id"] == "test-devices"
    cli.json(
        "--as", "certissuer/registry", "device", "commission", "flows-pv2",
        "--valid-from", "0", "--expiry", str(1 << 40),
    )  # fmt: skip
    assert cli.json("device", "commissioning", "flows-pv2")["expiry"] == 1 << 40
    half = HOUR // 2
    # the first period that starts at least a baseline reading after the registration
    hour = -(-(cli.chain_time() + half) // HOUR) * HOUR
    for start, end, export in ((hour - half, hour, 0), (hour, hour + half, 700), (hour + half, hour + HOUR, 1500)):
        r = cli.json(
            *alice, "reading", "submit", "flows-pv2", "--device-key", str(key),
            "--start", str(start), "--end", str(end), "--export-wh", str(export),
        )  # fmt: skip
        assert r["outcome"] == "accepted"
    # once the period is over (its readings end up to 40 s ahead, within the future allowance),
    # a block later the hour's bundle is issued by the end-block hook
    deadline = time.monotonic() + 90
    bundles = cli.json("cert", "list", "--device", "flows-pv2")["items"]
    while not bundles and time.monotonic() < deadline:
        time.sleep(0.5)
        bundles = cli.json("cert", "list", "--device", "flows-pv2")["items"]
    assert len(bundles) == 1
    bundle = bundles[0]
    assert (bundle["wh"], bundle["hour_start"], bundle["status"]) == (1500, hour, "BUNDLE_STATUS_ACTIVE")
    code, out, err = cli.table(*alice, "cert", "transfer", str(bundle["bundle_id"]), "400", "community-b/dave")
    assert code == 0, err
    assert "bundle_transferred" in out
    dave = cli.json("cert", "list", "--owner", "community-b/dave")["items"]
    assert [(b["wh"], b["device_id"]) for b in dave] == [(400, "flows-pv2")]
    assert cli.json("cert", "show", str(bundle["bundle_id"]))["wh"] == 1100
    history = cli.json("cert", "history", str(bundle["bundle_id"]))
    assert [h["action"] for h in history] == ["issued", "split"]
    code, out, _ = cli.table("cert", "list", "--device", "flows-pv2")
    assert "1100 Wh" in out
    assert "400 Wh" in out
    residual = cli.json("residual", "north", str(hour))
    assert residual["issued_wh"] == 1500
    assert residual["residual_wh"] == 1500
    assert cli.json("cert", "list", "--status", "retired")["items"] == []


def test_new_member_key_csr_sign_enroll(cli: Cli, net: Localnet, tmp_path: Path) -> None:
    """A new member generates a key, makes a CSR, the org CA signs it, and the member enrols
    itself; a CA of another org refuses the CSR."""
    key, csr, cert = tmp_path / "erin.pem", tmp_path / "erin.csr", tmp_path / "erin.cert.pem"
    made = cli.json("keys", "generate", str(key))
    assert key.stat().st_mode & 0o077 == 0
    request = cli.json("csr", "create", "--key", str(key), "--org", "community-a", "--name", "erin",
                       "--roles", "prosumer", str(csr))  # fmt: skip
    assert request["address"] == made["address"]
    ca_dir = net.home / "consortium" / "community-a"
    signed = cli.json("csr", "sign", "--ca-dir", str(ca_dir), str(csr), str(cert))
    assert (signed["org"], signed["name"], signed["roles"]) == ("community-a", "erin", ["prosumer"])
    code, out, err = cli.table("--key", str(key), "enroll", str(cert))
    assert code == 0, err
    assert "committed" in out
    member = cli.json("member", made["address"])
    assert (member["org_id"], member["common_name"], member["roles"]) == ("community-a", "erin", ["prosumer"])
    code, _, err = cli.table(
        "csr", "sign", "--ca-dir", str(net.home / "consortium" / "community-b"), str(csr), str(tmp_path / "x")
    )
    assert code == 2
    assert "signs for 'community-b' only" in err


def test_alert_followed_live_and_new_terms_accepted(cli: Cli, net: Localnet) -> None:
    """A buy rule with no seller on the market raises an alert at gate closure; `alerts --watch`
    (the node's websocket) prints it, `alerts --watch --bridge` replays it from the bridge's
    Signals stream (resumed from a height before it), `alerts` lists it and `accept` answers it."""
    bob = ["--as", "community-a/bob"]
    cli.json(*bob, "site", "register", "flows-b", "--feeder", "fb")
    rule = cli.json(
        *bob, "rule", "set", "buy", "--site", "flows-b", "--limit", "500", "--max-wh-per-interval", "100",
        "--max-wh-per-day", "100000", "--daily-budget", "100000",
    )  # fmt: skip
    assert rule["rule_id"] > 0
    rules = cli.json(*bob, "rule", "list")["items"]
    assert rule["rule_id"] in [r["rule_id"] for r in rules]
    watched = cli.json(*bob, "alerts", "--watch", "--count", "1", "--timeout", "90")
    assert watched["rule_id"] == str(rule["rule_id"])
    assert watched["reason"] in {"no_seller", "price_above_limit", "feeder_limit"}
    net.start_bridge(0)
    target = f"127.0.0.1:{net.ports(0).bridge}"
    with grpc.insecure_channel(target) as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
    bridge = ["--bridge", target]
    since = str(int(watched["height"]) - 1)
    replayed = cli.json(*bridge, *bob, "alerts", "--watch", "--count", "1", "--from-height", since)
    assert {k: str(v) for k, v in replayed.items()} == {k: str(v) for k, v in watched.items()}
    alerts = cli.json(*bob, "alerts")["items"]
    alert = next(a for a in alerts if a["alert_id"] == int(watched["alert_id"]))
    assert alert["accepted"] is False
    code, out, _ = cli.table(*bob, "alerts")
    assert code == 0
    assert "alerts (" in out
    assert cli.json(*bob, "accept", str(alert["alert_id"]), "--limit", "900")["code"] == 0
    after = cli.json(*bob, "alerts")["items"]
    assert next(a for a in after if a["alert_id"] == alert["alert_id"])["accepted_price"] == 900
    assert cli.json(*bob, "rule", "remove", str(rule["rule_id"]))["code"] == 0


def test_capabilities_proposal_is_submitted_and_listed(cli: Cli) -> None:
    """`propose capabilities` submits a SetOrgCapabilities proposal, listed with its action and open for votes."""
    code, out, err = cli.table(
        "--as", "utility/admin", "propose", "capabilities", "--org-id", "community-b",
        "--capabilities", "gateway,prosumer,auditor", "--title", "auditors for B",
    )  # fmt: skip
    assert code == 0, err
    assert "capabilities" in out
    proposals = cli.json("proposals")
    mine = [p for p in proposals if p["title"] == "auditors for B"]
    assert len(mine) == 1
    assert mine[0]["action"] == "set_org_capabilities"
    assert mine[0]["status"] == "PROPOSAL_STATUS_VOTING"
    assert (mine[0]["proposer_org"], mine[0]["yes_orgs"]) == ("utility", [])
    assert cli.json("--as", "utility/admin", "vote", str(mine[0]["id"]), "yes")["vote"] == "yes"
    assert cli.json("proposals", "--id", str(mine[0]["id"]))[0]["yes_orgs"] == ["utility"]


def _alices_meter(cli: Cli, tmp_path: Path, device: str, *, site: str, feeder: str) -> Path:
    """Register a site of alice's on `feeder` and a meter `device` there with a new key; its key file."""
    key = tmp_path / f"{device}.pem"
    cli.json("keys", "generate", str(key))
    alice = ("--as", "community-a/alice")
    assert cli.json(*alice, "site", "register", site, "--feeder", feeder)["code"] == 0
    registered = cli.json(
        *alice, "device", "register", device, "--site", site, "--kind", "meter", "--key-file", str(key),
        "--nameplate-w", "20000",
    )  # fmt: skip
    assert registered["code"] == 0
    return key


def _settling_reading(cli: Cli, tmp_path: Path) -> int:
    """A meter of alice's reads a baseline, then 100 Wh that settle at the retail tariff into her
    statement of the returned interval."""
    alice = ("--as", "community-a/alice")
    key = _alices_meter(cli, tmp_path, "flows-m", site="flows-z", feeder="fz")
    now = cli.chain_time()
    first = now - now % INTERVAL + INTERVAL
    start = first + INTERVAL  # the first reading sets the register's baseline; the second's 100 Wh settle
    for begin, register in ((first, 10), (start, 110)):
        reading = cli.json(
            *alice, "reading", "submit", "flows-m", "--device-key", str(key),
            "--start", str(begin), "--end", str(begin + INTERVAL), "--import-wh", str(register),
        )  # fmt: skip
        assert reading["outcome"] == "accepted"
    return start


def _enrolled_event(cli: Cli, tmp_path: Path) -> int:
    """The operator publishes an event and a meter of alice's enrols; returns when its enrolments are
    due to leave live state."""
    alice = ("--as", "community-a/alice")
    _alices_meter(cli, tmp_path, "flows-dr-m", site="flows-dr", feeder="fdr")
    assert cli.json(*alice, "dr", "join", "flows-dr-m")["code"] == 0
    time.sleep(12)  # registered a baseline window (1 × 10 s) before the announcement
    now = cli.chain_time()
    start = now - now % INTERVAL + 2 * INTERVAL
    published = cli.json(
        "--as", "gridop/control", "dr", "publish", "flows-peak", "--feeder", "fdr", "--start", str(start),
        "--end", str(start + INTERVAL), "--reduction-wh", "100", "--reward", "10",
    )  # fmt: skip
    assert published["code"] == 0
    assert cli.json(*alice, "dr", "enrol", "flows-peak", "flows-dr-m")["code"] == 0
    enrolled = cli.json("dr", "show", "flows-peak")["enrolments"]
    assert [e["device_id"] for e in enrolled] == ["flows-dr-m"]
    return start + INTERVAL + PARAMS["grid.dr_settlement_grace_seconds"] + PARAMS["grid.dr_retention_seconds"]


def test_statements_and_enrolments_past_their_retention_are_proven_from_the_archive(cli: Cli, tmp_path: Path) -> None:
    """(Both in one test, so the chain's two retentions are waited out together.)

    A meter's reading settles at the retail tariff into a statement; 90 s after its settlement the
    statement leaves live state (its query answers RECORD_ARCHIVED, exit 1), and `market-archived`
    finds the block that archived it from when it was due and proves it against the app hash: the
    same statement, byte for byte in its fields.

    The operator publishes an event, a member's meter enrols; after the event settles and the
    grid's retention passes, `dr show` says the event is archived (its enrolments left live state)
    and `dr archived` finds the block that archived the enrolment from when it was due and proves it
    against the app hash."""
    alice = ("--as", "community-a/alice")
    start = _settling_reading(cli, tmp_path)
    dr_due = _enrolled_event(cli, tmp_path)
    statement: dict[str, Any] = {}
    deadline = time.monotonic() + 120
    while not statement and time.monotonic() < deadline:  # settled at start + INTERVAL + the grace
        code, out, _ = cli.table("--json", *alice, "statement", "--interval", str(start))  # private: hers
        statement = json.loads(out) if code == 0 else {}
        time.sleep(1)
    assert statement.get("retail_wh") == 100, statement
    due = start + INTERVAL + PARAMS["market.settlement_grace_seconds"] + PARAMS["market.retention_seconds"]
    code, err = 0, ""
    while time.monotonic() < deadline + 120:
        code, _, err = cli.table(*alice, "statement", "--interval", str(start))
        if code != 0:
            break
        time.sleep(2)
    assert code == 1, err
    assert "RECORD_ARCHIVED" in err or "221" in err, err
    assert cli.chain_time() >= due
    proven = cli.json("market-archived", "--since", str(due), "--statement", "community-a/alice",
                      "--interval", str(start))  # fmt: skip
    assert proven["proof"] == "verified"
    assert {k: proven[k] for k in statement} == statement

    event: dict[str, Any] = {}
    deadline = time.monotonic() + max(0, dr_due - cli.chain_time()) + 120
    while not event.get("archived") and time.monotonic() < deadline:
        event = cli.json("dr", "show", "flows-peak")
        time.sleep(2)
    assert event.get("archived"), event
    assert event.get("settled"), event
    assert "enrolments" not in event
    assert cli.chain_time() >= dr_due
    proven = cli.json("dr", "archived", "--since", str(dr_due), "--event", "flows-peak", "--device", "flows-dr-m")
    assert proven["proof"] == "verified"
    assert (proven["event_id"], proven["device_id"]) == ("flows-peak", "flows-dr-m")
    assert proven["settled"]
