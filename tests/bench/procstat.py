"""Per-process CPU time and resident memory from /proc, sampled in a background thread."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

__all__ = ["ProcSampler", "cpu_seconds", "machine_busy_seconds", "rss_mb"]

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds the process has used (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    total = sum(parts[:8])
    return (total - idle) / _TICKS, total / _TICKS


@dataclass
class ProcSampler:
    """Samples RSS and CPU time of named processes (and the machine) every `interval` seconds."""

    pids: dict[str, int]
    interval: float = 1.0
    rss: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    cpu_samples: list[tuple[float, dict[str, float], tuple[float, float]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="procstat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for name, pid in self.pids.items():
                mb = rss_mb(pid)
                if mb is not None:
                    self.rss.setdefault(name, []).append((now, mb))
            self.cpu_samples.append((now, self.cpu(), machine_busy_seconds()))
            self._stop.wait(self.interval)

    def cpu_between(self, t0: float, t1: float) -> dict[str, float]:
        """Cores used on average between monotonic times t0 and t1: per process, and
        `machine` (every process on the box, ours or not)."""
        inside = [s for s in self.cpu_samples if t0 <= s[0] <= t1]
        if len(inside) < 2:
            return {}
        (a_t, a_cpu, a_m), (b_t, b_cpu, b_m) = inside[0], inside[-1]
        span = b_t - a_t
        out = {name: round((b_cpu[name] - a_cpu[name]) / span, 3) for name in b_cpu if name in a_cpu}
        if b_m[1] > a_m[1]:
            out["machine"] = round((b_m[0] - a_m[0]) / (b_m[1] - a_m[1]) * (os.cpu_count() or 1), 3)
        return out

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each process."""
        out = {}
        for name, pid in self.pids.items():
            s = cpu_seconds(pid)
            if s is not None:
                out[name] = s
        return out

    def rss_summary(self) -> dict[str, dict[str, float]]:
        return {
            name: {"max_mb": round(max(v for _t, v in xs), 1), "last_mb": round(xs[-1][1], 1)}
            for name, xs in sorted(self.rss.items())
            if xs
        }
