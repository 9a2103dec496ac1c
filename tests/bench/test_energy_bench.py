"""The energy rows' in-process parts at a small size: the hooks are really timed, the orders
really clear and settle, certificates are really issued, and the originals come back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gridledger.market.v1 import market_pb2 as mpb

from abci_app.market import close as close_module
from abci_app.market import hooks as market_hooks
from abci_app.market.params import next_open_interval
from clients.ops.consortium import Consortium
from clients.ops.loadgen import Population, Signer
from tests.bench.energy import certificate_costs, market_costs, mixed_load_costs, timed_hooks
from tests.bench.energy_load import EnergyLoad, EnergyMix
from tests.bench.rules_pass import rules_pass_costs
from tests.bench.run import _energy_rows, rows
from tests.support.devices import CERTIFIER
from tests.support.driver import AppDriver


def test_market_costs_time_clearing_and_settlement_inside_the_hook(consortium: Consortium, tmp_path: Path) -> None:
    """Both books clear with fills; the crossing book settles at least as many fills as it has
    orders minus a few; every figure was measured (non-zero)."""
    out = market_costs(consortium, 400, lambda _s: None, rounds=1, folder=tmp_path)
    assert 0 < out["fills_of_that_book"] <= 2 * 400
    assert out["settle_fills"] >= 380
    for name in ("clearing_match_ms", "clearing_close_ms", "clearing_hook_ms", "settle_ms"):
        assert out[name] > 0, name
    assert out["clearing_close_ms"] >= out["clearing_match_ms"]
    assert out["clearing_hook_ms"] >= out["clearing_close_ms"]
    assert out["store"] == "sqlite"
    assert (tmp_path / "market.sqlite").exists()


def test_certificate_costs_issue_every_hour_and_count_state(consortium: Consortium) -> None:
    """Three PV devices for a day: 288 readings, issuance time and both domains' bytes measured."""
    out = certificate_costs(consortium, 3, lambda _s: None)
    assert out["readings"] == 3 * 96
    assert out["issuance_us_per_reading"] > 0
    assert out["cert_bytes_per_device_day"] > 24 * 50  # at least a bundle of some bytes per hour
    assert out["device_bytes_per_device_day"] > 0
    assert out["million_devices_year_tb"] > 0
    # past every retention window: the day's certificates were retired and archived, its readings pruned
    assert out["device_index_left"] == 0
    assert out["device_bytes_after_window"] == 0
    assert 0 < out["cert_bytes_after_window"] < out["cert_bytes_per_device_day"]
    assert out["device_bytes_per_device"] > 0
    assert 0 < out["million_devices_year_tb_one_day_retention"] < out["million_devices_year_tb_pruned"]
    # a live day's devices records exclude the per-device records the first readings created
    assert 0 < out["device_bytes_per_live_day"] < out["device_bytes_per_device_day"]
    assert out["device_bytes_per_device_day"] - out["device_bytes_per_live_day"] <= out["device_bytes_per_device"]
    # the retired bundles leave a day after retirement: the retirements, tallies and claims stay
    assert 0 < out["cert_bytes_per_retired_day_compacted"] < out["cert_bytes_per_retired_day"] / 2
    # then the devices' watermark passes them: their tallies and claims leave, the retirements stay
    assert 0 < out["cert_bytes_per_retired_day_retirements"] < out["cert_bytes_per_retired_day_compacted"]
    assert out["retired_bundle_days"] == 1
    hours = out["pv_producing_hours_per_day"]
    assert 8 < hours < 16  # a year's mean at 52° N: never 24
    assert out["million_devices_year_tb_pruned"] < out["million_devices_year_tb_every_hour"]
    days = out["cert_retention_days_within_goal"]
    fixed = (
        out["device_bytes_per_device"]
        + out["device_bytes_per_live_day"] * out["device_retention_days"]
        + out["bytes_after_window"] * 365
    )

    marked = out["device_retention_days"] + 1  # the watermark has passed the day's retirements

    def steady(d: int) -> float:
        kept = (
            out["cert_bytes_per_retired_day"]
            + out["cert_bytes_per_retired_day_compacted"] * (min(d, marked) - 1)
            + out["cert_bytes_per_retired_day_retirements"] * max(0, d - marked)
        )
        return float(fixed + kept * hours / 24)

    slack = 400  # the figures are rounded to whole bytes; the residue counts 365 times
    assert steady(days) <= 500_000 + slack
    assert steady(days + 1) > 500_000 - slack
    assert abs(steady(out["cert_retention_days"]) - out["steady_bytes_per_device"]) <= slack


SWAPPED = ((close_module, "clear"), (market_hooks, "close_interval"), (market_hooks, "settle_interval"))


def test_mixed_load_costs_measure_every_kind(consortium: Consortium) -> None:
    """The localnet's energy mix on one app: every kind passes CheckTx and is timed."""
    out = mixed_load_costs(consortium, 60, lambda _s: None)
    assert set(out["checktx_us"]) == {"readings", "order", "rule", "transfer"}
    assert all(v > 0 for v in out["checktx_us"].values())
    assert out["block_us_per_tx"] > 0


def test_timed_hooks_restores_the_originals() -> None:
    before = [getattr(module, name) for module, name in SWAPPED]
    with timed_hooks():
        assert all(getattr(m, n) is not f for (m, n), f in zip(SWAPPED, before, strict=True))
    assert [getattr(module, name) for module, name in SWAPPED] == before


def _energy_results() -> dict[str, Any]:
    """An energy part's results as the bench writes them (made-up figures)."""
    market = {
        "orders": 10_000,
        "clearing_match_ms": 15.0,
        "clearing_close_ms": 30.0,
        "clearing_hook_ms": 31.0,
        "settle_fills": 10_010,
        "settle_ms": 90.0,
        "settle_us_per_fill": 9.0,
        "clearing_close_first_ms": 40.0,
        "settle_first_ms": 120.0,
    }
    certs = {
        "issuance_us_per_reading": 11.0,
        "issuance_us_per_device_hour": 44.0,
        "cert_bytes_per_device_day": 6000,
        "device_bytes_per_device_day": 10000,
        "million_devices_year_tb": 5.8,
        "cert_retention_days": 90,
        "device_retention_days": 35,
        "cert_bytes_after_window": 300,
        "device_bytes_after_window": 0,
        "bytes_after_window": 300,
        "device_bytes_per_device": 5000,
        "cert_bytes_per_retired_day": 10000,
        "million_devices_year_tb_pruned": 1.4,
        "million_devices_year_tb_one_day_retention": 0.5,
    }
    mixed = {"txs": 10, "checktx_us": {"order": 150, "readings": 1200}, "block_us_per_tx": 300}
    return {"market": market, "market_memory": market, "certificates": certs, "mixed": mixed}


def test_energy_rows_are_printed_with_their_targets() -> None:
    out = rows({"energy": _energy_results()})
    by_what = {r[0].strip(): r for r in out}
    match = by_what["market clearing, 10,000 orders: matching step in the end-block hook"]
    assert match[2:] == ("<= 20 ms", "met")
    assert by_what["the whole gate-closure step (book, clearing, fills, orders, refunds)"][3] == "NOT MET"
    assert "10,010 fills" in next(w for w in by_what if w.startswith("settling"))
    assert by_what["certificate state bytes per PV device-day (0x50-0x5F)"][1:3] == ("6,000", "bounded")
    after = next(r for w, r in by_what.items() if w.startswith("state per PV device-day after its retention windows"))
    assert after[1:] == ("300", "<= 1,000", "met")
    assert by_what["a million PV devices for a year, steady state with pruning"][2:] == ("<= 0.5 TB", "NOT MET")
    assert "mixed energy load in process: CheckTx µs per tx (order 150, readings 1,200)" in by_what


def test_energy_load_setup_and_every_kind_commit(consortium: Consortium) -> None:
    """The localnet's mixed energy load on an in-process app: tariffs, sites, PV devices and
    rules commit; then readings batches, orders for the next open interval, rule updates and
    transfers all commit with code 0, and the orders and the rule updates took effect."""
    driver = AppDriver(consortium, chain_id="bench-test")
    pop = Population(consortium, driver.chain_id, 8, seed=3)
    for batch in (pop.enrol_txs(), pop.funding_txs()):
        assert set(driver.block([t.raw for t in batch]).codes) == {0}
    operator = Signer.from_identity(consortium.member("gridop/control"), lane=999)
    members = [s for s, _der in pop.members]
    supplier = consortium.member("utility/treasury").address
    certifier = Signer.from_identity(consortium.member(CERTIFIER), lane=999)
    load = EnergyLoad(
        driver.chain_id,
        members,
        operator,
        4,
        driver.time + 10,
        supplier=supplier,
        device_ca=consortium.device_ca(),
        certifier=certifier,
    )
    assert set(driver.block([t.raw for t in load.setup_txs()]).codes) == {0}
    assert set(driver.block([t.raw for t in load.commission_txs()]).codes) == {0}
    driver.block([], seconds=30 * 86_400)  # readings start after their devices' registration, and end in the past
    for m, signer in enumerate(members):
        (rule,) = mpb.RuleList.FromString(driver.query(f"/rules/{signer.address.hex()}").value).rules
        load.rule_ids[m] = rule.rule_id
    interval = next_open_interval(driver.time + 120, 900, 300)
    txs = load.workload(400, interval, EnergyMix())
    assert {t.kind for t in txs} == {"readings", "order", "rule", "transfer"}
    result = driver.block([t.raw for t in txs])
    assert set(result.codes) == {0}, [r.log for r in result.tx_results if r.code][:3]
    outcomes = {e.type for r in result.tx_results for e in r.events if e.type.startswith("reading_")}
    assert outcomes == {"reading_accepted"}
    placed = [e for r in result.tx_results for e in r.events if e.type == "order_placed"]
    assert len(placed) == sum(1 for t in txs if t.kind == "order") > 0
    assert {a.value for e in placed for a in e.attributes if a.key == "interval"} == {str(interval)}
    rules_set = [e for r in result.tx_results for e in r.events if e.type == "rule_set"]
    assert len(rules_set) == sum(1 for t in txs if t.kind == "rule") > 0
    assert load.devices[0][0].seq == sum(1 for i, t in enumerate(txs) if t.kind == "readings" and i % 8 == 0)


def test_mixed_energy_rows_show_rate_shares_and_readings() -> None:
    """The localnet's mixed energy phase prints its rate, each kind's share, the failures and
    the readings per second inside the mix."""
    out: list[tuple[str, object]] = []
    mixed = {
        "committed_ok_tps": 200.0,
        "shares": {"order": 0.3, "readings": 0.4, "rule": 0.1, "transfer": 0.2},
        "failed_in_block": {},
        "devices_per_batch": 10,
        "cpu_ms_per_tx": {"app": 5.3, "cometbft": 1.9},
        "exhausted_presigned": False,
    }
    _energy_rows({"localnet": {"energy": mixed}}, lambda what, value, *_a: out.append((what.strip(), value)))
    by_what = dict(out)
    assert by_what["committed tx/s, 4 validators, mixed energy load"] == 200.0
    assert "committed shares: order 30%, readings 40%, rule 10%, transfer 20%" in by_what
    assert by_what["of which device readings per second (batches × readings each)"] == 800
    assert by_what["txs failed in blocks (should be 0)"] == 0


def test_the_rules_pass_part_places_every_rule_over_blocks_and_prints_its_rows(consortium: Consortium) -> None:
    """The bench's rules' pass at a budget of 32: the 128 buy rules really place their orders
    (the part raises otherwise) over five blocks (the fifth finds the stages empty), each
    block's hook timed; the rows give the bound and the projections from the measured cost."""
    out = rules_pass_costs(consortium, lambda _line: None)
    assert (out["rules"], out["per_block"], out["blocks"]) == (128, 32, 5)
    assert out["us_per_rule"] > 0
    assert out["worst_block_ms"] > 0
    # both figures are rounded to 0.1: the µs per rule's ±0.05 is ±0.125 ms at 2,500 rules, plus the row's own ±0.05
    assert out["default_block_ms"] == pytest.approx(out["us_per_rule"] * 2_500 / 1000, abs=0.18)
    assert out["million_rules_blocks"] == 400
    by_what = {r[0].strip(): r for r in rows({"energy": {**_energy_results(), "rules": out}})}
    assert by_what["rules' pass: 128 buy rules placing their orders, blocks (at most 32 a block) / worst block"][2] == (
        "bounded per block"
    )
