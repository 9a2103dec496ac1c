"""Member authentication for the bridge, the server side: a member's certificate, checked against the chain.

The signed message and the client's per-call credentials are in `clients.member_auth`.

Member certificates are Ed25519 keys issued by each org's (Ed25519) root CA. gRPC's TLS stack
(BoringSSL) refuses Ed25519 in the TLS handshake (NO_COMMON_SIGNATURE_ALGORITHMS), so the
member's certificate cannot be the TLS client certificate. Instead, over a server-authenticated
TLS channel, every call carries metadata:

    gridledger-member-cert-bin   the member certificate (DER)
    gridledger-auth-time         unix milliseconds when the client signed
    gridledger-auth-nonce        16 random bytes, hex
    gridledger-auth-bin          Ed25519 signature, by the certificate's key, over
        "gridledger.bridge.auth.v1" 0x00 method 0x00 time 0x00 nonce 0x00 SHA-256(server cert DER)

The server certificate's hash binds the signature to this bridge, the time window and the
nonce cache stop replays. The interceptor then checks the certificate against the chain: its
issuer is the root CA of the active org named in its subject `O` (read by `abci_query /org/<id>`),
it is within its validity window, and `/member/<address>` holds an unrevoked member with this
key and this certificate's serial. A bad signature or an unknown CA is UNAUTHENTICATED; a
revoked, unknown or re-certified member, or an inactive org, is PERMISSION_DENIED.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import NameOID
from gridwire.address import address_of
from gridwire.contract.identity import Paths as IdentityPaths

from clients.member_auth import CERT_KEY, NONCE_KEY, SIG_KEY, TIME_KEY, auth_message
from clients.servers.access import CALLER

try:
    from gridledger.identity.v1.identity_pb2 import Member, Org  # type: ignore[import-not-found,import-untyped,unused-ignore]
except ImportError:  # before the identity records moved out of gridledger.state.v1
    from gridledger.state.v1.state_pb2 import Member, Org  # type: ignore[attr-defined,no-redef,unused-ignore]

__all__ = [
    "AuthError",
    "AuthenticatedMember",
    "MemberAuthInterceptor",
    "MemberVerifier",
]

WINDOW_MS = 60_000
OPEN_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.")  # probes and discovery need no member


class AuthError(Exception):
    def __init__(self, code: grpc.StatusCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class AuthenticatedMember:
    address: bytes
    org_id: str
    roles: tuple[str, ...]


Query = Callable[[str], Awaitable[tuple[int, bytes]]]  # path -> (code, value)


class MemberVerifier:
    """Checks one call's auth metadata and the member's certificate against the chain."""

    def __init__(self, query: Query, server_cert_der: bytes, *, clock: Callable[[], float] = time.time) -> None:
        self._query = query
        self._server_hash = hashlib.sha256(server_cert_der).digest()
        self._clock = clock
        self._seen: OrderedDict[bytes, float] = OrderedDict()  # signature -> expiry (replay cache)

    def _fresh(self, millis: str, signature: bytes) -> None:
        now = self._clock()
        while self._seen and next(iter(self._seen.values())) < now:
            self._seen.popitem(last=False)
        if not millis.isdigit() or abs(int(millis) - now * 1000) > WINDOW_MS:
            raise AuthError(grpc.StatusCode.UNAUTHENTICATED, "auth time missing or outside the 60 s window")
        if signature in self._seen:
            raise AuthError(grpc.StatusCode.UNAUTHENTICATED, "replayed auth signature")
        self._seen[signature] = now + 2 * WINDOW_MS / 1000
        while len(self._seen) > 100_000:
            self._seen.popitem(last=False)

    async def verify(self, method: str, metadata: dict[str, Any]) -> AuthenticatedMember:
        """The member making this call; raises AuthError with the status code to answer."""
        cert_der, millis, nonce, signature = (metadata.get(k) for k in (CERT_KEY, TIME_KEY, NONCE_KEY, SIG_KEY))
        if not (isinstance(cert_der, bytes) and isinstance(signature, bytes) and millis and nonce):
            raise AuthError(grpc.StatusCode.UNAUTHENTICATED, "member certificate and auth signature required")
        try:
            cert = x509.load_der_x509_certificate(cert_der)
        except ValueError as exc:
            raise AuthError(grpc.StatusCode.UNAUTHENTICATED, f"unreadable member certificate: {exc}") from exc
        key = cert.public_key()
        if not isinstance(key, Ed25519PublicKey):
            raise AuthError(grpc.StatusCode.UNAUTHENTICATED, "member certificates carry Ed25519 keys")
        try:
            key.verify(signature, auth_message(method, str(millis), str(nonce), self._server_hash))
        except InvalidSignature as exc:
            raise AuthError(grpc.StatusCode.UNAUTHENTICATED, "auth signature does not verify") from exc
        self._fresh(str(millis), signature)
        orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        org_id = str(orgs[0].value) if len(orgs) == 1 else ""
        if not org_id or len(org_id.encode()) > 255 or "/" in org_id:
            raise AuthError(grpc.StatusCode.UNAUTHENTICATED, "member certificate names no single org")
        code, raw = await self._query(IdentityPaths.ORG(org_id))
        if code != 0:
            raise AuthError(grpc.StatusCode.UNAUTHENTICATED, f"org {org_id!r} is not in the consortium")
        org = Org.FromString(raw)
        try:
            cert.verify_directly_issued_by(x509.load_der_x509_certificate(org.root_ca_der))
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise AuthError(grpc.StatusCode.UNAUTHENTICATED, f"certificate not issued by {org_id}'s root CA") from exc
        now = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise AuthError(grpc.StatusCode.UNAUTHENTICATED, "member certificate is outside its validity window")
        if not org.active:
            raise AuthError(grpc.StatusCode.PERMISSION_DENIED, f"org {org_id} is not active")
        public = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        address = address_of(public)
        code, raw = await self._query(IdentityPaths.MEMBER(address.hex()))
        if code != 0:
            raise AuthError(grpc.StatusCode.PERMISSION_DENIED, f"{address.hex()} is not an enrolled member")
        member = Member.FromString(raw)
        if member.revoked:
            raise AuthError(grpc.StatusCode.PERMISSION_DENIED, f"member {address.hex()} is revoked")
        if member.public_key != public or int.from_bytes(member.cert_serial, "big") != cert.serial_number:
            raise AuthError(grpc.StatusCode.PERMISSION_DENIED, "not the certificate this member enrolled with")
        return AuthenticatedMember(address, org_id, tuple(member.roles))


def _abort_handler(handler: grpc.RpcMethodHandler, code: grpc.StatusCode, detail: str) -> grpc.RpcMethodHandler:
    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(code, detail)

    async def stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(code, detail)
        yield  # pragma: no cover - makes this an async generator

    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(stream, handler.request_deserializer, handler.response_serializer)
    return grpc.unary_unary_rpc_method_handler(unary, handler.request_deserializer, handler.response_serializer)


class MemberAuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Lets a call through only when `MemberVerifier` accepts its metadata (health and
    reflection are open); otherwise the call ends with UNAUTHENTICATED or PERMISSION_DENIED."""

    def __init__(self, verifier: MemberVerifier) -> None:
        self.verifier = verifier

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method = str(details.method)
        if handler is None or method.startswith(OPEN_SERVICES):
            return handler
        metadata = dict(details.invocation_metadata or ())
        try:
            member = await self.verifier.verify(method, metadata)
        except AuthError as exc:
            return _abort_handler(handler, exc.code, str(exc))
        except (OSError, RuntimeError) as exc:  # the node could not be asked
            return _abort_handler(handler, grpc.StatusCode.UNAVAILABLE, f"cannot check the member: {exc}")
        return _as_caller(handler, member)


def _as_caller(handler: grpc.RpcMethodHandler, member: AuthenticatedMember) -> grpc.RpcMethodHandler:
    """`handler` (a unary call) run with `member` as the call's `clients.servers.access.CALLER`, which
    the read rules see; streams are passed through as they are."""
    if handler.unary_unary is not None:
        inner = handler.unary_unary

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            token = CALLER.set(member)
            try:
                return await inner(request, context)
            finally:
                CALLER.reset(token)

        return grpc.unary_unary_rpc_method_handler(unary, handler.request_deserializer, handler.response_serializer)
    return handler
