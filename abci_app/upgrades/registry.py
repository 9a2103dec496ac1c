"""The migrations this app implements, registered once, by upgrade name.

`RELEASED` are the upgrades this release implements: always on. `STAGED` are the next version's
upgrades, shipped in this tree but switched on only per node (`python -m abci_app --upgrades NAME`,
or GRIDLEDGER_UPGRADES): a node without the switch is the old version, which stops at the plan's
height; with it, the new version, which runs the migration there. A release moves an upgrade from
STAGED to RELEASED.
"""

from __future__ import annotations

from collections.abc import Iterable

from abci_app.upgrades import dr_retention, hour_indexes, market_retention, proposal_kinds, retired_bundles_first
from abci_app.upgrades.migration import Migration

__all__ = ["RELEASED", "STAGED", "migrations"]

# hour-indexes: this version writes the hour indexes (and prunes from them) whatever the switch, so it
# is the version that needs them built; a node of it refuses a chain that planned the upgrade further
# than the next block (run the previous version until then), and a chain that never plans it never
# runs it.
# retired-bundles-first: the same, for the retirements' owner index and the retired bundles' earlier pruning.
# market-retention: the same, for the statements' interval index and the market's pruning.
# dr-retention: the same, for the settled demand-response events' pruning index and the grid's pruning.
RELEASED: tuple[Migration, ...] = (
    hour_indexes.MIGRATION,
    retired_bundles_first.MIGRATION,
    market_retention.MIGRATION,
    dr_retention.MIGRATION,
)
STAGED: tuple[Migration, ...] = (proposal_kinds.MIGRATION,)

_names = [m.name for m in (*RELEASED, *STAGED)]
if len(_names) != len(set(_names)):
    raise RuntimeError(f"an upgrade name is registered twice: {sorted(_names)}")


def migrations(enabled: Iterable[str] = ()) -> dict[str, Migration]:
    """The released migrations plus the staged ones named in `enabled`, by name; ValueError names
    an unknown upgrade."""
    staged = {m.name: m for m in STAGED}
    out = {m.name: m for m in RELEASED}
    for name in enabled:
        if name in out:
            continue
        if name not in staged:
            raise ValueError(f"unknown upgrade {name!r}; this app implements {sorted([*out, *staged])}")
        out[name] = staged[name]
    return out
