"""Crash points for fault-injection tests, controlled by the environment.

`GRIDLEDGER_CRASH_AT=<point>[@<height>]` kills the process with `os._exit` the first
time execution reaches `<point>` (at `<height>`, if given). Points: `after_finalize_block`,
`commit_before_write`, `commit_mid_write`, `commit_after_write`. Unset in production:
then `fault_point` is a no-op.

`GRIDLEDGER_BYZANTINE_TXS=<hex>,<hex>,...` makes this node a Byzantine proposer: every
proposal it prepares carries those raw txs too (tests of ProcessProposal and of
FinalizeBlock under hostile blocks). Unset in production.
"""

from __future__ import annotations

import os
import sys

__all__ = ["CRASH_EXIT_CODE", "fault_point", "proposal_txs", "set_height"]

CRASH_EXIT_CODE = 77

_spec = os.environ.get("GRIDLEDGER_CRASH_AT", "")
_point, _, _height_text = _spec.partition("@")
_at_height = int(_height_text) if _height_text else None
_current = {"height": 0}
_byzantine = [bytes.fromhex(t) for t in os.environ.get("GRIDLEDGER_BYZANTINE_TXS", "").split(",") if t.strip()]


def set_height(height: int) -> None:
    """Record the height being processed, for height-qualified crash points."""
    _current["height"] = height


def fault_point(name: str) -> None:
    if not _point or name != _point:
        return
    if _at_height is not None and _current["height"] != _at_height:
        return
    sys.stderr.write(f"gridledger: fault injection: crashing at {name} (height {_current['height']})\n")
    sys.stderr.flush()
    os._exit(CRASH_EXIT_CODE)


def proposal_txs(txs: list[bytes]) -> list[bytes]:
    """The txs this node proposes: `txs`, plus the injected ones when it plays Byzantine."""
    if not _byzantine:
        return txs
    sys.stderr.write(f"gridledger: fault injection: proposing {len(_byzantine)} injected txs\n")
    return [*txs, *_byzantine]
