"""Crash points for fault-injection tests, controlled by the environment.

`GRIDLEDGER_CRASH_AT=<point>[@<height>]` kills the process with `os._exit` the first
time execution reaches `<point>` (at `<height>`, if given). Points: `after_finalize_block`,
`commit_before_write`, `commit_mid_write`, `commit_after_write`. Unset in production:
then `fault_point` is a no-op.
"""

from __future__ import annotations

import os
import sys

__all__ = ["CRASH_EXIT_CODE", "fault_point", "set_height"]

CRASH_EXIT_CODE = 77

_spec = os.environ.get("GRIDLEDGER_CRASH_AT", "")
_point, _, _height_text = _spec.partition("@")
_at_height = int(_height_text) if _height_text else None
_current = {"height": 0}


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
