"""The energy rows of the benchmark, in process (one core, no CometBFT): market clearing and
settlement measured inside the market's end-block hook, and certificate issuance cost and
state growth of PV devices.

Every figure comes from the app's own code on a real app (`AppDriver`): orders are placed
by signed PlaceOrder txs, readings are device-signed. The hooks are timed by wrapping the
functions the hook calls (`clear`, `close_interval`, `settle_interval`, and the app's
`_run_hook` for whole hooks) for the duration of the measurement only.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from gridledger.accounts.v1 import accounts_pb2
from gridledger.grid.v1 import grid_pb2
from gridledger.market.v1 import market_pb2
from gridwire.contract.certificates import CERTIFICATES_ARCHIVED
from gridwire.contract.devices import ENERGY_PRUNED
from gridwire.reading import Reading

import abci_app.app as app_module
from abci_app import gc_policy
from abci_app.certificates import keeper as cert_keeper
from abci_app.certificates.params import PRUNE_PER_BLOCK as CERTIFICATES_PRUNE_PER_BLOCK
from abci_app.certificates.params import RETENTION, RETIRED_BUNDLE_RETENTION
from abci_app.codec import decode_tx
from abci_app.devices import keys as dev_keys
from abci_app.devices.messages import SubmitReadings
from abci_app.devices.params import PRUNE_PER_BLOCK as DEVICES_PRUNE_PER_BLOCK
from abci_app.devices.prune import retention as device_retention
from abci_app.market import close as close_module
from abci_app.market import hooks as market_hooks
from abci_app.market import keys as market_keys
from abci_app.market.params import next_open_interval
from abci_app.params import domain_param
from abci_app.pb import abci
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch
from abci_app.store.sqlite import SQLiteBackend
from abci_app.store.state import CommittedState
from abci_app.types import BlockInfo
from clients import certificates as cc
from clients import devices as dc
from clients import market as mc
from clients.ops.consortium import Consortium
from clients.ops.loadgen import Population, Signer
from clients.pki import Identity
from devices.sim.pv import PvConfig, clear_sky_ac_w
from tests.bench.energy_load import EnergyLoad
from tests.bench.readings import all_accepted
from tests.support.devices import CERTIFIER, certify, commission_msgs
from tests.support.driver import GENESIS_TIME, AppDriver, BlockResult
from tests.unit.helpers import signed

__all__ = ["HookTimer", "certificate_costs", "market_costs", "mixed_load_costs", "timed_hooks"]

Log = Callable[[str], None]
# Every figure here is CPU time of this process (one thread): on the shared 2-core machine
# other load slows wall time by 2-3x but barely changes what a step itself costs.
CLOCK = time.process_time
LENGTH, GATE, GRACE = 900, 300, 900  # the genesis defaults: interval, gate closure, settlement grace
FEEDERS = 8
PROSUMERS = ("community-a/alice", "community-a/bob", "community-b/carol", "community-b/dave")
CERT_PREFIXES = (0x50, 0x60)  # the certificates domain's key range
GOAL_BYTES_PER_DEVICE = 500_000  # design.md §6: a million PV devices for a year within 0.5 TB
DEVICE_PREFIXES = (0x20, 0x30)  # the devices domain's key range


@dataclass
class HookTimer:
    """Seconds spent in each timed call, by name, one entry per call."""

    calls: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.calls.setdefault(name, []).append(seconds)

    def total(self, name: str) -> float:
        return sum(self.calls.get(name, []))


@contextmanager
def timed_hooks() -> Iterator[HookTimer]:
    """Within the block: every block hook the app runs (`<domain>.<hook>`), the market's
    matching step (`market.clear`), its gate-closure step (`market.close`) and its
    settlement step (`market.settle`) are timed; the originals come back afterwards."""
    timer = HookTimer()

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = CLOCK()
            try:
                return fn(*args, **kwargs)
            finally:
                timer.add(name, CLOCK() - t)

        return wrapper

    run_hook = app_module._run_hook

    def hook_wrapper(domain: str, name: str, *args: Any) -> Any:
        return timed(f"{domain}.{name}", run_hook)(domain, name, *args)

    # (module, its attribute, the timer's name); the hook looks these names up at call time
    swaps: list[tuple[ModuleType, str, str]] = [
        (close_module, "clear", "market.clear"),
        (market_hooks, "close_interval", "market.close"),
        (market_hooks, "settle_interval", "market.settle"),
    ]
    originals = [getattr(module, attr) for module, attr, _name in swaps]
    app_module._run_hook = hook_wrapper  # type: ignore[assignment]
    for (module, attr, name), fn in zip(swaps, originals, strict=True):
        setattr(module, attr, timed(name, fn))
    try:
        yield timer
    finally:
        app_module._run_hook = run_hook
        for (module, attr, _name), fn in zip(swaps, originals, strict=True):
            setattr(module, attr, fn)


# -- the market ----------------------------------------------------------------------------------


def _ok(driver: AppDriver, txs: list[bytes], what: str) -> None:
    result = driver.block(txs, check=False)
    bad = [r.log for r in result.tx_results if r.code]
    if bad:
        raise RuntimeError(f"{what}: {len(bad)} txs failed, e.g. {bad[0]}")


def _site(ref: str, feeder: int) -> str:
    return f"{ref.split('/')[1]}-s{feeder}"


def _pv(ref: str, feeder: int) -> str:
    return f"{ref.split('/')[1]}-pv{feeder}"


def _market_setup(driver: AppDriver, consortium: Consortium) -> dict[str, Identity]:
    """Tariffs and fees from the operator; every prosumer funded, with a site and a 10 MW PV
    device on each of the feeders."""
    driver.block([])
    members = {ref: consortium.member(ref) for ref in PROSUMERS}
    operator = consortium.member("gridop/control")
    issuer = consortium.member("utility/treasury")
    txs = [
        signed(
            driver,
            operator,
            grid_pb2.SetTariffs(
                supplier=issuer.address,
                retail_per_kwh=30,
                feed_in_per_kwh=5,
                imbalance_short_per_kwh=40,
                imbalance_long_per_kwh=2,
            ),
            grid_pb2.SetGridFees(intra_feeder_per_kwh=1, inter_feeder_per_kwh=3),
        ),
        signed(driver, issuer, *[accounts_pb2.Mint(to=m.address, amount=10**12) for m in members.values()]),
    ]
    for n, (ref, m) in enumerate(members.items()):
        msgs: list[Message] = []
        for f in range(1, FEEDERS + 1):
            site = _site(ref, f)
            key = Ed25519PrivateKey.from_private_bytes(bytes([n + 1, f]) * 16)
            msgs.append(dc.register_site(site, f"feeder-{f}"))
            msgs.append(
                certify(consortium, dc.register_device(_pv(ref, f), site, "pv", dc.device_public_key(key), 10_000_000))
            )
        txs.append(signed(driver, m, *msgs))
    _ok(driver, txs, "market setup")
    pvs = [_pv(ref, f) for ref in members for f in range(1, FEEDERS + 1)]
    _ok(driver, [signed(driver, consortium.member(CERTIFIER), *commission_msgs(*pvs))], "commissioning")
    return members


def _order_txs(
    driver: AppDriver, members: dict[str, Identity], interval: int, n: int, *, crossing: bool, seed: int
) -> list[bytes]:
    """`n` orders for `interval`, half bids, on the feeders, 0.1..5 kWh; prices 5..40 per kWh
    (the unit test's book) or, `crossing`, bids 30..40 against asks 5..15 so every order fills."""
    r = random.Random(seed)
    refs = sorted(members)
    per_member: dict[str, list[Message]] = {ref: [] for ref in refs}
    for i in range(n):
        ref = refs[i % len(refs)]
        f = r.randint(1, FEEDERS)
        wh = r.randint(100, 5_000)
        if r.random() < 0.5:
            price = r.randint(30, 40) if crossing else r.randint(5, 40)
            per_member[ref].append(mc.buy(_site(ref, f), interval, wh, price))
        else:
            price = r.randint(5, 15) if crossing else r.randint(5, 40)
            per_member[ref].append(mc.sell(_pv(ref, f), interval, wh, price))
    txs = []
    for ref in refs:
        msgs = per_member[ref]
        for chunk in range(0, len(msgs), 64):
            txs.append(signed(driver, members[ref], *msgs[chunk : chunk + 64]))
    return txs


def _hook_rounds(driver: AppDriver, at: int, rounds: int) -> HookTimer:
    """Run the market's end-block hook `rounds` times at block time `at` on fresh branches of
    the committed state (nothing kept), timed. The first run reads everything from the store
    (a fresh view of the committed state with an empty read cache, as a node just restarted
    has; Commit fills the node's cache with what it wrote), the others from the state's cache."""
    block = BlockInfo(driver.chain_id, driver.height + 1, at * 1_000_000_000)
    with timed_hooks() as timer:
        for n in range(rounds):
            state = CommittedState(driver.app.state.backend) if n == 0 else driver.app.state
            branch = Branch(state).branch()
            t = CLOCK()
            market_hooks.end_block(branch, block)
            timer.add("market.end_block", CLOCK() - t)
    return timer


def _median_ms(timer: HookTimer, name: str) -> float:
    xs = timer.calls.get(name, [])
    return round(statistics.median(xs) * 1000, 1) if xs else 0.0


def node_gc(app: Any) -> Callable[[], None]:
    """Switch on the node process's garbage-collector policy (abci_app/gc_policy.py: the heap so
    far frozen, generation 0 at 20,000) for a measured part; call what it returns to restore the
    process's GC settings."""
    threshold = gc.get_threshold()
    gc_policy.install(app)

    def restore() -> None:
        gc.unfreeze()
        gc.set_threshold(*threshold)

    return restore


def market_costs(
    consortium: Consortium, orders: int, log: Log, *, rounds: int = 3, folder: Path | None = None
) -> dict[str, Any]:
    """Clearing `orders` orders of one interval and settling an interval of about as many
    fills, timed inside the market's end-block hook (median of `rounds` runs on the
    committed state), then run for real in blocks. With `folder`, the app's state is the
    node's SQLite store there (else in memory)."""
    backend = None if folder is None else SQLiteBackend(folder / "market.sqlite")
    # one interval's book holds thousands of orders per member here: lift the per-member cap
    driver = AppDriver(consortium, backend=backend, params={"market.max_open_orders_per_interval": 100_000})
    members = _market_setup(driver, consortium)
    # the node process's GC policy from here on, as a node that started before the orders came in
    restore_gc = node_gc(driver.app)
    a = next_open_interval(driver.time + 60, LENGTH, GATE)  # the clearing row's book
    b = a + LENGTH  # the settlement row's book: every order fills
    t = time.perf_counter()
    txs = _order_txs(driver, members, a, orders, crossing=False, seed=7)
    # a few more orders than `orders`: some of the crossing book stay unfilled, so the
    # settled interval has at least about `orders` fills
    txs += _order_txs(driver, members, b, orders + orders // 50, crossing=True, seed=8)
    for chunk in range(0, len(txs), 40):
        _ok(driver, txs[chunk : chunk + 40], "placing orders")
    log(f"  market: {2 * orders + orders // 50:,} orders placed by {len(txs)} txs in {time.perf_counter() - t:.1f}s")

    driver.block([], seconds=a - GATE - 1 - driver.time)
    close_a = _hook_rounds(driver, a - GATE, rounds)
    driver.block([], seconds=a - GATE - driver.time)  # clears a for real
    driver.block([], seconds=b - GATE - driver.time)  # clears b
    fills_a, fills_b = _fills(driver, a), _fills(driver, b)
    driver.block([], seconds=a + LENGTH + GRACE - driver.time)  # settles a
    settle_b = _hook_rounds(driver, b + LENGTH + GRACE, rounds)
    driver.block([], seconds=b + LENGTH + GRACE - driver.time)  # settles b for real
    settle_ms = _median_ms(settle_b, "market.settle")
    out: dict[str, Any] = {
        "orders": orders,
        "fills_of_that_book": fills_a,
        "clearing_match_ms": _median_ms(close_a, "market.clear"),
        "clearing_close_ms": _median_ms(close_a, "market.close"),
        "clearing_hook_ms": _median_ms(close_a, "market.end_block"),
        "settle_fills": fills_b,
        "settle_ms": settle_ms,
        # the first run reads the orders from the store (an empty read cache), later ones from the state's cache
        "clearing_close_first_ms": round(close_a.calls["market.close"][0] * 1000, 1),
        "settle_first_ms": round(settle_b.calls["market.settle"][0] * 1000, 1),
        "settle_hook_ms": _median_ms(settle_b, "market.end_block"),
        "rounds": rounds,
        "store": "memory" if folder is None else "sqlite",
        "gc": "the node's policy (abci_app/gc_policy.py)",
    }
    out["settle_us_per_fill"] = round(settle_ms * 1000 / max(1, fills_b), 1)
    restore_gc()
    log(
        f"  market ({out['store']} store): clearing {orders:,} orders: matching {out['clearing_match_ms']} ms, "
        f"gate-closure step {out['clearing_close_ms']} ms (hook {out['clearing_hook_ms']} ms); "
        f"settling {fills_b:,} fills {out['settle_ms']} ms"
    )
    return out


def _fills(driver: AppDriver, interval: int) -> int:
    """The interval's fills (one per order and leg) in the committed state."""
    prefix = market_keys.fill_prefix(interval)
    return sum(1 for _ in driver.app.state.iter_range(prefix, prefix_end(prefix)))


# -- certificates --------------------------------------------------------------------------------


def _size(driver: AppDriver, lo: int, hi: int) -> int:
    return sum(len(k) + len(v) for k, v in driver.app.state.iter_range(bytes([lo]), bytes([hi])))


def certificate_costs(consortium: Consortium, devices: int, log: Log) -> dict[str, Any]:
    """`devices` PV devices each report every 15 minutes for a day (device-signed, 100
    readings per tx): the certificates hook's time per reading and per issued device-hour,
    the state one device adds in the day (certificates and devices domains), and what of it
    stays after the retention windows (`_after_retention`)."""
    driver = AppDriver(consortium)
    driver.block([])
    dev_empty = _size(driver, *DEVICE_PREFIXES)
    owner = consortium.member("community-a/alice")
    # tariffs: the market settles every interval, so the devices' pruning is not held back for it
    tariffs = grid_pb2.SetTariffs(
        supplier=consortium.member("utility/treasury").address,
        retail_per_kwh=30,
        feed_in_per_kwh=5,
        imbalance_short_per_kwh=40,
        imbalance_long_per_kwh=2,
    )
    _ok(driver, [signed(driver, consortium.member("gridop/control"), tariffs)], "tariffs")
    keys = [(f"cpv-{i}", Ed25519PrivateKey.generate()) for i in range(devices)]
    txs = []
    for chunk in range(0, devices, 60):
        msgs: list[Message] = [dc.register_site("cert-site", "feeder-1", "nl-north")] if chunk == 0 else []
        msgs += [
            certify(
                consortium,
                dc.register_device(
                    d, "cert-site", "pv", dc.device_public_key(k), 5_000, energy_source="solar", country="NL"
                ),
            )
            for d, k in keys[chunk : chunk + 60]
        ]
        txs.append(signed(driver, owner, *msgs))
    for raw in txs:
        _ok(driver, [raw], "PV device registration")
    certifier = consortium.member(CERTIFIER)
    for chunk in range(0, devices, 60):
        attest = commission_msgs(*(d for d, _k in keys[chunk : chunk + 60]))
        _ok(driver, [signed(driver, certifier, *attest)], "PV commissioning")
    t0 = (GENESIS_TIME // 86_400 + 2) * 86_400  # a day boundary after genesis
    driver.block([], seconds=t0 - driver.time)
    certs0 = _size(driver, *CERT_PREFIXES)
    devs0 = _size(driver, *DEVICE_PREFIXES)
    readings = 0
    with timed_hooks() as timer:
        for seq in range(1, 97):
            start = t0 + (seq - 1) * 900
            driver.block([], seconds=start + 900 - driver.time)
            exported = 250 * seq  # 1 kW on average
            batch = [
                dc.sign_reading(k, driver.chain_id, Reading(d, seq, start, start + 900, 0, exported)) for d, k in keys
            ]
            txs = [signed(driver, owner, dc.submit_readings(batch[c : c + 100])) for c in range(0, len(batch), 100)]
            all_accepted(driver.block(txs, check=False), len(batch), "PV readings")
            readings += len(batch)
    hook_s = timer.total("certificates.end_block")
    hours = devices * 24
    cert_bytes = (_size(driver, *CERT_PREFIXES) - certs0) / devices
    dev_bytes = (_size(driver, *DEVICE_PREFIXES) - devs0) / devices
    out = {
        "devices": devices,
        "readings": readings,
        "issuance_us_per_reading": round(hook_s / readings * 1e6, 1),
        "issuance_us_per_device_hour": round(hook_s / hours * 1e6, 1),
        "cert_bytes_per_device_day": round(cert_bytes),
        "device_bytes_per_device_day": round(dev_bytes),
        "million_devices_year_tb": round((cert_bytes + dev_bytes) * 1_000_000 * 365 / 1e12, 2),
        **_after_retention(driver, keys, (certs0, devs0, dev_empty), dev_bytes),
    }
    log(
        f"  certificates: issuance {out['issuance_us_per_reading']} µs/reading "
        f"({out['issuance_us_per_device_hour']} µs per device-hour); per PV device-day "
        f"{out['cert_bytes_per_device_day']:,} bytes of certificates + {out['device_bytes_per_device_day']:,} "
        f"of devices; a million devices a year without pruning: {out['million_devices_year_tb']} TB"
    )
    log(
        f"  after the retention windows ({out['cert_retention_days']} days after retirement, devices "
        f"{out['device_retention_days']} days): per PV device-day {out['cert_bytes_after_window']:,} bytes of "
        f"certificates + {out['device_bytes_after_window']:,} of devices stay ({out['bytes_after_window']:,}); "
        f"devices {out['device_bytes_per_device']:,} bytes per device (constant) and "
        f"{out['device_bytes_per_live_day']:,} per live day; a retired day (24 device-hours) "
        f"{out['cert_bytes_per_retired_day']:,} bytes for {out['retired_bundle_days']} days, then "
        f"{out['cert_bytes_per_retired_day_compacted']:,} (its bundles archived), then "
        f"{out['cert_bytes_per_retired_day_retirements']:,} (its retirements alone); a million PV devices "
        f"({out['pv_producing_hours_per_day']} producing hours a day) a year, steady state: "
        f"{out['million_devices_year_tb_pruned']} TB ({out['million_devices_year_tb_every_hour']} TB issued every "
        f"hour, {out['million_devices_year_tb_one_day_retention']} TB with retirements kept a day; within 0.5 TB "
        f"up to {out['cert_retention_days_within_goal']} days)"
    )
    log(
        f"  pruning at a million such devices: devices {out['prune_devices_rows_per_s_million']:,} records/s "
        f"against {out['prune_devices_per_block']:,} per block, certificates "
        f"{out['prune_certificates_rows_per_s_million']:,} rows/s against {out['prune_certificates_per_block']:,} "
        f"per block; the hooks' CPU {out['prune_devices_us_per_record']} µs per device record, "
        f"{out['prune_certificates_us_per_row']} µs per certificate row (a full batch "
        f"{out['prune_devices_full_batch_ms']} / {out['prune_certificates_full_batch_ms']} ms)"
    )
    return out


def pv_producing_hours_per_day(step_days: int = 5) -> float:
    """The mean number of hours a day in which a PV array makes at least 1 Wh (a device-hour that
    is issued a bundle), over a year at the simulated PV's site (52.4° N; pvlib's clear sky, so
    an upper bound: clouds never add an hour), sampling every `step_days`-th day of 2026."""
    year_start = (GENESIS_TIME // 86_400) * 86_400
    days = range(0, 365, step_days)
    cfg = PvConfig()
    hours = 0
    for d in days:
        minutes = clear_sky_ac_w(cfg, year_start + d * 86_400)
        hours += sum(1 for h in range(24) if sum(minutes[h * 60 : (h + 1) * 60]) >= 60)  # W-minutes: 1 Wh
    return hours / len(days)


def _prune_until_quiet(driver: AppDriver, seconds: int, count: Callable[[BlockResult], bool]) -> None:
    """Move block time on by `seconds`, then run empty blocks until two in a row prune nothing (the
    hooks prune a bounded batch per block)."""
    count(driver.block([], seconds=seconds))
    quiet = 0
    while quiet < 2:
        quiet = 0 if count(driver.block([])) else quiet + 1


def _after_retention(
    driver: AppDriver, devices: list[tuple[str, Ed25519PrivateKey]], sizes: tuple[int, int, int], dev_day: float
) -> dict[str, Any]:
    """The bounded-state figures of issue 16: the owner retires the day's certificates (one
    retirement per device-hour, for another member: hourly matching), then block time moves past
    the retired bundles' window (they leave, their retirements stay), then past every retention
    window, with the hooks running until nothing more is pruned; what stays per device-day, the
    devices' constant per device, and the steady state of a million devices for a year:
    per-device constant + what lives within the windows + the per-day residue × 365."""
    n = len(devices)
    certs0, devs0, dev_empty = sizes  # before the day (both domains), and the devices' before registration
    consortium = driver.consortium
    owner = consortium.member("community-a/alice")
    beneficiary = consortium.member("community-a/bob").address
    state = driver.app.state
    for device_id, _k in devices:
        bundles = list(cert_keeper.iter_device_bundles(state, device_id))
        msgs: list[Message] = [
            cc.retire(b.bundle_id, b.end_wh - b.start_wh, beneficiary, (b.hour_start, b.hour_start + 3600))
            for b in bundles
        ]
        _ok(driver, [signed(driver, owner, *msgs)], "retirement of a PV device-day")
    cert_retired = (_size(driver, *CERT_PREFIXES) - certs0) / n
    retired_at = driver.time  # the last retirement's block: every windows' step below finds them all due at once
    # what the pruning hooks must remove per device-day: the devices' records (one index entry
    # each) and the certificates' rows (each retirement is examined three times: when its retired
    # bundle leaves, when the devices' watermark passes it, and when it leaves)
    age_end = prefix_end(dev_keys.age_prefix())
    dev_rows = sum(1 for _ in state.iter_range(dev_keys.age_prefix(), age_end)) / n
    cert_rows = 3 * sum(1 for _ in cert_keeper.iter_retirements(state)) / n
    cert_days = domain_param(driver.app.state, RETENTION) / 86_400
    bundle_days = min(domain_param(driver.app.state, RETIRED_BUNDLE_RETENTION) / 86_400, cert_days)
    dev_days = device_retention(driver.app.state) / 86_400
    removed = {ENERGY_PRUNED: 0, CERTIFICATES_ARCHIVED: 0}  # device records, certificate rows

    def count(result: BlockResult) -> bool:
        for e in result.response.events:
            attrs = {a.key: a.value for a in e.attributes}
            if e.type == ENERGY_PRUNED:
                removed[e.type] += int(attrs["records"])
            elif e.type == CERTIFICATES_ARCHIVED:
                removed[e.type] += int(attrs["retirements"]) + int(attrs["bundles"])
        return any(e.type in removed for e in result.response.events)

    with timed_hooks() as timer:
        # the retired bundles leave (their retirement records, tallies and claims stay)
        _prune_until_quiet(driver, retired_at + int(bundle_days * 86_400) + 1 - driver.time, count)
        cert_compacted = (_size(driver, *CERT_PREFIXES) - certs0) / n
        # the devices' watermark passes the retirements: their tallies and claims leave
        _prune_until_quiet(driver, retired_at + int(dev_days + 1) * 86_400 - driver.time, count)
        cert_retirements = (_size(driver, *CERT_PREFIXES) - certs0) / n
        _prune_until_quiet(driver, retired_at + int(max(cert_days, dev_days) + 1) * 86_400 - driver.time, count)
    # CPU per removed record in the hooks (the retention jump's block includes the other hooks'
    # catch-up, so this is an upper bound; the trie re-hashes the deletes after the hooks, which
    # this leaves out), and a full batch at the governed cap
    dev_us = timer.total("devices.end_block") * 1e6 / max(1, removed[ENERGY_PRUNED])
    cert_us = timer.total("certificates.end_block") * 1e6 / max(1, removed[CERTIFICATES_ARCHIVED])
    cert_after = (_size(driver, *CERT_PREFIXES) - certs0) / n
    dev_after = (_size(driver, *DEVICE_PREFIXES) - devs0) / n
    per_device = (_size(driver, *DEVICE_PREFIXES) - dev_empty) / n
    # what stays of a device-day after every window: the certificates' residue, and whatever of the
    # devices' day is still there beyond the per-device records the next day overwrites (the devices'
    # time-ordered index is empty once every interval record of the day is pruned)
    ages = sum(1 for _ in driver.app.state.iter_range(dev_keys.age_prefix(), prefix_end(dev_keys.age_prefix())))
    dev_day_after = dev_after if ages else 0.0
    # what every further day adds to the devices domain while it is live: the day's growth less the
    # per-device records its first readings created and the next days overwrite (the recent-reading
    # slots, the reading state: `per_device` already holds them once). Counting the whole first-day
    # growth for every day of the window, as this did, counted those ~4.8 KB 35 times.
    dev_recurring = dev_day - dev_after if not ages else dev_day
    # a million devices in steady state, per device: the constant, the devices' live days, the
    # retired certificates' days (their bundles for the bundle window, then the retirements, tallies
    # and claims until the devices' watermark passes them, then the retirements alone until the
    # retention) and the residue of every day of the year. The certificates' part is of
    # a device issued every hour of the day (24 bundles); a PV array is issued only the hours it
    # generates in, `pv_hours` a day over a year, so its certificate bytes scale by pv_hours / 24.
    pv_hours = pv_producing_hours_per_day()

    def steady(hours: float, days: float) -> float:
        """Bytes per device: a device issued `hours` device-hours a day, retirements kept `days` days."""
        live = min(bundle_days, days)
        marked = max(live, min(dev_days + 1, days))  # when the watermark has passed the retirements
        kept = cert_retired * live + cert_compacted * (marked - live) + cert_retirements * (days - marked)
        cert_window = kept * hours / 24
        return per_device + dev_recurring * dev_days + cert_window + (cert_after + dev_day_after) * 365

    goal_days = 0  # the longest certificate retention (days) at which a million PV devices stay within 0.5 TB
    while goal_days < 3650 and steady(pv_hours, goal_days + 1) <= GOAL_BYTES_PER_DEVICE:
        goal_days += 1
    million_per_s = 1_000_000 / 86_400  # device-days a second at a million devices
    dev_cap = domain_param(state, DEVICES_PRUNE_PER_BLOCK)
    cert_cap = domain_param(state, CERTIFICATES_PRUNE_PER_BLOCK)
    return {
        # pruning keeps up with a million such devices when its cap per block (at a block a
        # second) is at least what they create a second
        "prune_devices_rows_per_s_million": round(dev_rows * million_per_s),
        "prune_devices_per_block": dev_cap,
        "prune_certificates_rows_per_s_million": round(cert_rows * million_per_s),
        "prune_certificates_per_block": cert_cap,
        "prune_devices_us_per_record": round(dev_us, 1),
        "prune_certificates_us_per_row": round(cert_us, 1),
        "prune_devices_full_batch_ms": round(dev_us * dev_cap / 1000, 1),
        "prune_certificates_full_batch_ms": round(cert_us * cert_cap / 1000, 1),
        "cert_retention_days": round(cert_days),
        "retired_bundle_days": round(bundle_days, 2),
        "device_retention_days": round(dev_days),
        "cert_bytes_per_retired_day": round(cert_retired),
        "cert_bytes_per_retired_day_compacted": round(cert_compacted),
        "cert_bytes_per_retired_day_retirements": round(cert_retirements),
        "cert_bytes_after_window": round(cert_after),
        "device_bytes_after_window": round(dev_day_after),
        "bytes_after_window": round(cert_after + dev_day_after),
        "device_bytes_per_device": round(per_device),
        "device_index_left": ages,
        "pv_producing_hours_per_day": round(pv_hours, 2),
        "steady_bytes_per_device": round(steady(pv_hours, cert_days)),
        "million_devices_year_tb_pruned": round(steady(pv_hours, cert_days) * 1_000_000 / 1e12, 3),
        "million_devices_year_tb_every_hour": round(steady(24, cert_days) * 1_000_000 / 1e12, 3),
        "million_devices_year_tb_one_day_retention": round(steady(pv_hours, 1) * 1_000_000 / 1e12, 3),
        "device_bytes_per_live_day": round(dev_recurring),
        "cert_retention_days_within_goal": goal_days,
    }


def mixed_load_costs(consortium: Consortium, n: int, log: Log) -> dict[str, Any]:
    """The localnet's mixed energy load (tests.bench.energy_load) on one in-process app at
    the current time: CheckTx µs per tx of each kind and FinalizeBlock + Commit µs per tx, so
    the localnet's CPU per tx can be read kind by kind."""
    driver = AppDriver(consortium, chain_id="bench-energy")
    now = int(time.time())
    registered = now - 20 * 86_400 - 3_600  # the devices exist before the readings the load backfills
    driver.block([], seconds=registered - driver.time)
    pop = Population(consortium, driver.chain_id, 20, seed=4)
    for batch in (pop.enrol_txs(), pop.funding_txs()):
        _ok(driver, [t.raw for t in batch], "bench members")
    operator = Signer.from_identity(consortium.member("gridop/control"), lane=10_000)
    members = [s for s, _der in pop.members]
    supplier = consortium.member("utility/treasury").address
    certifier = Signer.from_identity(consortium.member(CERTIFIER), lane=10_000)
    load = EnergyLoad(
        driver.chain_id,
        members,
        operator,
        10,
        now - 20 * 86_400,
        supplier=supplier,
        device_ca=consortium.device_ca(),
        certifier=certifier,
    )
    _ok(driver, [t.raw for t in load.setup_txs()], "energy setup")
    _ok(driver, [t.raw for t in load.commission_txs()], "commissioning")
    driver.block([], seconds=now - driver.time)
    for m, signer in enumerate(members):
        rules = market_pb2.RuleList.FromString(driver.query(f"/rules/{signer.address.hex()}").value).rules
        load.rule_ids[m] = rules[0].rule_id
    txs = load.workload(n, next_open_interval(driver.time + 120, LENGTH, GATE))
    check: dict[str, list[float]] = {}
    for tx in txs:
        t = CLOCK()
        code = driver.app.check_tx(abci.RequestCheckTx(tx=tx.raw, type=abci.NEW)).code
        check.setdefault(tx.kind, []).append(CLOCK() - t)
        if code:
            raise RuntimeError(f"a mixed energy {tx.kind} tx failed CheckTx: code {code}")
    t = CLOCK()
    result = driver.block([tx.raw for tx in txs], check=False)
    block_s = CLOCK() - t
    readings = sum(len(m.readings) for tx in txs for m in decode_tx(tx.raw).messages if isinstance(m, SubmitReadings))
    all_accepted(result, readings, "mixed energy block")
    out = {
        "txs": n,
        "checktx_us": {k: round(sum(v) / len(v) * 1e6) for k, v in sorted(check.items())},
        "block_us_per_tx": round(block_s / n * 1e6),
    }
    log(f"  mixed energy load in process: CheckTx µs per tx {out['checktx_us']}, block {out['block_us_per_tx']} µs/tx")
    return out
