"""Where things live in a node home made by `gridctl node init`."""

from __future__ import annotations

from pathlib import Path

__all__ = ["NodeHome"]


class NodeHome:
    """The folders and files of one node home (nothing is created by this class)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @property
    def cometbft(self) -> Path:
        """CometBFT's home: config/ (config.toml, genesis.json, keys) and data/."""
        return self.root / "cometbft"

    @property
    def genesis(self) -> Path:
        return self.cometbft / "config" / "genesis.json"

    @property
    def comet_config(self) -> Path:
        return self.cometbft / "config" / "config.toml"

    @property
    def app(self) -> Path:
        """The app's database and snapshots."""
        return self.root / "app"

    @property
    def keys(self) -> Path:
        """The org's member key material and the bridge's TLS key (owner-only)."""
        return self.root / "keys"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        """Pid files of the supervisor and its children."""
        return self.root / "run"

    def log(self, child: str) -> Path:
        return self.logs / f"{child}.log"

    def pidfile(self, name: str) -> Path:
        return self.run / f"{name}.pid"
