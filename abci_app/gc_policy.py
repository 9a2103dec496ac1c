"""The app process's garbage-collector policy (a node setting, never consensus).

CPython's cyclic collector traverses every tracked object of the generation it collects; a
full collection of a node's heap (the state's caches, the decoded-tx cache, thousands of
order records) cost about 50 ms inside every other gate closure. The policy:

- after the state is loaded: collect once and `gc.freeze()` what survived (the permanent
  generation, which no automatic collection traverses again), and a larger generation-0
  threshold, so a block's allocations start far fewer young collections;
- after every REFREEZE_BLOCKS-th Commit (a safe point: no block is in flight), move the frozen
  objects back, collect everything (so cyclic garbage among once-frozen objects is freed and
  nothing leaks for good) and freeze the survivors again, so what the node has grown since
  (cache entries, records) leaves the automatic collections too.

Nothing here reads or writes state or changes any result: garbage collection only frees
unreachable objects, so app hashes and every answer are the same with or without it.
"""

from __future__ import annotations

import functools
import gc
from typing import Any, Protocol

__all__ = ["GEN0_THRESHOLD", "REFREEZE_BLOCKS", "freeze_now", "install"]

GEN0_THRESHOLD = 20_000  # CPython's default is 700 allocations between young collections
REFREEZE_BLOCKS = 500


class _Committing(Protocol):
    def commit(self, req: Any) -> Any: ...


def freeze_now() -> None:
    """Collect everything (the frozen objects too) and freeze what survives."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def install(app: _Committing, *, every: int = REFREEZE_BLOCKS) -> None:
    """Apply the policy to this process: freeze now (call it after the state is loaded), raise
    the generation-0 threshold (the older generations keep their defaults) and re-freeze after
    every `every`-th Commit of `app` (wrapping this instance's `commit`)."""
    freeze_now()
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
    commit = app.commit
    commits = 0

    @functools.wraps(commit)
    def committed(req: Any) -> Any:
        nonlocal commits
        resp = commit(req)
        commits += 1
        if commits % every == 0:
            freeze_now()
        return resp

    app.commit = committed  # type: ignore[method-assign]
