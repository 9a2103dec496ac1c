"""`python -m abci_app --address tcp://127.0.0.1:26658 --home DIR`: run the ABCI app."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from pathlib import Path

import structlog
from gridwire.contract.governance import EXIT_UPGRADE_NEEDED, UPGRADE_INFO_FILE

from abci_app import gc_policy, pins
from abci_app.app import GridLedgerApp
from abci_app.logging_setup import configure_logging
from abci_app.metrics import Metrics, parse_listen
from abci_app.server import serve
from abci_app.statesync.store import SnapshotStore
from abci_app.store.backend import CorruptStateError
from abci_app.store.sqlite import SQLiteBackend
from abci_app.upgrades.registry import migrations
from abci_app.upgrades.runner import start_refusal, write_upgrade_info


def listen_address(text: str) -> str:
    """An ABCI listen address: tcp://HOST:PORT (port 0..65535, 0 for any free port) or unix:///PATH."""
    if text.startswith("unix://"):
        if not text[len("unix://") :]:
            raise argparse.ArgumentTypeError(f"{text!r} names no socket path; unix:///PATH")
        return text
    host, sep, port = text.removeprefix("tcp://").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65_535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not tcp://HOST:PORT (port 0..65535; 0: any free) or unix:///PATH"
        )
    return text


def metrics_address(text: str) -> tuple[str, int]:
    """The metrics listen address HOST:PORT."""
    try:
        return parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m abci_app", description=__doc__)
    parser.add_argument(
        "--address", type=listen_address, default="tcp://127.0.0.1:26658", help="tcp://host:port or unix:///path"
    )
    parser.add_argument("--home", type=Path, required=True, help="folder for the app's state database")
    parser.add_argument(
        "--no-snapshots",
        action="store_true",
        help="take no state sync snapshots (by default they go to HOME/snapshots at the governed interval)",
    )
    parser.add_argument(
        "--metrics",
        type=metrics_address,
        default=None,
        metavar="HOST:PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics (off by default)",
    )
    privacy = parser.add_mutually_exclusive_group()
    privacy.add_argument(
        "--private-queries",
        dest="private_queries",
        action="store_true",
        default=os.environ.get("GRIDLEDGER_PRIVATE_QUERIES", "1") != "0",
        help="refuse households' data (readings, statements, ...) on plain abci_query; serve it on /signed/... "
        "to signed read requests (the default, unless the environment sets GRIDLEDGER_PRIVATE_QUERIES=0)",
    )
    privacy.add_argument(
        "--public-queries",
        dest="private_queries",
        action="store_false",
        help="answer households' data on plain abci_query to whoever reaches the RPC (experiments only)",
    )
    parser.add_argument(
        "--upgrades",
        default=os.environ.get("GRIDLEDGER_UPGRADES", ""),
        metavar="NAME[,NAME]",
        help="switch on these staged upgrades' migrations (abci_app/upgrades/registry.py): run as the version "
        "that implements them (default: the environment's GRIDLEDGER_UPGRADES). The supervisor's switch "
        "(clients/ops/upgrade_switch.py) sets it when an upgrade is due",
    )
    parser.add_argument("--log-format", choices=["console", "json"], default="console")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)

    configure_logging(args.log_format, args.log_level)
    log = structlog.get_logger("gridledger")
    versions = pins.installed()
    log.info("consensus_libraries", **{name: version or "missing" for name, version in versions.items()})
    wrong = pins.mismatches(versions)
    if wrong:
        log.error("refusing_to_start", reason="consensus libraries differ from their pins: " + "; ".join(wrong))
        return 3
    try:
        args.home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.error(
            "refusing_to_start", reason=f"cannot create the home folder: {exc.strerror or exc}", home=str(args.home)
        )
        return 2
    try:
        implemented = migrations([n for n in args.upgrades.split(",") if n.strip()] if args.upgrades else [])
    except ValueError as exc:
        log.error("refusing_to_start", reason=str(exc))
        return 2
    db = args.home / "state.sqlite"
    try:
        snapshots = None if args.no_snapshots else SnapshotStore(args.home / "snapshots")
        app = GridLedgerApp(SQLiteBackend(db), snapshots=snapshots)
        app.private_queries = args.private_queries
        app.migrations = implemented
        app.upgrade_info_path = args.home / UPGRADE_INFO_FILE
        started = time.perf_counter()
        keys = app.state.verify()
        log.info("state_verified", keys=keys, ms=round((time.perf_counter() - started) * 1000, 1))
    except CorruptStateError as exc:
        log.error("refusing_to_start", reason=str(exc), database=str(db))
        return 3
    except OSError as exc:
        log.error("refusing_to_start", reason=f"cannot open the state database: {exc}", database=str(db))
        return 3
    refusal = start_refusal(app.state, app.state.height, app.migrations)
    if refusal is not None:
        # too old: the next height needs an upgrade this version lacks; too new: its height is ahead
        log.error(refusal.reason, upgrade=refusal.plan.name, height=refusal.plan.height, exit_code=refusal.exit_code)
        if refusal.exit_code == EXIT_UPGRADE_NEEDED:
            write_upgrade_info(app.upgrade_info_path, refusal.plan)
        return refusal.exit_code
    if app.migrations:
        log.info("upgrades_implemented", upgrades=sorted(app.migrations))
    if args.metrics is not None:
        host, port = args.metrics
        observer = Metrics()
        observer.instrument(app)
        try:
            observer.serve(host, port)
        except OSError as exc:
            log.error("refusing_to_start", reason=f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}")
            return 2
        log.info("metrics_listening", url=f"http://{host}:{port}/metrics")
    # the loaded state leaves the automatic collections (abci_app/gc_policy.py; no effect on results)
    gc_policy.install(app)
    log.info(
        "starting",
        height=app.state.height,
        app_hash=app.state.app_hash.hex()[:16],
        database=str(db),
        private_queries=app.private_queries,
    )
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(app, args.address))
    except OSError as exc:  # the address is taken or cannot be bound
        log.error("refusing_to_start", reason=f"cannot listen on {args.address}: {exc.strerror or exc}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
