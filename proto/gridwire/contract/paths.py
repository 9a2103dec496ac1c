"""Query paths: one builder per root of the ledger's `abci_query` router.

A path is `/<root>/<segment>/...`, optionally followed by `?limit=N&after=<cursor>` on the
roots that list a collection. Addresses and other raw bytes travel as lower-case hex.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["QueryRoot", "page_suffix"]


@dataclass(frozen=True, slots=True)
class QueryRoot:
    """One root of the query router: `root("a", 1)` is the path `/<root>/a/1`."""

    root: str

    def __call__(self, *segments: str | int | bytes) -> str:
        """The path of this root with `segments` (bytes as hex, integers in decimal)."""
        parts = [self.root, *(s.hex() if isinstance(s, bytes) else str(s) for s in segments)]
        return "/" + "/".join(parts)


def page_suffix(limit: int = 0, after: str = "") -> str:
    """The `?limit=N&after=<cursor>` of a list query (limit 0: the ledger's default page size;
    '' for the default first page)."""
    options = ([f"limit={limit}"] if limit else []) + ([f"after={after}"] if after else [])
    return "?" + "&".join(options) if options else ""
