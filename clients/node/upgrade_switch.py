"""Which app command a node's supervisor runs, and what it does when the app exits (cosmovisor-style).

One app home holds the switch's state:

    APP_HOME/upgrade-info.json             written by the app when it stops for an upgrade (exit code
                                           EXIT_UPGRADE_NEEDED): {"name", "height", "info"}
    APP_HOME/upgrades/<name>/upgrade.json  the new version for upgrade <name>, prepared by the operator
                                           before the height (`prepare`): {"command": [argv prefix]} runs
                                           another installation in place of `python -m abci_app`; without
                                           "command" the same program runs with the upgrade switched on
    APP_HOME/upgrades/current.json         the upgrades switched on so far, in order: {"upgrades": [...]}

`app_command` is the command to start now; `after_exit` reads an exit status: an app stopped for an
upgrade whose new version is prepared is switched to it (restart), one whose new version is missing
stays down until it is prepared, an app refusing to start too early stays down, anything else is
restarted as it was. The localnet's supervisor and `gridctl node start` both use it (clients/node/supervisor.py).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gridwire.contract.governance import (
    EXIT_UPGRADE_NEEDED,
    EXIT_UPGRADE_TOO_EARLY,
    UPGRADE_INFO_FILE,
    UPGRADE_NAME_PATTERN,
)

__all__ = ["Decision", "active_upgrades", "after_exit", "app_command", "prepare"]

_CURRENT = "current.json"
_UPGRADE = "upgrade.json"


@dataclass(frozen=True, slots=True)
class Decision:
    """What a supervisor does with an exited app: restart it (as it was), restart it as the new
    version (`upgraded`), or leave it down (`stop`, `message` says why and what to do)."""

    action: Literal["restart", "upgraded", "stop"]
    message: str = ""


def _upgrades_dir(app_home: Path) -> Path:
    return app_home / "upgrades"


def _write_json(path: Path, doc: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2))
    os.replace(tmp, path)


def prepare(app_home: Path, name: str, command: list[str] | None = None) -> Path:
    """Install the new version for upgrade `name` (before its height): its folder, with `command`
    (an argv prefix replacing `python -m abci_app`) if it is another installation."""
    if re.fullmatch(UPGRADE_NAME_PATTERN, name) is None:
        raise ValueError(f"upgrade name {name!r} must match {UPGRADE_NAME_PATTERN}")
    folder = _upgrades_dir(app_home) / name
    _write_json(folder / _UPGRADE, {} if command is None else {"command": list(command)})
    return folder


def active_upgrades(app_home: Path) -> list[str]:
    """The upgrades switched on for this home, in the order they were switched on."""
    path = _upgrades_dir(app_home) / _CURRENT
    if not path.exists():
        return []
    names = json.loads(path.read_text()).get("upgrades", [])
    return [str(n) for n in names]


def app_command(app_home: Path, program: list[str], args: list[str]) -> list[str]:
    """The app command to run now: `program` (or the latest switched-on upgrade's own command)
    with `args`, and `--upgrades` naming the upgrades switched on."""
    active = active_upgrades(app_home)
    for name in reversed(active):
        spec = json.loads((_upgrades_dir(app_home) / name / _UPGRADE).read_text())
        if spec.get("command"):
            program = [str(a) for a in spec["command"]]
            break
    return [*program, *args, *(["--upgrades", ",".join(active)] if active else [])]


def after_exit(app_home: Path, status: int) -> Decision:
    """Decide from the app's exit status (switching the home to the new version when it is due
    and prepared)."""
    if status == EXIT_UPGRADE_TOO_EARLY:
        return Decision(
            "stop",
            "the app implements a planned upgrade whose height is still ahead and refused to start: run the "
            f"previous version until then (remove the upgrade from {_upgrades_dir(app_home) / _CURRENT})",
        )
    if status != EXIT_UPGRADE_NEEDED:
        return Decision("restart")
    try:
        info = json.loads((app_home / UPGRADE_INFO_FILE).read_text())
        name, height, text = str(info["name"]), int(info["height"]), str(info.get("info", ""))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Decision("stop", f"the app stopped for an upgrade but {UPGRADE_INFO_FILE} is unreadable: {exc}")
    if re.fullmatch(UPGRADE_NAME_PATTERN, name) is None:
        return Decision("stop", f"{UPGRADE_INFO_FILE} names an invalid upgrade {name[:70]!r}")
    folder = _upgrades_dir(app_home) / name
    if not (folder / _UPGRADE).exists():
        return Decision(
            "stop",
            f"UPGRADE NEEDED {name} at height {height} ({text}): install the new version in {folder} "
            "(clients/ops/upgrade_switch.prepare), then the node starts again",
        )
    active = active_upgrades(app_home)
    if name not in active:
        _write_json(_upgrades_dir(app_home) / _CURRENT, {"upgrades": [*active, name]})
    return Decision("upgraded", f"upgrade {name} at height {height}: starting the new version ({text})")
