"""Golden stored bytes of every record type: `python -m tests.support.record_golden OUT.json`.

For each record class of the domains, records drawn by tests/support/record_strategies.py
(derandomized, so the same draw every run) with their `repr` and their stored bytes. The
file in tests/unit/record_golden.json was written from the hand-written encoders the
generic mapper replaced (abci_app/proto_record.py); tests/unit/test_proto_record.py
decodes each golden to the same repr and re-encodes it to the same bytes.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.record_strategies import record_strategy

__all__ = ["RECORD_MODULES", "capture", "record_cases"]

# every domain's records modules (records.py, *_records.py), so a new domain's records are covered
RECORD_MODULES = tuple(
    sorted(
        f"abci_app.{p.parent.name}.{p.stem}"
        for p in (Path(__file__).resolve().parents[2] / "abci_app").glob("*/*records.py")
    )
)
# record class -> its message's name where they differ
_MESSAGE_NAMES = {"Expected": "ForecastView", "DayError": "ForecastError"}
_RENAMED = {"SettlementEstimate": {"short_price": "imbalance_short_per_kwh", "long_price": "imbalance_long_per_kwh"}}
_SINT32 = st.integers(-(1 << 31), (1 << 31) - 1)
_UINT64 = st.integers(0, (1 << 64) - 1)
_EXTRA: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "Site": {"location": st.none() | st.tuples(_SINT32, _SINT32)},
    "GridInstruction": {"export_cap_w": st.none() | _UINT64, "import_cap_w": st.none() | _UINT64},
}


def _pb_module(module: Any) -> Any:
    """The generated `*_pb2` module a records module imports."""
    return next(v for k, v in vars(module).items() if inspect.ismodule(v) and v.__name__.endswith("_pb2"))


def record_cases() -> list[tuple[str, type, Any, st.SearchStrategy[Any]]]:
    """(qualified name, class, message class, strategy) of every stored record class."""
    cases = []
    for name in RECORD_MODULES:
        module = importlib.import_module(name)
        pb = _pb_module(module)
        for cls in vars(module).values():
            if not (inspect.isclass(cls) and dataclasses.is_dataclass(cls) and cls.__module__ == name):
                continue
            if not hasattr(cls, "encode") and not hasattr(cls, "to_proto"):
                continue
            message = getattr(cls, "PROTO", None) or getattr(pb, _MESSAGE_NAMES.get(cls.__name__, cls.__name__))
            strategy = record_strategy(cls, message, _RENAMED.get(cls.__name__), _EXTRA.get(cls.__name__))
            cases.append((f"{name}.{cls.__name__}", cls, message, strategy))
    return sorted(cases, key=lambda c: c[0])


def _encode(record: Any) -> bytes:
    if hasattr(record, "encode"):
        return bytes(record.encode())
    return bytes(record.to_proto().SerializeToString(deterministic=True))


def capture(examples: int = 8) -> dict[str, list[tuple[str, str]]]:
    """qualified class name -> [(repr, stored bytes as hex)] of `examples` drawn records."""
    out: dict[str, list[tuple[str, str]]] = {}
    for qualname, _cls, _message, strategy in record_cases():
        out[qualname] = _draw(strategy, examples)
    return out


def _draw(strategy: st.SearchStrategy[Any], examples: int) -> list[tuple[str, str]]:
    drawn: set[tuple[str, str]] = set()

    @settings(max_examples=examples, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(record: Any) -> None:
        drawn.add((repr(record), _encode(record).hex()))

    draw()
    return sorted(drawn)


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(
        json.dumps(capture(int(sys.argv[2]) if len(sys.argv) > 2 else 8), indent=0, sort_keys=True) + "\n"
    )
