"""The member's actions on the Home view (accept new terms, place or cancel an order, set a
rule) as the exact `gridctl` command to run: the dashboard holds no keys and signs nothing, so
the page shows the command, filled in from its form, for the member to run with their own key.
Accepting new terms and cancelling an order can instead be signed in the page itself
(static/sign.js, with the layout `sign_contract` gives) and relayed (relay.py).

Every value is checked first (inputs.*): a malformed value, a negative price or a hostile string
gets BadInputError with a clear message and no command. The command is quoted for a POSIX shell
(shlex.join), although checked values never need quoting.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from gridledger.market.v1 import market_pb2
from gridwire.tx import type_url

from clients.market import RULE_KINDS
from clients.servers.dashboard import inputs
from clients.servers.dashboard.inputs import BadInputError

__all__ = ["ACTIONS", "SIGNED_IN_PAGE", "command", "shell", "sign_contract"]

ACTIONS = ("accept", "order-place", "order-cancel", "rule-set")
SIDES = ("buy", "sell")
SIGNED_IN_PAGE: dict[str, type[Message]] = {"accept": market_pb2.AcceptTerms, "order-cancel": market_pb2.CancelOrder}
RULE_LIMITS = (  # optional whole-number options of `gridctl rule set`, by form field
    ("max_wh_per_interval", "--max-wh-per-interval", "max Wh per interval"),
    ("max_wh_per_day", "--max-wh-per-day", "max Wh per day"),
    ("daily_budget", "--daily-budget", "daily budget"),
)


def _member(text: str | None) -> str:
    ref = inputs.member_ref(text)
    if isinstance(ref, bytes):
        raise BadInputError("actions need the member as org/name (the gridctl --as of their key)")
    return f"{ref[0]}/{ref[1]}"


def _choice(text: str | None, name: str, options: tuple[str, ...]) -> str:
    value = (text or "").strip()
    if value not in options:
        raise BadInputError(f"{name} must be one of " + ", ".join(options))
    return value


def command(action: str | None, form: Mapping[str, str]) -> list[str]:
    """The gridctl argv (starting with "gridctl") for `action` with the values of `form`, every
    one checked; BadInputError (with the message for the page) for any bad value."""
    act = _choice(action, "action", ACTIONS)
    who = ["gridctl", "--as", _member(form.get("member"))]
    get = form.get
    if act == "accept":
        alert = inputs.number(get("alert_id"), "alert id", minimum=1)
        return [*who, "accept", str(alert), "--limit", str(inputs.number(get("limit"), "new limit price"))]
    if act == "order-cancel":
        return [*who, "order", "cancel", str(inputs.number(get("order_id"), "order id", minimum=1))]
    if act == "order-place":
        side = _choice(get("side"), "side", SIDES)
        interval = inputs.number(get("interval"), "interval start", minimum=1)
        energy = inputs.number(get("energy_wh"), "energy (Wh)", minimum=1)
        limit = inputs.number(get("limit"), "limit price")
        where = ["--site", inputs.token(get("site"), "site id")] if side == "buy" else []
        if side == "sell":
            where = ["--device", inputs.token(get("device"), "device id")]
        return [*who, "order", "place", side, str(interval), str(energy), str(limit), *where]
    kind = _choice(get("kind"), "rule kind", tuple(sorted(RULE_KINDS)))
    argv = [*who, "rule", "set", kind, "--limit", str(inputs.number(get("limit"), "limit price"))]
    if get("site"):
        argv += ["--site", inputs.token(get("site"), "site id")]
    if get("device"):
        argv += ["--device", inputs.token(get("device"), "device id")]
    for field, option, name in RULE_LIMITS:
        if get(field):
            argv += [option, str(inputs.number(get(field), name))]
    return argv


def shell(argv: list[str]) -> str:
    """`argv` as one line for a POSIX shell."""
    return shlex.join(argv)


def sign_contract() -> dict[str, dict[str, object]]:
    """What the page needs to build the messages it signs itself (static/txcodec.js), from the
    generated descriptors: per action the message's Any type URL and its fields' numbers (all
    whole numbers: uint64)."""
    out: dict[str, dict[str, object]] = {}
    for action, cls in SIGNED_IN_PAGE.items():
        fields = cls.DESCRIPTOR.fields
        if any(f.type != FieldDescriptor.TYPE_UINT64 or f.is_repeated for f in fields):
            raise TypeError(f"{cls.DESCRIPTOR.full_name} has fields the page does not encode")
        out[action] = {"type_url": type_url(cls), "fields": {f.name: f.number for f in fields}}
    return out
