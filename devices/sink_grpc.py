"""The real reading sink: the bridge's GatewayApi over gRPC.

Each batch becomes one tx of `SubmitReadings`, signed by the gateway's member key (the
gateway role relays readings; the devices signed the readings themselves). The sink keeps the
key's nonce: it reads the last used nonce from the ledger (AccountsApi.GetAccount) when it
starts and after any failure, and counts up from there. UNAVAILABLE, DEADLINE_EXCEEDED,
ABORTED (nonce raced) and RESOURCE_EXHAUSTED raise `SinkUnavailableError`, as does any other
refusal of the tx as a whole (logged): the readings stay in the outbox and are resent, and
what the ledger already committed comes back "duplicate".

`credentials` make the channel TLS, and member-authenticated when they carry the gateway
member's per-call credential (devices.gateway.bridge_channel_credentials builds them from the
config's `bridge_ca` and `gateway_cert`); both the account read and the readings go through it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from gridledger.api.v1 import gateway_pb2, gateway_pb2_grpc, reads_pb2, reads_pb2_grpc, tx_pb2, tx_pb2_grpc
from gridledger.devices.v1 import devices_pb2
from gridledger.forecasts.v1 import forecasts_pb2
from gridwire.address import address_of
from gridwire.tx import sign_tx

from devices.records import SignedReading
from devices.sink import Outcome, ReadingResult, SinkUnavailableError

__all__ = ["GrpcSink", "readings_message"]

log = logging.getLogger(__name__)

RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.CANCELLED,
}
_OUTCOMES = {
    gateway_pb2.READING_OUTCOME_ACCEPTED: Outcome.ACCEPTED,
    gateway_pb2.READING_OUTCOME_DUPLICATE: Outcome.DUPLICATE,
    gateway_pb2.READING_OUTCOME_REJECTED: Outcome.REJECTED,
}


def readings_message(batch: Sequence[SignedReading]) -> devices_pb2.SubmitReadings:
    """The SubmitReadings message carrying `batch` exactly as the devices signed it."""
    return devices_pb2.SubmitReadings(
        readings=[
            devices_pb2.SignedReading(
                device_id=s.reading.device_id,
                seq=s.reading.seq,
                start=s.reading.start,
                end=s.reading.end,
                import_wh=s.reading.import_wh,
                export_wh=s.reading.export_wh,
                charged_wh=s.reading.charged_wh,
                discharged_wh=s.reading.discharged_wh,
                soc_wh=s.reading.soc_wh,
                signature=s.signature,
            )
            for s in batch
        ]
    )


class GrpcSink:
    """`ReadingSink` over a bridge's GatewayApi (see the module docstring)."""

    def __init__(
        self,
        target: str,
        chain_id: str,
        gateway_key: Ed25519PrivateKey,
        *,
        timeout: float = 30.0,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        self.chain_id = chain_id
        self.key = gateway_key
        self.address = address_of(gateway_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        self.timeout = timeout
        self.channel = (
            grpc.aio.secure_channel(target, credentials)
            if credentials is not None
            else grpc.aio.insecure_channel(target)
        )
        self.gateway = gateway_pb2_grpc.GatewayApiStub(self.channel)  # type: ignore[no-untyped-call]
        self.accounts = reads_pb2_grpc.AccountsApiStub(self.channel)  # type: ignore[no-untyped-call]
        self.txs = tx_pb2_grpc.TxApiStub(self.channel)  # type: ignore[no-untyped-call]
        self._nonce: int | None = None  # the last nonce used, once known

    async def _next_nonce(self) -> int:
        if self._nonce is None:
            view = await self.accounts.GetAccount(reads_pb2.ByAddress(address=self.address), timeout=self.timeout)
            self._nonce = int(view.nonce)
        return self._nonce + 1

    async def submit(self, batch: Sequence[SignedReading]) -> list[ReadingResult]:
        """One result per reading, in batch order, once the batch's tx is committed (see ReadingSink)."""
        if not batch:
            return []
        try:
            nonce = await self._next_nonce()
            tx = sign_tx(self.key, self.chain_id, nonce, [readings_message(batch)])
            self._nonce = nonce
            answer = await self.gateway.SubmitReadings(
                gateway_pb2.SubmitReadingsRequest(signed_tx=tx), timeout=self.timeout
            )
        except grpc.aio.AioRpcError as exc:
            self._nonce = None  # re-read it: the tx may or may not have used it
            if exc.code() not in RETRYABLE:
                log.error("the ledger refused the readings tx: %s %s", exc.code().name, exc.details())
            raise SinkUnavailableError(f"{exc.code().name}: {exc.details()}") from exc
        by_key = {(r.device_id, r.seq): r for r in answer.results}
        out = []
        for s in batch:
            r = by_key.get((s.reading.device_id, s.reading.seq))
            if r is None:
                raise SinkUnavailableError(f"no result for {s.reading.device_id} seq {s.reading.seq}")
            out.append(
                ReadingResult(
                    r.device_id, r.seq, _OUTCOMES.get(r.outcome, Outcome.REJECTED), answer.height, r.code, r.reason
                )
            )
        return out

    async def post_forecasts(self, messages: Sequence[forecasts_pb2.PostForecast]) -> int:
        """One tx of PostForecast messages (devices.forecaster), signed with the gateway's key and
        nonce like the readings, through TxApi.SubmitTx; the committed height. Failures as `submit`."""
        try:
            nonce = await self._next_nonce()
            tx = sign_tx(self.key, self.chain_id, nonce, list(messages))
            self._nonce = nonce
            answer = await self.txs.SubmitTx(
                tx_pb2.SubmitTxRequest(signed_tx=tx, wait_commit=True), timeout=self.timeout
            )
        except grpc.aio.AioRpcError as exc:
            self._nonce = None
            if exc.code() not in RETRYABLE:
                log.error("the ledger refused the forecasts tx: %s %s", exc.code().name, exc.details())
            raise SinkUnavailableError(f"{exc.code().name}: {exc.details()}") from exc
        return int(answer.height)

    async def close(self) -> None:
        """Close the channel."""
        await self.channel.close()
