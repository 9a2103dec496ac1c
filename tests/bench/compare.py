"""`python -m tests.bench.compare A.json B.json ...`: the figures of bench runs side by side.

Without arguments, compares the two newest results in `.bench/results/`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tests.bench.run import BENCH_DIR, rows, settings_text


def _label(results: dict[str, Any], path: Path) -> str:
    commit = str(results.get("machine", {}).get("versions", {}).get("git_commit", "?"))[:8]
    return f"{path.stem.removeprefix('bench-')} ({commit})"


def compare(paths: list[Path]) -> str:
    runs = [json.loads(p.read_text()) for p in paths]
    tables = [{what: measured for what, measured, _target, _v in rows(r)} for r in runs]
    targets = {what: target for r in runs for what, _m, target, _v in rows(r)}
    order: list[str] = []
    for t in tables:
        order += [w for w in t if w not in order]
    labels = [_label(r, p) for r, p in zip(runs, paths, strict=True)]
    width = max(len(w) for w in order)
    cols = [max(len(lab), *(len(t.get(w, "-")) for w in order)) for lab, t in zip(labels, tables, strict=True)]
    lines = ["  ".join(["what".ljust(width), *(lab.rjust(c) for lab, c in zip(labels, cols, strict=True)), "target"])]
    for w in order:
        cells = [t.get(w, "-").rjust(c) for t, c in zip(tables, cols, strict=True)]
        lines.append("  ".join([w.ljust(width), *cells, targets.get(w, "")]))
    for label, r in zip(labels, runs, strict=True):
        load = r.get("machine", {}).get("load_average_at_start")
        lines.append(f"{label}: load average at start {load}; {settings_text(r) or 'no localnet run'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.compare", description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.results or sorted((BENCH_DIR / "results").glob("bench-*.json"), key=lambda p: p.stat().st_mtime)[-2:]
    if not paths:
        print("no results to compare", file=sys.stderr)
        return 1
    print(compare(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
