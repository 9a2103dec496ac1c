"""Prometheus metrics of one app process (prometheus-client), for operators; off by default.

`python -m abci_app --metrics 127.0.0.1:PORT` serves them at http://127.0.0.1:PORT/metrics.
`Metrics.instrument(app)` wraps the app's ABCI methods of one instance (timing them and
reading their answers: no consensus code changes behaviour or reads a clock for them), and
`hook_ran` is the one call inside the block (abci_app/app.py `_run_hook`). Everything here
observes; nothing it records flows back into the state.

Series (all `gridledger_`): block_phase_seconds{phase} (prepare, process, finalize, commit),
block_height, txs_total{domain,code}, checktx_total{code}, mempool_pending_txs{signer} (the
MEMPOOL_TOP signers with most txs pending, the rest as signer="other"), readings_total{outcome},
hook_seconds{domain,hook}, clearing_seconds, intervals_cleared_total, settlement_lag_seconds,
alerts_total{reason}, certificates_issued_total, certificates_issued_wh_total,
hook_failures_total{domain,hook}, snapshots_total, snapshots_skipped_total (due while the last was
still being written), snapshot_seconds, snapshot_bytes.
"""

from __future__ import annotations

import collections
import functools
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from abci_app.pb import abci
from abci_app.types import Event


class InstrumentedApp(Protocol):
    """What the metrics read of the ABCI app (abci_app.app.GridLedgerApp), named here so that
    this module does not import the app that calls `hook_ran` (no import circle)."""

    state: Any  # .height: the last committed height
    snapshots: Any  # None, or a snapshot store whose .take(...) and .start(...) are wrapped
    _pending: collections.Counter[bytes]  # pending txs per signer in this node's mempool
    block_tx_domains: list[str]  # the domain of each tx of the last finalized block


__all__ = ["MEMPOOL_TOP", "Metrics", "hook_ran", "parse_listen"]

MEMPOOL_TOP = 10  # signers named in mempool_pending_txs; the others are summed as "other"
_PHASES = {
    "prepare_proposal": "prepare",
    "process_proposal": "process",
    "finalize_block": "finalize",
    "commit": "commit",
}
_BLOCK_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_READING_EVENTS = {"reading_accepted": "accepted", "reading_rejected": "rejected", "reading_duplicate": "duplicate"}
_active: list[Metrics] = []  # the instrumented app's metrics (at most one per process)


def parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT → (host, port); raises ValueError for anything else."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65_535:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:26660)")
    return host, int(port)


def hook_ran(domain: str, hook: str, seconds: float, events: Iterable[Event]) -> None:
    """A domain's block hook took `seconds` (no-op unless an instrumented app runs here)."""
    if _active:
        _active[0].observe_hook(domain, hook, seconds, events)


class _MempoolCollector(Collector):
    """mempool_pending_txs{signer}, read from the app at scrape time (bounded cardinality)."""

    def __init__(self) -> None:
        self.app: InstrumentedApp | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "gridledger_mempool_pending_txs",
            "Txs pending in this node's mempool per signer (top signers)",
            labels=["signer"],
        )
        pending: list[tuple[bytes, int]] = []
        app = self.app
        for _ in range(3):  # the ABCI thread may change the counter while we copy it
            try:
                pending = list(app._pending.items()) if app is not None else []
                break
            except RuntimeError:
                continue
        pending.sort(key=lambda kv: (-kv[1], kv[0]))
        for address, n in pending[:MEMPOOL_TOP]:
            family.add_metric([address.hex()], n)
        family.add_metric(["other"], sum(n for _, n in pending[MEMPOOL_TOP:]))
        yield family


class Metrics:
    """The series of one app; its own registry, so tests may make several."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.phase = Histogram(
            "gridledger_block_phase_seconds", "Time per ABCI block phase", ["phase"], registry=r, buckets=_BLOCK_BUCKETS
        )
        self.height = Gauge("gridledger_block_height", "Last committed height", registry=r)
        self.txs = Counter(
            "gridledger_txs", "Txs executed in blocks, by domain and result code", ["domain", "code"], registry=r
        )
        self.checktx = Counter("gridledger_checktx", "CheckTx answers by code (0: admitted)", ["code"], registry=r)
        self.readings = Counter("gridledger_readings", "Meter readings by outcome", ["outcome"], registry=r)
        self.hook = Histogram(
            "gridledger_hook_seconds",
            "Time of each domain's block hook",
            ["domain", "hook"],
            registry=r,
            buckets=_BLOCK_BUCKETS,
        )
        self.clearing = Histogram(
            "gridledger_clearing_seconds", "Time of the market's end-of-block hook in blocks that cleared an interval",
            registry=r, buckets=_BLOCK_BUCKETS,
        )  # fmt: skip
        self.cleared = Counter("gridledger_intervals_cleared", "Market intervals cleared", registry=r)
        self.settlement_lag = Gauge(
            "gridledger_settlement_lag_seconds", "Block time minus the start of the last settled interval", registry=r
        )
        self.alerts = Counter("gridledger_alerts", "Alerts raised to traders, by reason", ["reason"], registry=r)
        self.certificates = Counter("gridledger_certificates_issued", "Certificate bundles issued", registry=r)
        self.certificates_wh = Counter("gridledger_certificates_issued_wh", "Wh of certificates issued", registry=r)
        self.hook_failures = Counter(
            "gridledger_hook_failures", "Block hooks that raised (their writes dropped)", ["domain", "hook"], registry=r
        )
        self.snapshots = Counter("gridledger_snapshots", "State sync snapshots taken", registry=r)
        self.snapshots_skipped = Counter(
            "gridledger_snapshots_skipped", "Snapshots due while the last was still being written", registry=r
        )
        self.snapshot_seconds = Gauge("gridledger_snapshot_seconds", "Time the last snapshot took", registry=r)
        self.snapshot_bytes = Gauge("gridledger_snapshot_bytes", "Size of the last snapshot", registry=r)
        self._mempool = _MempoolCollector()
        r.register(self._mempool)
        self._app: InstrumentedApp | None = None

    # -- wiring ------------------------------------------------------------------------------

    def instrument(self, app: InstrumentedApp) -> None:
        """Wrap this app instance's ABCI methods (and its snapshot store) to feed the series,
        and make `hook_ran` report here."""
        self._app = app
        self._mempool.app = app
        for method, phase in _PHASES.items():
            setattr(app, method, self._timed(getattr(app, method), phase))
        observers: dict[str, Callable[[Any, Any], None]] = {
            "finalize_block": self._finalized,
            "check_tx": lambda _req, resp: self.checktx.labels(str(resp.code)).inc(),
            "commit": lambda _req, _resp: self.height.set(app.state.height),
        }
        for method, observe in observers.items():
            setattr(app, method, self._after(getattr(app, method), observe))
        if app.snapshots is not None:
            # this instance's store: its worker calls self.take, so the snapshots it writes count
            for method, observe in (("take", self._snapshot_taken), ("start", self._snapshot_started)):
                setattr(app.snapshots, method, self._after(getattr(app.snapshots, method), observe))
        _active[:] = [self]

    def serve(self, host: str, port: int) -> WSGIServer:
        """Serve /metrics on host:port in a daemon thread (port 0: any free port)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server

    def _timed(self, fn: Callable[[Any], Any], phase: str) -> Callable[[Any], Any]:
        histogram = self.phase.labels(phase)

        @functools.wraps(fn)
        def timed(req: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(req)
            finally:
                histogram.observe(time.perf_counter() - started)

        return timed

    @staticmethod
    def _after(fn: Callable[..., Any], observe: Callable[[Any, Any], None]) -> Callable[..., Any]:
        """`fn` (a method of one instance), then `observe(first argument, result)`."""

        @functools.wraps(fn)
        def wrapped(first: Any, *rest: Any) -> Any:
            out = fn(first, *rest)
            observe(first, out)
            return out

        return wrapped

    def _snapshot_taken(self, _view: Any, taken: Any) -> None:
        if taken is not None:  # a statesync Taken; None: the snapshot failed
            self.snapshots.inc()
            self.snapshot_seconds.set(taken.ms / 1000)
            self.snapshot_bytes.set(taken.total_bytes)

    def _snapshot_started(self, _view: Any, started: bool) -> None:
        if not started:  # due while the last was still being written
            self.snapshots_skipped.inc()

    # -- observations ---------------------------------------------------------------------------

    def observe_hook(self, domain: str, hook: str, seconds: float, events: Iterable[Event]) -> None:
        self.hook.labels(domain, hook).observe(seconds)
        if domain == "market" and hook == "end_block" and any(e.type == "interval_cleared" for e in events):
            self.clearing.observe(seconds)

    def _finalized(self, req: abci.RequestFinalizeBlock, resp: abci.ResponseFinalizeBlock) -> None:
        for domain, result in zip(self._app.block_tx_domains if self._app else (), resp.tx_results, strict=False):
            self.txs.labels(domain, str(result.code)).inc()
            self._events(result.events, req.time.seconds)
        self._events(resp.events, req.time.seconds)

    def _events(self, events: Iterable[abci.Event], block_time: int) -> None:
        for e in events:
            kind = e.type
            outcome = _READING_EVENTS.get(kind)
            if outcome is not None:
                self.readings.labels(outcome).inc()
            elif kind == "interval_cleared":
                self.cleared.inc()
            elif kind in ("alert", "interval_settled", "bundle_issued", "hook_failed"):
                attrs = {a.key: a.value for a in e.attributes}
                if kind == "alert":
                    self.alerts.labels(attrs.get("reason", "")[:40]).inc()
                elif kind == "interval_settled" and attrs.get("interval", "").isdigit():
                    self.settlement_lag.set(block_time - int(attrs["interval"]))
                elif kind == "bundle_issued":
                    self.certificates.inc()
                    wh = attrs.get("wh", "")
                    self.certificates_wh.inc(int(wh) if wh.isdigit() else 0)
                else:
                    self.hook_failures.labels(attrs.get("domain", "")[:40], attrs.get("hook", "")[:40]).inc()
