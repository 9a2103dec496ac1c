"""`gridctl node start`: run a node's processes together and keep them running.

Started in order: the app (until it listens for CometBFT), CometBFT, the gRPC bridge, the
dashboard (when enabled). The app and CometBFT are one unit: when either exits, both are
stopped and started again. A unit that fails is restarted after an exponential backoff
(tenacity); after `supervisor.max_restarts` quick failures in a row (each run shorter than
`supervisor.healthy_after_s`) the supervisor gives up, stops everything and exits 1. SIGTERM or
SIGINT stops the children (dashboard, bridge, CometBFT, app: SIGTERM, then SIGKILL to the child's
process group after `supervisor.stop_timeout_s`) and exits 0. Governed upgrades go through
clients/node/upgrade_switch.py: the app command is its `app_command`, and an app that exits is
judged by its `after_exit` (switched to the prepared new version: restarted at once; new version
missing or started too early: left down, watched, restarted once the operator fixed it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_when_event_set, wait_exponential

from clients.node import upgrade_switch
from clients.node.children import app_args, bridge_command, comet_command, dashboard_command
from clients.node.cometconfig import apply_settings
from clients.node.config import NodeConfig, effective_lines
from clients.node.init import comet_config_settings
from clients.node.layout import NodeHome

__all__ = ["ChildFailedError", "Supervisor"]

REPO = Path(__file__).resolve().parents[2]
ABCI_WAIT_S = 60.0
UPGRADE_POLL_S = 2.0  # how often an app left down for an upgrade looks for the new version


class ChildFailedError(RuntimeError):
    """A supervised unit exited (or could not start) while the supervisor was not stopping."""


def _stdout_line(line: str) -> None:
    """The supervisor's own output: one line to stdout, flushed (the journal under systemd)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _port_open(listen: str) -> bool:
    host, _, port = listen.rpartition(":")
    host = "127.0.0.1" if host in ("0.0.0.0", "") else host.strip("[]")  # noqa: S104 - a listen address
    try:
        with socket.create_connection((host, int(port)), timeout=0.3):
            return True
    except OSError:
        return False


class Supervisor:
    """The processes of one node home; `run()` blocks until stopped and returns the exit status."""

    def __init__(
        self,
        home: Path,
        config: NodeConfig,
        sources: Mapping[str, str],
        *,
        out: Callable[[str], None] | None = None,
    ) -> None:
        self.home = NodeHome(home)
        self.config = config
        self.sources = dict(sources)
        self.out = out or _stdout_line
        self.stopping = threading.Event()
        self.failed: list[str] = []
        self._consensus_up = threading.Event()
        self._lock = threading.Lock()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._local = threading.local()  # `stop`: the Event ending the current thread's unit
        self._unit_stops: dict[str, threading.Event] = {}

    # -- commands ----------------------------------------------------------------------

    def app_cmd(self) -> list[str]:
        """The app command to run now: this version, or the new one once a governed upgrade switched
        the app home over (upgrade_switch.app_command)."""
        c = self.config
        args = app_args(abci=f"tcp://{c.abci_listen}", home=self.home.app, metrics=c.app_metrics)
        return upgrade_switch.app_command(self.home.app, [c.node_python, "-m", "abci_app"], args)

    def bridge_cmd(self) -> list[str]:
        c = self.config
        return bridge_command(
            c.node_python,
            listen=c.bridge_listen,
            rpc_url=c.rpc_url(),
            genesis=self.home.genesis,
            tls_cert=c.bridge_tls_cert,
            tls_key=c.bridge_tls_key,
            member_auth=c.bridge_member_auth,
        )

    def dashboard_cmd(self) -> list[str]:
        host, _, port = self.config.dashboard_listen.rpartition(":")
        return dashboard_command(
            self.config.node_python,
            rpc_urls=[self.config.rpc_url()],
            host=host,
            port=int(port),
            label=str(self.home.root),
        )

    # -- children ----------------------------------------------------------------------

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        with open(self.home.log(name), "ab") as log:
            # its own process group: a terminal's ^C reaches only the supervisor, and a stuck
            # child is killed with everything it started
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, process_group=0)
        with self._lock:
            self._procs[name] = proc
        self.home.pidfile(name).write_text(str(proc.pid))
        self.out(f"supervisor: {name} started (pid {proc.pid}), log {self.home.log(name)}")
        return proc

    def _stop_child(self, name: str) -> None:
        with self._lock:
            proc = self._procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                proc.wait(timeout=self.config.supervisor_stop_timeout_s)
            except subprocess.TimeoutExpired:
                self.out(
                    f"supervisor: {name} did not stop in {self.config.supervisor_stop_timeout_s:g}s; killing its group"
                )
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of its group (it may have gone already)
        proc.wait()
        self.home.pidfile(name).unlink(missing_ok=True)

    def _unit_stop(self) -> threading.Event:
        """The event that ends the calling thread's unit (the supervisor's own outside a unit)."""
        event: threading.Event = getattr(self._local, "stop", self.stopping)
        return event

    def _wait_any(self, procs: Mapping[str, subprocess.Popen[bytes]], healthy: threading.Event | None) -> str | None:
        """Block until one of `procs` exits (its name) or the supervisor stops (None)."""
        started = time.monotonic()
        while not self._unit_stop().wait(0.2):
            ran = time.monotonic() - started
            if healthy is not None and not healthy.is_set() and ran >= self.config.supervisor_healthy_after_s:
                healthy.set()
            for name, proc in procs.items():
                if proc.poll() is not None:
                    return name
        return None

    # -- units -------------------------------------------------------------------------

    def _run_consensus(self, healthy: threading.Event) -> None:
        """One run of the app and CometBFT: returns when stopping; raises ChildFailedError when one exits."""
        cmd = self.app_cmd()
        app = self._spawn("app", cmd)
        deadline = time.monotonic() + ABCI_WAIT_S
        while not _port_open(self.config.abci_listen):
            if self._unit_stop().is_set():
                self._stop_child("app")
                return
            if app.poll() is not None or time.monotonic() > deadline:
                self._stop_child("app")
                self._after_app_exit(app.wait(), cmd, healthy)
                raise ChildFailedError(
                    f"app did not listen on {self.config.abci_listen} (exit status {app.returncode})"
                )
            time.sleep(0.05)
        apply_settings(self.home.comet_config, comet_config_settings(self.config))
        comet = self._spawn("cometbft", comet_command(self.config.node_cometbft, self.home.cometbft))
        self._consensus_up.set()
        exited = self._wait_any({"app": app, "cometbft": comet}, healthy)
        if exited is not None:
            code = {"app": app, "cometbft": comet}[exited].returncode
            other = "cometbft" if exited == "app" else "app"
            self.out(f"supervisor: {exited} exited with status {code}; stopping {other}")
        self._stop_child("cometbft")
        self._stop_child("app")
        if exited is None:
            return
        if exited == "app":
            self._after_app_exit(app.wait(), cmd, healthy)
        raise ChildFailedError(f"{exited} exited with status {code}")

    def _after_app_exit(self, status: int, cmd: list[str], healthy: threading.Event) -> None:
        """Act on the upgrade switch's decision for an app that exited with `status`: switched to a
        new version (restart at once, not a failure), or left down until the operator prepares the
        new version or changes the switch (then restart at once), or an ordinary failure."""
        decision = upgrade_switch.after_exit(self.home.app, status)
        if decision.action == "upgraded":
            self.out(f"supervisor: {decision.message}")
            healthy.set()
        elif decision.action == "stop":
            self.out(f"supervisor: app left down: {decision.message}")
            while not self._unit_stop().wait(UPGRADE_POLL_S):
                if self.app_cmd() != cmd or upgrade_switch.after_exit(self.home.app, status).action != "stop":
                    self.out("supervisor: the upgrade switch changed; starting the app again")
                    break
            healthy.set()

    def _run_simple(self, name: str, cmd: Callable[[], list[str]]) -> Callable[[threading.Event], None]:
        def run(healthy: threading.Event) -> None:
            proc = self._spawn(name, cmd())
            exited = self._wait_any({name: proc}, healthy)
            self._stop_child(name)
            if exited is not None:
                raise ChildFailedError(f"{name} exited with status {proc.returncode}")

        return run

    def _keep_running(self, unit: str, run_once: Callable[[threading.Event], None]) -> None:
        """Run `run_once` again after each failure, with backoff; give up (and stop the node) after
        max_restarts quick failures in a row."""
        c = self.config
        self._local.stop = self._unit_stops.setdefault(unit, threading.Event())
        while not self._unit_stop().is_set():
            healthy = threading.Event()

            def before_sleep(state: Any) -> None:
                wait = state.next_action.sleep if state.next_action else 0
                self.out(f"supervisor: {unit} failed ({state.outcome.exception()}); restart in {wait:.1f}s")

            retrying = Retrying(
                stop=stop_after_attempt(c.supervisor_max_restarts + 1) | stop_when_event_set(self._unit_stop()),
                wait=wait_exponential(multiplier=c.supervisor_backoff_initial_s, max=c.supervisor_backoff_max_s),
                retry=retry_if_exception(_quick_failure),
                sleep=self._backoff_sleep,
                before_sleep=before_sleep,
                reraise=True,
            )
            try:
                retrying(self._healthy_or_raise, run_once, healthy)
            except ChildFailedError as exc:
                if self._unit_stop().is_set():
                    return
                if healthy.is_set():
                    self.out(f"supervisor: {unit} ran well before it failed ({exc}); restarting")
                    continue
                self.out(
                    f"supervisor: {unit} keeps failing ({exc}); giving up after {c.supervisor_max_restarts} restarts"
                )
                self.failed.append(unit)
                self.stopping.set()
                return
            except Exception as exc:  # a bug or an OS error starting a child: stop the node, say why
                self.out(f"supervisor: {unit} could not be run: {type(exc).__name__}: {exc}")
                self.failed.append(unit)
                self.stopping.set()
                return

    def _backoff_sleep(self, seconds: float) -> None:
        """Tenacity's sleep between restarts, cut short when the supervisor stops."""
        self._unit_stop().wait(seconds)

    @staticmethod
    def _healthy_or_raise(run_once: Callable[[threading.Event], None], healthy: threading.Event) -> None:
        """One attempt; a failure after a healthy run leaves the retry loop (and resets the count)."""
        try:
            run_once(healthy)
        except ChildFailedError:
            if healthy.is_set():
                raise _FailedAfterHealthyRunError() from None
            raise

    # -- the whole node ----------------------------------------------------------------

    def run(self) -> int:
        """Start the node's processes and supervise them until SIGTERM/SIGINT (0) or a unit keeps failing (1)."""
        c = self.config
        self.out(f"gridledger node {c.node_moniker} (org {c.node_org or '-'}, chain {c.node_chain_id or '-'})")
        self.out(f"home {self.home.root}; effective configuration (node.toml < GRIDLEDGER_* environment):")
        for line in effective_lines(c, self.sources):
            self.out(f"  {line}")
        for folder in (self.home.logs, self.home.run, self.home.app):
            folder.mkdir(parents=True, exist_ok=True)
        self.home.pidfile("supervisor").write_text(str(os.getpid()))

        def on_signal(signum: int, _frame: Any) -> None:
            self.out(f"supervisor: {signal.Signals(signum).name} received; stopping")
            self.stopping.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        units: list[tuple[str, Callable[[threading.Event], None]]] = [("consensus", self._run_consensus)]
        if c.bridge_enabled:
            units.append(("bridge", self._run_simple("bridge", self.bridge_cmd)))
        if c.dashboard_enabled:
            units.append(("dashboard", self._run_simple("dashboard", self.dashboard_cmd)))
        threads: list[threading.Thread] = []
        try:
            for unit, run_once in units:
                if threads:  # the bridge and dashboard start once the app and CometBFT run
                    while not (self._consensus_up.wait(0.2) or self.stopping.is_set()):
                        pass
                if self.stopping.is_set():
                    break
                thread = threading.Thread(target=self._keep_running, args=(unit, run_once), name=unit, daemon=True)
                thread.start()
                threads.append(thread)
            while not self.stopping.wait(0.5):
                pass
        finally:
            self.stopping.set()
            for thread in reversed(threads):  # dashboard, bridge, then CometBFT and the app, one after the other
                self._unit_stops.setdefault(thread.name, threading.Event()).set()
                thread.join()
            for name in list(self._procs):
                self._stop_child(name)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.home.pidfile("supervisor").unlink(missing_ok=True)
        if self.failed:
            self.out(f"supervisor: stopped; {', '.join(self.failed)} kept failing (see {self.home.logs})")
            return 1
        self.out("supervisor: stopped")
        return 0


class _FailedAfterHealthyRunError(ChildFailedError):
    """A unit failed after running well: not retried by this round of backoff, a fresh round starts."""


def _quick_failure(exc: BaseException) -> bool:
    return isinstance(exc, ChildFailedError) and not isinstance(exc, _FailedAfterHealthyRunError)
