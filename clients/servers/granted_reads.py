"""The bridge reads a household's data for a member under the member's read grant (issue 21).

A node answers the private roots (readings, statements, alerts, ...; `PRIVATE_ROOTS`) only on
`/signed/<path>`, to a read request it can check. The bridge cannot sign as a member; instead the
member's client sends a read grant with every call (metadata `gridledger-read-grant-bin`,
`clients.member_auth`): "the bridge's read key may read as me until T", signed by the member.
After its own access rules (`clients.servers.access`), the bridge signs a read request with its
read key, carrying the grant; the app checks the grant and applies the member's own rules, so a
bridge reads only what a member who granted it could, for as long as the grant runs.

Without a grant (or without member authentication) the bridge asks the plain path: a node with
private queries (the default) refuses it, so such a bridge serves public data only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from gridwire.address import address_of
from gridwire.read_request import ReadGrant

from clients.member_auth import GRANT_KEY
from clients.read_request import sign_granted_read
from clients.servers.access import CALLER, PRIVATE_ROOTS

if TYPE_CHECKING:
    from clients.servers.node import NodeLink

__all__ = ["query_for_caller", "read_public_key"]


def read_public_key(key: Ed25519PrivateKey) -> bytes:
    """The raw public key of the bridge's read key (what grants name)."""
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _grant_of(context: grpc.aio.ServicerContext) -> bytes | None:
    for item in context.invocation_metadata() or ():
        key, value = item[0], item[1]
        if key == GRANT_KEY and isinstance(value, bytes):
            return value
    return None


async def query_for_caller(
    bridge: NodeLink, context: grpc.aio.ServicerContext, path: str, data: bytes = b"", *, prove: bool = False
) -> dict[str, Any]:
    """The node's `abci_query` answer for `path`: for a private root asked by an authenticated member
    carrying a read grant, `/signed/<path>` with a request signed by the bridge's read key under that
    grant; otherwise the plain path. A grant that is not the caller's, or names another read key, is
    refused here (PERMISSION_DENIED, UNAUTHENTICATED) before the node is asked."""
    root = path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
    caller = CALLER.get()
    raw = _grant_of(context) if caller is not None and root in PRIVATE_ROOTS else None
    if caller is None or raw is None or bridge.read_key is None:
        return await bridge.node_or_abort(context, lambda: bridge.rpc.abci_query(path, data, prove=prove))
    grant = ReadGrant.decode(raw)
    if grant is None:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{GRANT_KEY} is not a read grant")
        raise AssertionError("unreachable")
    if address_of(grant.member_key) != caller.address:
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, "the read grant is not the calling member's")
    if grant.reader_key != read_public_key(bridge.read_key):
        await context.abort(
            grpc.StatusCode.UNAUTHENTICATED, "the read grant names another bridge read key (Bridge.Status: read_key)"
        )
    chain_id = await bridge.chain_id(context)
    signed, request = sign_granted_read(bridge.read_key, chain_id, path, raw)
    return await bridge.node_or_abort(context, lambda: bridge.rpc.abci_query(signed, request, prove=prove))
