"""Where a running node's CPU goes during a measured window (`make bench ... --profile`).

py-spy samples node 0's app process from outside (no change to the app, `--nonblocking` so
the app is never paused), and CometBFT's own pprof endpoint (`rpc.pprof_laddr`, switched on
for node 0 only when profiling) gives the Go side. Each writes its raw profile into the run's
profile folder (py-spy's collapsed stacks feed any flame-graph tool; the pprof file opens
with `go tool pprof`), and a summary of the functions taking most samples, by their own time
and including what they call, goes into the results and the log.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = ["NodeProfiler", "render", "summarize_collapsed"]

PYSPY_RATE = 200  # samples a second
# Inclusive time is listed for the project's own functions, without the plumbing that wraps
# every request (the socket server, the metrics wrapper, the entry point).
PROJECT = (" (abci_app/", " (devices/", " (clients/")
PLUMBING = (" (abci_app/server.py)", " (abci_app/metrics.py)", " (abci_app/__main__.py)")
TOP = 15


def summarize_collapsed(text: str, top: int = TOP) -> dict[str, Any]:
    """py-spy's collapsed stacks ("frame;frame;frame count" per line, root first) as the
    functions with the most samples: by own time (the innermost frame) and inclusive (each of
    the project's functions counted once per stack, PLUMBING left out), in percent of all
    samples. Line numbers are dropped, so a function's samples add up whatever line they were on."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_function(f) for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for name in set(frames):
            if name.startswith(PROJECT, name.find(" (")) and not name.endswith(PLUMBING):
                inclusive[name] += n
    if not total:
        return {"samples": 0, "own": [], "inclusive": []}

    def pct(c: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in c.most_common(top)]

    return {"samples": total, "own": pct(own), "inclusive": pct(inclusive)}


def _function(frame: str) -> str:
    """ "verify (abci_app/crypto.py:81)" → "verify (abci_app/crypto.py)"; paths relative to the repo
    or to the standard library, so a summary reads the same on every machine."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("/abci_app/", "/clients/", "/devices/", "/gridwire/", "/site-packages/", "/lib/python3"):
        if marker in path:
            path = path[path.index(marker) + 1 :]
            break
    return f"{name} ({path})" if path else name


class NodeProfiler:
    """Profiles one node for `seconds` from `start()`; `finish()` waits and summarizes.

    Missing tools are said, not fatal: a run without py-spy or without `go` still measures."""

    def __init__(self, app_pid: int | None, pprof_addr: str | None, out_dir: Path, name: str, seconds: float) -> None:
        self.app_pid = app_pid
        self.pprof_addr = pprof_addr
        self.out_dir = out_dir
        self.name = name
        self.seconds = max(1, round(seconds))
        self._spy: subprocess.Popen[bytes] | None = None
        self._pprof: threading.Thread | None = None
        self._pprof_error: str | None = None

    @property
    def collapsed_path(self) -> Path:
        return self.out_dir / f"{self.name}-app0.collapsed"

    @property
    def pprof_path(self) -> Path:
        return self.out_dir / f"{self.name}-cometbft0.pprof"

    def start(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if self.app_pid is not None and Path(spy).exists():
            cmd = [spy, "record", "--pid", str(self.app_pid), "--rate", str(PYSPY_RATE), "--duration"]
            cmd += [str(self.seconds), "--format", "raw", "--nonblocking", "--output", str(self.collapsed_path)]
            self._spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if self.pprof_addr is not None:
            self._pprof = threading.Thread(target=self._fetch_pprof, daemon=True)
            self._pprof.start()

    def _fetch_pprof(self) -> None:
        url = f"http://{self.pprof_addr}/debug/pprof/profile?seconds={self.seconds}"
        try:
            with urllib.request.urlopen(url, timeout=self.seconds + 30) as resp:
                self.pprof_path.write_bytes(resp.read())
        except OSError as exc:
            self._pprof_error = f"pprof: {exc}"

    def finish(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seconds": self.seconds}
        if self.app_pid is None:
            pass  # no app process (kvstore)
        elif self._spy is None:
            out["app"] = "py-spy is not installed (make setup installs it)"
        else:
            try:
                _, err = self._spy.communicate(timeout=self.seconds + 60)
            except subprocess.TimeoutExpired:
                self._spy.kill()
                _, err = self._spy.communicate()
            if self.collapsed_path.exists():
                out["app"] = summarize_collapsed(self.collapsed_path.read_text())
                out["app_file"] = self.collapsed_path.name
            else:
                out["app"] = f"py-spy wrote nothing: {err.decode(errors='replace').strip()[-300:]}"
        if self._pprof is not None:
            self._pprof.join(self.seconds + 40)
            out["cometbft"] = self._pprof_error or _pprof_top(self.pprof_path)
            out["cometbft_file"] = self.pprof_path.name
        return out


def _pprof_top(path: Path, top: int = TOP) -> list[tuple[str, float]] | str:
    """The Go functions with the most own CPU in a pprof profile (`go tool pprof -top`), in
    percent of the profile's samples."""
    go = shutil.which("go")
    if go is None or not path.exists():
        return "no pprof summary (needs the profile and the go tool)"
    proc = subprocess.run(
        [go, "tool", "pprof", "-top", f"-nodecount={top}", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    rows: list[tuple[str, float]] = []
    for line in proc.stdout.splitlines():
        parts = line.split()
        # flat  flat%  sum%  cum  cum%  name...
        if len(parts) >= 6 and parts[1].endswith("%") and parts[4].endswith("%"):
            try:
                rows.append((" ".join(parts[5:]), float(parts[1].rstrip("%"))))
            except ValueError:
                continue
    return rows or f"go tool pprof gave no rows: {proc.stderr.strip()[-300:]}"


def render(name: str, prof: dict[str, Any]) -> list[str]:
    """Log lines for one profile: the top functions by own samples, app then CometBFT."""
    lines = [f"  profile of node 0 during {name} ({prof['seconds']} s):"]
    app = prof.get("app")
    if isinstance(app, dict):
        lines.append(f"    app (py-spy, {app['samples']:,} samples), own time:")
        lines += [f"      {p:5.1f} %  {fn}" for fn, p in app["own"]]
        lines.append("    app, including callees:")
        lines += [f"      {p:5.1f} %  {fn}" for fn, p in app["inclusive"]]
    else:
        lines.append(f"    app: {app}")
    comet = prof.get("cometbft")
    if isinstance(comet, list):
        lines.append("    cometbft (pprof), own time:")
        lines += [f"      {p:5.1f} %  {fn}" for fn, p in comet]
    elif comet is not None:
        lines.append(f"    cometbft: {comet}")
    return lines
