"""Member authentication for the bridge, the protocol and the client side (the server's checks
are in `clients.servers.auth`).

Over a server-authenticated TLS channel, every call carries metadata:

    gridledger-member-cert-bin   the member certificate (DER)
    gridledger-auth-time         unix milliseconds when the client signed
    gridledger-auth-nonce        16 random bytes, hex
    gridledger-auth-bin          Ed25519 signature, by the certificate's key, over
        "gridledger.bridge.auth.v1" 0x00 method 0x00 time 0x00 nonce 0x00 SHA-256(server cert DER)
    gridledger-read-grant-bin    the member's read grant for the bridge's read key (gridwire.read_request.ReadGrant),
                                 when the bridge has one (Bridge.Status `read_key`): lets the bridge read the
                                 member's private data from a node that keeps it private (issue 21)
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clients.read_request import GRANT_LIFETIME_S, sign_read_grant

__all__ = [
    "AUTH_DOMAIN",
    "CERT_KEY",
    "GRANT_KEY",
    "NONCE_KEY",
    "SIG_KEY",
    "TIME_KEY",
    "ReadGrants",
    "auth_message",
    "member_call_credentials",
]

AUTH_DOMAIN = b"gridledger.bridge.auth.v1\x00"
CERT_KEY, TIME_KEY, NONCE_KEY, SIG_KEY = (
    "gridledger-member-cert-bin",
    "gridledger-auth-time",
    "gridledger-auth-nonce",
    "gridledger-auth-bin",
)
GRANT_KEY = "gridledger-read-grant-bin"
RENEW_S = 300  # renew a grant this long before it expires; ask a bridge with no read key again after this
RETRY_S = 10  # ask again this soon when the bridge could not be asked (it may be starting)


class ReadGrants:
    """A member's read grant for one bridge: made when first needed from the bridge's chain id and
    read key (`bridge_info`, e.g. Bridge.Status), renewed before it expires. None when the bridge
    has no read key (asked again after RENEW_S) or cannot be asked (again after RETRY_S)."""

    def __init__(self, key: Ed25519PrivateKey, bridge_info: Callable[[], tuple[str, bytes]]) -> None:
        self._key, self._info = key, bridge_info
        self._grant: bytes | None = None
        self._renew_at = 0.0

    def current(self) -> bytes | None:
        """The grant to send with a call now (None: none)."""
        now = time.time()
        if now < self._renew_at:
            return self._grant
        self._renew_at = now + RENEW_S
        try:
            chain_id, read_key = self._info()
        except Exception:  # the bridge is not reachable yet: the call goes without, its public reads work
            self._grant = None
            self._renew_at = now + RETRY_S
            return None
        if len(read_key) != 32:
            self._grant = None
            return None
        until = int(now) + GRANT_LIFETIME_S
        self._grant = sign_read_grant(self._key, chain_id, read_key, expiry=until)
        self._renew_at = until - RENEW_S
        return self._grant


def auth_message(method: str, millis: str, nonce: str, server_cert_hash: bytes) -> bytes:
    """The exact bytes a member signs to call `method` on the bridge with that server certificate."""
    return AUTH_DOMAIN + b"\x00".join([method.encode(), millis.encode(), nonce.encode(), server_cert_hash])


class _MemberAuthPlugin(grpc.AuthMetadataPlugin):  # type: ignore[misc]
    def __init__(
        self,
        key: Ed25519PrivateKey,
        cert_der: bytes,
        server_cert_der: bytes | Callable[[], bytes],
        grants: ReadGrants | None = None,
    ) -> None:
        self.key, self.cert_der, self.grants = key, cert_der, grants
        self._server_cert = server_cert_der
        self._server_hash: bytes | None = None

    def server_hash(self) -> bytes:
        """SHA-256 of the bridge's certificate (a callable is asked once, when first needed)."""
        if self._server_hash is None:
            der = self._server_cert() if callable(self._server_cert) else self._server_cert
            self._server_hash = hashlib.sha256(der).digest()
        return self._server_hash

    def __call__(self, context: grpc.AuthMetadataContext, callback: grpc.AuthMetadataPluginCallback) -> None:
        service = str(context.service_url).rstrip("/").rsplit("/", 1)[-1]
        method = f"/{service}/{context.method_name}"
        try:
            server_hash = self.server_hash()
        except Exception as exc:  # the call fails (UNAVAILABLE) with this reason; the next one asks again
            callback((), exc)
            return
        millis, nonce = str(int(time.time() * 1000)), os.urandom(16).hex()
        signature = self.key.sign(auth_message(method, millis, nonce, server_hash))
        metadata: tuple[tuple[str, str | bytes], ...] = (
            (CERT_KEY, self.cert_der),
            (TIME_KEY, millis),
            (NONCE_KEY, nonce),
            (SIG_KEY, signature),
        )
        grant = self.grants.current() if self.grants is not None else None
        callback(metadata + (((GRANT_KEY, grant),) if grant else ()), None)


def member_call_credentials(
    key: Ed25519PrivateKey,
    cert_der: bytes,
    server_cert_der: bytes | Callable[[], bytes],
    grants: ReadGrants | None = None,
) -> grpc.CallCredentials:
    """Per-call credentials that authenticate a member (its key and certificate) to the bridge
    whose TLS certificate is `server_cert_der` (DER bytes, or a callable fetching them on the
    first call: `clients.bridge_client.bridge_server_certificate`); combine with
    `grpc.ssl_channel_credentials`. With `grants`, every call also carries the member's read grant
    for the bridge (GRANT_KEY), so the bridge can read the member's private data."""
    return grpc.metadata_call_credentials(_MemberAuthPlugin(key, cert_der, server_cert_der, grants))
